// AES-128 block encryption, the one primitive every Zigbee security function is built on.
// The cipher itself is @noble/ciphers (audited); we only need the raw block function, which
// noble exposes as `unsafe` (pinned version in package.json; the API is version-sensitive).
import { unsafe } from '@noble/ciphers/aes.js';
import { abytes } from './bytes.ts';

export interface Aes128 {
  /** Encrypts one 16-byte block; returns a new array unless `out` (16 bytes) is given. */
  encryptBlock(block: Uint8Array, out?: Uint8Array): Uint8Array;
}

/** Expands `key` once; the returned object encrypts any number of blocks with it. */
export function createAes128(key: Uint8Array): Aes128 {
  abytes(key, 16, 'key');
  const expanded = unsafe.expandKeyLE(key);
  // noble works on aligned 32-bit words in place; one scratch block per key keeps calls allocation-free.
  const scratch = new Uint8Array(16);
  return {
    encryptBlock(block, out) {
      abytes(block, 16, 'block');
      scratch.set(block);
      unsafe.encryptBlock(expanded, scratch);
      const dst = out ?? new Uint8Array(16);
      dst.set(scratch);
      return dst;
    },
  };
}

/** One-shot AES-128-ECB of a single block. */
export function aes128EncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return createAes128(key).encryptBlock(block);
}
