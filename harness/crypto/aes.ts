// AES-128 block encryption, the one primitive every Zigbee security function is built on.
// The key schedule is @noble/ciphers' (audited; `unsafe.expandKeyLE`, pinned version in
// package.json: the API is version-sensitive). The round function is ours: the classic four
// 1 KiB T-tables (FIPS 197 §5.1 with SubBytes, ShiftRows and MixColumns merged, as in the
// reference "rijndael-alg-fst" implementation), generated at load time from the S-box below
// and checked against noble's own round function on a known-answer block at load time.
// Why not noble's `unsafe.encrypt`: it returns a fresh object per block and reads two merged
// 256 KiB tables, which miss the cache between frames; the frame decoder runs ~8 blocks per
// frame, and 4 KiB of tables stay in L1. (Both are table-based, so neither is constant-time:
// no change in side-channel posture. Tests: test/crypto/aes.node.test.ts against OpenSSL.)
//
// Hot path: both entry points run the same round function on four 32-bit words:
// - encryptWords: the state as four 32-bit words, nothing copied;
// - encryptBlock: bytes are packed into / unpacked from those words with shifts. That is as fast
//   as aliasing the bytes with a Uint32Array view (no view object per call, any byteOffset) and,
//   being arithmetic rather than a memory reinterpretation, is the same on every host byte order.
import { unsafe } from '@noble/ciphers/aes.js';
import { abytes } from './bytes.ts';

export interface Aes128 {
  /** Encrypts one 16-byte block; returns a new array unless `out` (16 bytes, may be `block`) is given. */
  encryptBlock(block: Uint8Array, out?: Uint8Array): Uint8Array;
  /**
   * Word-level block encryption. A block's words are its bytes read 4 at a time little-endian:
   * s0 = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24, s1 from b[4..7], … (see `loadWordLE`), on any
   * host. Returns the ciphertext words (signed 32-bit) in an Int32Array(4) owned by this instance:
   * it is overwritten by the next encryptWords call, so read it before calling again.
   */
  encryptWords(s0: number, s1: number, s2: number, s3: number): Int32Array;
}

/** The AES S-box (FIPS 197 §5.1.1), generated: multiplicative inverse in GF(2^8) then the affine map. */
const SBOX = /* @__PURE__ */ (() => {
  const sbox = new Uint8Array(256);
  let p = 1;
  let q = 1;
  do {
    p = (p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0)) & 0xff; // p · 3
    q ^= q << 1; q ^= q << 2; q ^= q << 4; q &= 0xff; // q / 3
    if (q & 0x80) q ^= 0x09;
    const x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4));
    sbox[p] = (x ^ 0x63) & 0xff;
  } while (p !== 1);
  sbox[0] = 0x63;
  return sbox;
})();

/**
 * T-tables in the little-endian word convention (byte 0 of a column in the low bits): T0[x] is
 * the MixColumns column of S(x) in row 0, i.e. bytes (2·S, S, S, 3·S); T1..T3 are its rotations.
 */
const [T0, T1, T2, T3] = /* @__PURE__ */ (() => {
  const t = [new Int32Array(256), new Int32Array(256), new Int32Array(256), new Int32Array(256)];
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i];
    const s2 = ((s << 1) ^ (s & 0x80 ? 0x11b : 0)) & 0xff;
    const w = s2 | (s << 8) | (s << 16) | ((s2 ^ s) << 24);
    t[0][i] = w;
    t[1][i] = (w << 8) | (w >>> 24);
    t[2][i] = (w << 16) | (w >>> 16);
    t[3][i] = (w << 24) | (w >>> 8);
  }
  return t;
})();

/** AES-128 on one block of words with the 44-word schedule `xk`; the result goes to `out`. */
function encryptInto(xk: Int32Array, s0: number, s1: number, s2: number, s3: number, out: Int32Array): void {
  s0 ^= xk[0]; s1 ^= xk[1]; s2 ^= xk[2]; s3 ^= xk[3];
  for (let k = 4; k < 40; k += 4) {
    const t0 = xk[k] ^ T0[s0 & 0xff] ^ T1[(s1 >>> 8) & 0xff] ^ T2[(s2 >>> 16) & 0xff] ^ T3[s3 >>> 24];
    const t1 = xk[k + 1] ^ T0[s1 & 0xff] ^ T1[(s2 >>> 8) & 0xff] ^ T2[(s3 >>> 16) & 0xff] ^ T3[s0 >>> 24];
    const t2 = xk[k + 2] ^ T0[s2 & 0xff] ^ T1[(s3 >>> 8) & 0xff] ^ T2[(s0 >>> 16) & 0xff] ^ T3[s1 >>> 24];
    const t3 = xk[k + 3] ^ T0[s3 & 0xff] ^ T1[(s0 >>> 8) & 0xff] ^ T2[(s1 >>> 16) & 0xff] ^ T3[s2 >>> 24];
    s0 = t0; s1 = t1; s2 = t2; s3 = t3;
  }
  // last round: SubBytes and ShiftRows only
  out[0] = xk[40] ^ (SBOX[s0 & 0xff] | (SBOX[(s1 >>> 8) & 0xff] << 8) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[s3 >>> 24] << 24));
  out[1] = xk[41] ^ (SBOX[s1 & 0xff] | (SBOX[(s2 >>> 8) & 0xff] << 8) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[s0 >>> 24] << 24));
  out[2] = xk[42] ^ (SBOX[s2 & 0xff] | (SBOX[(s3 >>> 8) & 0xff] << 8) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[s1 >>> 24] << 24));
  out[3] = xk[43] ^ (SBOX[s3 & 0xff] | (SBOX[(s0 >>> 8) & 0xff] << 8) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[s2 >>> 24] << 24));
}

/** Load-time known-answer check of the generated tables against noble's round function. */
{
  const xk = unsafe.expandKeyLE(Uint8Array.from({ length: 16 }, (_, i) => i));
  const out = new Int32Array(4);
  encryptInto(new Int32Array(xk.buffer, xk.byteOffset, 44), 0x33221100, 0x77665544, 0xbbaa9988 | 0, 0xffeeddcc | 0, out);
  const ref = unsafe.encrypt(xk, 0x33221100, 0x77665544, 0xbbaa9988 | 0, 0xffeeddcc | 0);
  if (out[0] !== (ref.s0 | 0) || out[1] !== (ref.s1 | 0) || out[2] !== (ref.s2 | 0) || out[3] !== (ref.s3 | 0)) {
    throw new Error('aes.ts: generated AES tables disagree with @noble/ciphers');
  }
}

/** Checks the block argument without allocating on the hot path; abytes supplies the error. */
function checkBlock(value: unknown, title: string): void {
  if (!(value instanceof Uint8Array) || value.length !== 16) abytes(value, 16, title);
}

/** Expands `key` once; the returned object encrypts any number of blocks with it. */
export function createAes128(key: Uint8Array): Aes128 {
  abytes(key, 16, 'key');
  // noble returns the 44-word schedule in the same little-endian word convention as encrypt().
  const schedule = unsafe.expandKeyLE(key);
  if (schedule.length !== 44) throw new Error(`@noble/ciphers expandKeyLE returned ${schedule.length} words for AES-128 (expected 44)`);
  const xk = new Int32Array(schedule); // a copy, as signed words: the round function reads int32
  schedule.fill(0);
  const words = new Int32Array(4);
  return {
    encryptBlock(block, out) {
      checkBlock(block, 'block');
      const dst = out === undefined ? new Uint8Array(16) : out;
      if (out !== undefined) checkBlock(out, 'out');
      encryptInto(xk,
        block[0] | (block[1] << 8) | (block[2] << 16) | (block[3] << 24),
        block[4] | (block[5] << 8) | (block[6] << 16) | (block[7] << 24),
        block[8] | (block[9] << 8) | (block[10] << 16) | (block[11] << 24),
        block[12] | (block[13] << 8) | (block[14] << 16) | (block[15] << 24),
        words);
      // All of block is read above, so out === block (in-place) is fine.
      let w = words[0];
      dst[0] = w; dst[1] = w >>> 8; dst[2] = w >>> 16; dst[3] = w >>> 24;
      w = words[1];
      dst[4] = w; dst[5] = w >>> 8; dst[6] = w >>> 16; dst[7] = w >>> 24;
      w = words[2];
      dst[8] = w; dst[9] = w >>> 8; dst[10] = w >>> 16; dst[11] = w >>> 24;
      w = words[3];
      dst[12] = w; dst[13] = w >>> 8; dst[14] = w >>> 16; dst[15] = w >>> 24;
      return dst;
    },
    encryptWords(s0, s1, s2, s3) {
      encryptInto(xk, s0, s1, s2, s3, words);
      return words;
    },
  };
}

/** One-shot AES-128-ECB of a single block. */
export function aes128EncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return createAes128(key).encryptBlock(block);
}

/**
 * The little-endian word at bytes[i..i+4), with bytes at or beyond `end` read as zero (block
 * tails and zero padding). The word convention of `Aes128.encryptWords`.
 */
export function loadWordLE(bytes: Uint8Array, i: number, end: number): number {
  if (i + 4 <= end) return bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
  let w = 0;
  for (let t = 0; i + t < end && t < 4; t++) w |= bytes[i + t] << (8 * t);
  return w;
}

/** Writes word `w` little-endian to bytes[i..i+4), stopping before `end` (a block tail). */
export function storeWordLE(bytes: Uint8Array, i: number, end: number, w: number): void {
  if (i + 4 <= end) {
    bytes[i] = w; bytes[i + 1] = w >>> 8; bytes[i + 2] = w >>> 16; bytes[i + 3] = w >>> 24;
    return;
  }
  for (let t = 0; i + t < end && t < 4; t++) bytes[i + t] = w >>> (8 * t);
}
