// Independent cross-check of the draft-kang PSK primitives against node:crypto (OpenSSL):
// derivePsk = aes-128-ecb without padding, every protected message = aes-128-ccm with an
// 8-byte tag. Both directions: ours → OpenSSL opens it, OpenSSL → ours opens it.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import vectors from '../../vectors/psk-reconfig.json' with { type: 'json' };
import { bytesToHex, concatBytes, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  derivePsk, encodeMessage, openAuthResponse, openKeyOffer, sealAuthRequest, sealAuthResponse, sealConfirm,
  sealKeyOffer, transactionHeader, verifyAuthRequest, verifyConfirm, type TransactionHeader,
} from '../../harness/crypto/psk-reconfig.ts';

const TAG = 8;

function opensslAesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

function opensslCcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: TAG });
  c.setAAD(aad, { plaintextLength: pt.length });
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return new Uint8Array(Buffer.concat([ct, c.getAuthTag()]));
}

function opensslCcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const d = createDecipheriv('aes-128-ccm', key, nonce, { authTagLength: TAG });
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  d.setAAD(aad, { plaintextLength: sealed.length - TAG });
  const pt = d.update(sealed.subarray(0, sealed.length - TAG));
  try {
    d.final();
    return new Uint8Array(pt);
  } catch {
    return undefined;
  }
}

const u32be = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };
const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hdr: fc.Arbitrary<TransactionHeader> = fc.record({ idC: u32, tid: u32, idI: u32 });

describe('derivePsk vs node:crypto aes-128-ecb', () => {
  it('PSK_i = AES-128_{IK_i}(RN_i xor RN_c) over random inputs', () => {
    fc.assert(fc.property(key, key, key, (rnI, rnC, ikI) => {
      const x = rnI.map((b, i) => b ^ rnC[i]);
      expect(bytesToHex(derivePsk(rnI, rnC, ikI))).toBe(bytesToHex(opensslAesBlock(ikI, x)));
    }), { numRuns: 500 });
  });
});

describe('message protection vs node:crypto aes-128-ccm (M = 8, 13-byte nonce)', () => {
  it('M2: our MIC is OpenSSL\'s CCM tag over the clear message, and OpenSSL\'s is accepted by us', () => {
    fc.assert(fc.property(hdr, u32, key, key, key, (t, ts, rnI, rnC, sk) => {
      const m2 = sealAuthRequest({ ...t, ts, rnI, rnC }, sk);
      const nonce = transactionHeader('authRequest', t);
      const aad = concatBytes(nonce, u32be(ts), rnI, rnC);
      const mic = opensslCcmSeal(sk, nonce, aad, new Uint8Array(0));
      expect(bytesToHex(m2.mic)).toBe(bytesToHex(mic));
      expect(bytesToHex(encodeMessage(m2))).toBe(bytesToHex(concatBytes(aad, mic)));
      expect(opensslCcmOpen(sk, nonce, aad, m2.mic)).toEqual(new Uint8Array(0));
    }), { numRuns: 200 });
  });

  it('M3, M4, M5: byte-identical to OpenSSL in both directions', () => {
    fc.assert(fc.property(hdr, key, key, key, key, (t, rnI, rnC, ikI, sk) => {
      const psk = derivePsk(rnI, rnC, ikI);
      const cases = [
        { type: 'authResponse' as const, k: sk, pt: concatBytes(ikI, u32be(t.idI)), ours: sealAuthResponse(t, ikI, sk) },
        { type: 'keyOffer' as const, k: ikI, pt: concatBytes(rnI, rnC), ours: sealKeyOffer(t, rnI, rnC, ikI) },
        { type: 'confirm' as const, k: psk, pt: rnC, ours: sealConfirm(t, rnC, psk) },
      ];
      for (const c of cases) {
        const nonce = transactionHeader(c.type, t);
        const theirs = opensslCcmSeal(c.k, nonce, nonce, c.pt);
        expect(bytesToHex(c.ours.sealed), c.type).toBe(bytesToHex(theirs));
        expect(opensslCcmOpen(c.k, nonce, nonce, c.ours.sealed), c.type).toEqual(c.pt);
      }
      // OpenSSL-made boxes opened by us.
      const n3 = transactionHeader('authResponse', t);
      expect(openAuthResponse({ type: 'authResponse', ...t, sealed: opensslCcmSeal(sk, n3, n3, concatBytes(ikI, u32be(t.idI))) }, sk))
        .toEqual({ ok: true, value: { ikI } });
      const n4 = transactionHeader('keyOffer', t);
      expect(openKeyOffer({ type: 'keyOffer', ...t, sealed: opensslCcmSeal(ikI, n4, n4, concatBytes(rnI, rnC)) }, ikI, { idI: t.idI, rnI }))
        .toEqual({ ok: true, value: { rnC } });
      const n5 = transactionHeader('confirm', t);
      expect(verifyConfirm({ type: 'confirm', ...t, sealed: opensslCcmSeal(psk, n5, n5, rnC) }, psk, rnC)).toEqual({ ok: true, value: t });
    }), { numRuns: 200 });
  });

  it('a box OpenSSL refuses, we refuse too (random single-byte corruption)', () => {
    fc.assert(fc.property(hdr, key, key, key, fc.nat(), fc.integer({ min: 1, max: 255 }), (t, rnI, rnC, ikI, at, mask) => {
      const m4 = sealKeyOffer(t, rnI, rnC, ikI);
      const bad = m4.sealed.slice();
      bad[at % bad.length] ^= mask;
      const nonce = transactionHeader('keyOffer', t);
      expect(opensslCcmOpen(ikI, nonce, nonce, bad)).toBeUndefined();
      expect(openKeyOffer({ ...m4, sealed: bad }, ikI, { idI: t.idI, rnI })).toEqual({ ok: false, reason: 'auth-failed' });
      expect(verifyAuthRequest({ ...sealAuthRequest({ ...t, ts: 0, rnI, rnC }, ikI), ts: 1 }, ikI).ok).toBe(false);
    }), { numRuns: 200 });
  });
});

describe('the vector file, regenerated with node:crypto alone', () => {
  for (const f of vectors.flows) {
    it(f.name, () => {
      const i = f.inputs;
      const [rnI, rnC, ikI, sk] = [i.rnI, i.rnC, i.ikI, i.skCs].map((s) => hexToBytes(s));
      const t = { idC: i.idC, tid: i.tid, idI: i.idI };
      const psk = opensslAesBlock(ikI, rnI.map((b, j) => b ^ rnC[j]));
      const box = (type: 'authResponse' | 'keyOffer' | 'confirm', k: Uint8Array, pt: Uint8Array) => {
        const n = transactionHeader(type, t);
        return bytesToHex(concatBytes(n, opensslCcmSeal(k, n, n, pt)));
      };
      const n2 = transactionHeader('authRequest', t);
      const aad2 = concatBytes(n2, u32be(i.ts), rnI, rnC);
      expect(bytesToHex(psk)).toBe(f.outputs.psk);
      expect(bytesToHex(concatBytes(Uint8Array.of(1), u32be(i.idI), rnI))).toBe(f.outputs.m1);
      expect(bytesToHex(concatBytes(aad2, opensslCcmSeal(sk, n2, aad2, new Uint8Array(0))))).toBe(f.outputs.m2);
      expect(box('authResponse', sk, concatBytes(ikI, u32be(i.idI)))).toBe(f.outputs.m3);
      expect(box('keyOffer', ikI, concatBytes(rnI, rnC))).toBe(f.outputs.m4);
      expect(box('confirm', psk, rnC)).toBe(f.outputs.m5);
    });
  }
  it('the AES anchor is FIPS-197 C.1 per OpenSSL too', () => {
    const a = vectors.anchors[0];
    expect(bytesToHex(opensslAesBlock(hexToBytes(a.key), hexToBytes(a.plaintext)))).toBe(a.ciphertext);
  });
});
