// Implicit certificates: field parsing of published certificates, encode/decode round trips, the
// Certicom test certificates (every valid one reconstructs Q with d·G = Q; every tampered one is
// rejected), and the test CA (valid issuance on both suites, each broken kind detected).
// No `node:` imports: this file also runs in Chromium.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import certicom from '../../vectors/certicom-test-certs.json' with { type: 'json' };
import suite1Vector from '../../vectors/cbke-suite1.json' with { type: 'json' };
import suite2Vector from '../../vectors/cbke-suite2.json' with { type: 'json' };
import { bytesToBigInt, bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, type CryptoSuite, KeStatus, suiteById, suiteWithCurve } from '../../harness/crypto/cbke-suites.ts';
import { runKeyEstablishment } from '../../harness/crypto/cbke.ts';
import {
  type CertificateV1, type CertificateV2, CertificateError, checkCertificate, decodeCertificateV1, decodeCertificateV2,
  encodeCertificateV1, encodeCertificateV2, parseCertificate, readCertificate,
} from '../../harness/crypto/certificate.ts';
import { PointDecodingError } from '../../harness/crypto/curve-types.ts';
import { keyPairMatchesCertificate, reconstructPublicKey } from '../../harness/crypto/ecqv.ts';
import { sect163k1Ref, sect283k1Ref } from '../../harness/crypto/reference/binary-curve-ref.ts';
import {
  BROKEN_KINDS, CERTICOM_TEST_CA, TestCa, certicomTestCa, deterministicRandom, findPublishedTestCa,
} from '../../harness/crypto/test-ca.ts';

const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const big = (h: string) => bytesToBigInt(hexToBytes(h));
const SUITES = { 1: CRYPTO_SUITE_1, 2: CRYPTO_SUITE_2 } as const;

describe('certificate fields of published certificates', () => {
  it('suite 1: SE Annex C.5 responder certificate', () => {
    const c = parseCertificate(hexToBytes(suite1Vector.responder.certificate)) as CertificateV1;
    expect(c.suite).toBe(1);
    expect(hex(c.reconstructionData)).toBe('03045FDFC8D85FFB8B3993CB72DDCAA55F00B3E87D6D');
    expect(hex(c.subject)).toBe('0000000000000001');
    expect(hex(c.issuer)).toBe('5445535453454341'); // "TESTSECA"
    expect(hex(c.profileAttributeData)).toBe('01090006000000000000');
    expect(c.profileId).toBe(0x0109);
  });

  it('suite 2: SE Annex C.6 responder certificate', () => {
    const c = parseCertificate(hexToBytes(suite2Vector.responder.certificate)) as CertificateV2;
    expect(c).toMatchObject({ suite: 2, type: 0x00, curve: 0x0d, hash: 0x08, validFrom: 0x005292a35b, validToOffset: 0xffffffff, validTo: null, keyUsage: 0x88 });
    expect(hex(c.serialNumber)).toBe('2622A505E8938F27');
    expect(hex(c.issuer)).toBe('1112131415161718');
    expect(hex(c.subject)).toBe('0A0B0C0D0E0F1011');
    expect(hex(c.reconstructionData)).toBe('0303B4E9DC543A64333C982308022B54E67E2F15F532551B0A11E2E2C1C1D3097A4324E7ED');
  });

  it('suite 2: Certicom 002/dev1 and cs2_test3/dev1 (KeyUsage 0x08 and 0x80), zsmartsystems suite 2', () => {
    const byId = (id: string) => certicom.entries.find((e) => e.id === id)!;
    const a = parseCertificate(hexToBytes(byId('zboss/002/dev1').certificate)) as CertificateV2;
    expect([hex(a.serialNumber), hex(a.subject), a.keyUsage, a.validFrom]).toEqual(['F01DCD3E83AD44B5', 'AAAAAAAAAAAAAAAA', 0x08, 0x00594bfde0]);
    const b = parseCertificate(hexToBytes(byId('zboss/cs2_test3/dev1').certificate)) as CertificateV2;
    expect([hex(b.subject), b.keyUsage]).toEqual(['2000000000000004', 0x80]);
    const z = parseCertificate(hexToBytes(byId('zsmartsystems/CerticomCbkeCertificateTest/suite2').certificate)) as CertificateV2;
    expect([hex(z.subject), z.validFrom, z.validTo, z.keyUsage]).toEqual(['0022080000000001', 0x005b7ed230, null, 0x08]);
    const s1 = parseCertificate(hexToBytes(byId('zboss/001/dev1').certificate)) as CertificateV1;
    expect([hex(s1.subject), hex(s1.issuer), hex(s1.profileAttributeData)]).toEqual(['AAAAAAAAAAAAAAAA', '5445535453454341', '0109108301234567890A']);
  });

  it('encode(decode(x)) = x for every published certificate and for any 48/74 bytes', () => {
    const all = [...certicom.entries, ...certicom.tampered].map((e) => e.certificate)
      .concat([suite1Vector.initiator, suite1Vector.responder, suite2Vector.initiator, suite2Vector.responder].map((p) => p.certificate));
    for (const h of all) {
      const c = parseCertificate(hexToBytes(h));
      expect(hex(c.suite === 1 ? encodeCertificateV1(c) : encodeCertificateV2(c))).toBe(h);
    }
    fc.assert(fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (b) => hex(encodeCertificateV1(decodeCertificateV1(b))) === hex(b)));
    fc.assert(fc.property(fc.uint8Array({ minLength: 74, maxLength: 74 }), (b) => hex(encodeCertificateV2(decodeCertificateV2(b))) === hex(b)));
  });

  it('wrong lengths are CertificateErrors naming field and offset', () => {
    expect(() => parseCertificate(new Uint8Array(47))).toThrow(CertificateError);
    expect(() => parseCertificate(new Uint8Array(47))).toThrow(/certificate length at byte 0: expected 48 bytes \(suite 1\) or 74 bytes \(suite 2\), got 47/);
    expect(() => readCertificate(new Uint8Array(60), 4, 2)).toThrow(/needs 74 bytes, only 56 left/);
    expect(readCertificate(new Uint8Array(52), 4, 1).offset).toBe(52);
    const e = (() => { try { encodeCertificateV1({ reconstructionData: new Uint8Array(22), subject: new Uint8Array(7), issuer: new Uint8Array(8), profileAttributeData: new Uint8Array(10) }); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(RangeError);
    expect(e).toMatchObject({ field: 'subject', offset: 22 });
  });
});

describe('Certicom test certificates — vectors/certicom-test-certs.json', () => {
  it('every entry names its source; the CA keys are the published test CAs', () => {
    for (const e of [...certicom.entries, ...certicom.tampered]) expect(e.source, e.id).toMatch(/\S/);
    for (const e of certicom.entries) expect(e.caPublicKey, e.id).toBe(CERTICOM_TEST_CA[e.suite as 1 | 2].publicKey.toUpperCase());
  });

  for (const e of certicom.entries) {
    it(`${e.id}: ECQV(CA, cert) = Q and d·G = Q`, () => {
      const suite = SUITES[e.suite as 1 | 2];
      const r = keyPairMatchesCertificate(suite, hexToBytes(e.certificate), big(e.privateKey), hexToBytes(e.caPublicKey));
      expect(r.ok, 'reason' in r ? r.reason : '').toBe(true);
      if (r.ok) expect(hex(suite.curve.compress(r.publicKey))).toBe(e.publicKey);
      // What a CBKE partner trusting the Certicom test CA says (KeyUsage 0x80/0x00 certificates are refused).
      const cert = parseCertificate(hexToBytes(e.certificate));
      const check = checkCertificate(cert, { trustedIssuers: [certicomTestCa(e.suite as 1 | 2).issuer] });
      if (cert.suite === 2 && (cert.keyUsage & 0x08) === 0) expect(check).toMatchObject({ ok: false, status: KeStatus.INVALID_CERTIFICATE, problem: 'bad-key-usage' });
      else expect(check).toEqual({ ok: true });
    });
  }

  it('the reference curves agree on one entry per suite', () => {
    for (const [id, suite] of [['zboss/001/dev1', suiteWithCurve(CRYPTO_SUITE_1, sect163k1Ref)], ['zboss/002/dev1', suiteWithCurve(CRYPTO_SUITE_2, sect283k1Ref)]] as const) {
      const e = certicom.entries.find((x) => x.id === id)!;
      expect(hex(suite.curve.compress(reconstructPublicKey(suite, hexToBytes(e.certificate), hexToBytes(e.caPublicKey))))).toBe(e.publicKey);
    }
  });

  for (const t of certicom.tampered) {
    it(`${t.id} (${t.tampered.description}) is rejected`, () => {
      const suite = SUITES[t.suite as 1 | 2];
      const r = keyPairMatchesCertificate(suite, hexToBytes(t.certificate), big(t.privateKey), hexToBytes(t.caPublicKey));
      expect(r.ok).toBe(false);
      // and the published Q no longer matches what ECQV or d·G gives (whichever still computes)
      if (t.tampered.value === 'privateKey') expect(hex(suite.curve.compress(suite.curve.multiplyBase(big(t.privateKey))!))).not.toBe(t.publicKey);
      if (t.tampered.field === 'reconstructionData') {
        expect(() => suite.curve.decompress(parseCertificate(hexToBytes(t.certificate)).reconstructionData)).toThrow(PointDecodingError);
      }
      if (t.tampered.field === 'issuer') {
        expect(checkCertificate(parseCertificate(hexToBytes(t.certificate)), { trustedIssuers: [certicomTestCa(t.suite as 1 | 2).issuer] }))
          .toMatchObject({ ok: false, status: KeStatus.UNKNOWN_ISSUER });
      }
    });
  }
});

describe('test CA (SEC 4 §2.4–2.6 issuance)', () => {
  const subject = hexToBytes('000D6F0000614EDF');
  for (const id of [1, 2] as const) {
    const suite: CryptoSuite = suiteById(id);
    const ca = new TestCa({ suite, random: deterministicRandom(`sehil test CA suite ${id}`) });

    it(`suite ${id}: issues a valid certificate (ECQV = d·G, checks pass) under its own issuer`, () => {
      const c = ca.issue({ subject });
      expect(hex(c.parsed.issuer)).toBe('534548494C544341'); // "SEHILTCA", not the Certicom CA
      expect(findPublishedTestCa(id, c.parsed.issuer)).toBeUndefined();
      const r = keyPairMatchesCertificate(suite, c.certificate, c.privateKey, ca.publicKeyBytes);
      expect(r.ok).toBe(true);
      expect(checkCertificate(c.parsed, { trustedIssuers: [ca.issuer], expectedSubject: subject, now: 1_700_000_000 })).toEqual({ ok: true });
      // deterministic with an injected random source
      const again = new TestCa({ suite, random: deterministicRandom(`sehil test CA suite ${id}`) }).issue({ subject });
      expect(hex(again.certificate)).toBe(hex(c.certificate));
    });

    it(`suite ${id}: two devices of this CA complete CBKE; a partner trusting only Certicom says UNKNOWN_ISSUER`, () => {
      const a = ca.issue({ subject });
      const b = ca.issue({ subject: hexToBytes('000D6F0000000001') });
      const run = (trusted = [ca.trusted()]) => runKeyEstablishment({
        suite, trustedCas: trusted, random: deterministicRandom('run'),
        initiator: { certificate: a.certificate, privateKey: a.privateKey, partnerEui64: b.parsed.subject },
        responder: { certificate: b.certificate, privateKey: b.privateKey, partnerEui64: subject },
      });
      const ok = run();
      expect(ok.initiator.ok && ok.responder.ok).toBe(true);
      expect(hex(ok.initiator.result!.keyData)).toBe(hex(ok.responder.result!.keyData));
      expect(run([certicomTestCa(id)]).responder.failure).toMatchObject({ status: KeStatus.UNKNOWN_ISSUER, reason: 'unknown-issuer' });
    });

    for (const kind of BROKEN_KINDS[id]) {
      it(`suite ${id}: broken kind "${kind}" is detected`, () => {
        const bad = ca.issueBroken(kind, { subject });
        if ('check' in bad.detectedBy) {
          const check = checkCertificate(bad.parsed, { trustedIssuers: [ca.issuer], expectedSubject: subject, now: bad.detectedBy.now ?? 1_700_000_000 });
          expect(check).toMatchObject({ ok: false, problem: bad.detectedBy.check });
          const status = { 'unknown-issuer': KeStatus.UNKNOWN_ISSUER, 'subject-mismatch': KeStatus.BAD_MESSAGE }[bad.detectedBy.check as string] ?? KeStatus.INVALID_CERTIFICATE;
          expect(check.ok ? 0 : check.status).toBe(status);
          // the ECQV math itself is intact: these are refused on their fields alone
          expect(keyPairMatchesCertificate(suite, bad.certificate, bad.privateKey, ca.publicKeyBytes).ok).toBe(true);
        } else {
          expect(checkCertificate(bad.parsed, { trustedIssuers: [ca.issuer], expectedSubject: subject })).toEqual({ ok: true });
          const r = keyPairMatchesCertificate(suite, bad.certificate, bad.privateKey, ca.publicKeyBytes);
          expect(r.ok).toBe(false);
          if (bad.detectedBy.ecqv === 'point-not-on-curve') expect(() => reconstructPublicKey(suite, bad.certificate, ca.publicKeyBytes)).toThrow(PointDecodingError);
          else expect(r).toMatchObject({ reason: 'd·G ≠ ECQV(CA, certificate)' });
        }
      });
    }
  }

  it('a corrupted certificate in CBKE ends in BAD_KEY_CONFIRM (implicit certificates are only caught by key confirmation)', () => {
    const ca = new TestCa({ suite: CRYPTO_SUITE_1, random: deterministicRandom('corrupt run') });
    const good = ca.issue({ subject: hexToBytes('0000000000000001') });
    const bad = ca.issueBroken('corrupted', { subject: hexToBytes('0000000000000002') });
    const r = runKeyEstablishment({
      suite: CRYPTO_SUITE_1, trustedCas: [ca.trusted()], random: deterministicRandom('x'),
      initiator: { certificate: bad.certificate, privateKey: bad.privateKey }, responder: { certificate: good.certificate, privateKey: good.privateKey },
    });
    expect(r.responder.failure).toMatchObject({ status: KeStatus.BAD_KEY_CONFIRM, reason: 'bad-key-confirm' });
  });

  it('unknown broken kinds for a suite are refused with the list', () => {
    const ca = new TestCa({ suite: CRYPTO_SUITE_1, random: deterministicRandom('k') });
    expect(() => ca.issueBroken('expired', { subject: new Uint8Array(8) })).toThrow(/does not exist for Crypto Suite 1/);
  });
});
