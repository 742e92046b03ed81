// CBKE end to end: SE Annex C.5 (suite 1) and C.6 (suite 2) from certificates to MACU/MACV on both
// sides, GEC-2 ECMQV, and the state machines' failure paths (BAD_KEY_CONFIRM, UNKNOWN_ISSUER, …).
// Every published check runs on the fast curves and again on the BigInt reference curves.
// No `node:` imports: this file also runs in Chromium.
import { describe, expect, it } from 'vitest';
import suite1Vector from '../../vectors/cbke-suite1.json' with { type: 'json' };
import suite2Vector from '../../vectors/cbke-suite2.json' with { type: 'json' };
import gec2 from '../../vectors/ecmqv-gec2.json' with { type: 'json' };
import { bytesToBigInt, bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  CRYPTO_SUITE_1, CRYPTO_SUITE_2, type CryptoSuite, KeStatus, negotiateSuite, suiteFromRequest, suiteWithCurve,
} from '../../harness/crypto/cbke-suites.ts';
import {
  type CbkeMessage, CbkeParty, type TrustedCa, cbkeKdf, computeMacU, computeMacV, macInput, MAC_TAG, runKeyEstablishment,
} from '../../harness/crypto/cbke.ts';
import { parseCertificate } from '../../harness/crypto/certificate.ts';
import { avf, ecmqvSharedSecret } from '../../harness/crypto/ecmqv.ts';
import { certificateHash, reconstructPublicKey } from '../../harness/crypto/ecqv.ts';
import { sect163k1Ref, sect283k1Ref } from '../../harness/crypto/reference/binary-curve-ref.ts';
import { certicomTestCa, deterministicRandom } from '../../harness/crypto/test-ca.ts';

const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const big = (h: string) => bytesToBigInt(hexToBytes(h));
type SpecVector = typeof suite1Vector;

const cases: { name: string; suite: CryptoSuite; v: SpecVector; ca: TrustedCa }[] = [
  { name: 'Annex C.5 (suite 1, fast curve)', suite: CRYPTO_SUITE_1, v: suite1Vector, ca: certicomTestCa(1) },
  { name: 'Annex C.5 (suite 1, reference curve)', suite: suiteWithCurve(CRYPTO_SUITE_1, sect163k1Ref), v: suite1Vector, ca: certicomTestCa(1) },
  { name: 'Annex C.6 (suite 2, fast curve)', suite: CRYPTO_SUITE_2, v: suite2Vector as unknown as SpecVector, ca: certicomTestCa(2) },
  { name: 'Annex C.6 (suite 2, reference curve)', suite: suiteWithCurve(CRYPTO_SUITE_2, sect283k1Ref), v: suite2Vector as unknown as SpecVector, ca: certicomTestCa(2) },
];

describe('vector files', () => {
  it('name their source and status', () => {
    for (const f of [suite1Vector, suite2Vector, gec2]) {
      expect(f.source).toMatch(/\S/);
      expect(f.status).toBe('VERIFIED');
    }
    expect(hex(hexToBytes(suite1Vector.caPublicKey))).toBe(hex(certicomTestCa(1).publicKey as Uint8Array));
    expect(hex(hexToBytes(suite2Vector.caPublicKey))).toBe(hex(certicomTestCa(2).publicKey as Uint8Array));
  });
});

describe.each(cases)('$name', ({ suite, v, ca }) => {
  const party = (p: SpecVector['initiator']) => ({
    certificate: hexToBytes(p.certificate), privateKey: hexToBytes(p.privateKey), ephemeralPrivateKey: big(p.ephemeralPrivateKey),
  });

  it('ECQV reconstructs Q_U and Q_V from the certificates, and d·G = Q', () => {
    for (const p of [v.initiator, v.responder]) {
      const Q = reconstructPublicKey(suite, hexToBytes(p.certificate), hexToBytes(v.caPublicKey));
      expect(hex(suite.curve.compress(Q))).toBe(p.publicKey);
      expect(hex(suite.curve.compress(suite.curve.multiplyBase(big(p.privateKey))!))).toBe(p.publicKey);
      expect(hex(suite.curve.compress(suite.curve.multiplyBase(big(p.ephemeralPrivateKey))!))).toBe(p.ephemeralPublicKey);
    }
    // e is the AES-MMO of the WHOLE certificate (pitfall 7); computed-only regression value.
    expect(certificateHash(hexToBytes(v.responder.certificate)).toString(16).toUpperCase()).toBe(v.computedOnly.responderCertificateHash);
  });

  it('ECMQV gives the published Z from both sides; KDF and MAC inputs match', () => {
    const Qu = suite.curve.decompress(hexToBytes(v.initiator.publicKey));
    const Qv = suite.curve.decompress(hexToBytes(v.responder.publicKey));
    const QEu = suite.curve.decompress(hexToBytes(v.initiator.ephemeralPublicKey));
    const QEv = suite.curve.decompress(hexToBytes(v.responder.ephemeralPublicKey));
    const zU = ecmqvSharedSecret(suite.curve, { staticPrivate: big(v.initiator.privateKey), ephemeralPrivate: big(v.initiator.ephemeralPrivateKey), peerStatic: Qv, peerEphemeral: QEv });
    const zV = ecmqvSharedSecret(suite.curve, { staticPrivate: big(v.responder.privateKey), ephemeralPrivate: big(v.responder.ephemeralPrivateKey), peerStatic: Qu, peerEphemeral: QEu, fullValidation: true });
    expect(hex(zU)).toBe(v.sharedSecret);
    expect(hex(zV)).toBe(v.sharedSecret);
    const { macKey, keyData } = cbkeKdf(zU);
    expect(hex(macKey)).toBe(v.macKey);
    expect(hex(keyData)).toBe(v.keyData);
    const ids = { idU: parseCertificate(hexToBytes(v.initiator.certificate)).subject, idV: parseCertificate(hexToBytes(v.responder.certificate)).subject };
    const qe = { qeU: hexToBytes(v.initiator.ephemeralPublicKey), qeV: hexToBytes(v.responder.ephemeralPublicKey) };
    const published = 'macVInput' in v ? (v as { macVInput: string }).macVInput : (v as unknown as { macUInput: string }).macUInput;
    const ours = 'macVInput' in v
      ? macInput(MAC_TAG.V, ids.idV, ids.idU, qe.qeV, qe.qeU)
      : macInput(MAC_TAG.U, ids.idU, ids.idV, qe.qeU, qe.qeV);
    expect(ours.length).toBe(suite.macInputBytes);
    expect(hex(ours)).toBe(published);
    expect(hex(computeMacU(macKey, { ...ids, ...qe }))).toBe(v.macU);
    expect(hex(computeMacV(macKey, { ...ids, ...qe }))).toBe(v.macV);
  });

  it('runKeyEstablishment: both parties reach done with the published Z, MacKey, KeyData, MACU, MACV', () => {
    const r = runKeyEstablishment({ suite, trustedCas: [ca], initiator: party(v.initiator), responder: party(v.responder) });
    expect(r.transcript.map((t) => `${t.from}:${t.message.type}`)).toEqual([
      'initiator:certificate', 'responder:certificate', 'initiator:ephemeral', 'responder:ephemeral', 'initiator:confirm', 'responder:confirm',
    ]);
    for (const side of [r.initiator, r.responder]) {
      expect(side.state, side.role).toBe('done');
      const x = side.result!;
      expect([hex(x.sharedSecret), hex(x.macKey), hex(x.keyData), hex(x.macU), hex(x.macV)], side.role)
        .toEqual([v.sharedSecret, v.macKey, v.keyData, v.macU, v.macV]);
    }
    expect(hex(suite.curve.compress(r.initiator.result!.partnerPublicKey))).toBe(v.responder.publicKey);
    expect(hex(suite.curve.compress(r.responder.result!.partnerPublicKey))).toBe(v.initiator.publicKey);
  });
});

describe('GEC-2 ECMQV on sect163k1 — vectors/ecmqv-gec2.json', () => {
  for (const [name, curve] of [['fast', CRYPTO_SUITE_1.curve], ['reference', sect163k1Ref]] as const) {
    it(`${name} curve: Z from U's side and from V's side`, () => {
      const pt = (h: string) => curve.decompress(hexToBytes(h));
      for (const [self, peer] of [[gec2.U, gec2.V], [gec2.V, gec2.U]]) {
        expect(hex(curve.compress(curve.multiplyBase(big(self.staticPrivateKey))!))).toBe(self.staticPublicKey);
        const z = ecmqvSharedSecret(curve, {
          staticPrivate: big(self.staticPrivateKey), ephemeralPrivate: big(self.ephemeralPrivateKey),
          peerStatic: pt(peer.staticPublicKey), peerEphemeral: pt(peer.ephemeralPublicKey),
        });
        expect(hex(z)).toBe(gec2.sharedSecret);
      }
    });
  }
  it('without the cofactor the secret is wrong (pitfall 8)', () => {
    const c = CRYPTO_SUITE_1.curve;
    const QE1 = c.multiplyBase(big(gec2.U.ephemeralPrivateKey))!;
    const s = (big(gec2.U.ephemeralPrivateKey) + avf(c, QE1) * big(gec2.U.staticPrivateKey)) % c.n;
    const QE2 = c.decompress(hexToBytes(gec2.V.ephemeralPublicKey));
    const R = c.add(QE2, c.multiply(c.decompress(hexToBytes(gec2.V.staticPublicKey)), avf(c, QE2)))!;
    expect(hex(hexToBytes(c.multiply(R, s)!.x.toString(16).padStart(42, '0')))).toBe(gec2.sharedSecretWithoutCofactor.value);
  });
  it('a peer ephemeral outside the subgroup: fast and reference curves agree (h·s unreduced); full validation rejects it', () => {
    const v = suite1Vector;
    const T = { x: 0n, y: 1n }; // the point of order 2 on sect163k1 (y² = b at x = 0)
    const results = [CRYPTO_SUITE_1.curve, sect163k1Ref].map((c) => {
      const QE2 = c.add(c.decompress(hexToBytes(v.responder.ephemeralPublicKey)), T)!;
      const input = { staticPrivate: big(v.initiator.privateKey), ephemeralPrivate: big(v.initiator.ephemeralPrivateKey), peerStatic: c.decompress(hexToBytes(v.responder.publicKey)), peerEphemeral: QE2 };
      expect(() => ecmqvSharedSecret(c, { ...input, fullValidation: true })).toThrow(/not in the subgroup/);
      return hex(ecmqvSharedSecret(c, input));
    });
    expect(results[0]).toBe(results[1]);
  });
  it('avf uses L = ⌈⌈log2 n⌉/2⌉: 82 for sect163k1, 141 (not 142) for sect283k1', () => {
    const q2 = CRYPTO_SUITE_2.curve.decompress(hexToBytes(suite2Vector.initiator.ephemeralPublicKey));
    expect(avf(CRYPTO_SUITE_2.curve, q2) >> 141n).toBe(1n);
    const q1 = CRYPTO_SUITE_1.curve.decompress(hexToBytes(suite1Vector.initiator.ephemeralPublicKey));
    expect(avf(CRYPTO_SUITE_1.curve, q1) >> 82n).toBe(1n);
  });
});

describe('runKeyEstablishment failure paths (Terminate status and reason)', () => {
  const v = suite1Vector;
  const base = () => ({
    suite: CRYPTO_SUITE_1,
    trustedCas: [certicomTestCa(1)],
    initiator: { certificate: hexToBytes(v.initiator.certificate), privateKey: hexToBytes(v.initiator.privateKey) },
    responder: { certificate: hexToBytes(v.responder.certificate), privateKey: hexToBytes(v.responder.privateKey) },
    random: deterministicRandom('cbke failure paths'),
  });
  const flip = (m: CbkeMessage): CbkeMessage => (m.type === 'confirm' ? { type: 'confirm', mac: m.mac.map((b, i) => (i === 0 ? b ^ 1 : b)) } : m);

  it('random ephemerals: both sides agree on the keys', () => {
    const r = runKeyEstablishment(base());
    expect(r.initiator.ok && r.responder.ok).toBe(true);
    expect(hex(r.initiator.result!.keyData)).toBe(hex(r.responder.result!.keyData));
    expect(hex(r.initiator.result!.keyData)).not.toBe(v.keyData);
  });

  it('MACU corrupted in flight → responder sends BAD_KEY_CONFIRM', () => {
    const r = runKeyEstablishment({ ...base(), intercept: (from, m) => (from === 'initiator' ? flip(m) : m) });
    expect(r.responder.failure).toMatchObject({ status: KeStatus.BAD_KEY_CONFIRM, reason: 'bad-key-confirm', state: 'await-confirm', sentByUs: true });
    expect(r.responder.result).toBeUndefined(); // no link key released without key confirmation
    expect(r.initiator.failure).toMatchObject({ status: KeStatus.BAD_KEY_CONFIRM, reason: 'partner-terminated', sentByUs: false });
  });

  it('MACV corrupted in flight → initiator sends BAD_KEY_CONFIRM after the responder finished', () => {
    const r = runKeyEstablishment({ ...base(), intercept: (from, m) => (from === 'responder' ? flip(m) : m) });
    expect(r.initiator.failure).toMatchObject({ status: KeStatus.BAD_KEY_CONFIRM, reason: 'bad-key-confirm' });
    expect(r.responder.state).toBe('done');
    expect(r.responder.terminatedAfterDone).toBe(KeStatus.BAD_KEY_CONFIRM);
  });

  it('CA not trusted by the responder → UNKNOWN_ISSUER at the first message', () => {
    const other: TrustedCa = { issuer: hexToBytes('0102030405060708'), publicKey: hexToBytes(v.caPublicKey) };
    const r = runKeyEstablishment({ ...base(), responder: { ...base().responder, trustedCas: [other] } });
    expect(r.responder.failure).toMatchObject({ status: KeStatus.UNKNOWN_ISSUER, reason: 'unknown-issuer', state: 'await-certificate' });
    expect(r.initiator.failure).toMatchObject({ status: KeStatus.UNKNOWN_ISSUER, reason: 'partner-terminated' });
    expect(r.transcript).toHaveLength(2);
  });

  it('CA not trusted by the initiator → UNKNOWN_ISSUER on the responder certificate', () => {
    const r = runKeyEstablishment({ ...base(), initiator: { ...base().initiator, trustedCas: [] } });
    expect(r.initiator.failure).toMatchObject({ status: KeStatus.UNKNOWN_ISSUER, reason: 'unknown-issuer' });
    expect(r.responder.failure?.reason).toBe('partner-terminated');
  });

  it('certificate subject ≠ partner EUI-64 → BAD_MESSAGE', () => {
    const r = runKeyEstablishment({ ...base(), responder: { ...base().responder, partnerEui64: hexToBytes('0000000000000009') } });
    expect(r.responder.failure).toMatchObject({ status: KeStatus.BAD_MESSAGE, reason: 'subject-mismatch' });
  });

  it('an ephemeral key that is not a curve point → BAD_MESSAGE invalid-ephemeral', () => {
    let bad: Uint8Array | undefined;
    for (let x = 1; !bad; x++) { // first x with no point on sect163k1
      const c = new Uint8Array(22); c[0] = 2; c[21] = x;
      try { CRYPTO_SUITE_1.curve.decompress(c); } catch { bad = c; }
    }
    const r = runKeyEstablishment({ ...base(), intercept: (from, m) => (m.type === 'ephemeral' && from === 'initiator' ? { type: 'ephemeral', publicKey: bad! } : m) });
    expect(r.responder.failure).toMatchObject({ status: KeStatus.BAD_MESSAGE, reason: 'invalid-ephemeral' });
  });

  it('a message out of order → BAD_MESSAGE unexpected-message; one message at a time works', () => {
    const responder = new CbkeParty({ suite: CRYPTO_SUITE_1, role: 'responder', certificate: hexToBytes(v.responder.certificate), privateKey: hexToBytes(v.responder.privateKey), trustedCas: [certicomTestCa(1)] });
    expect(responder.state).toBe('await-certificate');
    expect(responder.receive({ type: 'confirm', mac: new Uint8Array(16) })).toEqual({ type: 'terminate', status: KeStatus.BAD_MESSAGE });
    expect(responder.failure?.reason).toBe('unexpected-message');
    expect(responder.receive({ type: 'certificate', certificate: hexToBytes(v.initiator.certificate) })).toBeUndefined();
  });
});

describe('suite selection (SE C.3.1.2.3)', () => {
  it('negotiates the highest common suite and validates the request bitmap', () => {
    expect(negotiateSuite(0x0003, 0x0003)?.id).toBe(2);
    expect(negotiateSuite(0x0001, 0x0003)?.id).toBe(1);
    expect(negotiateSuite(0x0002, 0x0001)).toBeUndefined();
    expect(suiteFromRequest(0x0001)).toMatchObject({ ok: true, suite: { id: 1 } });
    expect(suiteFromRequest(0x0003)).toMatchObject({ ok: false, status: KeStatus.BAD_MESSAGE });
    expect(suiteFromRequest(0x0004)).toMatchObject({ ok: false, status: KeStatus.UNSUPPORTED_SUITE });
    expect(suiteFromRequest(0x0002, 0x0001)).toMatchObject({ ok: false, status: KeStatus.UNSUPPORTED_SUITE });
    expect([CRYPTO_SUITE_1, CRYPTO_SUITE_2].map((s) => [s.certificateBytes, s.pointBytes, s.scalarBytes, s.macInputBytes, s.bit]))
      .toEqual([[48, 22, 21, 61, 1], [74, 37, 36, 91, 2]]);
  });
});
