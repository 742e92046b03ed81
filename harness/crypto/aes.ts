// AES-128 block encryption, the one primitive every Zigbee security function is built on.
// The cipher itself is @noble/ciphers (audited); we only need the raw block function, which
// noble exposes as `unsafe` (pinned version in package.json; the API is version-sensitive).
//
// Hot path: the frame decoder runs ~10 blocks per frame, so both entry points go straight to
// noble's word-level round function `unsafe.encrypt(xk, s0, s1, s2, s3)`:
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

const encrypt = unsafe.encrypt;

/** Checks the block argument without allocating on the hot path; abytes supplies the error. */
function checkBlock(value: unknown, title: string): void {
  if (!(value instanceof Uint8Array) || value.length !== 16) abytes(value, 16, title);
}

/** Expands `key` once; the returned object encrypts any number of blocks with it. */
export function createAes128(key: Uint8Array): Aes128 {
  abytes(key, 16, 'key');
  // noble returns the 44-word schedule in the same little-endian word convention as encrypt().
  const xk = unsafe.expandKeyLE(key);
  if (xk.length !== 44) throw new Error(`@noble/ciphers expandKeyLE returned ${xk.length} words for AES-128 (expected 44)`);
  const words = new Int32Array(4);
  return {
    encryptBlock(block, out) {
      checkBlock(block, 'block');
      const dst = out === undefined ? new Uint8Array(16) : out;
      if (out !== undefined) checkBlock(out, 'out');
      const r = encrypt(xk,
        block[0] | (block[1] << 8) | (block[2] << 16) | (block[3] << 24),
        block[4] | (block[5] << 8) | (block[6] << 16) | (block[7] << 24),
        block[8] | (block[9] << 8) | (block[10] << 16) | (block[11] << 24),
        block[12] | (block[13] << 8) | (block[14] << 16) | (block[15] << 24));
      // All of block is read above, so out === block (in-place) is fine.
      let w = r.s0;
      dst[0] = w; dst[1] = w >>> 8; dst[2] = w >>> 16; dst[3] = w >>> 24;
      w = r.s1;
      dst[4] = w; dst[5] = w >>> 8; dst[6] = w >>> 16; dst[7] = w >>> 24;
      w = r.s2;
      dst[8] = w; dst[9] = w >>> 8; dst[10] = w >>> 16; dst[11] = w >>> 24;
      w = r.s3;
      dst[12] = w; dst[13] = w >>> 8; dst[14] = w >>> 16; dst[15] = w >>> 24;
      return dst;
    },
    encryptWords(s0, s1, s2, s3) {
      const r = encrypt(xk, s0, s1, s2, s3);
      words[0] = r.s0; words[1] = r.s1; words[2] = r.s2; words[3] = r.s3;
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
