// Zigbee NWK layer: the header (every frame-control bit, multicast control, source route,
// extended addresses), secured frames (aux header + ciphertext ‖ MIC, opened by security.ts) and
// the NWK commands of joining, leaving and routing.
//
// Decoders take `(bytes, offset, base)`, return `{ value, offset }` and throw only DecodeError.
// Byte-array fields of decoded values are views into the input (no copies).
import { ByteReader, ByteWriter, type Eui64 } from './codec.ts';
import { decodeCapability, encodeCapability, type Capability } from './ieee802154.ts';
import { decodeAuxSecurityHeader, MIC_LENGTH, writeAuxSecurityHeader, type AuxSecurityHeader } from './security.ts';

/**
 * NWK frame control (16 bits, LE).
 * ```
 *  15 14 | 13  | 12    | 11    | 10     | 9   | 8     | 7 6      | 5 4 3 2  | 1 0
 *  res   | EDI | src64 | dst64 | src rt | sec | mcast | disc. rt | protocol | frame type
 * ```
 * @spec Zigbee 05-3474 §3.3.1.1 (bit 13 end-device initiator: R21+)
 */
export const NwkFcf = {
  frameTypeMask: 0x0003,
  protocolVersionShift: 2,
  discoverRouteShift: 6,
  multicast: 0x0100,
  security: 0x0200,
  sourceRoute: 0x0400,
  extendedDestination: 0x0800,
  extendedSource: 0x1000,
  endDeviceInitiator: 0x2000,
  reservedMask: 0xc000,
} as const;

/** @spec Zigbee 05-3474 §3.3.1.1.1 (2 reserved) */
export const NwkFrameType = { data: 0, command: 1, interPan: 3 } as const;
/** Protocol version 2 = Zigbee PRO; 3 = Green Power stub (a different, 1-byte frame control). */
export const NWK_PROTOCOL_GREEN_POWER = 3;

export interface NwkHeader {
  frameType: number;
  protocolVersion: number;
  discoverRoute: number;
  multicast: boolean;
  security: boolean;
  sourceRoute: boolean;
  extendedDestination: boolean;
  extendedSource: boolean;
  endDeviceInitiator: boolean;
  /** FCF bits 14–15 (value 0–3); present only when non-zero. */
  reserved?: number;
  /** dst16 … seq are absent on inter-PAN frames, whose NWK header is the frame control only. */
  dst16?: number;
  src16?: number;
  radius?: number;
  seq?: number;
  dst64?: Eui64;
  src64?: Eui64;
  /** Multicast control byte: b0–1 mode, b2–4 non-member radius, b5–7 max non-member radius. @spec §3.3.1.8 */
  multicastControl?: { mode: number; nonmemberRadius: number; maxNonmemberRadius: number };
  /** Source route subframe. @spec §3.3.1.9 */
  sourceRouteSubframe?: { relayIndex: number; relays: number[] };
}

export const NwkCommandId = {
  routeRequest: 0x01,
  routeReply: 0x02,
  networkStatus: 0x03,
  leave: 0x04,
  routeRecord: 0x05,
  rejoinRequest: 0x06,
  rejoinResponse: 0x07,
  linkStatus: 0x08,
  networkReport: 0x09,
  networkUpdate: 0x0a,
  endDeviceTimeoutRequest: 0x0b,
  endDeviceTimeoutResponse: 0x0c,
} as const;

/** Network Status codes. @spec Zigbee 05-3474 §3.4.3.3.1 Table 3.42 (0x11/0x12: protocol.md §2.5) */
export const NwkStatusCode = {
  noRouteAvailable: 0x00, treeLinkFailure: 0x01, nonTreeLinkFailure: 0x02, lowBatteryLevel: 0x03,
  noRoutingCapacity: 0x04, noIndirectCapacity: 0x05, indirectTransactionExpiry: 0x06,
  targetDeviceUnavailable: 0x07, targetAddressUnallocated: 0x08, parentLinkFailure: 0x09,
  validateRoute: 0x0a, sourceRouteFailure: 0x0b, manyToOneRouteFailure: 0x0c, addressConflict: 0x0d,
  verifyAddresses: 0x0e, panIdentifierUpdate: 0x0f, networkAddressUpdate: 0x10,
  badFrameCounter: 0x11, badKeySequenceNumber: 0x12, unknownCommand: 0x13,
} as const;

/** Requested timeout enum 0 → 10 s, n → 2^n minutes (1 … 14). @spec Zigbee 05-3474 §3.4.11.3.1 */
export function endDeviceTimeoutSeconds(timeoutEnum: number): number {
  return timeoutEnum === 0 ? 10 : 60 * 2 ** timeoutEnum;
}

export type NwkCommand = (
  /** Options: b3–4 many-to-one, b5 dst64 present, b6 multicast. @spec §3.4.1 */
  | { kind: 'routeRequest'; manyToOne: number; multicast: boolean; optionsReserved?: number; routeRequestId: number; dst16: number; pathCost: number; dst64?: Eui64 }
  /** Options: b4 originator64, b5 responder64, b6 multicast. @spec §3.4.2 */
  | { kind: 'routeReply'; multicast: boolean; optionsReserved?: number; routeRequestId: number; originator16: number; responder16: number; pathCost: number; originator64?: Eui64; responder64?: Eui64 }
  /** Status 0x13 (unknown command) is followed by the id of the command not understood. @spec §3.4.3; Wireshark dissect_zbee_nwk_status */
  | { kind: 'networkStatus'; status: number; destination: number; unknownCommandId?: number }
  /** Options: b5 rejoin, b6 request, b7 remove children. @spec §3.4.4 */
  | { kind: 'leave'; rejoin: boolean; request: boolean; removeChildren: boolean; optionsReserved?: number }
  | { kind: 'routeRecord'; relays: number[] }
  | { kind: 'rejoinRequest'; capability: Capability }
  /** Status uses the MAC association status values. @spec §3.4.7 */
  | { kind: 'rejoinResponse'; nwkAddress: number; status: number }
  /** Options: b0–4 entry count, b5 first frame, b6 last frame. Entry cost byte: b0–2 incoming, b4–6 outgoing. @spec §3.4.8 */
  | { kind: 'linkStatus'; firstFrame: boolean; lastFrame: boolean; optionsReserved?: number; links: { address: number; incomingCost: number; outgoingCost: number; reserved?: number }[] }
  /** Options: b0–4 info count, b5–7 report type (0 = PAN id conflict: info is that many PAN ids). @spec §3.4.9 */
  | { kind: 'networkReport'; reportType: number; extendedPanId: Eui64; panIds?: number[]; infoCount?: number; info?: Uint8Array }
  /** Options: b0–4 info count, b5–7 update type (0 = PAN id update: one new PAN id). @spec §3.4.10 */
  | { kind: 'networkUpdate'; updateType: number; extendedPanId: Eui64; updateId: number; newPanId?: number; infoCount?: number; info?: Uint8Array }
  | { kind: 'endDeviceTimeoutRequest'; requestedTimeout: number; configuration: number }
  /** Parent info: b0 MAC data-poll keep-alive, b1 timeout-request keep-alive, b2 power negotiation. @spec §3.4.12 */
  | { kind: 'endDeviceTimeoutResponse'; status: number; macDataPollKeepalive: boolean; timeoutRequestKeepalive: boolean; powerNegotiation: boolean; parentInfoReserved?: number }
  | { kind: 'unknown'; id: number; raw: Uint8Array }
) & {
  /** Bytes after the fields this codec knows (e.g. R23 TLVs). */
  trailing?: Uint8Array;
};

export type NwkBody =
  | { kind: 'data'; payload: Uint8Array }
  | { kind: 'command'; command: NwkCommand }
  | { kind: 'interPan'; payload: Uint8Array }
  /** Reserved frame type 2, unsecured. */
  | { kind: 'raw'; payload: Uint8Array }
  /** `encrypted` = ciphertext ‖ 4-byte MIC, to be opened with security.ts unsecureLayer. */
  | { kind: 'secured'; aux: AuxSecurityHeader; encrypted: Uint8Array };

export type NwkFrame =
  | { kind: 'nwk'; header: NwkHeader; body: NwkBody }
  /** Green Power stub NWK frame (protocol version 3): not decoded here. */
  | { kind: 'greenPower'; raw: Uint8Array };

// ---------------------------------------------------------------------------------------------
// Header

/** @spec Zigbee 05-3474 §3.3.1 */
export function decodeNwkHeader(bytes: Uint8Array, offset = 0, base = 0): { value: NwkHeader; offset: number } {
  const r = new ByteReader(bytes, 'nwk', offset, base);
  const value = readNwkHeader(r);
  return { value, offset: r.offset };
}

/** decodeNwkHeader on a reader (left after the header): no wrapper object, for the frame dissector. */
export function readNwkHeader(r: ByteReader): NwkHeader {
  const fcf = r.u16('frame control');
  const h: NwkHeader = {
    frameType: fcf & NwkFcf.frameTypeMask,
    protocolVersion: (fcf >> NwkFcf.protocolVersionShift) & 0x0f,
    discoverRoute: (fcf >> NwkFcf.discoverRouteShift) & 3,
    multicast: (fcf & NwkFcf.multicast) !== 0,
    security: (fcf & NwkFcf.security) !== 0,
    sourceRoute: (fcf & NwkFcf.sourceRoute) !== 0,
    extendedDestination: (fcf & NwkFcf.extendedDestination) !== 0,
    extendedSource: (fcf & NwkFcf.extendedSource) !== 0,
    endDeviceInitiator: (fcf & NwkFcf.endDeviceInitiator) !== 0,
  };
  if (fcf & NwkFcf.reservedMask) h.reserved = fcf >>> 14;
  if (h.frameType === NwkFrameType.interPan) return h;
  h.dst16 = r.u16('destination address');
  h.src16 = r.u16('source address');
  h.radius = r.u8('radius');
  h.seq = r.u8('sequence number');
  if (h.extendedDestination) h.dst64 = r.eui64('destination IEEE address');
  if (h.extendedSource) h.src64 = r.eui64('source IEEE address');
  if (h.multicast) {
    const m = r.u8('multicast control');
    h.multicastControl = { mode: m & 3, nonmemberRadius: (m >> 2) & 7, maxNonmemberRadius: m >> 5 };
  }
  if (h.sourceRoute) {
    const count = r.u8('relay count');
    const relayIndex = r.u8('relay index');
    r.need(2 * count, 'relay list');
    const relays: number[] = [];
    for (let i = 0; i < count; i++) relays.push(r.u16('relay list'));
    h.sourceRouteSubframe = { relayIndex, relays };
  }
  return h;
}

function check(present: boolean, value: unknown, what: string): void {
  if ((value !== undefined) !== present) throw new RangeError(`NWK header "${what}" must be ${present ? 'given' : 'absent'} to match the frame control`);
}

export function writeNwkHeader(w: ByteWriter, h: NwkHeader): void {
  w.u16(
    (h.frameType & 3) |
      ((h.protocolVersion & 0x0f) << NwkFcf.protocolVersionShift) |
      ((h.discoverRoute & 3) << NwkFcf.discoverRouteShift) |
      (h.multicast ? NwkFcf.multicast : 0) |
      (h.security ? NwkFcf.security : 0) |
      (h.sourceRoute ? NwkFcf.sourceRoute : 0) |
      (h.extendedDestination ? NwkFcf.extendedDestination : 0) |
      (h.extendedSource ? NwkFcf.extendedSource : 0) |
      (h.endDeviceInitiator ? NwkFcf.endDeviceInitiator : 0) |
      (((h.reserved ?? 0) & 3) << 14),
  );
  if (h.frameType === NwkFrameType.interPan) return;
  if (h.dst16 === undefined || h.src16 === undefined || h.radius === undefined || h.seq === undefined) {
    throw new RangeError('NWK header needs dst16, src16, radius and seq (all but inter-PAN frames)');
  }
  check(h.extendedDestination, h.dst64, 'dst64');
  check(h.extendedSource, h.src64, 'src64');
  check(h.multicast, h.multicastControl, 'multicastControl');
  check(h.sourceRoute, h.sourceRouteSubframe, 'sourceRouteSubframe');
  w.u16(h.dst16).u16(h.src16).u8(h.radius).u8(h.seq);
  if (h.dst64 !== undefined) w.eui64(h.dst64);
  if (h.src64 !== undefined) w.eui64(h.src64);
  const m = h.multicastControl;
  if (m) w.u8((m.mode & 3) | ((m.nonmemberRadius & 7) << 2) | ((m.maxNonmemberRadius & 7) << 5));
  const sr = h.sourceRouteSubframe;
  if (sr) {
    w.u8(sr.relays.length).u8(sr.relayIndex);
    for (const a of sr.relays) w.u16(a);
  }
}

export function encodeNwkHeader(h: NwkHeader): Uint8Array {
  const w = new ByteWriter(32);
  writeNwkHeader(w, h);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Commands

function u8Options(r: ByteReader, reservedMask: number): [number, number | undefined] {
  const o = r.u8('command options');
  return [o, o & reservedMask ? o & reservedMask : undefined];
}

/** A NWK command (id byte first) up to the end of `bytes`. @spec Zigbee 05-3474 §3.4 */
export function decodeNwkCommand(bytes: Uint8Array, offset = 0, base = 0): { value: NwkCommand; offset: number } {
  const r = new ByteReader(bytes, 'nwk', offset, base);
  const id = r.u8('command identifier');
  let c: NwkCommand;
  switch (id) {
    case NwkCommandId.routeRequest: {
      const [o, res] = u8Options(r, 0x87);
      c = { kind: 'routeRequest', manyToOne: (o >> 3) & 3, multicast: (o & 0x40) !== 0, routeRequestId: r.u8('route request id'), dst16: r.u16('destination address'), pathCost: r.u8('path cost') };
      if (res !== undefined) c.optionsReserved = res;
      if (o & 0x20) c.dst64 = r.eui64('destination IEEE address');
      break;
    }
    case NwkCommandId.routeReply: {
      const [o, res] = u8Options(r, 0x8f);
      c = { kind: 'routeReply', multicast: (o & 0x40) !== 0, routeRequestId: r.u8('route request id'), originator16: r.u16('originator address'), responder16: r.u16('responder address'), pathCost: r.u8('path cost') };
      if (res !== undefined) c.optionsReserved = res;
      if (o & 0x10) c.originator64 = r.eui64('originator IEEE address');
      if (o & 0x20) c.responder64 = r.eui64('responder IEEE address');
      break;
    }
    case NwkCommandId.networkStatus:
      c = { kind: 'networkStatus', status: r.u8('status code'), destination: r.u16('destination address') };
      if (c.status === NwkStatusCode.unknownCommand && r.remaining > 0) c.unknownCommandId = r.u8('unknown command id');
      break;
    case NwkCommandId.leave: {
      const [o, res] = u8Options(r, 0x1f);
      c = { kind: 'leave', rejoin: (o & 0x20) !== 0, request: (o & 0x40) !== 0, removeChildren: (o & 0x80) !== 0 };
      if (res !== undefined) c.optionsReserved = res;
      break;
    }
    case NwkCommandId.routeRecord: {
      const n = r.u8('relay count');
      r.need(2 * n, 'relay list');
      const relays: number[] = [];
      for (let i = 0; i < n; i++) relays.push(r.u16('relay list'));
      c = { kind: 'routeRecord', relays };
      break;
    }
    case NwkCommandId.rejoinRequest:
      c = { kind: 'rejoinRequest', capability: decodeCapability(r.u8('capability information')) };
      break;
    case NwkCommandId.rejoinResponse:
      c = { kind: 'rejoinResponse', nwkAddress: r.u16('network address'), status: r.u8('rejoin status') };
      break;
    case NwkCommandId.linkStatus: {
      const [o, res] = u8Options(r, 0x80);
      const n = o & 0x1f;
      r.need(3 * n, 'link status list');
      const links: Extract<NwkCommand, { kind: 'linkStatus' }>['links'] = [];
      for (let i = 0; i < n; i++) {
        const address = r.u16('link status entry');
        const cost = r.u8('link status entry');
        const link: (typeof links)[number] = { address, incomingCost: cost & 7, outgoingCost: (cost >> 4) & 7 };
        if (cost & 0x88) link.reserved = cost & 0x88;
        links.push(link);
      }
      c = { kind: 'linkStatus', firstFrame: (o & 0x20) !== 0, lastFrame: (o & 0x40) !== 0, links };
      if (res !== undefined) c.optionsReserved = res;
      break;
    }
    case NwkCommandId.networkReport: {
      const o = r.u8('command options');
      c = { kind: 'networkReport', reportType: o >> 5, extendedPanId: r.eui64('extended PAN ID') };
      const n = o & 0x1f;
      if (c.reportType === 0) {
        r.need(2 * n, 'PAN id list');
        c.panIds = [];
        for (let i = 0; i < n; i++) c.panIds.push(r.u16('PAN id list'));
      } else {
        c.infoCount = n;
        c.info = r.rest();
      }
      break;
    }
    case NwkCommandId.networkUpdate: {
      const o = r.u8('command options');
      c = { kind: 'networkUpdate', updateType: o >> 5, extendedPanId: r.eui64('extended PAN ID'), updateId: r.u8('update id') };
      if (c.updateType === 0 && (o & 0x1f) === 1) c.newPanId = r.u16('new PAN id');
      else {
        c.infoCount = o & 0x1f;
        c.info = r.rest();
      }
      break;
    }
    case NwkCommandId.endDeviceTimeoutRequest:
      c = { kind: 'endDeviceTimeoutRequest', requestedTimeout: r.u8('requested timeout'), configuration: r.u8('end device configuration') };
      break;
    case NwkCommandId.endDeviceTimeoutResponse: {
      const status = r.u8('status');
      const p = r.u8('parent information');
      c = { kind: 'endDeviceTimeoutResponse', status, macDataPollKeepalive: (p & 1) !== 0, timeoutRequestKeepalive: (p & 2) !== 0, powerNegotiation: (p & 4) !== 0 };
      if (p & 0xf8) c.parentInfoReserved = p & 0xf8;
      break;
    }
    default:
      c = { kind: 'unknown', id, raw: r.rest() };
  }
  if (r.remaining > 0) c.trailing = r.rest();
  return { value: c, offset: r.offset };
}

function writeNwkCommand(w: ByteWriter, c: NwkCommand): void {
  switch (c.kind) {
    case 'routeRequest':
      w.u8(NwkCommandId.routeRequest)
        .u8(((c.manyToOne & 3) << 3) | (c.dst64 !== undefined ? 0x20 : 0) | (c.multicast ? 0x40 : 0) | ((c.optionsReserved ?? 0) & 0x87))
        .u8(c.routeRequestId).u16(c.dst16).u8(c.pathCost);
      if (c.dst64 !== undefined) w.eui64(c.dst64);
      break;
    case 'routeReply':
      w.u8(NwkCommandId.routeReply)
        .u8((c.originator64 !== undefined ? 0x10 : 0) | (c.responder64 !== undefined ? 0x20 : 0) | (c.multicast ? 0x40 : 0) | ((c.optionsReserved ?? 0) & 0x8f))
        .u8(c.routeRequestId).u16(c.originator16).u16(c.responder16).u8(c.pathCost);
      if (c.originator64 !== undefined) w.eui64(c.originator64);
      if (c.responder64 !== undefined) w.eui64(c.responder64);
      break;
    case 'networkStatus':
      w.u8(NwkCommandId.networkStatus).u8(c.status).u16(c.destination);
      if (c.unknownCommandId !== undefined) w.u8(c.unknownCommandId);
      break;
    case 'leave':
      w.u8(NwkCommandId.leave).u8((c.rejoin ? 0x20 : 0) | (c.request ? 0x40 : 0) | (c.removeChildren ? 0x80 : 0) | ((c.optionsReserved ?? 0) & 0x1f));
      break;
    case 'routeRecord':
      w.u8(NwkCommandId.routeRecord).u8(c.relays.length);
      for (const a of c.relays) w.u16(a);
      break;
    case 'rejoinRequest': w.u8(NwkCommandId.rejoinRequest).u8(encodeCapability(c.capability)); break;
    case 'rejoinResponse': w.u8(NwkCommandId.rejoinResponse).u16(c.nwkAddress).u8(c.status); break;
    case 'linkStatus':
      if (c.links.length > 0x1f) throw new RangeError(`at most 31 link status entries per frame, got ${c.links.length}`);
      w.u8(NwkCommandId.linkStatus).u8(c.links.length | (c.firstFrame ? 0x20 : 0) | (c.lastFrame ? 0x40 : 0) | ((c.optionsReserved ?? 0) & 0x80));
      for (const l of c.links) w.u16(l.address).u8((l.incomingCost & 7) | ((l.outgoingCost & 7) << 4) | ((l.reserved ?? 0) & 0x88));
      break;
    case 'networkReport': {
      const n = c.panIds ? c.panIds.length : (c.infoCount ?? 0);
      w.u8(NwkCommandId.networkReport).u8((n & 0x1f) | ((c.reportType & 7) << 5)).eui64(c.extendedPanId);
      if (c.panIds) for (const p of c.panIds) w.u16(p);
      else if (c.info) w.bytes(c.info);
      break;
    }
    case 'networkUpdate': {
      const n = c.newPanId !== undefined ? 1 : (c.infoCount ?? 0);
      w.u8(NwkCommandId.networkUpdate).u8((n & 0x1f) | ((c.updateType & 7) << 5)).eui64(c.extendedPanId).u8(c.updateId);
      if (c.newPanId !== undefined) w.u16(c.newPanId);
      else if (c.info) w.bytes(c.info);
      break;
    }
    case 'endDeviceTimeoutRequest': w.u8(NwkCommandId.endDeviceTimeoutRequest).u8(c.requestedTimeout).u8(c.configuration); break;
    case 'endDeviceTimeoutResponse':
      w.u8(NwkCommandId.endDeviceTimeoutResponse).u8(c.status)
        .u8((c.macDataPollKeepalive ? 1 : 0) | (c.timeoutRequestKeepalive ? 2 : 0) | (c.powerNegotiation ? 4 : 0) | ((c.parentInfoReserved ?? 0) & 0xf8));
      break;
    case 'unknown': w.u8(c.id).bytes(c.raw); break;
  }
  if (c.trailing) w.bytes(c.trailing);
}

export function encodeNwkCommand(c: NwkCommand): Uint8Array {
  const w = new ByteWriter(32);
  writeNwkCommand(w, c);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Whole frame

/**
 * Decodes a NWK frame from `offset` to the end of `bytes` (pass the MAC payload). For secured
 * frames `headerEnd` is where the aux header starts and `payloadOffset` where the ciphertext
 * starts: unsecureLayer takes `bytes[offset, headerEnd)` as header and `[headerEnd, payloadOffset)`
 * as aux bytes.
 * @spec Zigbee 05-3474 §3.3
 */
export function decodeNwkFrame(bytes: Uint8Array, offset = 0, base = 0): { value: NwkFrame; offset: number; headerEnd: number; payloadOffset: number } {
  if (offset < bytes.length && ((bytes[offset] >> 2) & 0x0f) === NWK_PROTOCOL_GREEN_POWER) {
    return { value: { kind: 'greenPower', raw: bytes.subarray(offset) }, offset: bytes.length, headerEnd: offset, payloadOffset: offset };
  }
  const { value: header, offset: headerEnd } = decodeNwkHeader(bytes, offset, base);
  const r = new ByteReader(bytes, 'nwk', headerEnd, base);
  let body: NwkBody;
  if (header.frameType === NwkFrameType.interPan) {
    body = { kind: 'interPan', payload: r.rest() };
  } else if (header.security) {
    const aux = decodeAuxSecurityHeader(bytes, headerEnd, base, 'nwk');
    r.offset = aux.offset;
    if (r.remaining < MIC_LENGTH) r.fail(`secured payload of ${r.remaining} bytes is shorter than the ${MIC_LENGTH}-byte MIC`);
    body = { kind: 'secured', aux: aux.value, encrypted: r.rest() };
    return { value: { kind: 'nwk', header, body }, offset: r.offset, headerEnd, payloadOffset: aux.offset };
  } else if (header.frameType === NwkFrameType.command) {
    body = { kind: 'command', command: decodeNwkCommand(bytes, headerEnd, base).value };
  } else if (header.frameType === NwkFrameType.data) {
    body = { kind: 'data', payload: r.rest() };
  } else {
    body = { kind: 'raw', payload: r.rest() };
  }
  return { value: { kind: 'nwk', header, body }, offset: bytes.length, headerEnd, payloadOffset: headerEnd };
}

/** Encodes a frame as given (a secured body is written as aux ‖ encrypted; see secureLayer to make one). */
export function encodeNwkFrame(f: NwkFrame): Uint8Array {
  if (f.kind === 'greenPower') return f.raw.slice();
  const { header: h, body: b } = f;
  if ((b.kind === 'secured') !== (h.security && h.frameType !== NwkFrameType.interPan)) {
    throw new RangeError(`NWK body "${b.kind}" does not match the header's security bit (${h.security})`);
  }
  const w = new ByteWriter(64);
  writeNwkHeader(w, h);
  switch (b.kind) {
    case 'secured': writeAuxSecurityHeader(w, b.aux); w.bytes(b.encrypted); break;
    case 'command': writeNwkCommand(w, b.command); break;
    default: w.bytes(b.payload);
  }
  return w.finish();
}
