// Keyed hash for message authentication (HMAC with the AES-MMO hash) and the Zigbee key
// derivations built on it.
// @spec Zigbee 05-3474 Annex B.1.4 (FIPS 198 HMAC, block = key = 16 octets); §4.5.3 key ids.
import { aesMmoHash } from './aes-mmo.ts';
import { abytes, concatBytes } from './bytes.ts';

const IPAD = 0x36;
const OPAD = 0x5c;

/** HMAC-MMO(key, text) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ text)), with a 16-byte key. */
export function hmacMmo(key: Uint8Array, text: Uint8Array): Uint8Array {
  abytes(key, 16, 'key');
  abytes(text, undefined, 'text');
  const inner = new Uint8Array(16);
  const outer = new Uint8Array(16);
  for (let i = 0; i < 16; i++) { inner[i] = key[i] ^ IPAD; outer[i] = key[i] ^ OPAD; }
  const innerHash = aesMmoHash(concatBytes(inner, text));
  return aesMmoHash(concatBytes(outer, innerHash));
}

/** Input bytes of the derivations, Zigbee 05-3474 §4.5.3 / Wireshark zbee_sec_decrypt_payload. */
export const KeyHashInput = {
  keyTransport: 0x00,
  keyLoad: 0x02,
  verifyKey: 0x03,
} as const;

/** Key-transport key (APS key id 2): protects Transport Key commands that carry a network key. */
export function deriveKeyTransportKey(linkKey: Uint8Array): Uint8Array {
  return hmacMmo(linkKey, Uint8Array.of(KeyHashInput.keyTransport));
}

/** Key-load key (APS key id 3): protects Transport Key commands that carry a link key. */
export function deriveKeyLoadKey(linkKey: Uint8Array): Uint8Array {
  return hmacMmo(linkKey, Uint8Array.of(KeyHashInput.keyLoad));
}

/** The 16-byte hash a device sends in APS Verify Key (Zigbee R21+) to prove it holds the TC link key. */
export function deriveVerifyKeyHash(tcLinkKey: Uint8Array): Uint8Array {
  return hmacMmo(tcLinkKey, Uint8Array.of(KeyHashInput.verifyKey));
}
