// APS (application support sub-layer) frames and the APS security commands. Staged: the header
// (frame control → addressing → counter → extended header) decodes on its own, so a dissector can
// slice `header ‖ aux` for CCM*; the body is then the aux header and sealed bytes (secured), a
// command, or the payload handed to ZDP/ZCL. Plaintext commands (after decryption) decode with
// decodeApsCommand. @spec Zigbee 05-3474 §2.2.5 (frames), §4.4 (APS security commands)
import { ByteReader, ByteWriter, invert, type Eui64 } from './codec.ts';
import { decodeAuxSecurityHeader, MIC_LENGTH, writeAuxSecurityHeader, type AuxSecurityHeader } from './security.ts';

/**
 * Frame control (1 byte). @spec Zigbee 05-3474 §2.2.5.1.1 (protocol.md §3.1; WS packet-zbee-aps.h)
 * ```
 *  b7         | b6          | b5       | b4          | b3 b2         | b1 b0
 *  ext header | ack request | security | ack format  | delivery mode | frame type
 *             |             |          | (1 = command ack, no endpoint fields)
 * ```
 */
export const ApsFcf = {
  FRAME_TYPE: 0x03,
  DELIVERY_MODE: 0x0c,
  ACK_FORMAT: 0x10,
  SECURITY: 0x20,
  ACK_REQUEST: 0x40,
  EXT_HEADER: 0x80,
} as const;

export const ApsFrameType = { DATA: 0, COMMAND: 1, ACK: 2, INTER_PAN: 3 } as const;
/** 1 (indirect) existed only before Zigbee 2006 and has no layout today. */
export const ApsDeliveryMode = { UNICAST: 0, INDIRECT: 1, BROADCAST: 2, GROUP: 3 } as const;

/**
 * Extended frame control. @spec Zigbee 05-3474 §2.2.5.1.8
 * ```
 *  b7 … b2 reserved | b1 b0 fragmentation (0 none, 1 first, 2 subsequent)
 * ```
 * Block number follows when fragmented; an ack frame then also carries the ack bitfield.
 */
export const ApsFragmentation = { NONE: 0, FIRST: 1, SUBSEQUENT: 2 } as const;

/** APS command ids. @spec Zigbee 05-3474 §4.4 (WS packet-zbee-aps.h `ZBEE_APS_CMD_*`; protocol.md §3.2) */
export const ApsCommandId = {
  TRANSPORT_KEY: 0x05,
  UPDATE_DEVICE: 0x06,
  REMOVE_DEVICE: 0x07,
  REQUEST_KEY: 0x08,
  SWITCH_KEY: 0x09,
  TUNNEL: 0x0e,
  VERIFY_KEY: 0x0f,
  CONFIRM_KEY: 0x10,
  RELAY_MESSAGE_DOWNSTREAM: 0x11,
  RELAY_MESSAGE_UPSTREAM: 0x12,
} as const;
export const APS_COMMAND_NAMES = invert(ApsCommandId);

/**
 * Key types as on the wire (WS `ZBEE_APS_CMD_KEY_*`, SCAPY, NET2 captures — protocol.md §3.2).
 * Pitfall: some third-party code swaps 0x01/0x04 or calls the TC link key 0x01; 0x01 is the
 * standard *network* key and 0x04 the *trust-center link* key. As a Request Key type 0x02 means
 * "application link key" (with a partner address).
 */
export const ApsKeyType = {
  TC_MASTER: 0x00,
  STANDARD_NETWORK: 0x01,
  APP_MASTER: 0x02,
  APP_LINK: 0x03,
  TC_LINK: 0x04,
  HIGH_SECURITY_NETWORK: 0x05,
} as const;
export const APS_KEY_TYPE_NAMES = invert(ApsKeyType);

/** Update Device status. @spec Zigbee 05-3474 §4.4 (WS `zbee_aps_update_status_names`; ZOH `ZigbeeAPSUpdateDeviceStatus`; protocol.md §3.2) */
export const UpdateDeviceStatus = {
  STANDARD_SECURED_REJOIN: 0x00,
  STANDARD_UNSECURED_JOIN: 0x01,
  DEVICE_LEFT: 0x02,
  /** WS: "standard security, unsecured rejoin". */
  STANDARD_TRUST_CENTER_REJOIN: 0x03,
  HIGH_SECURITY_SECURED_REJOIN: 0x04,
  HIGH_SECURITY_UNSECURED_JOIN: 0x05,
  HIGH_SECURITY_TRUST_CENTER_REJOIN: 0x07,
} as const;
export const UPDATE_DEVICE_STATUS_NAMES = invert(UpdateDeviceStatus);

/** APS status (Confirm Key etc.). @spec Zigbee 05-3474 §2.2 APS status values (SCAPY `_ApsStatusValues`; protocol.md §3.2) */
export const ApsStatus = {
  SUCCESS: 0x00,
  ASDU_TOO_LONG: 0xa0,
  DEFRAG_DEFERRED: 0xa1,
  DEFRAG_UNSUPPORTED: 0xa2,
  ILLEGAL_REQUEST: 0xa3,
  INVALID_BINDING: 0xa4,
  INVALID_GROUP: 0xa5,
  INVALID_PARAMETER: 0xa6,
  NO_ACK: 0xa7,
  NO_BOUND_DEVICE: 0xa8,
  NO_SHORT_ADDRESS: 0xa9,
  NOT_SUPPORTED: 0xaa,
  SECURED_LINK_KEY: 0xab,
  SECURED_NWK_KEY: 0xac,
  SECURITY_FAIL: 0xad,
  TABLE_FULL: 0xae,
  UNSECURED: 0xaf,
  UNSUPPORTED_ATTRIBUTE: 0xb0,
} as const;
export const APS_STATUS_NAMES = invert(ApsStatus);

export interface ApsExtendedHeader {
  fragmentation: number;
  /** Bits 2-7 of the extended frame control (0 from a compliant sender). */
  reserved: number;
  /** Present iff fragmentation ≠ 0 (first: number of blocks; subsequent: block index). */
  blockNumber?: number;
  /** Present iff fragmented and the frame is an ack. */
  ackBitfield?: number;
}

/** Which optional fields are present follows from frame type, delivery mode and ack format. */
export interface ApsHeader {
  frameType: number;
  deliveryMode: number;
  ackFormat: boolean;
  security: boolean;
  ackRequest: boolean;
  /** Data/data-ack, not group delivery. */
  dstEndpoint?: number;
  /** Group delivery. */
  group?: number;
  /** Data, data-ack, inter-PAN. */
  clusterId?: number;
  profileId?: number;
  srcEndpoint?: number;
  /** All frame types but inter-PAN. */
  counter?: number;
  extended?: ApsExtendedHeader;
}

export type ApsBody =
  /** Security bit set: aux header, then ciphertext ‖ MIC (the last 4 bytes); open with security.ts. */
  | { kind: 'secured'; aux: AuxSecurityHeader; encrypted: Uint8Array }
  /** Unsecured command frame. */
  | { kind: 'command'; command: ApsCommand }
  /** Unsecured data / ack / inter-PAN: the bytes for ZDP/ZCL (empty for a normal ack). */
  | { kind: 'payload'; payload: Uint8Array };

export interface ApsFrame {
  header: ApsHeader;
  body: ApsBody;
}

export type TransportKeyDescriptor =
  /** Key types 0x01, 0x05. */
  | { layout: 'network'; key: Uint8Array; keySeq: number; dst64: Eui64; src64: Eui64 }
  /** Key types 0x04, 0x00. */
  | { layout: 'trustCenter'; key: Uint8Array; dst64: Eui64; src64: Eui64 }
  /** Key types 0x03, 0x02. `initiatorFlag` kept as the byte (1 = initiator). */
  | { layout: 'application'; key: Uint8Array; partner64: Eui64; initiatorFlag: number }
  /** Any other key type: the bytes after the key type. */
  | { layout: 'unknown'; raw: Uint8Array };

/** `trailing`: bytes after the fields (R23 TLVs, or junk) — kept, never dropped or fatal. */
export type ApsCommand =
  | { type: 'transportKey'; keyType: number; descriptor: TransportKeyDescriptor; trailing?: Uint8Array }
  | { type: 'updateDevice'; device64: Eui64; device16: number; status: number; trailing?: Uint8Array }
  | { type: 'removeDevice'; target64: Eui64; trailing?: Uint8Array }
  | { type: 'requestKey'; keyType: number; /** Only with key type 0x02. */ partner64?: Eui64; trailing?: Uint8Array }
  | { type: 'switchKey'; keySeq: number; trailing?: Uint8Array }
  /** The inner frame runs to the end of the command, so there is no `trailing`. */
  | { type: 'tunnel'; dst64: Eui64; frame: ApsFrame }
  | { type: 'verifyKey'; keyType: number; src64: Eui64; keyHash: Uint8Array; trailing?: Uint8Array }
  | { type: 'confirmKey'; status: number; keyType: number; dst64: Eui64; trailing?: Uint8Array }
  | { type: 'unknown'; id: number; raw: Uint8Array };

const KEY_BYTES = 16;

/** @spec Zigbee 05-3474 §2.2.5.1 General APS frame format (header part) */
export function decodeApsHeader(bytes: Uint8Array, offset = 0, base = 0): { value: ApsHeader; offset: number } {
  const r = new ByteReader(bytes, 'aps', offset, base);
  const value = readApsHeader(r);
  return { value, offset: r.offset };
}

/** decodeApsHeader on a reader (left after the header): no wrapper object, for the frame dissector. */
export function readApsHeader(r: ByteReader): ApsHeader {
  const fcf = r.u8('frame control');
  const h: ApsHeader = {
    frameType: fcf & ApsFcf.FRAME_TYPE,
    deliveryMode: (fcf & ApsFcf.DELIVERY_MODE) >> 2,
    ackFormat: (fcf & ApsFcf.ACK_FORMAT) !== 0,
    security: (fcf & ApsFcf.SECURITY) !== 0,
    ackRequest: (fcf & ApsFcf.ACK_REQUEST) !== 0,
  };
  const interPan = h.frameType === ApsFrameType.INTER_PAN;
  if (hasAddressing(h)) {
    if (h.deliveryMode === ApsDeliveryMode.INDIRECT) {
      r.fail('delivery mode 1 (indirect) was removed in Zigbee 2006; no addressing layout to decode', r.offset - 1);
    }
    const group = h.deliveryMode === ApsDeliveryMode.GROUP;
    if (!group && !interPan) h.dstEndpoint = r.u8('destination endpoint');
    if (group) h.group = r.u16('group address');
    h.clusterId = r.u16('cluster id');
    h.profileId = r.u16('profile id');
    if (!interPan) h.srcEndpoint = r.u8('source endpoint');
  }
  if (!interPan) h.counter = r.u8('APS counter');
  if (fcf & ApsFcf.EXT_HEADER) {
    const ext = r.u8('extended frame control');
    const e: ApsExtendedHeader = { fragmentation: ext & 0x03, reserved: ext >> 2 };
    if (e.fragmentation !== ApsFragmentation.NONE) {
      e.blockNumber = r.u8('block number');
      if (h.frameType === ApsFrameType.ACK) e.ackBitfield = r.u8('ack bitfield');
    }
    h.extended = e;
  }
  return h;
}

/** Data frames, data acks (ack format 0) and inter-PAN frames carry cluster/profile (+ endpoints/group). */
function hasAddressing(h: ApsHeader): boolean {
  return h.frameType === ApsFrameType.DATA || h.frameType === ApsFrameType.INTER_PAN || (h.frameType === ApsFrameType.ACK && !h.ackFormat);
}

/** Bytes the encoded header takes (= offset of the aux header in a secured frame). */
export function apsHeaderLength(h: ApsHeader): number {
  let n = 1;
  if (hasAddressing(h)) {
    const group = h.deliveryMode === ApsDeliveryMode.GROUP;
    const interPan = h.frameType === ApsFrameType.INTER_PAN;
    n += 4 + (group ? 2 : 0) + (!group && !interPan ? 1 : 0) + (!interPan ? 1 : 0);
  }
  if (h.frameType !== ApsFrameType.INTER_PAN) n += 1;
  if (h.extended) n += 1 + (h.extended.fragmentation !== 0 ? (h.frameType === ApsFrameType.ACK ? 2 : 1) : 0);
  return n;
}

export function writeApsHeader(w: ByteWriter, h: ApsHeader): void {
  const fcf =
    (h.frameType & 3) |
    ((h.deliveryMode & 3) << 2) |
    (h.ackFormat ? ApsFcf.ACK_FORMAT : 0) |
    (h.security ? ApsFcf.SECURITY : 0) |
    (h.ackRequest ? ApsFcf.ACK_REQUEST : 0) |
    (h.extended ? ApsFcf.EXT_HEADER : 0);
  w.u8(fcf);
  const interPan = h.frameType === ApsFrameType.INTER_PAN;
  if (hasAddressing(h)) {
    if (h.deliveryMode === ApsDeliveryMode.INDIRECT) throw new RangeError('delivery mode 1 (indirect) has no layout since Zigbee 2006');
    const group = h.deliveryMode === ApsDeliveryMode.GROUP;
    if (!group && !interPan) w.u8(req(h.dstEndpoint, 'dstEndpoint'));
    if (group) w.u16(req(h.group, 'group'));
    w.u16(req(h.clusterId, 'clusterId')).u16(req(h.profileId, 'profileId'));
    if (!interPan) w.u8(req(h.srcEndpoint, 'srcEndpoint'));
  }
  if (!interPan) w.u8(req(h.counter, 'counter'));
  const e = h.extended;
  if (e) {
    w.u8((e.fragmentation & 3) | ((e.reserved & 0x3f) << 2));
    if (e.fragmentation !== ApsFragmentation.NONE) {
      w.u8(req(e.blockNumber, 'extended.blockNumber'));
      if (h.frameType === ApsFrameType.ACK) w.u8(req(e.ackBitfield, 'extended.ackBitfield'));
    }
  }
}

function req(v: number | undefined, name: string): number {
  if (v === undefined) throw new RangeError(`APS header "${name}" is required by its frame control`);
  return v;
}

/**
 * A whole APS frame: header, then aux header + sealed bytes when secured, else the command or
 * payload. A Tunnel's inner frame is decoded in turn (usually up to its own aux header).
 * @spec Zigbee 05-3474 §2.2.5 (frame formats), §4.4 (commands)
 */
export function decodeApsFrame(bytes: Uint8Array, offset = 0, base = 0): { value: ApsFrame; offset: number } {
  const h = decodeApsHeader(bytes, offset, base);
  const header = h.value;
  let body: ApsBody;
  let end: number;
  if (header.security) {
    const aux = decodeAuxSecurityHeader(bytes, h.offset, base, 'aps');
    const r = new ByteReader(bytes, 'aps', aux.offset, base);
    if (r.remaining < MIC_LENGTH) r.fail(`secured APS frame has ${r.remaining} bytes after the aux header, less than the ${MIC_LENGTH}-byte MIC`);
    body = { kind: 'secured', aux: aux.value, encrypted: r.rest() };
    end = r.offset;
  } else if (header.frameType === ApsFrameType.COMMAND) {
    const c = decodeApsCommand(bytes, h.offset, base);
    body = { kind: 'command', command: c.value };
    end = c.offset;
  } else {
    body = { kind: 'payload', payload: bytes.subarray(h.offset) };
    end = bytes.length;
  }
  return { value: { header, body }, offset: end };
}

export function encodeApsFrame(f: ApsFrame): Uint8Array {
  const w = new ByteWriter(64);
  writeApsFrame(w, f);
  return w.finish();
}

function writeApsFrame(w: ByteWriter, f: ApsFrame): void {
  const secured = f.body.kind === 'secured';
  if (secured !== f.header.security) throw new RangeError(`APS header security=${f.header.security} but body kind is "${f.body.kind}"`);
  if (f.body.kind === 'command' && f.header.frameType !== ApsFrameType.COMMAND) throw new RangeError('an APS command body needs frame type 1 (command)');
  if (f.body.kind === 'payload' && f.header.frameType === ApsFrameType.COMMAND) throw new RangeError('an unsecured APS command frame needs a command body');
  writeApsHeader(w, f.header);
  switch (f.body.kind) {
    case 'secured':
      writeAuxSecurityHeader(w, f.body.aux);
      w.bytes(f.body.encrypted);
      break;
    case 'command':
      writeApsCommand(w, f.body.command);
      break;
    case 'payload':
      w.bytes(f.body.payload);
      break;
  }
}

/**
 * One APS command (command id + fields), e.g. the plaintext of a secured command frame.
 * @spec Zigbee 05-3474 §4.4 (protocol.md §3.2; WS dissect_zbee_aps_*)
 */
export function decodeApsCommand(bytes: Uint8Array, offset = 0, base = 0): { value: ApsCommand; offset: number } {
  const r = new ByteReader(bytes, 'aps', offset, base);
  const id = r.u8('command id');
  let c: Exclude<ApsCommand, { type: 'tunnel' | 'unknown' }>;
  switch (id) {
    case ApsCommandId.TRANSPORT_KEY: {
      const keyType = r.u8('key type');
      c = { type: 'transportKey', keyType, descriptor: readKeyDescriptor(r, keyType) };
      break;
    }
    case ApsCommandId.UPDATE_DEVICE:
      c = { type: 'updateDevice', device64: r.eui64('device address'), device16: r.u16('device short address'), status: r.u8('update status') };
      break;
    case ApsCommandId.REMOVE_DEVICE:
      c = { type: 'removeDevice', target64: r.eui64('target address') };
      break;
    case ApsCommandId.REQUEST_KEY: {
      const keyType = r.u8('key type');
      c = keyType === ApsKeyType.APP_MASTER ? { type: 'requestKey', keyType, partner64: r.eui64('partner address') } : { type: 'requestKey', keyType };
      break;
    }
    case ApsCommandId.SWITCH_KEY:
      c = { type: 'switchKey', keySeq: r.u8('key sequence number') };
      break;
    case ApsCommandId.TUNNEL: {
      const dst64 = r.eui64('tunnel destination address');
      const inner = decodeApsFrame(bytes, r.offset, base);
      return { value: { type: 'tunnel', dst64, frame: inner.value }, offset: inner.offset };
    }
    case ApsCommandId.VERIFY_KEY:
      c = { type: 'verifyKey', keyType: r.u8('key type'), src64: r.eui64('source address'), keyHash: r.take(KEY_BYTES, 'key hash') };
      break;
    case ApsCommandId.CONFIRM_KEY:
      c = { type: 'confirmKey', status: r.u8('status'), keyType: r.u8('key type'), dst64: r.eui64('destination address') };
      break;
    default:
      return { value: { type: 'unknown', id, raw: r.rest() }, offset: r.offset };
  }
  if (r.remaining > 0) c.trailing = r.rest();
  return { value: c, offset: r.offset };
}

function readKeyDescriptor(r: ByteReader, keyType: number): TransportKeyDescriptor {
  switch (keyType) {
    case ApsKeyType.STANDARD_NETWORK:
    case ApsKeyType.HIGH_SECURITY_NETWORK:
      return { layout: 'network', key: r.take(KEY_BYTES, 'key'), keySeq: r.u8('key sequence number'), dst64: r.eui64('destination address'), src64: r.eui64('source address') };
    case ApsKeyType.TC_LINK:
    case ApsKeyType.TC_MASTER:
      return { layout: 'trustCenter', key: r.take(KEY_BYTES, 'key'), dst64: r.eui64('destination address'), src64: r.eui64('source address') };
    case ApsKeyType.APP_LINK:
    case ApsKeyType.APP_MASTER:
      return { layout: 'application', key: r.take(KEY_BYTES, 'key'), partner64: r.eui64('partner address'), initiatorFlag: r.u8('initiator flag') };
    default:
      return { layout: 'unknown', raw: r.rest() };
  }
}

/** The layout Transport Key uses for a key type. */
export function transportKeyLayout(keyType: number): TransportKeyDescriptor['layout'] {
  switch (keyType) {
    case ApsKeyType.STANDARD_NETWORK:
    case ApsKeyType.HIGH_SECURITY_NETWORK:
      return 'network';
    case ApsKeyType.TC_LINK:
    case ApsKeyType.TC_MASTER:
      return 'trustCenter';
    case ApsKeyType.APP_LINK:
    case ApsKeyType.APP_MASTER:
      return 'application';
    default:
      return 'unknown';
  }
}

export function encodeApsCommand(c: ApsCommand): Uint8Array {
  const w = new ByteWriter(48);
  writeApsCommand(w, c);
  return w.finish();
}

function writeApsCommand(w: ByteWriter, c: ApsCommand): void {
  switch (c.type) {
    case 'transportKey': {
      const d = c.descriptor;
      if (transportKeyLayout(c.keyType) !== d.layout) throw new RangeError(`key type 0x0${c.keyType.toString(16)} uses layout "${transportKeyLayout(c.keyType)}", not "${d.layout}"`);
      w.u8(ApsCommandId.TRANSPORT_KEY).u8(c.keyType);
      if (d.layout === 'unknown') w.bytes(d.raw);
      else w.bytes(key16(d.key, 'key'));
      if (d.layout === 'network') w.u8(d.keySeq).eui64(d.dst64).eui64(d.src64);
      else if (d.layout === 'trustCenter') w.eui64(d.dst64).eui64(d.src64);
      else if (d.layout === 'application') w.eui64(d.partner64).u8(d.initiatorFlag);
      break;
    }
    case 'updateDevice':
      w.u8(ApsCommandId.UPDATE_DEVICE).eui64(c.device64).u16(c.device16).u8(c.status);
      break;
    case 'removeDevice':
      w.u8(ApsCommandId.REMOVE_DEVICE).eui64(c.target64);
      break;
    case 'requestKey':
      if ((c.partner64 !== undefined) !== (c.keyType === ApsKeyType.APP_MASTER)) throw new RangeError('Request Key "partner64" goes with key type 0x02 and only with it');
      w.u8(ApsCommandId.REQUEST_KEY).u8(c.keyType);
      if (c.partner64 !== undefined) w.eui64(c.partner64);
      break;
    case 'switchKey':
      w.u8(ApsCommandId.SWITCH_KEY).u8(c.keySeq);
      break;
    case 'tunnel':
      w.u8(ApsCommandId.TUNNEL).eui64(c.dst64);
      writeApsFrame(w, c.frame);
      return;
    case 'verifyKey':
      w.u8(ApsCommandId.VERIFY_KEY).u8(c.keyType).eui64(c.src64).bytes(key16(c.keyHash, 'keyHash'));
      break;
    case 'confirmKey':
      w.u8(ApsCommandId.CONFIRM_KEY).u8(c.status).u8(c.keyType).eui64(c.dst64);
      break;
    case 'unknown':
      w.u8(c.id).bytes(c.raw);
      return;
  }
  if (c.trailing) w.bytes(c.trailing);
}

function key16(k: Uint8Array, name: string): Uint8Array {
  if (k.length !== KEY_BYTES) throw new RangeError(`"${name}" expected 16 bytes, got length=${k.length}`);
  return k;
}

