// Builds real secured Zigbee frames with the kit's own encoders and secureLayer, for the dissector
// tests (every frame kind, checked against tshark), the fuzz corpus and the decode benchmark.
// Every frame carries a valid FCS and real CCM*; nothing here decodes.
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { parseInstallCode, deriveInstallCodeLinkKey } from '../../harness/crypto/install-code.ts';
import { ApsFrameType, writeApsHeader, type ApsHeader } from '../../harness/zigbee/aps.ts';
import { ByteWriter, type Eui64 } from '../../harness/zigbee/codec.ts';
import { encodeMacFrame, type MacBody, type MacHeader } from '../../harness/zigbee/ieee802154.ts';
import { encodeNwkHeader, type NwkHeader } from '../../harness/zigbee/nwk.ts';
import { secureLayer, type AuxSecurityHeader, type LayerKey } from '../../harness/zigbee/security.ts';
import { seededRandom } from '../../harness/sim/air.ts';

export interface Party {
  eui64: Eui64;
  short: number;
}

/** The network every built frame belongs to (NET2-like: EmberZNet TC, a Telink end device). */
export const PAN = 0x1a64;
export const EPID: Eui64 = 'dddddddddddddddd';
export const TC: Party = { eui64: '804b50fffe0599f9', short: 0x0000 };
/** Joined with the well-known TC link key ZigBeeAlliance09. */
export const D1: Party = { eui64: 'a4c1386d9b280fdf', short: 0xa18f };
/** A router, also on ZigBeeAlliance09. */
export const R1: Party = { eui64: '000d6f0000614edf', short: 0x6887 };
/** Joined with an install-code key (the published BDB vector code). */
export const D2: Party = { eui64: '00124b0001020304', short: 0x3c21 };

export const NWK_KEY = hexToBytes('01030507090b0d0f00020406080a0c0d');
export const NWK_KEY_SEQ = 0;
/** The key a key update hands out (sequence 1), learned from the air in the tests. */
export const NWK_KEY_2 = hexToBytes('f1e2d3c4b5a6978800112233445566ee');
export const ZA09 = hexToBytes('5a6967426565416c6c69616e63653039');
/** crypto.md §1.2 #1 / vectors/install-codes.json ic-1: link key 66B6900981E1EE3CA4206B6B861C02BB. */
export const INSTALL_CODE = '83FED3407A939723A5C639B26916D505C3B5';
export const D2_LINK_KEY = deriveInstallCodeLinkKey(parseInstallCode(INSTALL_CODE));

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- MAC -------------------------------------------------------------------------------------

export function macHeader(h: Partial<MacHeader> & Pick<MacHeader, 'frameType' | 'seq'>): MacHeader {
  return {
    securityEnabled: false, framePending: false, ackRequest: false, panIdCompression: false,
    dstAddrMode: 0, frameVersion: 0, srcAddrMode: 0, ...h,
  };
}

/** A whole MAC frame with its FCS. */
export function macFrame(header: MacHeader, body: MacBody): Uint8Array {
  return encodeMacFrame({ header, body });
}

/** MAC data frame short → short in PAN (compressed PAN id), as every Zigbee hop is sent. */
export function macData(src16: number, dst16: number, seq: number, payload: Uint8Array): Uint8Array {
  return macFrame(
    macHeader({ frameType: 1, seq, ackRequest: dst16 !== 0xffff, panIdCompression: true, dstAddrMode: 2, srcAddrMode: 2, dstPan: PAN, dst: dst16, src: src16 }),
    { kind: 'data', payload },
  );
}

// ---- NWK -------------------------------------------------------------------------------------

export interface NwkSecurity {
  key: LayerKey;
  keySeq: number;
  frameCounter: number;
  /** The device securing this hop. */
  source64: Eui64;
}

export function nwkHeader(h: Partial<NwkHeader> & Pick<NwkHeader, 'src16' | 'dst16' | 'seq'>): NwkHeader {
  return {
    frameType: 0, protocolVersion: 2, discoverRoute: 0, multicast: false, security: false, sourceRoute: false,
    endDeviceInitiator: false, radius: 30, ...h,
    extendedDestination: h.dst64 !== undefined,
    extendedSource: h.src64 !== undefined,
  };
}

/** NWK header ‖ payload, or header ‖ aux ‖ CCM*(payload) ‖ MIC when `sec` is given. */
export function nwkFrame(h: NwkHeader, payload: Uint8Array, sec?: NwkSecurity): Uint8Array {
  const header = encodeNwkHeader({ ...h, security: sec !== undefined });
  if (!sec) return concat(header, payload);
  const aux: AuxSecurityHeader = {
    level: 0, keyId: 1, extendedNonce: true, requireVerifiedFrameCounter: false,
    frameCounter: sec.frameCounter, source64: sec.source64, keySeq: sec.keySeq,
  };
  return concat(header, secureLayer({ header, aux, payload, key: sec.key }));
}

// ---- APS -------------------------------------------------------------------------------------

export interface ApsSecurity {
  /** The key for `keyId`, already derived (key-transport / key-load) where the id needs it. */
  key: LayerKey;
  keyId: 0 | 1 | 2 | 3;
  frameCounter: number;
  /** The securing device (the APS source). */
  source64: Eui64;
  /** Default true; false leaves the source out of the aux header (the receiver must know it). */
  extendedNonce?: boolean;
  keySeq?: number;
}

export function apsCommandHeader(counter: number): ApsHeader {
  return { frameType: ApsFrameType.COMMAND, deliveryMode: 0, ackFormat: false, security: false, ackRequest: false, counter };
}

export function apsDataHeader(h: { cluster: number; profile: number; counter: number; dstEndpoint?: number; srcEndpoint?: number; deliveryMode?: number; ackRequest?: boolean }): ApsHeader {
  return {
    frameType: ApsFrameType.DATA, deliveryMode: h.deliveryMode ?? 0, ackFormat: false, security: false, ackRequest: h.ackRequest ?? false,
    dstEndpoint: h.dstEndpoint ?? 1, clusterId: h.cluster, profileId: h.profile, srcEndpoint: h.srcEndpoint ?? 1, counter: h.counter,
  };
}

/** APS header ‖ payload, or header ‖ aux ‖ CCM*(payload) ‖ MIC when `sec` is given. */
export function apsFrame(h: ApsHeader, payload: Uint8Array, sec?: ApsSecurity): Uint8Array {
  const w = new ByteWriter(16);
  writeApsHeader(w, { ...h, security: sec !== undefined });
  const header = w.finish();
  if (!sec) return concat(header, payload);
  const ext = sec.extendedNonce ?? true;
  const aux: AuxSecurityHeader = { level: 0, keyId: sec.keyId, extendedNonce: ext, requireVerifiedFrameCounter: false, frameCounter: sec.frameCounter };
  if (ext) aux.source64 = sec.source64;
  if (sec.keyId === 1) aux.keySeq = sec.keySeq ?? 0;
  return concat(header, secureLayer({ header, aux, payload, key: sec.key, source64: sec.source64 }));
}

// ---- A deterministic PRNG (tests print the seed; the benchmark is reproducible) ----------------

/** The seeded PRNG the virtual air uses for fault injection (mulberry32). */
export const prng = seededRandom;
