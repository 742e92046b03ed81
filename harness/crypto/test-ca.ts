// A test certificate authority for both crypto suites: issues valid ECQV certificates and, on
// request, the broken ones a conformance suite needs (wrong issuer, wrong subject, bad KeyUsage,
// out of validity, bad type/curve/hash, corrupted after issuance). Plus the published Certicom
// test CA public keys, for verifying the published test certificates.
// @spec SEC 4 v1.0 §2.4–2.6 via ecqv.ts; SE Annex C.4.2 / C.6; crypto.md §4.2, §4.8.4, §5.
import { aesMmoHash } from './aes-mmo.ts';
import { abytes, bytesToHex, concatBytes, equalBytes, hexToBytes } from './bytes.ts';
import { type CryptoSuite, type RandomSource, type SuiteId, defaultRandom, randomScalar } from './cbke-suites.ts';
import type { TrustedCa } from './cbke.ts';
import {
  type Certificate, type CertificateProblem, KeyUsage, V1_OFFSETS, V2_OFFSETS, encodeCertificateV1, encodeCertificateV2,
  parseCertificate,
} from './certificate.ts';
import type { AffinePoint } from './curve-types.ts';
import { createCertificateRequest, generateCertificate, receiveCertificate } from './ecqv.ts';

/**
 * The Certicom test CAs whose keys SDKs ship (SE Annex C.5.1.1 / C.6.1.1 via ZBOSS; TI Z-Stack
 * zcl_cert_data.c; zsmartsystems tests). Test networks only: anyone can look these keys up.
 */
export const CERTICOM_TEST_CA: Readonly<Record<SuiteId, { issuer: string; publicKey: string; label: string }>> = Object.freeze({
  1: { issuer: '5445535453454341', publicKey: '0200fde8a7f3d1084224962a4e7c54e69ac3f04da6b8', label: 'Certicom test CA for Crypto Suite 1 ("TESTSECA"; SE Annex C.5.1.1)' },
  2: { issuer: '1112131415161718', publicKey: '0207a445022d9f39f49bdc38380026a27a9e0a1799313ab28c5c1a1c6b605154db1dff6752', label: 'Certicom test CA for Crypto Suite 2 (SE Annex C.6.1.1)' },
});

/** The published Certicom test CA of a suite, as a CA to trust. */
export function certicomTestCa(suite: SuiteId): TrustedCa {
  const c = CERTICOM_TEST_CA[suite];
  return { issuer: hexToBytes(c.issuer), publicKey: hexToBytes(c.publicKey), label: c.label };
}

/** The published test CA that writes this issuer for this suite, if any. */
export function findPublishedTestCa(suite: SuiteId, issuer: Uint8Array): TrustedCa | undefined {
  const ca = certicomTestCa(suite);
  return equalBytes(ca.issuer, issuer) ? ca : undefined;
}

/** Our own default issuer: ASCII "SEHILTCA" — deliberately not the Certicom test CA. */
export const DEFAULT_TEST_ISSUER = Uint8Array.of(0x53, 0x45, 0x48, 0x49, 0x4c, 0x54, 0x43, 0x41);
/** Issuer written by 'wrong-issuer' certificates: ASCII "NOTTRUST". */
export const UNTRUSTED_ISSUER = Uint8Array.of(0x4e, 0x4f, 0x54, 0x54, 0x52, 0x55, 0x53, 0x54);
/** Default ProfileAttributeData: Smart Energy profile 0x0109, the rest zero. */
export const DEFAULT_PROFILE_ATTRIBUTE_DATA = Uint8Array.of(0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 0);

export interface IssueRequest {
  /** The device's EUI-64, big-endian (printed order). */
  subject: Uint8Array;
  /** Overrides the CA's issuer field. */
  issuer?: Uint8Array;
  /** Suite 1. */
  profileAttributeData?: Uint8Array;
  /** Suite 2: defaults are 8 random bytes, validFrom 0, no expiry, KeyUsage 0x88, type 00, curve 0D, hash 08. */
  serialNumber?: Uint8Array;
  validFrom?: number;
  validToOffset?: number;
  keyUsage?: number;
  type?: number;
  curve?: number;
  hash?: number;
}

export interface IssuedCertificate {
  certificate: Uint8Array;
  parsed: Certificate;
  /** d_U (what Certicom files call "private key reconstruction data"). */
  privateKey: bigint;
  /** Q_U = d_U·G = ECQV(CA, certificate). */
  publicKey: AffinePoint;
  /** The CA's private-key reconstruction value r of SEC 4 §2.5. */
  r: bigint;
}

export type BrokenKind =
  | 'wrong-issuer' | 'wrong-subject' | 'corrupted' | 'corrupted-point'
  | 'bad-key-usage-signature' | 'bad-key-usage-none' | 'expired' | 'not-yet-valid' | 'bad-type' | 'bad-curve' | 'bad-hash';

export const BROKEN_KINDS: Readonly<Record<SuiteId, readonly BrokenKind[]>> = Object.freeze({
  1: ['wrong-issuer', 'wrong-subject', 'corrupted', 'corrupted-point'],
  2: ['wrong-issuer', 'wrong-subject', 'corrupted', 'corrupted-point', 'bad-key-usage-signature', 'bad-key-usage-none',
    'expired', 'not-yet-valid', 'bad-type', 'bad-curve', 'bad-hash'],
});

export interface BrokenCertificate extends IssuedCertificate {
  kind: BrokenKind;
  /** How a compliant partner notices: a checkCertificate problem, or ECQV. */
  detectedBy:
    | { check: CertificateProblem; now?: number }
    | { ecqv: 'point-not-on-curve' | 'key-mismatch' };
  /** Byte flipped after issuance (corrupted kinds). */
  corruptedOffset?: number;
  note: string;
}

export interface TestCaOptions {
  suite: CryptoSuite;
  issuer?: Uint8Array;
  privateKey?: bigint;
  random?: RandomSource;
}

/** Reference time the validity kinds are built around (2023-11-14T22:13:20Z). */
export const TEST_CA_NOW = 1_700_000_000;
const DAY = 86_400;

export class TestCa {
  readonly suite: CryptoSuite;
  readonly issuer: Uint8Array;
  readonly privateKey: bigint;
  readonly publicKey: AffinePoint;
  readonly publicKeyBytes: Uint8Array;
  private readonly random: RandomSource;

  constructor(opts: TestCaOptions) {
    this.suite = opts.suite;
    this.random = opts.random ?? defaultRandom;
    this.issuer = abytes(opts.issuer ?? DEFAULT_TEST_ISSUER, 8, 'issuer').slice();
    this.privateKey = opts.privateKey ?? randomScalar(opts.suite.curve, this.random);
    const Q = opts.suite.curve.multiplyBase(this.privateKey);
    if (!Q) throw new RangeError('CA private key is a multiple of n');
    this.publicKey = Q;
    this.publicKeyBytes = opts.suite.curve.compress(Q);
  }

  /** This CA as a partner would trust it. */
  trusted(label = `sehil test CA ${bytesToHex(this.issuer).toUpperCase()}`): TrustedCa {
    return { issuer: this.issuer, publicKey: this.publicKeyBytes, label };
  }

  /** Runs SEC 4 §2.4 (request), §2.5 (CA) and §2.6 (reception, which verifies d_U·G = Q_U). */
  issue(req: IssueRequest): IssuedCertificate {
    const { suite } = this;
    abytes(req.subject, 8, 'subject');
    const request = createCertificateRequest(suite, this.random);
    const encode = (P: Uint8Array) => (suite.id === 1
      ? encodeCertificateV1({
        reconstructionData: P, subject: req.subject, issuer: req.issuer ?? this.issuer,
        profileAttributeData: req.profileAttributeData ?? DEFAULT_PROFILE_ATTRIBUTE_DATA,
      })
      : encodeCertificateV2({
        type: req.type, serialNumber: req.serialNumber ?? this.random(8), curve: req.curve, hash: req.hash,
        issuer: req.issuer ?? this.issuer, validFrom: req.validFrom ?? 0, validToOffset: req.validToOffset,
        subject: req.subject, keyUsage: req.keyUsage, reconstructionData: P,
      }));
    const { certificate, r } = generateCertificate(suite, { RU: request.RU, caPrivateKey: this.privateKey, encode, random: this.random });
    const keys = receiveCertificate(suite, { certificate, r, kU: request.kU, caPublicKey: this.publicKey });
    return { certificate, parsed: parseCertificate(certificate), privateKey: keys.privateKey, publicKey: keys.publicKey, r };
  }

  /** A deliberately broken certificate of `kind` for `req.subject`. */
  issueBroken(kind: BrokenKind, req: IssueRequest): BrokenCertificate {
    const { suite } = this;
    if (!BROKEN_KINDS[suite.id].includes(kind)) throw new RangeError(`broken kind "${kind}" does not exist for ${suite.name} (have: ${BROKEN_KINDS[suite.id].join(', ')})`);
    const checked = (problem: CertificateProblem, r: IssueRequest, note: string, now?: number): BrokenCertificate =>
      ({ ...this.issue(r), kind, detectedBy: { check: problem, now }, note });
    switch (kind) {
      case 'wrong-issuer':
        return checked('unknown-issuer', { ...req, issuer: UNTRUSTED_ISSUER }, 'issued by this CA key but with issuer "NOTTRUST"');
      case 'wrong-subject': {
        const subject = req.subject.slice();
        subject[7] ^= 0x01;
        return checked('subject-mismatch', { ...req, subject }, `subject ${bytesToHex(subject).toUpperCase()} instead of the device's EUI-64`);
      }
      case 'bad-key-usage-signature':
        return checked('bad-key-usage', { ...req, keyUsage: KeyUsage.digitalSignature }, 'KeyUsage 0x80 (signature only)');
      case 'bad-key-usage-none':
        return checked('bad-key-usage', { ...req, keyUsage: 0x00 }, 'KeyUsage 0x00');
      case 'expired':
        return checked('expired', { ...req, validFrom: TEST_CA_NOW - 2 * DAY, validToOffset: DAY }, 'valid for one day, ending one day before TEST_CA_NOW', TEST_CA_NOW);
      case 'not-yet-valid':
        return checked('not-yet-valid', { ...req, validFrom: TEST_CA_NOW + DAY, validToOffset: DAY }, 'valid from one day after TEST_CA_NOW', TEST_CA_NOW);
      case 'bad-type':
        return checked('bad-type', { ...req, type: 0x01 }, 'type 0x01 (not implicit/no-extensions)');
      case 'bad-curve':
        return checked('bad-curve', { ...req, curve: 0x0c }, 'curve 0x0C instead of 0x0D');
      case 'bad-hash':
        return checked('bad-hash', { ...req, hash: 0x07 }, 'hash 0x07 instead of 0x08');
      case 'corrupted':
        return this.corrupt(kind, this.issue(req), suite.id === 1 ? V1_OFFSETS.profileAttributeData + 9 : V2_OFFSETS.serialNumber + 7);
      case 'corrupted-point':
        return this.corruptPoint(this.issue(req));
    }
  }

  /** Flips one bit after issuance: the hash changes, so ECQV yields a key that d_U does not match. */
  private corrupt(kind: BrokenKind, good: IssuedCertificate, offset: number): BrokenCertificate {
    const certificate = good.certificate.slice();
    certificate[offset] ^= 0x01;
    return {
      ...good, certificate, parsed: parseCertificate(certificate), kind, corruptedOffset: offset,
      detectedBy: { ecqv: 'key-mismatch' }, note: `byte ${offset} flipped after issuance: ECQV(CA, cert) ≠ d·G`,
    };
  }

  /** Flips a bit of the reconstruction point's x until it no longer decompresses (about half of all x do not). */
  private corruptPoint(good: IssuedCertificate): BrokenCertificate {
    const base = this.suite.id === 1 ? V1_OFFSETS.reconstructionData : V2_OFFSETS.reconstructionData;
    for (let i = 0; i < 8 * 16; i++) {
      const offset = base + this.suite.pointBytes - 1 - (i >> 3);
      const certificate = good.certificate.slice();
      certificate[offset] ^= 1 << (i & 7);
      const P = certificate.subarray(base, base + this.suite.pointBytes);
      try {
        this.suite.curve.decompress(P);
      } catch {
        return {
          ...good, certificate, parsed: parseCertificate(certificate), kind: 'corrupted-point', corruptedOffset: offset,
          detectedBy: { ecqv: 'point-not-on-curve' }, note: `byte ${offset} flipped after issuance: reconstruction data is not a curve point`,
        };
      }
    }
    throw new Error('no single-bit flip of the last 16 bytes of x left the curve (astronomically unlikely)');
  }
}

/**
 * A deterministic byte source for tests and reproducible simulations: AES-MMO(seed ‖ counter)
 * blocks. Not a CSPRNG for real keys — only ever hand it to test CAs and simulated devices.
 */
export function deterministicRandom(seed: string | Uint8Array): RandomSource {
  const s = typeof seed === 'string' ? new TextEncoder().encode(seed) : seed.slice();
  let counter = 0;
  let pool: Uint8Array = new Uint8Array(0);
  return (n: number) => {
    while (pool.length < n) {
      const c = Uint8Array.of(counter >>> 24, (counter >>> 16) & 255, (counter >>> 8) & 255, counter & 255);
      counter++;
      pool = concatBytes(pool, aesMmoHash(concatBytes(s, c)));
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}
