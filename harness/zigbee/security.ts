// Zigbee NWK/APS frame security: the auxiliary security header both layers share, and the CCM*
// application around it (which key, which nonce, which bytes are authenticated).
//
// Zigbee PRO always secures at level 5 (ENC-MIC-32) but transmits the level bits as 000; both
// ends put 5 back before any computation, in the nonce and in the copy of the aux header that
// is authenticated. @spec Zigbee 05-3474 §4.3.1, §4.4.1, §4.5.1; protocol.md §2.3–2.4; crypto.md §3.1
import { createCcmStar, ZIGBEE_PRO_SECURITY_LEVEL, type CcmStar } from '../crypto/ccm-star.ts';
import { deriveKeyLoadKey, deriveKeyTransportKey } from '../crypto/hmac-mmo.ts';
import { ByteReader, ByteWriter, eui64ToAir, type Eui64, type Layer } from './codec.ts';

/**
 * Security control field (1 byte).
 * ```
 *  7 reserved | 6 require verified FC | 5 extended nonce | 4 3 key id | 2 1 0 security level
 * ```
 * @spec Zigbee 05-3474 §4.5.1.1 (bit 6 is recent: protocol.md says R22+, crypto.md R23; ZOH SEC_CONTROL_REQ_VERIFIED_FC)
 */
export const SecurityControl = {
  levelMask: 0x07,
  keyIdMask: 0x18,
  keyIdShift: 3,
  extendedNonce: 0x20,
  requireVerifiedFrameCounter: 0x40,
  reserved: 0x80,
} as const;

/** Key identifier. @spec Zigbee 05-3474 §4.5.1.1.2 Table 4.27 */
export const KeyId = { data: 0, network: 1, keyTransport: 2, keyLoad: 3 } as const;

/** Zigbee PRO MIC length (level 5 = ENC-MIC-32). */
export const MIC_LENGTH = 4;

export interface AuxSecurityHeader {
  /** Level bits as transmitted (Zigbee sends 0; processing uses 5). */
  level: number;
  keyId: number;
  extendedNonce: boolean;
  requireVerifiedFrameCounter: boolean;
  /** Bit 7; present only when set. */
  reserved?: number;
  frameCounter: number;
  /** Present iff `extendedNonce`. */
  source64?: Eui64;
  /** Present iff `keyId` is 1 (network key). */
  keySeq?: number;
}

/** Length of the aux header an encoded `aux` takes on air. */
export function auxHeaderLength(aux: Pick<AuxSecurityHeader, 'extendedNonce' | 'keyId'>): number {
  return 5 + (aux.extendedNonce ? 8 : 0) + (aux.keyId === KeyId.network ? 1 : 0);
}

/** @spec Zigbee 05-3474 §4.5.1 */
export function decodeAuxSecurityHeader(bytes: Uint8Array, offset = 0, base = 0, layer: Layer = 'nwk'): { value: AuxSecurityHeader; offset: number } {
  const r = new ByteReader(bytes, layer, offset, base);
  const value = readAuxSecurityHeader(r);
  return { value, offset: r.offset };
}

/** decodeAuxSecurityHeader on a reader (left after the aux header): no wrapper object, for the frame dissector. */
export function readAuxSecurityHeader(r: ByteReader): AuxSecurityHeader {
  const ctl = r.u8('security control');
  const aux: AuxSecurityHeader = {
    level: ctl & SecurityControl.levelMask,
    keyId: (ctl & SecurityControl.keyIdMask) >> SecurityControl.keyIdShift,
    extendedNonce: (ctl & SecurityControl.extendedNonce) !== 0,
    requireVerifiedFrameCounter: (ctl & SecurityControl.requireVerifiedFrameCounter) !== 0,
    frameCounter: r.u32('frame counter'),
  };
  if (ctl & SecurityControl.reserved) aux.reserved = 1;
  if (aux.extendedNonce) aux.source64 = r.eui64('security source address');
  if (aux.keyId === KeyId.network) aux.keySeq = r.u8('key sequence number');
  return aux;
}

export function securityControlByte(aux: AuxSecurityHeader): number {
  return (
    (aux.level & SecurityControl.levelMask) |
    ((aux.keyId & 3) << SecurityControl.keyIdShift) |
    (aux.extendedNonce ? SecurityControl.extendedNonce : 0) |
    (aux.requireVerifiedFrameCounter ? SecurityControl.requireVerifiedFrameCounter : 0) |
    (aux.reserved ? SecurityControl.reserved : 0)
  );
}

export function writeAuxSecurityHeader(w: ByteWriter, aux: AuxSecurityHeader): void {
  if ((aux.source64 !== undefined) !== aux.extendedNonce) {
    throw new RangeError(`aux "source64" must be ${aux.extendedNonce ? 'given' : 'absent'} when extendedNonce is ${aux.extendedNonce}`);
  }
  if ((aux.keySeq !== undefined) !== (aux.keyId === KeyId.network)) {
    throw new RangeError(`aux "keySeq" must be given exactly when keyId is 1 (network key), keyId=${aux.keyId}`);
  }
  w.u8(securityControlByte(aux)).u32(aux.frameCounter);
  if (aux.source64 !== undefined) w.eui64(aux.source64);
  if (aux.keySeq !== undefined) w.u8(aux.keySeq);
}

export function encodeAuxSecurityHeader(aux: AuxSecurityHeader): Uint8Array {
  const w = new ByteWriter(14);
  writeAuxSecurityHeader(w, aux);
  return w.finish();
}

/**
 * The key CCM* runs with for a key id: 0 (data/link key) and 1 (network key) as given;
 * 2 → key-transport key HMAC-MMO(link, 0x00); 3 → key-load key HMAC-MMO(link, 0x02).
 * Pure, so callers memoize it per (keyId, key) — derivation costs four AES blocks.
 * @spec Zigbee 05-3474 §4.5.3; Wireshark zbee_sec_decrypt_payload
 */
export function keyForKeyId(keyId: number, linkOrNetworkKey: Uint8Array): Uint8Array {
  switch (keyId) {
    case KeyId.data:
    case KeyId.network:
      return linkOrNetworkKey;
    case KeyId.keyTransport:
      return deriveKeyTransportKey(linkOrNetworkKey);
    case KeyId.keyLoad:
      return deriveKeyLoadKey(linkOrNetworkKey);
    default:
      throw new RangeError(`"keyId" expected 0..3, got ${keyId}`);
  }
}

/** A raw 16-byte key, or a CCM* instance already bound to it (what a decoder caches per key). */
export type LayerKey = Uint8Array | CcmStar;

function ccmFor(key: LayerKey): CcmStar {
  return key instanceof Uint8Array ? createCcmStar(key) : key;
}

/** EUI-64 → 8 on-air bytes; a Uint8Array is taken as already on-air (little-endian). */
function source64Air(source64: Eui64 | Uint8Array | undefined, what: string): Uint8Array | undefined {
  if (source64 === undefined) return undefined;
  if (source64 instanceof Uint8Array) {
    if (source64.length !== 8) throw new RangeError(`"${what}" expected 8 on-air bytes, got length=${source64.length}`);
    return source64;
  }
  return eui64ToAir(source64);
}

/**
 * The CCM* nonce and authentication data `a` (header ‖ aux header) of one layer, the level
 * restored in both. Built once per layer, then shared by every key tried on it. Plain
 * allocations and byte loops: subarray and set() cost more than these few bytes.
 */
function nonceAndA(header: Uint8Array, auxBytes: Uint8Array, src: Uint8Array, srcOffset = 0): { nonce: Uint8Array; a: Uint8Array } {
  const ctl = (auxBytes[0] & ~0x07) | ZIGBEE_PRO_SECURITY_LEVEL; // restoreSecurityLevel, without its argument checks (a byte read from a Uint8Array)
  const nonce = new Uint8Array(13);
  for (let i = 0; i < 8; i++) nonce[i] = src[srcOffset + i];
  nonce[8] = auxBytes[1];
  nonce[9] = auxBytes[2];
  nonce[10] = auxBytes[3];
  nonce[11] = auxBytes[4];
  nonce[12] = ctl;
  const hl = header.length;
  const al = auxBytes.length;
  const a = new Uint8Array(hl + al);
  for (let i = 0; i < hl; i++) a[i] = header[i];
  a[hl] = ctl;
  for (let i = 1; i < al; i++) a[hl + i] = auxBytes[i];
  return { nonce, a };
}

export interface SecureLayerInput {
  /** The layer's own header bytes, up to (not including) the aux header. */
  header: Uint8Array;
  aux: AuxSecurityHeader;
  payload: Uint8Array;
  /** The key for `aux.keyId`, already derived (see keyForKeyId). */
  key: LayerKey;
  /**
   * Nonce source when `aux.extendedNonce` is false (APS only): EUI-64, or 8 bytes in on-air
   * order (pass bytes on hot paths: a string is parsed). Ignored when the aux header carries the source.
   */
  source64?: Eui64 | Uint8Array;
}

/**
 * Secures one NWK or APS frame: returns aux header (level bits 000 on air) ‖ ciphertext ‖ MIC,
 * the bytes that follow `header` on air. @spec Zigbee 05-3474 §4.3.1.1 / §4.4.1.1
 */
export function secureLayer(input: SecureLayerInput): Uint8Array {
  const aux = input.aux.level === 0 ? input.aux : { ...input.aux, level: 0 };
  const w = new ByteWriter(auxHeaderLength(aux) + input.payload.length + MIC_LENGTH);
  writeAuxSecurityHeader(w, aux);
  const auxBytes = w.finish();
  const src = aux.extendedNonce ? auxBytes.subarray(5, 13) : source64Air(input.source64, 'source64');
  if (!src) throw new TypeError('"source64" is required when the aux header has no extended nonce');
  const { nonce, a } = nonceAndA(input.header, auxBytes, src);
  const sealed = ccmFor(input.key).encrypt(nonce, a, input.payload, MIC_LENGTH);
  const out = new Uint8Array(auxBytes.length + sealed.length);
  out.set(auxBytes, 0);
  out.set(sealed, auxBytes.length);
  return out;
}

export interface UnsecureLayerInput {
  header: Uint8Array;
  /** The aux header exactly as received. */
  auxBytes: Uint8Array;
  /** The decoded aux header. Optional: nonce and `a` are built from `auxBytes`, which are authoritative. */
  aux?: AuxSecurityHeader;
  /** Ciphertext ‖ MIC (the rest of the layer frame). */
  body: Uint8Array;
  key: LayerKey;
  source64?: Eui64 | Uint8Array;
}

export type UnsecureResult =
  | { ok: true; plaintext: Uint8Array }
  | { ok: false; reason: 'mic-mismatch' | 'too-short' | 'no-source-address' };

/**
 * Opens one NWK or APS frame. Never throws on frame content: a wrong key, a tampered byte or a
 * frame too short for the MIC is `{ ok: false }`. The MIC is verified before any plaintext is
 * released (CCM* decrypt). @spec Zigbee 05-3474 §4.3.1.2 / §4.4.1.2
 */
export function unsecureLayer(input: UnsecureLayerInput): UnsecureResult {
  const p = prepareUnsecure(input.header, input.auxBytes, input.body, input.source64);
  return p.ok ? openPrepared(p, input.key) : p;
}

/** A layer ready to be opened: nonce and `a` built once, for any number of keys (see openPrepared). */
export interface PreparedLayer {
  ok: true;
  nonce: Uint8Array;
  a: Uint8Array;
  body: Uint8Array;
}

/**
 * The part of unsecureLayer that does not depend on the key: checks the lengths, finds the nonce
 * source and builds nonce and `a`. A decoder that tries several keys on one layer calls this once.
 */
export function prepareUnsecure(
  header: Uint8Array, auxBytes: Uint8Array, body: Uint8Array, source64?: Eui64 | Uint8Array,
): PreparedLayer | { ok: false; reason: 'too-short' | 'no-source-address' } {
  if (auxBytes.length < 5 || body.length < MIC_LENGTH) return { ok: false, reason: 'too-short' };
  const extendedNonce = (auxBytes[0] & SecurityControl.extendedNonce) !== 0;
  let src: Uint8Array | undefined;
  if (extendedNonce) {
    if (auxBytes.length < 13) return { ok: false, reason: 'too-short' };
    src = auxBytes; // the source address is aux bytes 5..12
  } else {
    src = source64Air(source64, 'source64');
    if (!src) return { ok: false, reason: 'no-source-address' };
  }
  const { nonce, a } = nonceAndA(header, auxBytes, src, extendedNonce ? 5 : 0);
  return { ok: true, nonce, a, body };
}

/**
 * prepareUnsecure for a layer inside `bytes`: header bytes[start, auxStart), aux header
 * bytes[auxStart, auxEnd), without views of either (the frame decoder's path).
 */
export function prepareUnsecureAt(
  bytes: Uint8Array, start: number, auxStart: number, auxEnd: number, body: Uint8Array, source64?: Eui64 | Uint8Array,
): PreparedLayer | { ok: false; reason: 'too-short' | 'no-source-address' } {
  const auxLength = auxEnd - auxStart;
  if (auxLength < 5 || body.length < MIC_LENGTH || start > auxStart || auxEnd > bytes.length) return { ok: false, reason: 'too-short' };
  const ctl = (bytes[auxStart] & ~0x07) | ZIGBEE_PRO_SECURITY_LEVEL;
  const nonce = new Uint8Array(13);
  if ((ctl & SecurityControl.extendedNonce) !== 0) {
    if (auxLength < 13) return { ok: false, reason: 'too-short' };
    for (let i = 0; i < 8; i++) nonce[i] = bytes[auxStart + 5 + i];
  } else {
    const src = source64Air(source64, 'source64');
    if (!src) return { ok: false, reason: 'no-source-address' };
    for (let i = 0; i < 8; i++) nonce[i] = src[i];
  }
  nonce[8] = bytes[auxStart + 1];
  nonce[9] = bytes[auxStart + 2];
  nonce[10] = bytes[auxStart + 3];
  nonce[11] = bytes[auxStart + 4];
  nonce[12] = ctl;
  const a = new Uint8Array(auxEnd - start);
  for (let i = start; i < auxEnd; i++) a[i - start] = bytes[i];
  a[auxStart - start] = ctl;
  return { ok: true, nonce, a, body };
}

/**
 * prepareUnsecureAt into the caller's buffers (a frame decoder's scratch, reused for every frame):
 * writes the nonce to `nonce` (13 bytes) and `a` to a[0, n); returns n, or -1 where
 * prepareUnsecureAt would not be ok (then no key can open the layer). `a` must hold auxEnd − start
 * bytes. `bodyLength` is the length of ciphertext ‖ MIC.
 */
export function prepareUnsecureInto(
  bytes: Uint8Array, start: number, auxStart: number, auxEnd: number, bodyLength: number, source64: Uint8Array | undefined,
  nonce: Uint8Array, a: Uint8Array,
): number {
  const auxLength = auxEnd - auxStart;
  if (auxLength < 5 || bodyLength < MIC_LENGTH || start > auxStart || auxEnd > bytes.length) return -1;
  const ctl = (bytes[auxStart] & ~0x07) | ZIGBEE_PRO_SECURITY_LEVEL;
  if ((ctl & SecurityControl.extendedNonce) !== 0) {
    if (auxLength < 13) return -1;
    for (let i = 0; i < 8; i++) nonce[i] = bytes[auxStart + 5 + i];
  } else {
    if (source64 === undefined) return -1;
    if (source64.length !== 8) throw new RangeError(`"source64" expected 8 on-air bytes, got length=${source64.length}`);
    for (let i = 0; i < 8; i++) nonce[i] = source64[i];
  }
  nonce[8] = bytes[auxStart + 1];
  nonce[9] = bytes[auxStart + 2];
  nonce[10] = bytes[auxStart + 3];
  nonce[11] = bytes[auxStart + 4];
  nonce[12] = ctl;
  const n = auxEnd - start;
  for (let i = start; i < auxEnd; i++) a[i - start] = bytes[i];
  a[auxStart - start] = ctl;
  return n;
}

/** Opens a prepared layer with one key: the plaintext iff the MIC verifies. */
export function openPrepared(p: PreparedLayer, key: LayerKey): UnsecureResult {
  const r = ccmFor(key).decrypt(p.nonce, p.a, p.body, MIC_LENGTH);
  return r.ok ? r : MIC_MISMATCH;
}

const MIC_MISMATCH: UnsecureResult = Object.freeze({ ok: false, reason: 'mic-mismatch' });
