// ECQV implicit certificates as Smart Energy uses them: public-key reconstruction, and the three
// steps of issuance (request, CA generation, reception) so a test CA can mint certificates.
// @spec SEC 4 v1.0 (ECQV) §2.4 (request), §2.5 (generation), §2.6 (reception), §3.4 (public-key
//       extraction); SE 1.x Annex C.4.2 — with Hn = AES-MMO over the whole encoded certificate
//       read as a 128-bit integer (crypto.md §4.3, pitfall 7: no truncation, no reduction).
import { aesMmoHash } from './aes-mmo.ts';
import { abytes, bytesToBigInt } from './bytes.ts';
import { type CryptoSuite, type RandomSource, defaultRandom, randomScalar } from './cbke-suites.ts';
import { parseCertificate, type Certificate } from './certificate.ts';
import type { AffinePoint } from './curve-types.ts';

/** Reconstruction or issuance produced something no valid certificate can. */
export class EcqvError extends Error {
  override name = 'EcqvError';
}

/**
 * e = OS2I(AES-MMO(Cert)): the hash of the certificate exactly as transmitted (48 or 74 bytes).
 * 128 bits < log2 n for both curves, so SEC 4's Hn truncation never applies.
 */
export function certificateHash(certificate: Uint8Array): bigint {
  abytes(certificate, [48, 74], 'certificate');
  return bytesToBigInt(aesMmoHash(certificate));
}

/** A CA public key as compressed bytes (what data files carry) or as a point. */
export type CaKey = Uint8Array | AffinePoint;

export function caPoint(suite: CryptoSuite, ca: CaKey): AffinePoint {
  return ca instanceof Uint8Array ? suite.curve.decompress(ca) : ca;
}

/**
 * Q_U = e·P_U + Q_CA. @spec SEC 4 §3.4 (ECQV public-key extraction), SE Annex C.4.2.2.
 * Throws PointDecodingError when the reconstruction data is not a curve point (a corrupted
 * certificate), and EcqvError when the result is the point at infinity.
 */
export function reconstructPublicKey(suite: CryptoSuite, certificate: Uint8Array | Certificate, caPublicKey: CaKey): AffinePoint {
  const cert = certificate instanceof Uint8Array ? parseCertificate(certificate) : certificate;
  if (cert.bytes.length !== suite.certificateBytes) {
    throw new RangeError(`${suite.name} needs a ${suite.certificateBytes}-byte certificate, got ${cert.bytes.length}`);
  }
  const PU = suite.curve.decompress(cert.reconstructionData);
  const QCA = caPoint(suite, caPublicKey);
  const e = certificateHash(cert.bytes);
  // e·P_U then + Q_CA: a 128-bit multiplication and one addition (multiplyAdd would spend a
  // second full-length ladder on the coefficient 1).
  const QU = suite.curve.add(suite.curve.multiply(PU, e), QCA);
  if (!QU) throw new EcqvError('reconstructed public key is the point at infinity');
  return QU;
}

// ---- Issuance (SEC 4 §2.4–2.6) -----------------------------------------------------------------

export interface CertificateRequest {
  /** Requester's ephemeral private value k_U (kept by the requester). */
  readonly kU: bigint;
  /** R_U = k_U·G, sent to the CA. */
  readonly RU: AffinePoint;
}

/** SEC 4 §2.4: the requester picks k_U ∈ [1, n−1] and sends R_U = k_U·G. */
export function createCertificateRequest(suite: CryptoSuite, random: RandomSource = defaultRandom): CertificateRequest {
  const kU = randomScalar(suite.curve, random);
  const RU = suite.curve.multiplyBase(kU);
  if (!RU) throw new EcqvError('k_U·G is the point at infinity');
  return { kU, RU };
}

export interface IssuedImplicit {
  readonly certificate: Uint8Array;
  /** Private-key reconstruction data r, sent to the requester with the certificate. */
  readonly r: bigint;
}

/**
 * SEC 4 §2.5: the CA checks R_U (§2.5 step 1: a valid public key), picks k, sets P_U = R_U + k·G,
 * encodes the certificate around P_U (`encode` receives the compressed P_U), computes e = H(Cert)
 * and r = e·k + d_CA mod n. P_U = O restarts with a fresh k (step 4).
 */
export function generateCertificate(
  suite: CryptoSuite,
  opts: { RU: AffinePoint; caPrivateKey: bigint; encode: (reconstructionData: Uint8Array) => Uint8Array; random?: RandomSource },
): IssuedImplicit {
  const { curve } = suite;
  const why = curve.validatePublicKey(opts.RU);
  if (why) throw new EcqvError(`certificate request R_U rejected: ${why}`);
  for (let attempt = 0; attempt < 8; attempt++) {
    const k = randomScalar(curve, opts.random ?? defaultRandom);
    const PU = curve.add(opts.RU, curve.multiplyBase(k));
    if (!PU) continue;
    const certificate = opts.encode(curve.compress(PU));
    abytes(certificate, suite.certificateBytes, 'encoded certificate');
    const e = certificateHash(certificate);
    const r = (e * k + opts.caPrivateKey) % curve.n;
    return { certificate, r };
  }
  throw new EcqvError('could not find k with R_U + k·G ≠ O');
}

/**
 * SEC 4 §2.6: the requester computes e = H(Cert), d_U = e·k_U + r mod n and Q_U = e·P_U + Q_CA,
 * and accepts only if Q_U = d_U·G (step 6).
 */
export function receiveCertificate(
  suite: CryptoSuite,
  opts: { certificate: Uint8Array; r: bigint; kU: bigint; caPublicKey: CaKey },
): { privateKey: bigint; publicKey: AffinePoint } {
  const { curve } = suite;
  const e = certificateHash(opts.certificate);
  const privateKey = (e * opts.kU + opts.r) % curve.n;
  const publicKey = reconstructPublicKey(suite, opts.certificate, opts.caPublicKey);
  const check = curve.multiplyBase(privateKey);
  if (!check || check.x !== publicKey.x || check.y !== publicKey.y) {
    throw new EcqvError('d_U·G ≠ Q_U: the certificate or r does not match this request');
  }
  return { privateKey, publicKey };
}

/** d·G = ECQV(CA, cert)? The check every Certicom test file passes (crypto.md §4.8.4). */
export function keyPairMatchesCertificate(suite: CryptoSuite, certificate: Uint8Array, privateKey: bigint, caPublicKey: CaKey):
  { ok: true; publicKey: AffinePoint } | { ok: false; reason: string } {
  let Q: AffinePoint;
  try {
    Q = reconstructPublicKey(suite, certificate, caPublicKey);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const dG = privateKey > 0n && privateKey < suite.curve.n ? suite.curve.multiplyBase(privateKey) : null;
  if (!dG || dG.x !== Q.x || dG.y !== Q.y) return { ok: false, reason: 'd·G ≠ ECQV(CA, certificate)' };
  return { ok: true, publicKey: Q };
}
