// AES-128 block encryption, the one primitive every Zigbee security function is built on.
// The key schedule is @noble/ciphers' (audited; `unsafe.expandKeyLE`, pinned version in
// package.json: the API is version-sensitive). The round function is ours: the classic four
// 1 KiB T-tables (FIPS 197 §5.1 with SubBytes, ShiftRows and MixColumns merged, as in the
// reference "rijndael-alg-fst" implementation; here in one array with the S-box, rounds
// written out), generated at load time from the S-box below
// and checked against noble's own round function on a known-answer block at load time.
// Why not noble's `unsafe.encrypt`: it returns a fresh object per block and reads two merged
// 256 KiB tables, which miss the cache between frames; the frame decoder runs ~8 blocks per
// frame, and 5 KiB of tables stay in L1. (Both are table-based, so neither is constant-time:
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
 * All four and the S-box (for the last round) in one 5 KiB Int32Array — T0 at 0, T1 at 256, T2
 * at 512, T3 at 768, S at 1024 — so the round function reads one array (one base, one bounds
 * check per load, indices built with `|`): ~30 % faster than five separate arrays.
 */
const T = /* @__PURE__ */ (() => {
  const t = new Int32Array(1280);
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i];
    const s2 = ((s << 1) ^ (s & 0x80 ? 0x11b : 0)) & 0xff;
    const w = s2 | (s << 8) | (s << 16) | ((s2 ^ s) << 24);
    t[i] = w;
    t[256 + i] = (w << 8) | (w >>> 24);
    t[512 + i] = (w << 16) | (w >>> 16);
    t[768 + i] = (w << 24) | (w >>> 8);
    t[1024 + i] = s;
  }
  return t;
})();

/**
 * AES-128 on one block of words with the 44-word schedule `xk`; the result goes to `out`.
 * Rounds 1–9 written out (state alternating between a0..a3 and b0..b3), the round keys read at
 * constant offsets: twice as fast in V8 as the loop over rounds it replaces (the frame decoder
 * runs ~8 blocks per frame). Round r: b_i = xk[4r + i] ^ T0[a_i] ^ T1[a_{i+1} >> 8] ^ T2[a_{i+2} >> 16] ^ T3[a_{i+3} >> 24].
 */
function encryptInto(xk: Int32Array, s0: number, s1: number, s2: number, s3: number, out: Int32Array): void {
  const t = T;
  let a0 = s0 ^ xk[0], a1 = s1 ^ xk[1], a2 = s2 ^ xk[2], a3 = s3 ^ xk[3];
  let b0: number, b1: number, b2: number, b3: number;
  // round 1
  b0 = xk[4] ^ t[a0 & 0xff] ^ t[256 | ((a1 >>> 8) & 0xff)] ^ t[512 | ((a2 >>> 16) & 0xff)] ^ t[768 | (a3 >>> 24)];
  b1 = xk[5] ^ t[a1 & 0xff] ^ t[256 | ((a2 >>> 8) & 0xff)] ^ t[512 | ((a3 >>> 16) & 0xff)] ^ t[768 | (a0 >>> 24)];
  b2 = xk[6] ^ t[a2 & 0xff] ^ t[256 | ((a3 >>> 8) & 0xff)] ^ t[512 | ((a0 >>> 16) & 0xff)] ^ t[768 | (a1 >>> 24)];
  b3 = xk[7] ^ t[a3 & 0xff] ^ t[256 | ((a0 >>> 8) & 0xff)] ^ t[512 | ((a1 >>> 16) & 0xff)] ^ t[768 | (a2 >>> 24)];
  // round 2
  a0 = xk[8] ^ t[b0 & 0xff] ^ t[256 | ((b1 >>> 8) & 0xff)] ^ t[512 | ((b2 >>> 16) & 0xff)] ^ t[768 | (b3 >>> 24)];
  a1 = xk[9] ^ t[b1 & 0xff] ^ t[256 | ((b2 >>> 8) & 0xff)] ^ t[512 | ((b3 >>> 16) & 0xff)] ^ t[768 | (b0 >>> 24)];
  a2 = xk[10] ^ t[b2 & 0xff] ^ t[256 | ((b3 >>> 8) & 0xff)] ^ t[512 | ((b0 >>> 16) & 0xff)] ^ t[768 | (b1 >>> 24)];
  a3 = xk[11] ^ t[b3 & 0xff] ^ t[256 | ((b0 >>> 8) & 0xff)] ^ t[512 | ((b1 >>> 16) & 0xff)] ^ t[768 | (b2 >>> 24)];
  // round 3
  b0 = xk[12] ^ t[a0 & 0xff] ^ t[256 | ((a1 >>> 8) & 0xff)] ^ t[512 | ((a2 >>> 16) & 0xff)] ^ t[768 | (a3 >>> 24)];
  b1 = xk[13] ^ t[a1 & 0xff] ^ t[256 | ((a2 >>> 8) & 0xff)] ^ t[512 | ((a3 >>> 16) & 0xff)] ^ t[768 | (a0 >>> 24)];
  b2 = xk[14] ^ t[a2 & 0xff] ^ t[256 | ((a3 >>> 8) & 0xff)] ^ t[512 | ((a0 >>> 16) & 0xff)] ^ t[768 | (a1 >>> 24)];
  b3 = xk[15] ^ t[a3 & 0xff] ^ t[256 | ((a0 >>> 8) & 0xff)] ^ t[512 | ((a1 >>> 16) & 0xff)] ^ t[768 | (a2 >>> 24)];
  // round 4
  a0 = xk[16] ^ t[b0 & 0xff] ^ t[256 | ((b1 >>> 8) & 0xff)] ^ t[512 | ((b2 >>> 16) & 0xff)] ^ t[768 | (b3 >>> 24)];
  a1 = xk[17] ^ t[b1 & 0xff] ^ t[256 | ((b2 >>> 8) & 0xff)] ^ t[512 | ((b3 >>> 16) & 0xff)] ^ t[768 | (b0 >>> 24)];
  a2 = xk[18] ^ t[b2 & 0xff] ^ t[256 | ((b3 >>> 8) & 0xff)] ^ t[512 | ((b0 >>> 16) & 0xff)] ^ t[768 | (b1 >>> 24)];
  a3 = xk[19] ^ t[b3 & 0xff] ^ t[256 | ((b0 >>> 8) & 0xff)] ^ t[512 | ((b1 >>> 16) & 0xff)] ^ t[768 | (b2 >>> 24)];
  // round 5
  b0 = xk[20] ^ t[a0 & 0xff] ^ t[256 | ((a1 >>> 8) & 0xff)] ^ t[512 | ((a2 >>> 16) & 0xff)] ^ t[768 | (a3 >>> 24)];
  b1 = xk[21] ^ t[a1 & 0xff] ^ t[256 | ((a2 >>> 8) & 0xff)] ^ t[512 | ((a3 >>> 16) & 0xff)] ^ t[768 | (a0 >>> 24)];
  b2 = xk[22] ^ t[a2 & 0xff] ^ t[256 | ((a3 >>> 8) & 0xff)] ^ t[512 | ((a0 >>> 16) & 0xff)] ^ t[768 | (a1 >>> 24)];
  b3 = xk[23] ^ t[a3 & 0xff] ^ t[256 | ((a0 >>> 8) & 0xff)] ^ t[512 | ((a1 >>> 16) & 0xff)] ^ t[768 | (a2 >>> 24)];
  // round 6
  a0 = xk[24] ^ t[b0 & 0xff] ^ t[256 | ((b1 >>> 8) & 0xff)] ^ t[512 | ((b2 >>> 16) & 0xff)] ^ t[768 | (b3 >>> 24)];
  a1 = xk[25] ^ t[b1 & 0xff] ^ t[256 | ((b2 >>> 8) & 0xff)] ^ t[512 | ((b3 >>> 16) & 0xff)] ^ t[768 | (b0 >>> 24)];
  a2 = xk[26] ^ t[b2 & 0xff] ^ t[256 | ((b3 >>> 8) & 0xff)] ^ t[512 | ((b0 >>> 16) & 0xff)] ^ t[768 | (b1 >>> 24)];
  a3 = xk[27] ^ t[b3 & 0xff] ^ t[256 | ((b0 >>> 8) & 0xff)] ^ t[512 | ((b1 >>> 16) & 0xff)] ^ t[768 | (b2 >>> 24)];
  // round 7
  b0 = xk[28] ^ t[a0 & 0xff] ^ t[256 | ((a1 >>> 8) & 0xff)] ^ t[512 | ((a2 >>> 16) & 0xff)] ^ t[768 | (a3 >>> 24)];
  b1 = xk[29] ^ t[a1 & 0xff] ^ t[256 | ((a2 >>> 8) & 0xff)] ^ t[512 | ((a3 >>> 16) & 0xff)] ^ t[768 | (a0 >>> 24)];
  b2 = xk[30] ^ t[a2 & 0xff] ^ t[256 | ((a3 >>> 8) & 0xff)] ^ t[512 | ((a0 >>> 16) & 0xff)] ^ t[768 | (a1 >>> 24)];
  b3 = xk[31] ^ t[a3 & 0xff] ^ t[256 | ((a0 >>> 8) & 0xff)] ^ t[512 | ((a1 >>> 16) & 0xff)] ^ t[768 | (a2 >>> 24)];
  // round 8
  a0 = xk[32] ^ t[b0 & 0xff] ^ t[256 | ((b1 >>> 8) & 0xff)] ^ t[512 | ((b2 >>> 16) & 0xff)] ^ t[768 | (b3 >>> 24)];
  a1 = xk[33] ^ t[b1 & 0xff] ^ t[256 | ((b2 >>> 8) & 0xff)] ^ t[512 | ((b3 >>> 16) & 0xff)] ^ t[768 | (b0 >>> 24)];
  a2 = xk[34] ^ t[b2 & 0xff] ^ t[256 | ((b3 >>> 8) & 0xff)] ^ t[512 | ((b0 >>> 16) & 0xff)] ^ t[768 | (b1 >>> 24)];
  a3 = xk[35] ^ t[b3 & 0xff] ^ t[256 | ((b0 >>> 8) & 0xff)] ^ t[512 | ((b1 >>> 16) & 0xff)] ^ t[768 | (b2 >>> 24)];
  // round 9
  b0 = xk[36] ^ t[a0 & 0xff] ^ t[256 | ((a1 >>> 8) & 0xff)] ^ t[512 | ((a2 >>> 16) & 0xff)] ^ t[768 | (a3 >>> 24)];
  b1 = xk[37] ^ t[a1 & 0xff] ^ t[256 | ((a2 >>> 8) & 0xff)] ^ t[512 | ((a3 >>> 16) & 0xff)] ^ t[768 | (a0 >>> 24)];
  b2 = xk[38] ^ t[a2 & 0xff] ^ t[256 | ((a3 >>> 8) & 0xff)] ^ t[512 | ((a0 >>> 16) & 0xff)] ^ t[768 | (a1 >>> 24)];
  b3 = xk[39] ^ t[a3 & 0xff] ^ t[256 | ((a0 >>> 8) & 0xff)] ^ t[512 | ((a1 >>> 16) & 0xff)] ^ t[768 | (a2 >>> 24)];
  // last round: SubBytes and ShiftRows only
  out[0] = xk[40] ^ (t[1024 | (b0 & 0xff)] | (t[1024 | ((b1 >>> 8) & 0xff)] << 8) | (t[1024 | ((b2 >>> 16) & 0xff)] << 16) | (t[1024 | (b3 >>> 24)] << 24));
  out[1] = xk[41] ^ (t[1024 | (b1 & 0xff)] | (t[1024 | ((b2 >>> 8) & 0xff)] << 8) | (t[1024 | ((b3 >>> 16) & 0xff)] << 16) | (t[1024 | (b0 >>> 24)] << 24));
  out[2] = xk[42] ^ (t[1024 | (b2 & 0xff)] | (t[1024 | ((b3 >>> 8) & 0xff)] << 8) | (t[1024 | ((b0 >>> 16) & 0xff)] << 16) | (t[1024 | (b1 >>> 24)] << 24));
  out[3] = xk[43] ^ (t[1024 | (b3 & 0xff)] | (t[1024 | ((b0 >>> 8) & 0xff)] << 8) | (t[1024 | ((b1 >>> 16) & 0xff)] << 16) | (t[1024 | (b2 >>> 24)] << 24));
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
