// IEEE 802.15.4 MAC frames as Zigbee uses them (frame versions 2003 and 2006): header with every
// addressing mode and the PAN-ID compression rule, beacons with the Zigbee beacon payload, the MAC
// commands of joining, and the FCS. MAC-layer security is not used by Zigbee: a frame with the
// security bit set decodes its header and reports the rest as MAC-secured bytes.
//
// Decoders take `(bytes, offset, base)`, return `{ value, offset }` and throw only DecodeError.
// Byte-array fields of decoded values are views into the input (no copies).
import { ByteReader, ByteWriter, type Eui64 } from './codec.ts';

/**
 * Frame control field (16 bits, LE).
 * ```
 *  15 14 | 13 12 | 11 10 | 9  | 8  | 7   | 6        | 5      | 4       | 3   | 2 1 0
 *  src   | frame | dst   | IE | SN | res | PAN-ID   | ack    | frame   | sec | frame
 *  mode  | vers. | mode  |    |sup.|     | compress | req.   | pending |     | type
 * ```
 * Bits 7–9 are reserved in 2003/2006 (IE present / SN suppression exist from 2015 on).
 * @spec IEEE 802.15.4-2006 §7.2.1.1
 */
export const MacFcf = {
  frameTypeMask: 0x0007,
  security: 0x0008,
  framePending: 0x0010,
  ackRequest: 0x0020,
  panIdCompression: 0x0040,
  reservedMask: 0x0380,
  dstModeShift: 10,
  versionShift: 12,
  srcModeShift: 14,
} as const;

/** @spec IEEE 802.15.4-2006 §7.2.1.1.1 (5 multipurpose, 6 fragment, 7 extended are 2015 additions) */
export const MacFrameType = { beacon: 0, data: 1, ack: 2, command: 3 } as const;
/** @spec IEEE 802.15.4-2006 §7.2.1.1.6 (mode 1 is reserved) */
export const MacAddrMode = { none: 0, short: 2, extended: 3 } as const;
/** @spec IEEE 802.15.4-2006 §7.2.1.1.7 */
export const MacFrameVersion = { v2003: 0, v2006: 1, v2015: 2 } as const;

/** MAC command identifiers. @spec IEEE 802.15.4-2006 §7.3 Table 82 */
export const MacCommandId = {
  associationRequest: 0x01,
  associationResponse: 0x02,
  disassociation: 0x03,
  dataRequest: 0x04,
  panIdConflict: 0x05,
  orphan: 0x06,
  beaconRequest: 0x07,
  coordinatorRealignment: 0x08,
} as const;

/** Association status (also the NWK Rejoin Response status). @spec IEEE 802.15.4-2006 §7.3.2.3; Zigbee 05-3474 adds 0xF0 */
export const AssociationStatus = { success: 0x00, panAtCapacity: 0x01, accessDenied: 0x02, addressConflict: 0xf0 } as const;

export interface MacHeader {
  frameType: number;
  securityEnabled: boolean;
  framePending: boolean;
  ackRequest: boolean;
  panIdCompression: boolean;
  /** FCF bits 7–9 as they stand (mask 0x0380); present only when non-zero. */
  reservedBits?: number;
  dstAddrMode: number;
  frameVersion: number;
  srcAddrMode: number;
  /** Absent only for frames this codec does not lay out (frame version ≥ 2). */
  seq?: number;
  dstPan?: number;
  /** Short address (number) for mode 2, EUI-64 for mode 3. */
  dst?: number | Eui64;
  srcPan?: number;
  src?: number | Eui64;
}

/**
 * Capability information (1 byte), shared with NWK Rejoin Request.
 * ```
 *  7 alloc addr | 6 security | 5 4 reserved | 3 rx-on-idle | 2 mains | 1 FFD | 0 alt PAN coord
 * ```
 * @spec IEEE 802.15.4-2006 §7.3.1.2; Zigbee 05-3474 §3.6.1.4.1 (bit 6 = high security)
 */
export interface Capability {
  alternatePanCoordinator: boolean;
  fullFunctionDevice: boolean;
  mainsPowered: boolean;
  rxOnWhenIdle: boolean;
  /** Bits 4–5 (value 0–3); present only when non-zero. */
  reserved?: number;
  securityCapability: boolean;
  allocateAddress: boolean;
}

export type MacCommand =
  | { kind: 'associationRequest'; capability: Capability }
  | { kind: 'associationResponse'; shortAddress: number; status: number }
  | { kind: 'disassociation'; reason: number }
  | { kind: 'dataRequest' }
  | { kind: 'panIdConflict' }
  | { kind: 'orphan' }
  | { kind: 'beaconRequest' }
  | { kind: 'coordinatorRealignment'; panId: number; coordinatorShortAddress: number; channel: number; shortAddress: number; channelPage?: number }
  | { kind: 'unknown'; id: number; raw: Uint8Array };

/**
 * Superframe specification (16 bits, LE).
 * ```
 *  15 assoc permit | 14 PAN coord | 13 res | 12 BLE | 11–8 final CAP slot | 7–4 SO | 3–0 BO
 * ```
 * @spec IEEE 802.15.4-2006 §7.2.2.1.2
 */
export interface SuperframeSpec {
  beaconOrder: number;
  superframeOrder: number;
  finalCapSlot: number;
  batteryLifeExtension: boolean;
  /** Bit 13; present only when set. */
  reserved?: number;
  panCoordinator: boolean;
  associationPermit: boolean;
}

/** GTS fields. Spec byte: b0–2 descriptor count, b3–6 reserved, b7 permit. @spec IEEE 802.15.4-2006 §7.2.2.1.3–1.5 */
export interface GtsInfo {
  permit: boolean;
  /** Bits 3–6 of the GTS specification (value 0–15); present only when non-zero. */
  reserved?: number;
  /** The GTS directions byte as sent (b0–6 directions, b7 reserved); present iff there are descriptors. */
  directions?: number;
  descriptors: { shortAddress: number; startingSlot: number; length: number }[];
}

/** Pending addresses. Spec byte: b0–2 #short, b3 res, b4–6 #extended, b7 res. @spec IEEE 802.15.4-2006 §7.2.2.1.6–1.7 */
export interface PendingAddresses {
  short: number[];
  extended: Eui64[];
  /** Reserved bits 3 and 7 (mask 0x88); present only when non-zero. */
  reserved?: number;
}

/**
 * Zigbee beacon payload (protocol id 0, 15 bytes; 14 without the update id of older stacks).
 * Word at offset 1 (LE): b0–3 stack profile, b4–7 protocol version, b8–9 reserved,
 * b10 router capacity, b11–14 device depth, b15 end-device capacity.
 * @spec Zigbee 05-3474 §3.6.7 Table 3.56; protocol.md §1.3 (update id is the byte at offset 14)
 */
export interface ZigbeeBeacon {
  stackProfile: number;
  protocolVersion: number;
  /** Bits 8–9 of the word (value 0–3); present only when non-zero. */
  reserved?: number;
  routerCapacity: boolean;
  deviceDepth: number;
  endDeviceCapacity: boolean;
  extendedPanId: Eui64;
  /** 24-bit LE; 0xFFFFFF in non-beacon networks. */
  txOffset: number;
  updateId?: number;
}

export interface MacBeacon {
  kind: 'beacon';
  superframe: SuperframeSpec;
  gts: GtsInfo;
  pending: PendingAddresses;
  /** Set when the beacon payload is a Zigbee beacon (protocol id 0, ≥ 14 bytes). */
  zigbee?: ZigbeeBeacon;
  /** The beacon payload as sent when it is not a Zigbee beacon (possibly empty). */
  payload?: Uint8Array;
  /** Bytes after a Zigbee beacon payload. */
  trailing?: Uint8Array;
}

export type MacBody =
  | MacBeacon
  | { kind: 'data'; payload: Uint8Array }
  | { kind: 'ack'; trailing?: Uint8Array }
  | { kind: 'command'; command: MacCommand; trailing?: Uint8Array }
  /** Security bit set: everything after the addressing fields (2006 aux header, payload, MIC). */
  | { kind: 'secured'; raw: Uint8Array }
  /** Frame types or versions this codec does not lay out (2015 frames, reserved types). */
  | { kind: 'raw'; raw: Uint8Array };

export interface MacFrame {
  header: MacHeader;
  body: MacBody;
  /** FCS as received (LE on air); present when decoded with `hasFcs`. */
  fcs?: number;
  fcsOk?: boolean;
}

// ---------------------------------------------------------------------------------------------
// FCS: CRC-16/KERMIT (poly 0x1021 reflected = 0x8408, init 0, no xor-out), sent LE.
// @spec IEEE 802.15.4-2006 §7.2.1.9; protocol.md §1.1 (check("123456789") = 0x2189)

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/**
 * Two bytes per step (every received frame is checked): with x = crc ⊕ (b0 | b1 << 8), the two
 * byte steps give T[x >> 8] ⊕ (T[x & 0xff] >> 8) ⊕ T[T[x & 0xff] & 0xff] — a CRC table is linear
 * over XOR — so CRC_PAIR[i] = (T[i] >> 8) ⊕ T[T[i] & 0xff].
 */
const CRC_PAIR = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) t[i] = (CRC_TABLE[i] >>> 8) ^ CRC_TABLE[CRC_TABLE[i] & 0xff];
  return t;
})();

/** CRC-16/KERMIT of `bytes[start..end)`. */
export function crc16Kermit(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    const x = crc ^ bytes[i] ^ (bytes[i + 1] << 8);
    crc = CRC_PAIR[x & 0xff] ^ CRC_TABLE[x >>> 8];
  }
  if (i < end) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ bytes[i]) & 0xff];
  return crc;
}

// ---------------------------------------------------------------------------------------------
// Header

/**
 * 2003/2006 PAN-ID presence: DstPAN iff a destination address; SrcPAN iff a source address and
 * not compressed. Compression without a destination is invalid (§7.2.1.1.5); we then keep the
 * SrcPAN, the only reading under which the bytes still mean something.
 */
function srcPanPresent(dstMode: number, srcMode: number, compression: boolean): boolean {
  return srcMode !== 0 && (!compression || dstMode === 0);
}

function readAddr(r: ByteReader, mode: number, what: string): number | Eui64 {
  return mode === MacAddrMode.short ? r.u16(what) : r.eui64(what);
}

/** @spec IEEE 802.15.4-2006 §7.2.1 (general MAC frame format, header part) */
export function decodeMacHeader(bytes: Uint8Array, offset = 0, base = 0): { value: MacHeader; offset: number } {
  const r = new ByteReader(bytes, 'mac', offset, base);
  const value = readMacHeader(r);
  return { value, offset: r.offset };
}

/** decodeMacHeader on a reader (left after the header): no wrapper object, for the frame dissector. */
export function readMacHeader(r: ByteReader): MacHeader {
  const offset = r.offset;
  const fcf = r.u16('frame control');
  const h: MacHeader = {
    frameType: fcf & MacFcf.frameTypeMask,
    securityEnabled: (fcf & MacFcf.security) !== 0,
    framePending: (fcf & MacFcf.framePending) !== 0,
    ackRequest: (fcf & MacFcf.ackRequest) !== 0,
    panIdCompression: (fcf & MacFcf.panIdCompression) !== 0,
    dstAddrMode: (fcf >> MacFcf.dstModeShift) & 3,
    frameVersion: (fcf >> MacFcf.versionShift) & 3,
    srcAddrMode: (fcf >> MacFcf.srcModeShift) & 3,
  };
  if (fcf & MacFcf.reservedMask) h.reservedBits = fcf & MacFcf.reservedMask;
  if (h.frameVersion >= MacFrameVersion.v2015) return h;
  if (h.dstAddrMode === 1) r.fail('reserved destination addressing mode 1', offset);
  if (h.srcAddrMode === 1) r.fail('reserved source addressing mode 1', offset);
  h.seq = r.u8('sequence number');
  if (h.dstAddrMode !== 0) {
    h.dstPan = r.u16('destination PAN');
    h.dst = readAddr(r, h.dstAddrMode, 'destination address');
  }
  if (h.srcAddrMode !== 0) {
    if (srcPanPresent(h.dstAddrMode, h.srcAddrMode, h.panIdCompression)) h.srcPan = r.u16('source PAN');
    h.src = readAddr(r, h.srcAddrMode, 'source address');
  }
  return h;
}

function writeAddr(w: ByteWriter, mode: number, addr: number | Eui64 | undefined, what: string): void {
  if (mode === MacAddrMode.short && typeof addr === 'number') w.u16(addr);
  else if (mode === MacAddrMode.extended && typeof addr === 'string') w.eui64(addr);
  else throw new RangeError(`MAC ${what} ${JSON.stringify(addr)} does not fit addressing mode ${mode}`);
}

function requirePresence(value: unknown, present: boolean, what: string): void {
  if ((value !== undefined) !== present) {
    throw new RangeError(`MAC ${what} must be ${present ? 'given' : 'absent'} for this addressing mode / PAN-ID compression`);
  }
}

export function encodeMacHeader(h: MacHeader): Uint8Array {
  const w = new ByteWriter(32);
  writeMacHeader(w, h);
  return w.finish();
}

function writeMacHeader(w: ByteWriter, h: MacHeader): void {
  const fcf =
    (h.frameType & 7) |
    (h.securityEnabled ? MacFcf.security : 0) |
    (h.framePending ? MacFcf.framePending : 0) |
    (h.ackRequest ? MacFcf.ackRequest : 0) |
    (h.panIdCompression ? MacFcf.panIdCompression : 0) |
    ((h.reservedBits ?? 0) & MacFcf.reservedMask) |
    ((h.dstAddrMode & 3) << MacFcf.dstModeShift) |
    ((h.frameVersion & 3) << MacFcf.versionShift) |
    ((h.srcAddrMode & 3) << MacFcf.srcModeShift);
  w.u16(fcf);
  if (h.frameVersion >= MacFrameVersion.v2015) return;
  if (h.seq === undefined) throw new RangeError('MAC sequence number must be given');
  w.u8(h.seq);
  const dstPan = h.dstAddrMode !== 0;
  const srcPan = srcPanPresent(h.dstAddrMode, h.srcAddrMode, h.panIdCompression);
  requirePresence(h.dstPan, dstPan, 'destination PAN');
  requirePresence(h.srcPan, srcPan, 'source PAN');
  requirePresence(h.dst, h.dstAddrMode !== 0, 'destination address');
  requirePresence(h.src, h.srcAddrMode !== 0, 'source address');
  if (dstPan) {
    w.u16(h.dstPan!);
    writeAddr(w, h.dstAddrMode, h.dst, 'destination address');
  }
  if (h.srcAddrMode !== 0) {
    if (srcPan) w.u16(h.srcPan!);
    writeAddr(w, h.srcAddrMode, h.src, 'source address');
  }
}

// ---------------------------------------------------------------------------------------------
// Capability, commands, beacons

export function decodeCapability(b: number): Capability {
  const c: Capability = {
    alternatePanCoordinator: (b & 0x01) !== 0,
    fullFunctionDevice: (b & 0x02) !== 0,
    mainsPowered: (b & 0x04) !== 0,
    rxOnWhenIdle: (b & 0x08) !== 0,
    securityCapability: (b & 0x40) !== 0,
    allocateAddress: (b & 0x80) !== 0,
  };
  if (b & 0x30) c.reserved = (b >> 4) & 3;
  return c;
}

export function encodeCapability(c: Capability): number {
  return (
    (c.alternatePanCoordinator ? 0x01 : 0) |
    (c.fullFunctionDevice ? 0x02 : 0) |
    (c.mainsPowered ? 0x04 : 0) |
    (c.rxOnWhenIdle ? 0x08 : 0) |
    (((c.reserved ?? 0) & 3) << 4) |
    (c.securityCapability ? 0x40 : 0) |
    (c.allocateAddress ? 0x80 : 0)
  );
}

/** Command id and its payload, up to the end of `bytes`. @spec IEEE 802.15.4-2006 §7.3 */
export function decodeMacCommand(bytes: Uint8Array, offset = 0, base = 0): { value: MacCommand; offset: number } {
  const r = new ByteReader(bytes, 'mac', offset, base);
  const id = r.u8('command identifier');
  let c: MacCommand;
  switch (id) {
    case MacCommandId.associationRequest:
      c = { kind: 'associationRequest', capability: decodeCapability(r.u8('capability information')) };
      break;
    case MacCommandId.associationResponse:
      c = { kind: 'associationResponse', shortAddress: r.u16('short address'), status: r.u8('association status') };
      break;
    case MacCommandId.disassociation:
      c = { kind: 'disassociation', reason: r.u8('disassociation reason') };
      break;
    case MacCommandId.dataRequest: c = { kind: 'dataRequest' }; break;
    case MacCommandId.panIdConflict: c = { kind: 'panIdConflict' }; break;
    case MacCommandId.orphan: c = { kind: 'orphan' }; break;
    case MacCommandId.beaconRequest: c = { kind: 'beaconRequest' }; break;
    case MacCommandId.coordinatorRealignment: {
      c = {
        kind: 'coordinatorRealignment',
        panId: r.u16('PAN identifier'),
        coordinatorShortAddress: r.u16('coordinator short address'),
        channel: r.u8('logical channel'),
        shortAddress: r.u16('short address'),
      };
      // 2006 §7.3.8: the channel page is optional (present with frame version 1).
      if (r.remaining > 0) c.channelPage = r.u8('channel page');
      break;
    }
    default:
      c = { kind: 'unknown', id, raw: r.rest() };
  }
  return { value: c, offset: r.offset };
}

export function encodeMacCommand(c: MacCommand): Uint8Array {
  const w = new ByteWriter(16);
  writeMacCommand(w, c);
  return w.finish();
}

function writeMacCommand(w: ByteWriter, c: MacCommand): void {
  switch (c.kind) {
    case 'associationRequest': w.u8(MacCommandId.associationRequest).u8(encodeCapability(c.capability)); break;
    case 'associationResponse': w.u8(MacCommandId.associationResponse).u16(c.shortAddress).u8(c.status); break;
    case 'disassociation': w.u8(MacCommandId.disassociation).u8(c.reason); break;
    case 'dataRequest': w.u8(MacCommandId.dataRequest); break;
    case 'panIdConflict': w.u8(MacCommandId.panIdConflict); break;
    case 'orphan': w.u8(MacCommandId.orphan); break;
    case 'beaconRequest': w.u8(MacCommandId.beaconRequest); break;
    case 'coordinatorRealignment':
      w.u8(MacCommandId.coordinatorRealignment).u16(c.panId).u16(c.coordinatorShortAddress).u8(c.channel).u16(c.shortAddress);
      if (c.channelPage !== undefined) w.u8(c.channelPage);
      break;
    case 'unknown': w.u8(c.id).bytes(c.raw); break;
  }
}

/** The Zigbee beacon payload; `bytes` from `offset` must hold ≥ 14 bytes starting with protocol id 0. */
export function decodeZigbeeBeacon(bytes: Uint8Array, offset = 0, base = 0): { value: ZigbeeBeacon; offset: number } {
  const r = new ByteReader(bytes, 'mac', offset, base);
  const protocolId = r.u8('protocol id');
  if (protocolId !== 0) r.fail(`beacon protocol id ${protocolId} is not Zigbee (0)`, offset);
  const word = r.u16('stack profile / capacity');
  const z: ZigbeeBeacon = {
    stackProfile: word & 0x0f,
    protocolVersion: (word >> 4) & 0x0f,
    routerCapacity: (word & 0x0400) !== 0,
    deviceDepth: (word >> 11) & 0x0f,
    endDeviceCapacity: (word & 0x8000) !== 0,
    extendedPanId: r.eui64('extended PAN ID'),
    txOffset: 0,
  };
  if (word & 0x0300) z.reserved = (word >> 8) & 3;
  const t = r.take(3, 'TX offset');
  z.txOffset = t[0] | (t[1] << 8) | (t[2] << 16);
  if (r.remaining > 0) z.updateId = r.u8('update id');
  return { value: z, offset: r.offset };
}

export function encodeZigbeeBeacon(z: ZigbeeBeacon): Uint8Array {
  const w = new ByteWriter(16);
  writeZigbeeBeacon(w, z);
  return w.finish();
}

function writeZigbeeBeacon(w: ByteWriter, z: ZigbeeBeacon): void {
  const word =
    (z.stackProfile & 0x0f) |
    ((z.protocolVersion & 0x0f) << 4) |
    (((z.reserved ?? 0) & 3) << 8) |
    (z.routerCapacity ? 0x0400 : 0) |
    ((z.deviceDepth & 0x0f) << 11) |
    (z.endDeviceCapacity ? 0x8000 : 0);
  w.u8(0).u16(word).eui64(z.extendedPanId);
  w.u8(z.txOffset).u8(z.txOffset >>> 8).u8(z.txOffset >>> 16);
  if (z.updateId !== undefined) w.u8(z.updateId);
}

const ZIGBEE_BEACON_MIN = 14; // without update id
const ZIGBEE_BEACON_LEN = 15;

/** Beacon MAC payload, up to the end of `bytes`. @spec IEEE 802.15.4-2006 §7.2.2.1 */
export function decodeBeacon(bytes: Uint8Array, offset = 0, base = 0): { value: MacBeacon; offset: number } {
  const r = new ByteReader(bytes, 'mac', offset, base);
  const sf = r.u16('superframe specification');
  const superframe: SuperframeSpec = {
    beaconOrder: sf & 0x0f,
    superframeOrder: (sf >> 4) & 0x0f,
    finalCapSlot: (sf >> 8) & 0x0f,
    batteryLifeExtension: (sf & 0x1000) !== 0,
    panCoordinator: (sf & 0x4000) !== 0,
    associationPermit: (sf & 0x8000) !== 0,
  };
  if (sf & 0x2000) superframe.reserved = 1;
  const g = r.u8('GTS specification');
  const gts: GtsInfo = { permit: (g & 0x80) !== 0, descriptors: [] };
  if (g & 0x78) gts.reserved = (g >> 3) & 0x0f;
  const gtsCount = g & 7;
  if (gtsCount > 0) {
    gts.directions = r.u8('GTS directions');
    for (let i = 0; i < gtsCount; i++) {
      const shortAddress = r.u16('GTS descriptor');
      const s = r.u8('GTS descriptor');
      gts.descriptors.push({ shortAddress, startingSlot: s & 0x0f, length: s >> 4 });
    }
  }
  const p = r.u8('pending address specification');
  const pending: PendingAddresses = { short: [], extended: [] };
  if (p & 0x88) pending.reserved = p & 0x88;
  for (let i = 0, n = p & 7; i < n; i++) pending.short.push(r.u16('pending short address'));
  for (let i = 0, n = (p >> 4) & 7; i < n; i++) pending.extended.push(r.eui64('pending extended address'));
  const value: MacBeacon = { kind: 'beacon', superframe, gts, pending };
  if (r.remaining >= ZIGBEE_BEACON_MIN && bytes[r.offset] === 0) {
    const end = Math.min(bytes.length, r.offset + ZIGBEE_BEACON_LEN);
    value.zigbee = decodeZigbeeBeacon(bytes.subarray(0, end), r.offset, base).value;
    r.offset = end;
    if (r.remaining > 0) value.trailing = r.rest();
  } else {
    value.payload = r.rest();
  }
  return { value, offset: r.offset };
}

export function encodeBeacon(b: MacBeacon): Uint8Array {
  const w = new ByteWriter(40);
  writeBeacon(w, b);
  return w.finish();
}

function writeBeacon(w: ByteWriter, b: MacBeacon): void {
  const s = b.superframe;
  w.u16(
    (s.beaconOrder & 0x0f) |
      ((s.superframeOrder & 0x0f) << 4) |
      ((s.finalCapSlot & 0x0f) << 8) |
      (s.batteryLifeExtension ? 0x1000 : 0) |
      (s.reserved ? 0x2000 : 0) |
      (s.panCoordinator ? 0x4000 : 0) |
      (s.associationPermit ? 0x8000 : 0),
  );
  const d = b.gts.descriptors;
  if (d.length > 7) throw new RangeError(`at most 7 GTS descriptors, got ${d.length}`);
  w.u8(d.length | (((b.gts.reserved ?? 0) & 0x0f) << 3) | (b.gts.permit ? 0x80 : 0));
  if (d.length > 0) {
    w.u8(b.gts.directions ?? 0);
    for (const x of d) w.u16(x.shortAddress).u8((x.startingSlot & 0x0f) | ((x.length & 0x0f) << 4));
  }
  const p = b.pending;
  if (p.short.length > 7 || p.extended.length > 7) throw new RangeError('at most 7 short and 7 extended pending addresses');
  w.u8(p.short.length | (p.extended.length << 4) | ((p.reserved ?? 0) & 0x88));
  for (const a of p.short) w.u16(a);
  for (const a of p.extended) w.eui64(a);
  if (b.zigbee) writeZigbeeBeacon(w, b.zigbee);
  else if (b.payload) w.bytes(b.payload);
  if (b.trailing) w.bytes(b.trailing);
}

// ---------------------------------------------------------------------------------------------
// Whole frame

export interface MacDecodeOptions {
  /** The last two bytes are the FCS (as on air); `fcsOk` reports whether it matches. */
  hasFcs?: boolean;
  /** Absolute offset of `psdu[0]`, for error offsets. */
  base?: number;
}

/**
 * Decodes a PSDU. A bad FCS is reported (`fcsOk: false`), not thrown. `payloadOffset` is where
 * the MAC payload starts in `psdu` (the NWK layer decodes from there).
 * @spec IEEE 802.15.4-2006 §7.2
 */
export function decodeMacFrame(psdu: Uint8Array, opts: MacDecodeOptions = {}): { value: MacFrame; offset: number; payloadOffset: number } {
  const base = opts.base ?? 0;
  let bytes = psdu;
  let fcs: number | undefined;
  if (opts.hasFcs) {
    if (psdu.length < 2) new ByteReader(psdu, 'mac', 0, base).need(2, 'FCS');
    const n = psdu.length - 2;
    fcs = psdu[n] | (psdu[n + 1] << 8);
    bytes = psdu.subarray(0, n);
  }
  const { value: header, offset: hdrEnd } = decodeMacHeader(bytes, 0, base);
  const r = new ByteReader(bytes, 'mac', hdrEnd, base);
  let body: MacBody;
  if (header.frameVersion >= MacFrameVersion.v2015 || header.frameType > MacFrameType.command) {
    body = { kind: 'raw', raw: r.rest() };
  } else if (header.securityEnabled) {
    body = { kind: 'secured', raw: r.rest() };
  } else if (header.frameType === MacFrameType.data) {
    body = { kind: 'data', payload: r.rest() };
  } else if (header.frameType === MacFrameType.beacon) {
    body = decodeBeacon(bytes, hdrEnd, base).value;
  } else if (header.frameType === MacFrameType.ack) {
    body = r.remaining > 0 ? { kind: 'ack', trailing: r.rest() } : { kind: 'ack' };
  } else {
    const cmd = decodeMacCommand(bytes, hdrEnd, base);
    body = { kind: 'command', command: cmd.value };
    if (cmd.offset < bytes.length) body.trailing = bytes.subarray(cmd.offset);
  }
  const value: MacFrame = { header, body };
  if (fcs !== undefined) {
    value.fcs = fcs;
    value.fcsOk = crc16Kermit(bytes) === fcs;
  }
  return { value, offset: psdu.length, payloadOffset: hdrEnd };
}

/** Encodes a frame; appends the FCS unless `withFcs` is false. Fields `fcs`/`fcsOk` are ignored. */
export function encodeMacFrame(f: Omit<MacFrame, 'fcs' | 'fcsOk'>, opts: { withFcs?: boolean } = {}): Uint8Array {
  const w = new ByteWriter(64);
  writeMacHeader(w, f.header);
  const b = f.body;
  switch (b.kind) {
    case 'beacon': writeBeacon(w, b); break;
    case 'data': w.bytes(b.payload); break;
    case 'ack': if (b.trailing) w.bytes(b.trailing); break;
    case 'command': writeMacCommand(w, b.command); if (b.trailing) w.bytes(b.trailing); break;
    case 'secured': case 'raw': w.bytes(b.raw); break;
  }
  if (opts.withFcs === false) return w.finish();
  const out = w.u16(0).finish();
  const n = out.length - 2;
  const crc = crc16Kermit(out, 0, n);
  out[n] = crc & 0xff;
  out[n + 1] = crc >>> 8;
  return out;
}
