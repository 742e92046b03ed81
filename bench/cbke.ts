// CBKE benchmark cases for the `crypto` group: ECQV reconstruction, one ECMQV, and a whole key
// establishment with both sides in memory (ECQV of both certificates, ephemeral key generation,
// ECMQV, KDF, MACU/MACV), on the SE Annex C.5 / C.6 certificates with fresh ephemerals each run.
// No native reference exists for CBKE as a whole; the curve cases in crypto.ts carry the
// OpenSSL comparison for the scalar multiplications it is made of.
import suite1Vector from '../vectors/cbke-suite1.json' with { type: 'json' };
import suite2Vector from '../vectors/cbke-suite2.json' with { type: 'json' };
import { bytesToBigInt, hexToBytes } from '../harness/crypto/bytes.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, type CryptoSuite } from '../harness/crypto/cbke-suites.ts';
import { runKeyEstablishment } from '../harness/crypto/cbke.ts';
import { ecmqvSharedSecret } from '../harness/crypto/ecmqv.ts';
import { reconstructPublicKey } from '../harness/crypto/ecqv.ts';
import { certicomTestCa } from '../harness/crypto/test-ca.ts';
import { medianMicros, round1, type BenchCase } from './measure.ts';

type Vector = typeof suite1Vector;

function cases(label: string, suite: CryptoSuite, v: Vector): BenchCase[] {
  const ca = certicomTestCa(suite.id);
  const certU = hexToBytes(v.initiator.certificate);
  const certV = hexToBytes(v.responder.certificate);
  const big = (h: string) => bytesToBigInt(hexToBytes(h));
  return [
    {
      name: `ecqv-${label}-reconstruct`,
      async run() {
        return { ours_us: round1(medianMicros(() => reconstructPublicKey(suite, certV, ca.publicKey))) };
      },
    },
    {
      name: `ecmqv-${label}`,
      async run() {
        const c = suite.curve;
        const input = {
          staticPrivate: big(v.initiator.privateKey), ephemeralPrivate: big(v.initiator.ephemeralPrivateKey),
          ephemeralPublic: c.decompress(hexToBytes(v.initiator.ephemeralPublicKey)),
          peerStatic: c.decompress(hexToBytes(v.responder.publicKey)), peerEphemeral: c.decompress(hexToBytes(v.responder.ephemeralPublicKey)),
        };
        return { ours_us: round1(medianMicros(() => ecmqvSharedSecret(c, input))) };
      },
    },
    {
      name: `cbke-${label}-both-sides`,
      async run() {
        const us = medianMicros(() => {
          const r = runKeyEstablishment({
            suite, trustedCas: [ca],
            initiator: { certificate: certU, privateKey: hexToBytes(v.initiator.privateKey) },
            responder: { certificate: certV, privateKey: hexToBytes(v.responder.privateKey) },
          });
          if (!r.initiator.ok || !r.responder.ok) throw new Error(`CBKE ${label} failed in the benchmark`);
        }, { runs: 7 });
        return { ours_us: round1(us), note: 'both sides: 2× ECQV, 2× ephemeral keygen, 2× ECMQV, KDF, MACU/MACV' };
      },
    },
  ];
}

export function cbkeCases(): BenchCase[] {
  return [...cases('v1', CRYPTO_SUITE_1, suite1Vector), ...cases('v2', CRYPTO_SUITE_2, suite2Vector as unknown as Vector)];
}
