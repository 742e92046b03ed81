// CcmStar.decryptRange (the frame decoder's allocation-free path) against decrypt.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCcmStar, type MicLength } from '../../harness/crypto/ccm-star.ts';

describe('CcmStar.decryptRange', () => {
  it('opens what encrypt sealed, from ranges of larger buffers, exactly as decrypt does; a flipped bit gives undefined', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 13, maxLength: 13 }),
        fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 70 }), fc.constantFrom<MicLength>(0, 4, 8, 16),
        fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.nat({ max: 200 }),
        (key, nonce, a, m, mic, pre, post, flip) => {
          const ccm = createCcmStar(key);
          const sealed = ccm.encrypt(nonce, a, m, mic);
          const src = new Uint8Array(pre + sealed.length + post).fill(0xa5);
          src.set(sealed, pre);
          const aBuf = new Uint8Array(a.length + 5).fill(0x5a);
          aBuf.set(a);
          const got = ccm.decryptRange(nonce, aBuf, a.length, src, pre, pre + sealed.length, mic);
          expect(got).toEqual(m);
          expect(ccm.decrypt(nonce, a, sealed, mic)).toEqual({ ok: true, plaintext: m });
          if (sealed.length > 0 && mic > 0) {
            src[pre + (flip % sealed.length)] ^= 1;
            expect(ccm.decryptRange(nonce, aBuf, a.length, src, pre, pre + sealed.length, mic)).toBeUndefined();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses ranges outside the buffers', () => {
    const ccm = createCcmStar(new Uint8Array(16));
    const nonce = new Uint8Array(13);
    expect(() => ccm.decryptRange(nonce, new Uint8Array(4), 5, new Uint8Array(8), 0, 8, 4)).toThrow(RangeError);
    expect(() => ccm.decryptRange(nonce, new Uint8Array(4), 4, new Uint8Array(8), 0, 9, 4)).toThrow(RangeError);
    expect(() => ccm.decryptRange(nonce, new Uint8Array(4), 4, new Uint8Array(8), 6, 8, 4)).toThrow(RangeError);
  });
});
