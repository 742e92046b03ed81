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
          // Into a caller's view (the dissector's slab): the same bytes, in that very view, nothing around it touched.
          const slab = new Uint8Array(m.length + 8).fill(0xee);
          const into = slab.subarray(4, 4 + m.length);
          expect(ccm.decryptRange(nonce, aBuf, a.length, src, pre, pre + sealed.length, mic, into)).toBe(into);
          expect(into).toEqual(m);
          expect([...slab.subarray(0, 4), ...slab.subarray(4 + m.length)]).toEqual(new Array(8).fill(0xee));
          expect(ccm.decrypt(nonce, a, sealed, mic)).toEqual({ ok: true, plaintext: m });
          if (sealed.length > 0 && mic > 0) {
            src[pre + (flip % sealed.length)] ^= 1;
            expect(ccm.decryptRange(nonce, aBuf, a.length, src, pre, pre + sealed.length, mic)).toBeUndefined();
            // A failed MIC leaves no plaintext behind in the caller's view.
            into.fill(0x77);
            expect(ccm.decryptRange(nonce, aBuf, a.length, src, pre, pre + sealed.length, mic, into)).toBeUndefined();
            expect(into.every((b) => b === 0)).toBe(true);
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
    // `into` must hold exactly the plaintext (8 − 4 MIC bytes = 4).
    expect(() => ccm.decryptRange(nonce, new Uint8Array(4), 4, new Uint8Array(8), 0, 8, 4, new Uint8Array(3))).toThrow(/"into" expected 4 bytes/);
  });
});
