// CCM* against vectors/ccm-star.json (Zigbee Annex C.3/C.4, CCM* spec, nRF, real frames), the
// Zigbee nonce / level helpers, tampering and argument errors.
// No `node:` imports: this file also runs in Chromium.
import { describe, expect, it } from 'vitest';
import vectors from '../../vectors/ccm-star.json' with { type: 'json' };
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  ccmStarDecrypt, ccmStarEncrypt, createCcmStar, restoreSecurityLevel, securityLevel,
  zigbeeNonce, ZIGBEE_SECURITY_LEVELS, type MicLength,
} from '../../harness/crypto/ccm-star.ts';

const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const b = (h: string) => hexToBytes(h);

/** Every single-byte flip of c‖U must fail authentication. */
function expectTamperDetected(key: Uint8Array, nonce: Uint8Array, a: Uint8Array, cAndU: Uint8Array, mic: MicLength): void {
  const ccm = createCcmStar(key);
  for (let i = 0; i < cAndU.length; i++) {
    const t = cAndU.slice();
    t[i] ^= 0x01 << (i % 8);
    expect(ccm.decrypt(nonce, a, t, mic), `byte ${i}`).toEqual({ ok: false, reason: 'mic-mismatch' });
  }
  if (a.length > 0) {
    const ta = a.slice();
    ta[ta.length - 1] ^= 0x80;
    expect(ccm.decrypt(nonce, ta, cAndU, mic).ok).toBe(false);
  }
  const tn = nonce.slice();
  tn[12] ^= 0x07;
  expect(ccm.decrypt(tn, a, cAndU, mic).ok).toBe(false);
}

describe('vectors/ccm-star.json', () => {
  it('every entry names its source', () => {
    for (const v of [...vectors.vectors, ...vectors.frames]) expect(v.source, v.id).toMatch(/\S/);
  });
});

describe('CCM* (Zigbee 05-3474 Annex A)', () => {
  for (const v of vectors.vectors) {
    const mic = v.micLength as MicLength;
    if ((v as { kind?: string }).kind === 'tag') {
      it(`${v.id}: unencrypted CBC-MAC tag T`, () => {
        const tag = createCcmStar(b(v.key)).tag(b(v.nonce), b(v.a), b(v.m), mic);
        expect(hex(tag)).toBe((v as { tag?: string }).tag);
      });
      continue;
    }
    const cAndU = (v as { cAndU?: string }).cAndU!;
    it(`${v.id}: encrypt (M = ${mic})`, () => {
      expect(hex(ccmStarEncrypt(b(v.key), b(v.nonce), b(v.a), b(v.m), mic))).toBe(cAndU);
    });
    it(`${v.id}: decrypt`, () => {
      const r = ccmStarDecrypt(b(v.key), b(v.nonce), b(v.a), b(cAndU), mic);
      expect(r.ok).toBe(true);
      if (r.ok) expect(hex(r.plaintext)).toBe(v.m);
    });
    if (mic > 0) {
      it(`${v.id}: any one-byte change → { ok: false }`, () => {
        expectTamperDetected(b(v.key), b(v.nonce), b(v.a), b(cAndU), mic);
      });
    }
  }
  it('encryption-only (M = 0) cannot detect tampering: it only decrypts', () => {
    const v = vectors.vectors.find((x) => x.micLength === 0)!;
    const c = b((v as { cAndU?: string }).cAndU!);
    c[0] ^= 1;
    const r = ccmStarDecrypt(b(v.key), b(v.nonce), b(v.a), c, 0);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.plaintext[0]).toBe(b(v.m)[0] ^ 1);
  });
});

describe('real Zigbee frames (NWK and APS security, key ids 0–3)', () => {
  for (const f of vectors.frames) {
    it(`${f.id}: ${f.description}`, () => {
      const psdu = b(f.psdu);
      let outerM: Uint8Array | undefined;
      for (const l of f.layers) {
        // The level travels as 000 and is restored to 5 before the nonce and `a` are built.
        expect(l.securityControlOnAir & 0x07).toBe(0);
        const secCtl = restoreSecurityLevel(l.securityControlOnAir);
        expect(secCtl & 0x07).toBe(5);
        expect(hex(zigbeeNonce(b(l.sourceEui64OnAir), l.frameCounter, secCtl))).toBe(l.nonce);
        const a = b(l.a);
        const cAndU = b(l.cAndU);
        // The layer's bytes are where the frame has them: c‖U in the PSDU, or in the outer layer's plaintext.
        const container = outerM ?? psdu;
        expect(hex(container)).toContain(hex(cAndU));
        if (outerM) {
          const onAirA = a.slice();
          onAirA[onAirA.length - 13] = l.securityControlOnAir; // APS aux header: secCtl(1) FC(4) src(8)
          expect(hex(outerM)).toBe(hex(onAirA) + l.cAndU);
        }
        const r = ccmStarDecrypt(b(l.key), b(l.nonce), a, cAndU, 4);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(hex(r.plaintext)).toBe(l.m);
        expect(hex(ccmStarEncrypt(b(l.key), b(l.nonce), a, r.plaintext, 4))).toBe(l.cAndU);
        // Computing with the on-air level (0) instead of 5 must fail: crypto.md §7 pitfall 4.
        const wrong = a.slice();
        wrong[a.length - (l.layer === 'nwk' ? 14 : 13)] = l.securityControlOnAir;
        expect(ccmStarDecrypt(b(l.key), zigbeeNonce(b(l.sourceEui64OnAir), l.frameCounter, l.securityControlOnAir), wrong, cAndU, 4).ok).toBe(false);
        outerM = r.plaintext;
      }
    });
  }
});

describe('Zigbee helpers', () => {
  it('security levels: MIC length and encryption', () => {
    expect(ZIGBEE_SECURITY_LEVELS.map((l) => [l.level, l.micLength, l.encrypted])).toEqual([
      [0, 0, false], [1, 4, false], [2, 8, false], [3, 16, false],
      [4, 0, true], [5, 4, true], [6, 8, true], [7, 16, true],
    ]);
    expect(securityLevel(5).name).toBe('ENC-MIC-32');
    expect(() => securityLevel(8)).toThrow(RangeError);
    expect(Object.isFrozen(ZIGBEE_SECURITY_LEVELS[5])).toBe(true);
  });
  it('restoreSecurityLevel keeps the other bits', () => {
    expect(restoreSecurityLevel(0x28)).toBe(0x2d);
    expect(restoreSecurityLevel(0x30)).toBe(0x35);
    expect(restoreSecurityLevel(0xff, 6)).toBe(0xfe);
    expect(() => restoreSecurityLevel(0x100)).toThrow(/"securityControl"/);
  });
  it('zigbeeNonce is src (as on air) ‖ counter LE ‖ secCtl, and can write in place', () => {
    const out = new Uint8Array(13);
    const n = zigbeeNonce(b('A0A1A2A3A4A5A6A7'), 0x00010203, 0x06, out);
    expect(n).toBe(out);
    expect(hex(n)).toBe('A0A1A2A3A4A5A6A70302010006'); // the Annex C.3 nonce
    expect(hex(zigbeeNonce(new Uint8Array(8), 0xffffffff, 0))).toBe('0000000000000000FFFFFFFF00');
    expect(() => zigbeeNonce(new Uint8Array(8), 2 ** 32, 0)).toThrow(/"frameCounter"/);
    expect(() => zigbeeNonce(new Uint8Array(7), 0, 0)).toThrow(/"sourceEui64OnAir" expected Uint8Array of length 8/);
  });
});

describe('argument errors name the argument', () => {
  const key = new Uint8Array(16);
  const nonce = new Uint8Array(13);
  const none = new Uint8Array(0);
  it('key, nonce, a, m, micLength, cAndU', () => {
    expect(() => ccmStarEncrypt(new Uint8Array(15), nonce, none, none, 4)).toThrow(/"key" expected Uint8Array of length 16, got length=15/);
    expect(() => ccmStarEncrypt(key, new Uint8Array(12), none, none, 4)).toThrow(/"nonce" expected Uint8Array of length 13/);
    expect(() => ccmStarEncrypt(key, nonce, 'x' as unknown as Uint8Array, none, 4)).toThrow(TypeError);
    expect(() => ccmStarEncrypt(key, nonce, none, [1] as unknown as Uint8Array, 4)).toThrow(/"m" expected Uint8Array/);
    expect(() => ccmStarEncrypt(key, nonce, none, none, 6 as MicLength)).toThrow(/"micLength" expected 0, 4, 8 or 16, got 6/);
    expect(() => ccmStarEncrypt(key, nonce, none, none, '4' as unknown as MicLength)).toThrow(TypeError);
    expect(() => ccmStarEncrypt(key, nonce, none, new Uint8Array(65536), 4)).toThrow(/"m" expected at most 65535 bytes/);
    expect(() => ccmStarDecrypt(key, nonce, none, new Uint8Array(3), 4)).toThrow(/"cAndU" expected at least 4 bytes/);
  });
  it('a MIC-only message of exactly M bytes decrypts to empty plaintext', () => {
    const cAndU = ccmStarEncrypt(key, nonce, Uint8Array.of(1, 2, 3), none, 16);
    expect(cAndU.length).toBe(16);
    expect(ccmStarDecrypt(key, nonce, Uint8Array.of(1, 2, 3), cAndU, 16)).toEqual({ ok: true, plaintext: new Uint8Array(0) });
  });
});
