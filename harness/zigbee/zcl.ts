// ZCL general frame: header, and the global commands the kit needs (Read Attributes, Read
// Attributes Response with typed values, Default Response). Cluster-specific payloads are left to
// the cluster codecs (clusters/*.ts): decode the header with decodeZclHeader, then hand
// `bytes, header offset` to the cluster's decoder so error offsets stay absolute.
import { ByteReader, ByteWriter, invert } from './codec.ts';

/**
 * Frame control (1 byte). @spec ZCL 07-5123 §2.4.1.1 (protocol.md §6.1; WS packet-zbee-zcl.h)
 * ```
 *  b7 b6 b5 |     b4      |   b3    |      b2       | b1 b0
 *  reserved | disable def | direct. | manufacturer  | frame type (0 global, 1 cluster)
 *           | response    | (1 s→c) | code present  |
 * ```
 */
export const ZclFrameControl = {
  FRAME_TYPE: 0x03,
  MANUFACTURER_SPECIFIC: 0x04,
  DIRECTION: 0x08,
  DISABLE_DEFAULT_RESPONSE: 0x10,
  RESERVED: 0xe0,
} as const;

export const ZclFrameType = { GLOBAL: 0, CLUSTER: 1 } as const;

export type ZclDirection = 'client-to-server' | 'server-to-client';

/** Global (profile-wide) command ids used here. @spec ZCL 07-5123 §2.5 (WS packet-zbee-zcl.h) */
export const ZclGlobalCommand = {
  READ_ATTRIBUTES: 0x00,
  READ_ATTRIBUTES_RESPONSE: 0x01,
  DEFAULT_RESPONSE: 0x0b,
} as const;

/** ZCL status codes (ZCL 07-5123 enumerated status values; WS packet-zbee-zcl.h `zbee_zcl_status_names`). */
export const ZclStatus = {
  SUCCESS: 0x00,
  FAILURE: 0x01,
  NOT_AUTHORIZED: 0x7e,
  RESERVED_FIELD_NOT_ZERO: 0x7f,
  MALFORMED_COMMAND: 0x80,
  UNSUP_CLUSTER_COMMAND: 0x81,
  UNSUP_GENERAL_COMMAND: 0x82,
  UNSUP_MANUF_CLUSTER_COMMAND: 0x83,
  UNSUP_MANUF_GENERAL_COMMAND: 0x84,
  INVALID_FIELD: 0x85,
  UNSUPPORTED_ATTRIBUTE: 0x86,
  INVALID_VALUE: 0x87,
  READ_ONLY: 0x88,
  INSUFFICIENT_SPACE: 0x89,
  DUPLICATE_EXISTS: 0x8a,
  NOT_FOUND: 0x8b,
  UNREPORTABLE_ATTRIBUTE: 0x8c,
  INVALID_DATA_TYPE: 0x8d,
  INVALID_SELECTOR: 0x8e,
  WRITE_ONLY: 0x8f,
  INCONSISTENT_STARTUP_STATE: 0x90,
  DEFINED_OUT_OF_BAND: 0x91,
  INCONSISTENT: 0x92,
  ACTION_DENIED: 0x93,
  TIMEOUT: 0x94,
  ABORT: 0x95,
  INVALID_IMAGE: 0x96,
  WAIT_FOR_DATA: 0x97,
  NO_IMAGE_AVAILABLE: 0x98,
  REQUIRE_MORE_IMAGE: 0x99,
  NOTIFICATION_PENDING: 0x9a,
  HARDWARE_FAILURE: 0xc0,
  SOFTWARE_FAILURE: 0xc1,
  CALIBRATION_ERROR: 0xc2,
  UNSUPPORTED_CLUSTER: 0xc3,
} as const;
export const ZCL_STATUS_NAMES = invert(ZclStatus);

/** Data type ids decoded here (ZCL 07-5123 data type table; WS packet-zbee-zcl.h; protocol.md §6.1 for 0x20/0x21/0x31). */
export const ZclDataType = {
  BOOL: 0x10,
  BITMAP8: 0x18,
  BITMAP16: 0x19,
  UINT8: 0x20,
  UINT16: 0x21,
  UINT24: 0x22,
  UINT32: 0x23,
  INT8: 0x28,
  INT16: 0x29,
  ENUM8: 0x30,
  ENUM16: 0x31,
  OCTET_STRING: 0x41,
  CHAR_STRING: 0x42,
} as const;
export const ZCL_DATA_TYPE_NAMES = invert(ZclDataType);

/** Length prefix 0xFF marks the invalid (non-)value of a string type (ZCL 07-5123, octet/character string types). */
const STRING_INVALID = 0xff;

export interface ZclHeader {
  frameType: number;
  direction: ZclDirection;
  disableDefaultResponse: boolean;
  /** Frame control bits 5-7 (0 from a compliant sender). */
  reserved: number;
  /** Present iff the manufacturer-specific bit is set. */
  manufacturerCode?: number;
  tsn: number;
  commandId: number;
}

/**
 * Value of an attribute: integers/enums/bitmaps as numbers; bool as true/false (any other byte,
 * e.g. 0xFF "invalid", stays a number); octet and character strings as their bytes (no text
 * decoding on the hot path — see zclStringText), or null for the 0xFF "invalid" length.
 */
export type ZclValue = number | boolean | Uint8Array | null;

export interface ZclReadRecord {
  attributeId: number;
  status: number;
  /** Present iff status is SUCCESS. */
  dataType?: number;
  value?: ZclValue;
}

export type ZclCommand =
  | { type: 'readAttributes'; attributeIds: number[] }
  | { type: 'readAttributesResponse'; records: ZclReadRecord[] }
  | { type: 'defaultResponse'; commandId: number; status: number; trailing?: Uint8Array }
  /** Cluster-specific payload (for a cluster codec) or a global command not decoded here. */
  | { type: 'raw'; raw: Uint8Array };

export interface ZclFrame {
  header: ZclHeader;
  command: ZclCommand;
}

/** @spec ZCL 07-5123 §2.4.1 General ZCL frame format */
export function decodeZclHeader(bytes: Uint8Array, offset = 0, base = 0): { value: ZclHeader; offset: number } {
  const r = new ByteReader(bytes, 'zcl', offset, base);
  const fc = r.u8('frame control');
  const frameType = fc & ZclFrameControl.FRAME_TYPE;
  const direction: ZclDirection = fc & ZclFrameControl.DIRECTION ? 'server-to-client' : 'client-to-server';
  const disableDefaultResponse = (fc & ZclFrameControl.DISABLE_DEFAULT_RESPONSE) !== 0;
  const reserved = (fc & ZclFrameControl.RESERVED) >> 5;
  const manufacturerCode = fc & ZclFrameControl.MANUFACTURER_SPECIFIC ? r.u16('manufacturer code') : undefined;
  const tsn = r.u8('transaction sequence number');
  const commandId = r.u8('command id');
  const header: ZclHeader =
    manufacturerCode === undefined
      ? { frameType, direction, disableDefaultResponse, reserved, tsn, commandId }
      : { frameType, direction, disableDefaultResponse, reserved, manufacturerCode, tsn, commandId };
  return { value: header, offset: r.offset };
}

export function encodeZclHeader(h: ZclHeader, w = new ByteWriter(8)): ByteWriter {
  let fc = (h.frameType & ZclFrameControl.FRAME_TYPE) | ((h.reserved & 7) << 5);
  if (h.manufacturerCode !== undefined) fc |= ZclFrameControl.MANUFACTURER_SPECIFIC;
  if (h.direction === 'server-to-client') fc |= ZclFrameControl.DIRECTION;
  if (h.disableDefaultResponse) fc |= ZclFrameControl.DISABLE_DEFAULT_RESPONSE;
  w.u8(fc);
  if (h.manufacturerCode !== undefined) w.u16(h.manufacturerCode);
  return w.u8(h.tsn).u8(h.commandId);
}

/**
 * A whole ZCL frame. Global commands 0x00/0x01/0x0B are decoded; everything else (including all
 * cluster-specific commands) is returned as `raw` for the cluster codecs.
 * @spec ZCL 07-5123 §2.4 (header), §2.5.1 Read Attributes, §2.5.2 Read Attributes Response, §2.5.12 Default Response
 */
export function decodeZclFrame(bytes: Uint8Array, offset = 0, base = 0): { value: ZclFrame; offset: number } {
  const h = decodeZclHeader(bytes, offset, base);
  const header = h.value;
  const r = new ByteReader(bytes, 'zcl', h.offset, base);
  let command: ZclCommand;
  if (header.frameType !== ZclFrameType.GLOBAL) {
    command = { type: 'raw', raw: r.rest() };
  } else {
    switch (header.commandId) {
      case ZclGlobalCommand.READ_ATTRIBUTES: {
        const attributeIds: number[] = [];
        while (r.remaining > 0) attributeIds.push(r.u16('attribute id'));
        command = { type: 'readAttributes', attributeIds };
        break;
      }
      case ZclGlobalCommand.READ_ATTRIBUTES_RESPONSE: {
        const records: ZclReadRecord[] = [];
        while (r.remaining > 0) records.push(readRecord(r));
        command = { type: 'readAttributesResponse', records };
        break;
      }
      case ZclGlobalCommand.DEFAULT_RESPONSE: {
        const commandId = r.u8('default response command id');
        const status = r.u8('default response status');
        command = r.remaining > 0 ? { type: 'defaultResponse', commandId, status, trailing: r.rest() } : { type: 'defaultResponse', commandId, status };
        break;
      }
      default:
        command = { type: 'raw', raw: r.rest() };
    }
  }
  return { value: { header, command }, offset: r.offset };
}

export function encodeZclFrame(f: ZclFrame): Uint8Array {
  const w = encodeZclHeader(f.header, new ByteWriter(32));
  const c = f.command;
  switch (c.type) {
    case 'readAttributes':
      for (const id of c.attributeIds) w.u16(id);
      break;
    case 'readAttributesResponse':
      for (const rec of c.records) {
        w.u16(rec.attributeId).u8(rec.status);
        if (rec.status === ZclStatus.SUCCESS) {
          if (rec.dataType === undefined) throw new RangeError(`attribute 0x${hex4(rec.attributeId)}: SUCCESS record needs a dataType and value`);
          w.u8(rec.dataType);
          writeValue(w, rec.dataType, rec.value ?? null);
        }
      }
      break;
    case 'defaultResponse':
      w.u8(c.commandId).u8(c.status);
      if (c.trailing) w.bytes(c.trailing);
      break;
    case 'raw':
      w.bytes(c.raw);
      break;
  }
  return w.finish();
}

function readRecord(r: ByteReader): ZclReadRecord {
  const attributeId = r.u16('attribute id');
  const status = r.u8('attribute status');
  if (status !== ZclStatus.SUCCESS) return { attributeId, status };
  const dataType = r.u8('attribute data type');
  return { attributeId, status, dataType, value: readValue(r, dataType) };
}

/** Reads one value of `dataType`; unknown types stop the decode (their length is unknown). */
export function readValue(r: ByteReader, dataType: number): ZclValue {
  switch (dataType) {
    case ZclDataType.BOOL: {
      const b = r.u8('bool');
      return b === 0 ? false : b === 1 ? true : b;
    }
    case ZclDataType.UINT8:
    case ZclDataType.ENUM8:
    case ZclDataType.BITMAP8:
      return r.u8('8-bit value');
    case ZclDataType.UINT16:
    case ZclDataType.ENUM16:
    case ZclDataType.BITMAP16:
      return r.u16('16-bit value');
    case ZclDataType.UINT24: {
      const lo = r.u16('24-bit value');
      return lo | (r.u8('24-bit value') << 16);
    }
    case ZclDataType.UINT32:
      return r.u32('32-bit value');
    case ZclDataType.INT8:
      return (r.u8('int8') << 24) >> 24;
    case ZclDataType.INT16:
      return (r.u16('int16') << 16) >> 16;
    case ZclDataType.OCTET_STRING:
    case ZclDataType.CHAR_STRING: {
      const n = r.u8('string length');
      return n === STRING_INVALID ? null : r.take(n, 'string');
    }
    default:
      return r.fail(`unsupported ZCL data type 0x${hex2(dataType)}: value length unknown`, r.offset - 1);
  }
}

export function writeValue(w: ByteWriter, dataType: number, value: ZclValue): void {
  switch (dataType) {
    case ZclDataType.BOOL:
      w.u8(value === true ? 1 : value === false ? 0 : num(value, dataType));
      return;
    case ZclDataType.UINT8:
    case ZclDataType.ENUM8:
    case ZclDataType.BITMAP8:
    case ZclDataType.INT8:
      w.u8(num(value, dataType));
      return;
    case ZclDataType.UINT16:
    case ZclDataType.ENUM16:
    case ZclDataType.BITMAP16:
    case ZclDataType.INT16:
      w.u16(num(value, dataType));
      return;
    case ZclDataType.UINT24: {
      const v = num(value, dataType);
      w.u16(v).u8(v >>> 16);
      return;
    }
    case ZclDataType.UINT32:
      w.u32(num(value, dataType));
      return;
    case ZclDataType.OCTET_STRING:
    case ZclDataType.CHAR_STRING:
      if (value === null) {
        w.u8(STRING_INVALID);
      } else if (value instanceof Uint8Array && value.length < STRING_INVALID) {
        w.u8(value.length).bytes(value);
      } else {
        throw new RangeError(`ZCL type 0x${hex2(dataType)} expects bytes (at most 254) or null`);
      }
      return;
    default:
      throw new RangeError(`unsupported ZCL data type 0x${hex2(dataType)}`);
  }
}

function num(v: ZclValue, dataType: number): number {
  if (typeof v !== 'number') throw new TypeError(`ZCL type 0x${hex2(dataType)} expects a number, got ${v === null ? 'null' : typeof v}`);
  return v;
}

/** Text of a character-string value (ZCL strings are octets; UTF-8 in practice). Not for the hot path. */
export function zclStringText(value: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(value);
}


const HEX = '0123456789abcdef';
function hex2(n: number): string {
  return HEX[(n >> 4) & 15] + HEX[n & 15];
}
function hex4(n: number): string {
  return hex2(n >> 8) + hex2(n);
}
