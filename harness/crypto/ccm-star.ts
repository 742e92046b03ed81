// CCM* (CCM with encryption-only and authentication-only modes) and the Zigbee conventions that
// feed it: security levels, the 13-byte NWK/APS nonce and the security-level restore.
// @spec Zigbee 05-3474 Annex A (CCM* with L = 2), §4.3.1 / §4.4.1 (NWK / APS security processing),
// §4.5.1 (auxiliary security header). Vectors: vectors/ccm-star.json.
import { createAes128 } from './aes.ts';
import { abytes } from './bytes.ts';

/** MIC (authentication tag) lengths CCM* allows for Zigbee; 0 = encryption only. */
export type MicLength = 0 | 4 | 8 | 16;

export type CcmStarResult =
  | { ok: true; plaintext: Uint8Array }
  | { ok: false; reason: 'mic-mismatch' };

/**
 * A CCM* instance bound to one key: expands the AES key once, then serves any number of frames
 * without per-block allocations. The frame decoder keeps one per key it tries.
 */
export interface CcmStar {
  /** c ‖ U: m encrypted, followed by the encrypted MIC (micLength bytes). */
  encrypt(nonce: Uint8Array, a: Uint8Array, m: Uint8Array, micLength: MicLength): Uint8Array;
  /** Checks the MIC before any plaintext leaves; a mismatch is a value, not an exception. */
  decrypt(nonce: Uint8Array, a: Uint8Array, cAndU: Uint8Array, micLength: MicLength): CcmStarResult;
  /** The unencrypted CBC-MAC tag T (first micLength bytes), before it is masked with S_0. */
  tag(nonce: Uint8Array, a: Uint8Array, m: Uint8Array, micLength: MicLength): Uint8Array;
}

const BLOCK = 16;
const NONCE_LENGTH = 13;
/** L = 2: the message length field is 2 octets, so m is at most 65535 bytes (Annex A.2). */
const MAX_MESSAGE = 0xffff;
/** a longer than 2^16 − 2^8 bytes uses the 0xFFFE ‖ uint32 length encoding (Annex A.2.1). */
const SHORT_A_LIMIT = 0xff00;

function checkMicLength(micLength: unknown): MicLength {
  if (typeof micLength !== 'number') throw new TypeError(`"micLength" expected a number, got ${typeof micLength}`);
  if (micLength !== 0 && micLength !== 4 && micLength !== 8 && micLength !== 16) {
    throw new RangeError(`"micLength" expected 0, 4, 8 or 16, got ${micLength}`);
  }
  return micLength;
}

/** Binds CCM* to `key` (16 bytes). @spec Zigbee 05-3474 Annex A */
export function createCcmStar(key: Uint8Array): CcmStar {
  const aes = createAes128(key); // validates "key"
  // Scratch owned by this instance: CBC-MAC state, counter block A_i, key stream S_i.
  const x = new Uint8Array(BLOCK);
  const ctr = new Uint8Array(BLOCK);
  const s = new Uint8Array(BLOCK);
  let pos = 0; // bytes of the current CBC-MAC block already absorbed into x

  function absorbByte(b: number): void {
    x[pos++] ^= b;
    if (pos === BLOCK) { aes.encryptBlock(x, x); pos = 0; }
  }
  function absorb(data: Uint8Array, from: number, to: number): void {
    let i = from;
    while (i < to) {
      const n = Math.min(BLOCK - pos, to - i);
      for (let j = 0; j < n; j++) x[pos + j] ^= data[i + j];
      pos += n;
      i += n;
      if (pos === BLOCK) { aes.encryptBlock(x, x); pos = 0; }
    }
  }
  /** Zero padding to a block boundary XORs nothing, so padding = encrypt the partial block. */
  function padBlock(): void {
    if (pos !== 0) { aes.encryptBlock(x, x); pos = 0; }
  }

  /** Annex A.2.2 authentication transformation: leaves T (16 bytes, use micLength of them) in x. */
  function cbcMac(nonce: Uint8Array, a: Uint8Array, m: Uint8Array, mFrom: number, mTo: number, micLength: MicLength): void {
    const mLength = mTo - mFrom;
    // B0 = Flags ‖ Nonce ‖ l(m); Flags = Reserved(0) ‖ Adata ‖ M' ‖ L', M' = (M−2)/2 (0 when M = 0), L' = L−1.
    x[0] = (a.length > 0 ? 0x40 : 0) | (micLength > 0 ? ((micLength - 2) / 2) << 3 : 0) | (2 - 1);
    x.set(nonce, 1);
    x[14] = mLength >>> 8;
    x[15] = mLength & 0xff;
    aes.encryptBlock(x, x); // X1 = E(K, B0 ⊕ 0^128)
    pos = 0;
    if (a.length > 0) {
      // AddAuthData = L(a) ‖ a ‖ zero padding (A.2.1)
      if (a.length < SHORT_A_LIMIT) {
        absorbByte(a.length >>> 8); absorbByte(a.length & 0xff);
      } else {
        absorbByte(0xff); absorbByte(0xfe);
        absorbByte(a.length >>> 24); absorbByte((a.length >>> 16) & 0xff);
        absorbByte((a.length >>> 8) & 0xff); absorbByte(a.length & 0xff);
      }
      absorb(a, 0, a.length);
      padBlock();
    }
    absorb(m, mFrom, mTo); // PlaintextData = m ‖ zero padding
    padBlock();
  }

  /** A_i = Flags(L−1) ‖ Nonce ‖ Counter i (2 octets). @spec Annex A.2.3 */
  function setCounterNonce(nonce: Uint8Array): void {
    ctr[0] = 2 - 1;
    ctr.set(nonce, 1);
  }
  /** S_i = E(K, A_i) into s (setCounterNonce first). */
  function keyStream(i: number): void {
    ctr[14] = i >>> 8;
    ctr[15] = i & 0xff;
    aes.encryptBlock(ctr, s);
  }

  /** out[outFrom..] = input[from..to) ⊕ S_1 ‖ S_2 ‖ … */
  function ctrXor(input: Uint8Array, from: number, to: number, out: Uint8Array, outFrom: number): void {
    for (let off = 0, i = 1; from + off < to; off += BLOCK, i++) {
      keyStream(i);
      const n = Math.min(BLOCK, to - from - off);
      for (let j = 0; j < n; j++) out[outFrom + off + j] = input[from + off + j] ^ s[j];
    }
  }

  function checkCommon(nonce: Uint8Array, a: Uint8Array, micLength: unknown): MicLength {
    abytes(nonce, NONCE_LENGTH, 'nonce');
    abytes(a, undefined, 'a');
    if (a.length > 0xffffffff) throw new RangeError(`"a" too long for CCM* (${a.length} bytes)`);
    return checkMicLength(micLength);
  }

  return {
    encrypt(nonce, a, m, micLength) {
      const mic = checkCommon(nonce, a, micLength);
      abytes(m, undefined, 'm');
      if (m.length > MAX_MESSAGE) throw new RangeError(`"m" expected at most ${MAX_MESSAGE} bytes (L = 2), got length=${m.length}`);
      const out = new Uint8Array(m.length + mic);
      setCounterNonce(nonce);
      if (mic > 0) {
        cbcMac(nonce, a, m, 0, m.length, mic);
        keyStream(0);
        for (let j = 0; j < mic; j++) out[m.length + j] = x[j] ^ s[j]; // U = T ⊕ first M bytes of S_0
      }
      ctrXor(m, 0, m.length, out, 0);
      return out;
    },

    decrypt(nonce, a, cAndU, micLength) {
      const mic = checkCommon(nonce, a, micLength);
      abytes(cAndU, undefined, 'cAndU');
      if (cAndU.length < mic) {
        throw new RangeError(`"cAndU" expected at least ${mic} bytes (the MIC), got length=${cAndU.length}`);
      }
      const cLength = cAndU.length - mic;
      if (cLength > MAX_MESSAGE) throw new RangeError(`"cAndU" ciphertext longer than ${MAX_MESSAGE} bytes (L = 2)`);
      const plaintext = new Uint8Array(cLength);
      setCounterNonce(nonce);
      ctrXor(cAndU, 0, cLength, plaintext, 0);
      if (mic === 0) return { ok: true, plaintext }; // encryption-only level: nothing to verify
      cbcMac(nonce, a, plaintext, 0, cLength, mic);
      keyStream(0);
      let diff = 0; // constant-time over the MIC
      for (let j = 0; j < mic; j++) diff |= (x[j] ^ s[j]) ^ cAndU[cLength + j];
      // Verify the tag before releasing plaintext: on mismatch the decrypted bytes are wiped and
      // never returned; the only output is the verdict (Annex A.3 decryption transformation).
      if (diff !== 0) {
        plaintext.fill(0);
        return { ok: false, reason: 'mic-mismatch' };
      }
      return { ok: true, plaintext };
    },

    tag(nonce, a, m, micLength) {
      const mic = checkCommon(nonce, a, micLength);
      abytes(m, undefined, 'm');
      if (m.length > MAX_MESSAGE) throw new RangeError(`"m" expected at most ${MAX_MESSAGE} bytes (L = 2), got length=${m.length}`);
      if (mic === 0) return new Uint8Array(0);
      cbcMac(nonce, a, m, 0, m.length, mic);
      return x.slice(0, mic);
    },
  };
}

/** One-shot CCM* encryption: c ‖ U. Prefer createCcmStar(key) when the key is reused. @spec Zigbee 05-3474 Annex A.2 */
export function ccmStarEncrypt(key: Uint8Array, nonce: Uint8Array, a: Uint8Array, m: Uint8Array, micLength: MicLength): Uint8Array {
  return createCcmStar(key).encrypt(nonce, a, m, micLength);
}

/** One-shot CCM* decryption; `{ ok: false }` when the MIC does not match. @spec Zigbee 05-3474 Annex A.3 */
export function ccmStarDecrypt(key: Uint8Array, nonce: Uint8Array, a: Uint8Array, cAndU: Uint8Array, micLength: MicLength): CcmStarResult {
  return createCcmStar(key).decrypt(nonce, a, cAndU, micLength);
}

// ---- Zigbee conventions ----------------------------------------------------------------------

export interface SecurityLevel {
  readonly level: number;
  readonly name: string;
  readonly micLength: MicLength;
  readonly encrypted: boolean;
}

/** Security levels 0–7 (05-3474 §4.5.1, security control field): MIC length and whether the payload is encrypted. */
export const ZIGBEE_SECURITY_LEVELS: readonly SecurityLevel[] = Object.freeze([
  { level: 0, name: 'None', micLength: 0, encrypted: false },
  { level: 1, name: 'MIC-32', micLength: 4, encrypted: false },
  { level: 2, name: 'MIC-64', micLength: 8, encrypted: false },
  { level: 3, name: 'MIC-128', micLength: 16, encrypted: false },
  { level: 4, name: 'ENC', micLength: 0, encrypted: true },
  { level: 5, name: 'ENC-MIC-32', micLength: 4, encrypted: true },
  { level: 6, name: 'ENC-MIC-64', micLength: 8, encrypted: true },
  { level: 7, name: 'ENC-MIC-128', micLength: 16, encrypted: true },
].map((l) => Object.freeze(l as SecurityLevel)));

/** The level Zigbee PRO uses for every NWK and APS frame (nwkSecurityLevel = 5, ENC-MIC-32). */
export const ZIGBEE_PRO_SECURITY_LEVEL = 5;

export function securityLevel(level: number): SecurityLevel {
  if (!Number.isInteger(level) || level < 0 || level > 7) throw new RangeError(`"level" expected an integer 0..7, got ${level}`);
  return ZIGBEE_SECURITY_LEVELS[level];
}

/**
 * Zigbee PRO sends the security-control field with level bits 000 and both ends put the real
 * level back before ANY computation: in the nonce and in the copy of the aux header inside `a`.
 * @spec Zigbee 05-3474 §4.3.1.2 / §4.4.1.2 (incoming frames: "overwrite the security level");
 * Wireshark packet-zbee-security.c ("ZigBee requires this field to be patched before computing the MIC").
 */
export function restoreSecurityLevel(securityControl: number, level = ZIGBEE_PRO_SECURITY_LEVEL): number {
  if (!Number.isInteger(securityControl) || securityControl < 0 || securityControl > 0xff) {
    throw new RangeError(`"securityControl" expected a byte 0..255, got ${securityControl}`);
  }
  securityLevel(level);
  return (securityControl & ~0x07) | level;
}

/**
 * The 13-byte Zigbee NWK/APS nonce: source EUI-64 (8 bytes, little-endian, exactly as on air) ‖
 * frame counter (4 bytes, little-endian) ‖ security control (with the level already restored).
 * Not the IEEE 802.15.4 MAC nonce, which is big-endian. Writes into `out` (13 bytes) if given.
 * @spec Zigbee 05-3474 §4.5 (CCM nonce); Wireshark packet-zbee-security.c zbee_sec_make_nonce
 */
export function zigbeeNonce(sourceEui64OnAir: Uint8Array, frameCounter: number, securityControl: number, out?: Uint8Array): Uint8Array {
  abytes(sourceEui64OnAir, 8, 'sourceEui64OnAir');
  if (!Number.isInteger(frameCounter) || frameCounter < 0 || frameCounter > 0xffffffff) {
    throw new RangeError(`"frameCounter" expected an integer 0..0xFFFFFFFF, got ${frameCounter}`);
  }
  if (!Number.isInteger(securityControl) || securityControl < 0 || securityControl > 0xff) {
    throw new RangeError(`"securityControl" expected a byte 0..255, got ${securityControl}`);
  }
  const nonce = out === undefined ? new Uint8Array(NONCE_LENGTH) : abytes(out, NONCE_LENGTH, 'out');
  nonce.set(sourceEui64OnAir, 0);
  nonce[8] = frameCounter & 0xff;
  nonce[9] = (frameCounter >>> 8) & 0xff;
  nonce[10] = (frameCounter >>> 16) & 0xff;
  nonce[11] = (frameCounter >>> 24) & 0xff;
  nonce[12] = securityControl;
  return nonce;
}
