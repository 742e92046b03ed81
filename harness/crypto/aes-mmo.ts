// AES-MMO (Matyas–Meyer–Oseas) hash: the Zigbee "block-cipher-based cryptographic hash".
// @spec Zigbee 05-3474 Annex B.6 (padding) and B.1.3; vectors in vectors/aes-mmo.json (Annex C.5).
import { createAes128 } from './aes.ts';
import { abytes } from './bytes.ts';

const BLOCK = 16;
/** Messages of 2^16 bits (8192 bytes) or more use the long padding form (B.6, second branch). */
const LONG_FORM_BYTES = 8192;
/** The long form carries a 32-bit bit length, so the message must stay below 2^32 bits. */
const MAX_BYTES = 2 ** 29 - 1;

/**
 * Pads `message` as Annex B.6 prescribes.
 * Short (l < 2^16 bits): M ‖ 0x80 ‖ 0x00… ‖ uint16be(l), total ≡ 0 mod 16.
 * Long (2^16 ≤ l < 2^32): M ‖ 0x80 ‖ 0x00… ‖ uint32be(l) ‖ 0x0000, total ≡ 0 mod 16.
 */
export function aesMmoPad(message: Uint8Array): Uint8Array {
  abytes(message, undefined, 'message');
  if (message.length > MAX_BYTES) throw new RangeError(`"message" too long for AES-MMO (${message.length} bytes)`);
  const long = message.length >= LONG_FORM_BYTES;
  const trailer = long ? 6 : 2;
  let total = message.length + 1 + trailer;
  total = Math.ceil(total / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  out.set(message);
  out[message.length] = 0x80;
  const bits = message.length * 8;
  if (long) {
    const at = total - 6;
    out[at] = (bits >>> 24) & 0xff;
    out[at + 1] = (bits >>> 16) & 0xff;
    out[at + 2] = (bits >>> 8) & 0xff;
    out[at + 3] = bits & 0xff;
    // the final two bytes stay 0x0000 (the n-bit all-zero string of B.6)
  } else {
    out[total - 2] = (bits >>> 8) & 0xff;
    out[total - 1] = bits & 0xff;
  }
  return out;
}

/** AES-MMO digest (16 bytes) of `message`. */
export function aesMmoHash(message: Uint8Array): Uint8Array {
  const padded = aesMmoPad(message);
  let hash: Uint8Array = new Uint8Array(BLOCK); // Hash_0 = 0^128
  const block = new Uint8Array(BLOCK);
  for (let off = 0; off < padded.length; off += BLOCK) {
    block.set(padded.subarray(off, off + BLOCK));
    const enc = createAes128(hash).encryptBlock(block);
    for (let i = 0; i < BLOCK; i++) enc[i] ^= block[i];
    hash = enc;
  }
  return hash;
}
