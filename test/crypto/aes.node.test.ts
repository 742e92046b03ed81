// AES-128 (harness/crypto/aes.ts) against node:crypto aes-128-ecb (OpenSSL): the byte API, the
// word-level fast path and the word pack/unpack helpers CCM* builds on. Node only.
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aes128EncryptBlock, createAes128, loadWordLE, storeWordLE } from '../../harness/crypto/aes.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function opensslEcb(key: Uint8Array, block: Uint8Array): Uint8Array {
  return new Uint8Array(createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(block));
}

/** The block's words as the word API defines them, derived independently with DataView (LE). */
function wordsOf(block: Uint8Array): [number, number, number, number] {
  const v = new DataView(block.buffer, block.byteOffset, 16);
  return [v.getInt32(0, true), v.getInt32(4, true), v.getInt32(8, true), v.getInt32(12, true)];
}

function bytesOf(words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  for (let j = 0; j < 4; j++) v.setInt32(4 * j, words[j], true);
  return out;
}

const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
const block = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('AES-128 vs node:crypto aes-128-ecb', () => {
  it('FIPS 197 Appendix C.1 (AES-128)', () => {
    const k = Uint8Array.from({ length: 16 }, (_, i) => i);
    const p = Uint8Array.from({ length: 16 }, (_, i) => i * 0x11);
    expect(hex(createAes128(k).encryptBlock(p))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    expect(hex(aes128EncryptBlock(k, p))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    const w = createAes128(k).encryptWords(...wordsOf(p));
    expect(hex(bytesOf(w))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  it('encryptBlock: new array, given out, and in place', () => {
    fc.assert(fc.property(key, block, (k, b) => {
      const want = hex(opensslEcb(k, b));
      const aes = createAes128(k);
      const before = hex(b);
      expect(hex(aes.encryptBlock(b))).toBe(want);
      expect(hex(b)).toBe(before); // input untouched
      const out = new Uint8Array(16);
      expect(aes.encryptBlock(b, out)).toBe(out);
      expect(hex(out)).toBe(want);
      const inPlace = b.slice();
      expect(aes.encryptBlock(inPlace, inPlace)).toBe(inPlace);
      expect(hex(inPlace)).toBe(want);
      expect(hex(aes128EncryptBlock(k, b))).toBe(want);
    }), { numRuns: 1000 });
  });

  it('encryptBlock: unaligned input and output views (any byteOffset)', () => {
    fc.assert(fc.property(key, block, fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }), (k, b, inOff, outOff) => {
      const src = new Uint8Array(16 + 8);
      src.set(b, inOff);
      const dstBuf = new Uint8Array(16 + 8).fill(0xa5);
      const dst = dstBuf.subarray(outOff, outOff + 16);
      createAes128(k).encryptBlock(src.subarray(inOff, inOff + 16), dst);
      expect(hex(dst)).toBe(hex(opensslEcb(k, b)));
      // nothing written outside the 16-byte window
      for (let i = 0; i < dstBuf.length; i++) if (i < outOff || i >= outOff + 16) expect(dstBuf[i]).toBe(0xa5);
    }), { numRuns: 300 });
  });

  it('encryptWords: little-endian words in, little-endian words out', () => {
    fc.assert(fc.property(key, block, (k, b) => {
      const aes = createAes128(k);
      const w = aes.encryptWords(...wordsOf(b));
      expect(w).toBeInstanceOf(Int32Array);
      expect(w.length).toBe(4);
      expect(hex(bytesOf(w))).toBe(hex(opensslEcb(k, b)));
      // unsigned inputs (as read from a Uint32Array) are the same words
      const u = Uint32Array.from(wordsOf(b), (x) => x >>> 0);
      expect(hex(bytesOf(aes.encryptWords(u[0], u[1], u[2], u[3])))).toBe(hex(opensslEcb(k, b)));
    }), { numRuns: 1000 });
  });

  it('encryptWords: the result array is reused, and chaining through it matches OpenSSL (1000 iterations)', () => {
    fc.assert(fc.property(key, block, (k, b) => {
      const aes = createAes128(k);
      const first = aes.encryptWords(0, 0, 0, 0);
      let w: Int32Array = aes.encryptWords(...wordsOf(b));
      expect(w).toBe(first);
      let ref = opensslEcb(k, b);
      for (let i = 0; i < 1000; i++) {
        w = aes.encryptWords(w[0], w[1], w[2], w[3]); // arguments read before the array is overwritten
        ref = opensslEcb(k, ref);
      }
      expect(hex(bytesOf(w))).toBe(hex(ref));
    }), { numRuns: 5 });
  });

  it('encryptBlock and encryptWords interleave on one instance without interfering', () => {
    fc.assert(fc.property(key, fc.array(block, { minLength: 1, maxLength: 16 }), (k, blocks) => {
      const aes = createAes128(k);
      for (const b of blocks) {
        const w = aes.encryptWords(...wordsOf(b));
        const viaBlock = aes.encryptBlock(b);
        expect(hex(bytesOf(w))).toBe(hex(opensslEcb(k, b)));
        expect(hex(viaBlock)).toBe(hex(opensslEcb(k, b)));
      }
    }), { numRuns: 200 });
  });

  it('argument errors', () => {
    const aes = createAes128(new Uint8Array(16));
    expect(() => createAes128(new Uint8Array(15))).toThrow(RangeError);
    expect(() => createAes128([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => aes.encryptBlock(new Uint8Array(15))).toThrow(RangeError);
    expect(() => aes.encryptBlock(new Uint8Array(17))).toThrow(RangeError);
    expect(() => aes.encryptBlock(new Array(16).fill(0) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => aes.encryptBlock(new Uint8Array(16), new Uint8Array(8))).toThrow(/"out"/);
  });
});

describe('loadWordLE / storeWordLE (block tails)', () => {
  it('match DataView little-endian words, with bytes past `end` as zero / left alone', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.nat(), fc.integer(), (bytes, at, w) => {
      const i = bytes.length === 0 ? 0 : at % (bytes.length + 4);
      const padded = new Uint8Array(bytes.length + 8);
      padded.set(bytes);
      expect(loadWordLE(bytes, i, bytes.length)).toBe(new DataView(padded.buffer).getInt32(i, true));
      const dst = bytes.slice();
      storeWordLE(dst, i, dst.length, w);
      const want = bytes.slice();
      const wb = new Uint8Array(4);
      new DataView(wb.buffer).setInt32(0, w | 0, true);
      for (let t = 0; t < 4 && i + t < want.length; t++) want[i + t] = wb[t];
      expect(hex(dst)).toBe(hex(want));
    }), { numRuns: 1000 });
  });
});
