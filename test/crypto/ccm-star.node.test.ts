// Our CCM* and AES-MMO against independent implementations on node:crypto (OpenSSL):
// aes-128-ccm for M = 4, 8, 16 (OpenSSL has no M = 0), and a small AES-MMO written straight from
// Annex B.6 on top of aes-128-ecb. Node only (the browser runs the *.vectors.test.ts files).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aesMmoHash } from '../../harness/crypto/aes-mmo.ts';
import { ccmStarDecrypt, ccmStarEncrypt, createCcmStar, type MicLength } from '../../harness/crypto/ccm-star.ts';

function nodeCcmEncrypt(key: Uint8Array, nonce: Uint8Array, a: Uint8Array, m: Uint8Array, mic: number): Uint8Array {
  const cipher = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: mic });
  cipher.setAAD(a, { plaintextLength: m.length });
  const c = Buffer.concat([cipher.update(m), cipher.final()]);
  return new Uint8Array(Buffer.concat([c, cipher.getAuthTag()]));
}

function nodeCcmDecrypt(key: Uint8Array, nonce: Uint8Array, a: Uint8Array, cAndU: Uint8Array, mic: number): Uint8Array | null {
  const c = cAndU.subarray(0, cAndU.length - mic);
  const decipher = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: mic });
  decipher.setAuthTag(cAndU.subarray(cAndU.length - mic));
  decipher.setAAD(a, { plaintextLength: c.length });
  try {
    const m = decipher.update(c);
    decipher.final();
    return new Uint8Array(m);
  } catch {
    return null; // OpenSSL: "Unsupported state or unable to authenticate data"
  }
}

/** AES-MMO from the Annex B.6 formulas (bit arithmetic), hashing with OpenSSL AES-128-ECB. */
function referenceAesMmo(message: Uint8Array): Uint8Array {
  const l = message.length * 8; // bits
  const long = l >= 2 ** 16;
  // smallest k ≥ 0 with l + 1 + k ≡ 7n (short) or 5n (long) (mod 8n), n = 16
  const target = long ? 5 * 16 : 7 * 16;
  const k = (((target - (l + 1)) % 128) + 128) % 128;
  const tailBits = long ? 32 + 16 : 16;
  const total = (l + 1 + k + tailBits) / 8;
  const padded = new Uint8Array(total);
  padded.set(message);
  padded[message.length] = 0x80; // the '1' bit and the first 7 of the k zero bits
  const view = new DataView(padded.buffer);
  if (long) view.setUint32(total - 6, l); // then 16 zero bits
  else view.setUint16(total - 2, l);
  let h: Uint8Array = new Uint8Array(16);
  for (let off = 0; off < total; off += 16) {
    const block = padded.subarray(off, off + 16);
    const e = createCipheriv('aes-128-ecb', h, null).setAutoPadding(false).update(block);
    h = Uint8Array.from(e, (x, i) => x ^ block[i]);
  }
  return h;
}

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
const nonce = fc.uint8Array({ minLength: 13, maxLength: 13 });
const mic = fc.constantFrom<MicLength>(4, 8, 16);

describe('CCM* vs node:crypto aes-128-ccm (M = 4, 8, 16)', () => {
  it('encrypt: our c‖U equals OpenSSL ciphertext ‖ tag', () => {
    fc.assert(fc.property(key, nonce, bytes(100), bytes(100), mic, (k, n, a, m, M) => {
      expect(Buffer.from(ccmStarEncrypt(k, n, a, m, M)).toString('hex')).toBe(Buffer.from(nodeCcmEncrypt(k, n, a, m, M)).toString('hex'));
    }), { numRuns: 500 });
  });
  it('decrypt: we open what OpenSSL sealed', () => {
    fc.assert(fc.property(key, nonce, bytes(100), bytes(100), mic, (k, n, a, m, M) => {
      const r = ccmStarDecrypt(k, n, a, nodeCcmEncrypt(k, n, a, m, M), M);
      expect(r.ok).toBe(true);
      if (r.ok) expect(Buffer.from(r.plaintext).equals(Buffer.from(m))).toBe(true);
    }), { numRuns: 500 });
  });
  it('OpenSSL opens what we sealed, and both refuse the same tampered frames', () => {
    fc.assert(fc.property(key, nonce, bytes(100), bytes(100), mic, fc.nat(), fc.integer({ min: 1, max: 255 }), (k, n, a, m, M, at, flip) => {
      const sealed = ccmStarEncrypt(k, n, a, m, M);
      expect(Buffer.from(nodeCcmDecrypt(k, n, a, sealed, M) ?? []).equals(Buffer.from(m))).toBe(true);
      const bad = sealed.slice();
      bad[at % bad.length] ^= flip;
      expect(nodeCcmDecrypt(k, n, a, bad, M)).toBeNull();
      expect(ccmStarDecrypt(k, n, a, bad, M)).toEqual({ ok: false, reason: 'mic-mismatch' });
    }), { numRuns: 300 });
  });
  it('one CcmStar instance reused across many messages gives the same results', () => {
    fc.assert(fc.property(key, fc.array(fc.tuple(nonce, bytes(60), bytes(60), mic), { minLength: 1, maxLength: 20 }), (k, msgs) => {
      const ccm = createCcmStar(k);
      for (const [n, a, m, M] of msgs) {
        expect(Buffer.from(ccm.encrypt(n, a, m, M)).equals(Buffer.from(nodeCcmEncrypt(k, n, a, m, M)))).toBe(true);
      }
    }), { numRuns: 100 });
  });
  it('long associated data uses the 0xFFFE ‖ uint32 length form (a ≥ 0xFF00 bytes)', () => {
    const k = new Uint8Array(16).fill(7);
    const n = new Uint8Array(13).fill(9);
    const m = Uint8Array.from({ length: 40 }, (_, i) => i);
    for (const len of [0xfeff, 0xff00, 70_000]) {
      const a = Uint8Array.from({ length: len }, (_, i) => (i * 31) & 0xff);
      expect(Buffer.from(ccmStarEncrypt(k, n, a, m, 8)).equals(Buffer.from(nodeCcmEncrypt(k, n, a, m, 8)))).toBe(true);
    }
  });
  it('the largest message L = 2 allows (65535 bytes)', () => {
    const k = new Uint8Array(16).fill(1);
    const n = new Uint8Array(13).fill(2);
    const m = Uint8Array.from({ length: 0xffff }, (_, i) => i & 0xff);
    expect(Buffer.from(ccmStarEncrypt(k, n, new Uint8Array(3), m, 16)).equals(Buffer.from(nodeCcmEncrypt(k, n, new Uint8Array(3), m, 16)))).toBe(true);
  });
});

describe('AES-MMO vs a reference on node:crypto aes-128-ecb', () => {
  it('random short messages (0..200 bytes)', () => {
    fc.assert(fc.property(bytes(200), (m) => {
      expect(Buffer.from(aesMmoHash(m)).equals(Buffer.from(referenceAesMmo(m)))).toBe(true);
    }), { numRuns: 300 });
  });
  it('random messages around the 8192-byte switch to the long padding form', () => {
    fc.assert(fc.property(fc.integer({ min: 8160, max: 8230 }), fc.integer({ min: 0, max: 255 }), (len, seed) => {
      const m = Uint8Array.from({ length: len }, (_, i) => (i * 7 + seed) & 0xff);
      expect(Buffer.from(aesMmoHash(m)).equals(Buffer.from(referenceAesMmo(m)))).toBe(true);
    }), { numRuns: 40 });
  });
  it('every length 8180..8210 exactly', () => {
    for (let len = 8180; len <= 8210; len++) {
      const m = Uint8Array.from({ length: len }, (_, i) => i & 0xff);
      expect(Buffer.from(aesMmoHash(m)).toString('hex'), `length ${len}`).toBe(Buffer.from(referenceAesMmo(m)).toString('hex'));
    }
  });
});
