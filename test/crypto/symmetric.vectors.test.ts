// AES-MMO, HMAC-MMO and the key derivations against every vector in vectors/aes-mmo.json and
// vectors/hmac-mmo.json. No `node:` imports: this file also runs in Chromium.
import { describe, expect, it } from 'vitest';
import aesMmoVectors from '../../vectors/aes-mmo.json' with { type: 'json' };
import hmacMmoVectors from '../../vectors/hmac-mmo.json' with { type: 'json' };
import { aesMmoHash } from '../../harness/crypto/aes-mmo.ts';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  deriveKeyLoadKey, deriveKeyTransportKey, deriveVerifyKeyHash, hmacMmo,
} from '../../harness/crypto/hmac-mmo.ts';

type Message = string | { pattern: string; length: number };

/** A vector message: hex, or the Annex C.5 pattern M[i] = i mod 256. */
function message(m: Message): Uint8Array {
  if (typeof m === 'string') return hexToBytes(m);
  if (m.pattern !== 'i mod 256') throw new Error(`unknown message pattern ${m.pattern}`);
  return Uint8Array.from({ length: m.length }, (_, i) => i & 0xff);
}

const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();

describe('vector files', () => {
  it('every entry names its source', () => {
    for (const v of [...aesMmoVectors.vectors, ...hmacMmoVectors.vectors]) {
      expect(v.source, v.id).toMatch(/\S/);
      expect(v.status, v.id).toMatch(/\S/);
    }
  });
});

describe('AES-MMO (Zigbee 05-3474 Annex B.6) — vectors/aes-mmo.json', () => {
  for (const v of aesMmoVectors.vectors) {
    it(`${v.id}: ${typeof v.message === 'string' ? `${v.message.length / 2} bytes` : `${v.message.length} bytes of ${v.message.pattern}`}`, () => {
      expect(hex(aesMmoHash(message(v.message as Message)))).toBe(v.digest);
    });
  }
});

describe('HMAC-MMO (Annex B.1.4) and key derivations — vectors/hmac-mmo.json', () => {
  const derive = { keyTransport: deriveKeyTransportKey, keyLoad: deriveKeyLoadKey, verifyKey: deriveVerifyKeyHash } as const;
  for (const v of hmacMmoVectors.vectors) {
    it(`${v.id}`, () => {
      const key = hexToBytes(v.key);
      expect(hex(hmacMmo(key, hexToBytes(v.text)))).toBe(v.mac);
      const d = (v as { derivation?: keyof typeof derive }).derivation;
      if (d) expect(hex(derive[d](key))).toBe(v.mac);
    });
  }
  it('rejects a key that is not 16 bytes, naming the argument', () => {
    expect(() => hmacMmo(new Uint8Array(15), new Uint8Array(1))).toThrow(/"key" expected Uint8Array of length 16, got length=15/);
  });
});
