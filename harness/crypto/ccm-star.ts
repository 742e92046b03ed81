// CCM* (CCM with encryption-only and authentication-only modes) and the Zigbee conventions that
// feed it: security levels, the 13-byte NWK/APS nonce and the security-level restore.
// @spec Zigbee 05-3474 Annex A (CCM* with L = 2), §4.3.1 / §4.4.1 (NWK / APS security processing),
// §4.5.1 (auxiliary security header). Vectors: vectors/ccm-star.json.
import { createAes128, loadWordLE, storeWordLE } from './aes.ts';
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
  /**
   * decrypt on ranges of the caller's buffers, for a frame decoder that keeps scratch buffers and
   * tries several keys per frame: a = aBuf[0, aLength), c ‖ U = src[cStart, cEnd). Returns the
   * plaintext iff the MIC verifies, else undefined (and `into`, when given, is zeroed); nothing
   * else is allocated. The plaintext is written to `into` when given (exactly cEnd − cStart −
   * micLength bytes, not overlapping the ciphertext), else to a new array.
   * Same checks as decrypt, on the ranges.
   */
  decryptRange(nonce: Uint8Array, aBuf: Uint8Array, aLength: number, src: Uint8Array, cStart: number, cEnd: number, micLength: MicLength, into?: Uint8Array): Uint8Array | undefined;
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

/**
 * Mask keeping the bytes of the little-endian word at `pos` that lie before `end` (zero padding of
 * a partial last block): all ones for a full word, 0 past the end.
 */
function tailMask(pos: number, end: number): number {
  const n = end - pos;
  return n >= 4 ? -1 : n <= 0 ? 0 : (1 << (8 * n)) - 1;
}

/** Binds CCM* to `key` (16 bytes). @spec Zigbee 05-3474 Annex A */
export function createCcmStar(key: Uint8Array): CcmStar {
  const aes = createAes128(key); // validates "key"
  // All block state is kept as 32-bit words in the encryptWords convention (block bytes read
  // little-endian 4 at a time), so no block is ever copied byte by byte:
  // x0..x3 = CBC-MAC state X_i; a0..a3 = the counter block A_i with the counter bytes zero
  // (A_i = Flags(L−1) ‖ Nonce ‖ Counter i, Annex A.2.3; only a3 changes with i).
  let x0 = 0, x1 = 0, x2 = 0, x3 = 0;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0;

  /** Counter i (2 octets, big-endian) as it sits in the top half of word 3 (bytes 14, 15). */
  const counterWord = (i: number) => ((i >>> 8) << 16) | ((i & 0xff) << 24);

  /** X_{i+1} = E(K, X_i ⊕ B_i). */
  function macBlock(b0: number, b1: number, b2: number, b3: number): void {
    const r = aes.encryptWords(x0 ^ b0, x1 ^ b1, x2 ^ b2, x3 ^ b3);
    x0 = r[0]; x1 = r[1]; x2 = r[2]; x3 = r[3];
  }

  /** Sets a0..a3 from the 13-byte nonce (counter bytes left zero). */
  function setNonce(nonce: Uint8Array): void {
    a0 = (2 - 1) | (nonce[0] << 8) | (nonce[1] << 16) | (nonce[2] << 24);
    a1 = loadWordLE(nonce, 3, NONCE_LENGTH);
    a2 = loadWordLE(nonce, 7, NONCE_LENGTH);
    a3 = nonce[11] | (nonce[12] << 8);
  }

  /**
   * Annex A.2.2, first part: X1 = E(K, B0), then AddAuthData = L(a) ‖ a ‖ zero padding (A.2.1).
   * setNonce first. The length prefix is 2 octets, or 0xFFFE ‖ uint32 when a ≥ 0xFF00 bytes; the
   * data words are read from `a` shifted by the prefix length, so nothing is copied.
   */
  function macStart(a: Uint8Array, aLength: number, mLength: number, micLength: MicLength): void {
    // B0 = Flags ‖ Nonce ‖ l(m); Flags = Reserved(0) ‖ Adata ‖ M' ‖ L', M' = (M−2)/2 (0 when M = 0), L' = L−1.
    const flags = (aLength > 0 ? 0x40 : 0) | (micLength > 0 ? ((micLength - 2) / 2) << 3 : 0) | (2 - 1);
    x0 = 0; x1 = 0; x2 = 0; x3 = 0;
    macBlock((a0 & ~0xff) | flags, a1, a2, a3 | counterWord(mLength)); // l(m) sits where the counter does
    if (aLength === 0) return;
    // Stream words before the first byte of a: the prefix bytes, in little-endian word order.
    let prefix: number, p0: number, p1 = 0;
    if (aLength < SHORT_A_LIMIT) {
      prefix = 2;
      p0 = (aLength >>> 8) | ((aLength & 0xff) << 8);
    } else {
      prefix = 6;
      p0 = 0xff | (0xfe << 8) | ((aLength >>> 24) << 16) | (((aLength >>> 16) & 0xff) << 24);
      p1 = ((aLength >>> 8) & 0xff) | ((aLength & 0xff) << 8);
    }
    // First block: word 0 (and 1 for the long form) holds prefix bytes; the word where the prefix
    // ends takes its top half from a[0], a[1].
    const head = loadWordLE(a, 0, aLength) << 16;
    if (prefix === 2) {
      macBlock(p0 | head, loadWordLE(a, 2, aLength), loadWordLE(a, 6, aLength), loadWordLE(a, 10, aLength));
    } else {
      macBlock(p0, p1 | head, loadWordLE(a, 2, aLength), loadWordLE(a, 6, aLength));
    }
    let i = BLOCK - prefix; // a[i] starts the second block
    for (; i + BLOCK <= aLength; i += BLOCK) {
      macBlock(
        a[i] | (a[i + 1] << 8) | (a[i + 2] << 16) | (a[i + 3] << 24),
        a[i + 4] | (a[i + 5] << 8) | (a[i + 6] << 16) | (a[i + 7] << 24),
        a[i + 8] | (a[i + 9] << 8) | (a[i + 10] << 16) | (a[i + 11] << 24),
        a[i + 12] | (a[i + 13] << 8) | (a[i + 14] << 16) | (a[i + 15] << 24));
    }
    if (i < aLength) { // partial last block: zero padding
      macBlock(loadWordLE(a, i, aLength), loadWordLE(a, i + 4, aLength), loadWordLE(a, i + 8, aLength), loadWordLE(a, i + 12, aLength));
    }
  }

  /**
   * One pass over the message blocks, CTR and CBC-MAC interleaved (the MAC runs over the
   * plaintext: `src` when encrypting, the decrypted words when decrypting):
   * dst[0..length) = src ⊕ S_1 ‖ S_2 ‖ … when dst is given (A.2.3 / A.3), and PlaintextData =
   * m ‖ zero padding absorbed into the MAC when `mac` (macStart first).
   */
  function crypt(src: Uint8Array, so: number, length: number, dst: Uint8Array | null, mac: boolean, decrypting: boolean): void {
    let off = 0;
    let i = 1;
    // Whole blocks, words packed and unpacked inline (every frame's hot loop). src is read at so + off.
    for (; off + BLOCK <= length; off += BLOCK, i++) {
      const q = so + off;
      let m0 = src[q] | (src[q + 1] << 8) | (src[q + 2] << 16) | (src[q + 3] << 24);
      let m1 = src[q + 4] | (src[q + 5] << 8) | (src[q + 6] << 16) | (src[q + 7] << 24);
      let m2 = src[q + 8] | (src[q + 9] << 8) | (src[q + 10] << 16) | (src[q + 11] << 24);
      let m3 = src[q + 12] | (src[q + 13] << 8) | (src[q + 14] << 16) | (src[q + 15] << 24);
      if (dst !== null) {
        const s = aes.encryptWords(a0, a1, a2, a3 | counterWord(i)); // S_i
        const o0 = m0 ^ s[0], o1 = m1 ^ s[1], o2 = m2 ^ s[2], o3 = m3 ^ s[3];
        dst[off] = o0; dst[off + 1] = o0 >>> 8; dst[off + 2] = o0 >>> 16; dst[off + 3] = o0 >>> 24;
        dst[off + 4] = o1; dst[off + 5] = o1 >>> 8; dst[off + 6] = o1 >>> 16; dst[off + 7] = o1 >>> 24;
        dst[off + 8] = o2; dst[off + 9] = o2 >>> 8; dst[off + 10] = o2 >>> 16; dst[off + 11] = o2 >>> 24;
        dst[off + 12] = o3; dst[off + 13] = o3 >>> 8; dst[off + 14] = o3 >>> 16; dst[off + 15] = o3 >>> 24;
        if (decrypting) { m0 = o0; m1 = o1; m2 = o2; m3 = o3; }
      }
      if (mac) macBlock(m0, m1, m2, m3);
    }
    if (off === length) return;
    // Byte tail: bytes past the end load as zero (the MAC's zero padding); the key-stream bytes
    // past the end are not message, so a decrypted tail is masked back to zero padding.
    const end = so + length;
    let m0 = loadWordLE(src, so + off, end);
    let m1 = loadWordLE(src, so + off + 4, end);
    let m2 = loadWordLE(src, so + off + 8, end);
    let m3 = loadWordLE(src, so + off + 12, end);
    if (dst !== null) {
      const s = aes.encryptWords(a0, a1, a2, a3 | counterWord(i));
      const o0 = m0 ^ s[0], o1 = m1 ^ s[1], o2 = m2 ^ s[2], o3 = m3 ^ s[3];
      storeWordLE(dst, off, length, o0);
      storeWordLE(dst, off + 4, length, o1);
      storeWordLE(dst, off + 8, length, o2);
      storeWordLE(dst, off + 12, length, o3);
      if (decrypting) {
        m0 = o0 & tailMask(off, length); m1 = o1 & tailMask(off + 4, length);
        m2 = o2 & tailMask(off + 8, length); m3 = o3 & tailMask(off + 12, length);
      }
    }
    if (mac) macBlock(m0, m1, m2, m3);
  }

  function checkCommon(nonce: Uint8Array, a: Uint8Array, micLength: unknown): MicLength {
    if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_LENGTH) abytes(nonce, NONCE_LENGTH, 'nonce');
    if (!(a instanceof Uint8Array)) abytes(a, undefined, 'a');
    if (a.length > 0xffffffff) throw new RangeError(`"a" too long for CCM* (${a.length} bytes)`);
    return checkMicLength(micLength);
  }

  return {
    encrypt(nonce, a, m, micLength) {
      const mic = checkCommon(nonce, a, micLength);
      abytes(m, undefined, 'm');
      if (m.length > MAX_MESSAGE) throw new RangeError(`"m" expected at most ${MAX_MESSAGE} bytes (L = 2), got length=${m.length}`);
      const mLength = m.length;
      const out = new Uint8Array(mLength + mic);
      setNonce(nonce);
      if (mic > 0) macStart(a, a.length, mLength, mic);
      crypt(m, 0, mLength, out, mic > 0, false);
      if (mic > 0) {
        // U = T ⊕ first M bytes of S_0 (M is a multiple of 4: whole words)
        const s = aes.encryptWords(a0, a1, a2, a3);
        storeWordLE(out, mLength, mLength + mic, x0 ^ s[0]);
        if (mic > 4) storeWordLE(out, mLength + 4, mLength + mic, x1 ^ s[1]);
        if (mic > 8) {
          storeWordLE(out, mLength + 8, mLength + mic, x2 ^ s[2]);
          storeWordLE(out, mLength + 12, mLength + mic, x3 ^ s[3]);
        }
      }
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
      setNonce(nonce);
      if (mic === 0) { // encryption-only level: nothing to verify
        crypt(cAndU, 0, cLength, plaintext, false, true);
        return { ok: true, plaintext };
      }
      macStart(a, a.length, cLength, mic);
      crypt(cAndU, 0, cLength, plaintext, true, true);
      const s = aes.encryptWords(a0, a1, a2, a3); // S_0
      const end = cAndU.length;
      // constant-time over the MIC: T ⊕ S_0 against U, a word at a time
      let diff = x0 ^ s[0] ^ loadWordLE(cAndU, cLength, end);
      if (mic > 4) diff |= x1 ^ s[1] ^ loadWordLE(cAndU, cLength + 4, end);
      if (mic > 8) {
        diff |= x2 ^ s[2] ^ loadWordLE(cAndU, cLength + 8, end);
        diff |= x3 ^ s[3] ^ loadWordLE(cAndU, cLength + 12, end);
      }
      // Verify the tag before releasing plaintext: on mismatch the decrypted bytes are wiped and
      // never returned; the only output is the verdict (Annex A.3 decryption transformation).
      if (diff !== 0) {
        plaintext.fill(0);
        return { ok: false, reason: 'mic-mismatch' };
      }
      return { ok: true, plaintext };
    },

    decryptRange(nonce, aBuf, aLength, src, cStart, cEnd, micLength, into) {
      const mic = checkCommon(nonce, aBuf, micLength);
      abytes(src, undefined, 'src');
      if (!Number.isInteger(aLength) || aLength < 0 || aLength > aBuf.length) throw new RangeError(`"aLength" expected 0..${aBuf.length}, got ${aLength}`);
      if (!Number.isInteger(cStart) || !Number.isInteger(cEnd) || cStart < 0 || cEnd > src.length || cEnd - cStart < mic) {
        throw new RangeError(`"cStart".."cEnd" (${cStart}..${cEnd}) must lie in "src" (${src.length} bytes) and hold at least the ${mic}-byte MIC`);
      }
      const cLength = cEnd - cStart - mic;
      if (cLength > MAX_MESSAGE) throw new RangeError(`ciphertext longer than ${MAX_MESSAGE} bytes (L = 2)`);
      if (into !== undefined) {
        abytes(into, undefined, 'into');
        if (into.length !== cLength) throw new RangeError(`"into" expected ${cLength} bytes (the ciphertext length), got ${into.length}`);
      }
      const plaintext = into ?? new Uint8Array(cLength);
      setNonce(nonce);
      if (mic === 0) {
        crypt(src, cStart, cLength, plaintext, false, true);
        return plaintext;
      }
      macStart(aBuf, aLength, cLength, mic);
      crypt(src, cStart, cLength, plaintext, true, true);
      const s = aes.encryptWords(a0, a1, a2, a3); // S_0
      const u = cStart + cLength;
      let diff = x0 ^ s[0] ^ loadWordLE(src, u, cEnd);
      if (mic > 4) diff |= x1 ^ s[1] ^ loadWordLE(src, u + 4, cEnd);
      if (mic > 8) {
        diff |= x2 ^ s[2] ^ loadWordLE(src, u + 8, cEnd);
        diff |= x3 ^ s[3] ^ loadWordLE(src, u + 12, cEnd);
      }
      if (diff !== 0) {
        plaintext.fill(0);
        return undefined;
      }
      return plaintext;
    },

    tag(nonce, a, m, micLength) {
      const mic = checkCommon(nonce, a, micLength);
      abytes(m, undefined, 'm');
      if (m.length > MAX_MESSAGE) throw new RangeError(`"m" expected at most ${MAX_MESSAGE} bytes (L = 2), got length=${m.length}`);
      if (mic === 0) return new Uint8Array(0);
      setNonce(nonce);
      macStart(a, a.length, m.length, mic);
      crypt(m, 0, m.length, null, true, false);
      const t = new Uint8Array(mic);
      storeWordLE(t, 0, mic, x0);
      if (mic > 4) storeWordLE(t, 4, mic, x1);
      if (mic > 8) { storeWordLE(t, 8, mic, x2); storeWordLE(t, 12, mic, x3); }
      return t;
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
