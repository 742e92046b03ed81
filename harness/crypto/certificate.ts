// Smart Energy implicit (ECQV) certificates: suite 1 (48 bytes) and suite 2 (74 bytes) — every
// field named, a decoder and an encoder for each, and the checks a Key Establishment partner
// makes before it trusts one.
// @spec SE 1.x (07-5356) Annex C.4.2.2 (suite-1 certificate), C.6 (suite-2 certificate); offsets
//       cross-checked with Silicon Labs key-establishment.h (CERT_SUBJECT_OFFSET 22, _283K1 28,
//       CERT_ISSUER_OFFSET 30, _283K1 11) and panweave Certificate::parse (crypto.md §4.2).
import { abytes, bytesToHex, concatBytes, equalBytes } from './bytes.ts';
import { KeStatus, type SuiteId } from './cbke-suites.ts';

/** A byte range of a certificate that cannot be what it claims. */
export class CertificateError extends RangeError {
  override name = 'CertificateError';
  constructor(readonly field: string, readonly offset: number, reason: string) {
    super(`certificate ${field} at byte ${offset}: ${reason}`);
  }
}

/**
 * Suite 1, 48 bytes:
 * ```
 * [0..21]  PublicKeyReconstructionData (compressed sect163k1 point)
 * [22..29] Subject (EUI-64, big-endian = printed order)
 * [30..37] Issuer
 * [38..47] ProfileAttributeData (first two bytes: profile id 0x0109, big-endian; rest opaque)
 * ```
 */
export interface CertificateV1 {
  readonly suite: 1;
  readonly bytes: Uint8Array;
  readonly reconstructionData: Uint8Array;
  readonly subject: Uint8Array;
  readonly issuer: Uint8Array;
  readonly profileAttributeData: Uint8Array;
  /** ProfileAttributeData[0..1] big-endian (0x0109 = Smart Energy). */
  readonly profileId: number;
}

/**
 * Suite 2, 74 bytes:
 * ```
 * [0]      Type (0x00 implicit, no extensions)   [1..8]   SerialNo
 * [9]      Curve (0x0D sect283k1)                [10]     Hash (0x08 AES-MMO)
 * [11..18] Issuer                                [19..23] ValidFrom (40-bit Unix seconds, BE)
 * [24..27] ValidTo (seconds after ValidFrom; FFFFFFFF = no expiry)
 * [28..35] Subject (EUI-64 BE)                   [36]     KeyUsage (0x08 agreement, 0x80 signature)
 * [37..73] PublicKeyReconstructionData (compressed sect283k1 point)
 * ```
 */
export interface CertificateV2 {
  readonly suite: 2;
  readonly bytes: Uint8Array;
  readonly type: number;
  readonly serialNumber: Uint8Array;
  readonly curve: number;
  readonly hash: number;
  readonly issuer: Uint8Array;
  /** Seconds since 1970-01-01 UTC (40 bits: exact in a JS number). */
  readonly validFrom: number;
  /** The raw ValidTo field: seconds after validFrom. */
  readonly validToOffset: number;
  /** validFrom + validToOffset, or null when ValidTo = FFFFFFFF (no expiry). */
  readonly validTo: number | null;
  readonly subject: Uint8Array;
  readonly keyUsage: number;
  readonly reconstructionData: Uint8Array;
}

export type Certificate = CertificateV1 | CertificateV2;

export const CERT_V1_BYTES = 48;
export const CERT_V2_BYTES = 74;
export const CERT_V2_TYPE_IMPLICIT = 0x00;
export const CERT_V2_CURVE_SECT283K1 = 0x0d;
export const CERT_V2_HASH_AES_MMO = 0x08;
export const NO_EXPIRY = 0xffffffff;
/** KeyUsage bits. @spec SE Annex C.6 (crypto.md §4.2) */
export const KeyUsage = { keyAgreement: 0x08, digitalSignature: 0x80 } as const;

/** Field offsets, for error messages and for the test CA's deliberate corruptions. */
export const V1_OFFSETS = { reconstructionData: 0, subject: 22, issuer: 30, profileAttributeData: 38 } as const;
export const V2_OFFSETS = {
  type: 0, serialNumber: 1, curve: 9, hash: 10, issuer: 11, validFrom: 19, validTo: 24, subject: 28, keyUsage: 36,
  reconstructionData: 37,
} as const;

/** Decodes a 48-byte suite-1 certificate. The bytes are copied: later changes to `bytes` do not leak in. */
export function decodeCertificateV1(bytes: Uint8Array): CertificateV1 {
  abytes(bytes, undefined, 'certificate');
  if (bytes.length !== CERT_V1_BYTES) throw new CertificateError('length', 0, `suite-1 certificate must be 48 bytes, got ${bytes.length}`);
  const b = bytes.slice();
  return {
    suite: 1,
    bytes: b,
    reconstructionData: b.slice(0, 22),
    subject: b.slice(22, 30),
    issuer: b.slice(30, 38),
    profileAttributeData: b.slice(38, 48),
    profileId: (b[38] << 8) | b[39],
  };
}

/** Decodes a 74-byte suite-2 certificate. Field values are not judged here: see checkCertificate. */
export function decodeCertificateV2(bytes: Uint8Array): CertificateV2 {
  abytes(bytes, undefined, 'certificate');
  if (bytes.length !== CERT_V2_BYTES) throw new CertificateError('length', 0, `suite-2 certificate must be 74 bytes, got ${bytes.length}`);
  const b = bytes.slice();
  const validFrom = b[19] * 2 ** 32 + readU32(b, 20);
  const validToOffset = readU32(b, 24);
  return {
    suite: 2,
    bytes: b,
    type: b[0],
    serialNumber: b.slice(1, 9),
    curve: b[9],
    hash: b[10],
    issuer: b.slice(11, 19),
    validFrom,
    validToOffset,
    validTo: validToOffset === NO_EXPIRY ? null : validFrom + validToOffset,
    subject: b.slice(28, 36),
    keyUsage: b[36],
    reconstructionData: b.slice(37, 74),
  };
}

/** Detects the suite by length (48 → suite 1, 74 → suite 2) and decodes. */
export function parseCertificate(bytes: Uint8Array): Certificate {
  abytes(bytes, undefined, 'certificate');
  if (bytes.length === CERT_V1_BYTES) return decodeCertificateV1(bytes);
  if (bytes.length === CERT_V2_BYTES) return decodeCertificateV2(bytes);
  throw new CertificateError('length', 0, `expected 48 bytes (suite 1) or 74 bytes (suite 2), got ${bytes.length}`);
}

/** Reads a certificate of a known suite at `offset` of a larger payload (e.g. an Initiate KE command). */
export function readCertificate(data: Uint8Array, offset: number, suite: SuiteId): { value: Certificate; offset: number } {
  const len = suite === 1 ? CERT_V1_BYTES : CERT_V2_BYTES;
  if (offset + len > data.length) {
    throw new CertificateError('length', offset, `suite-${suite} certificate needs ${len} bytes, only ${Math.max(0, data.length - offset)} left`);
  }
  const body = data.subarray(offset, offset + len);
  return { value: suite === 1 ? decodeCertificateV1(body) : decodeCertificateV2(body), offset: offset + len };
}

export interface CertificateV1Fields {
  reconstructionData: Uint8Array;
  subject: Uint8Array;
  issuer: Uint8Array;
  profileAttributeData: Uint8Array;
}

export function encodeCertificateV1(f: CertificateV1Fields): Uint8Array {
  return concatBytes(
    fieldBytes(f.reconstructionData, 22, 'reconstructionData', V1_OFFSETS.reconstructionData),
    fieldBytes(f.subject, 8, 'subject', V1_OFFSETS.subject),
    fieldBytes(f.issuer, 8, 'issuer', V1_OFFSETS.issuer),
    fieldBytes(f.profileAttributeData, 10, 'profileAttributeData', V1_OFFSETS.profileAttributeData),
  );
}

export interface CertificateV2Fields {
  type?: number;
  serialNumber: Uint8Array;
  curve?: number;
  hash?: number;
  issuer: Uint8Array;
  validFrom: number;
  /** Seconds after validFrom; NO_EXPIRY (0xFFFFFFFF) by default. */
  validToOffset?: number;
  subject: Uint8Array;
  keyUsage?: number;
  reconstructionData: Uint8Array;
}

export function encodeCertificateV2(f: CertificateV2Fields): Uint8Array {
  const out = new Uint8Array(CERT_V2_BYTES);
  out[0] = byteField(f.type ?? CERT_V2_TYPE_IMPLICIT, 'type', 0);
  out.set(fieldBytes(f.serialNumber, 8, 'serialNumber', 1), 1);
  out[9] = byteField(f.curve ?? CERT_V2_CURVE_SECT283K1, 'curve', 9);
  out[10] = byteField(f.hash ?? CERT_V2_HASH_AES_MMO, 'hash', 10);
  out.set(fieldBytes(f.issuer, 8, 'issuer', 11), 11);
  if (!Number.isInteger(f.validFrom) || f.validFrom < 0 || f.validFrom >= 2 ** 40) {
    throw new CertificateError('validFrom', 19, `must be an integer in [0, 2^40), got ${f.validFrom}`);
  }
  out[19] = Math.floor(f.validFrom / 2 ** 32);
  writeU32(out, 20, f.validFrom % 2 ** 32);
  const to = f.validToOffset ?? NO_EXPIRY;
  if (!Number.isInteger(to) || to < 0 || to > NO_EXPIRY) throw new CertificateError('validTo', 24, `must be a uint32, got ${to}`);
  writeU32(out, 24, to);
  out.set(fieldBytes(f.subject, 8, 'subject', 28), 28);
  out[36] = byteField(f.keyUsage ?? KeyUsage.keyAgreement | KeyUsage.digitalSignature, 'keyUsage', 36);
  out.set(fieldBytes(f.reconstructionData, 37, 'reconstructionData', 37), 37);
  return out;
}

/** Why a certificate is refused; each maps to the Terminate status a compliant partner sends. */
export type CertificateProblem =
  | 'unknown-issuer' | 'bad-type' | 'bad-curve' | 'bad-hash' | 'bad-key-usage'
  | 'subject-mismatch' | 'not-yet-valid' | 'expired';

export type CertificateCheck =
  | { ok: true }
  | { ok: false; problem: CertificateProblem; status: KeStatus; field: string; offset: number; message: string };

export interface CheckOptions {
  /** The partner's EUI-64 (big-endian, printed order) the subject must equal. */
  expectedSubject?: Uint8Array;
  /** Issuer fields we hold a CA key for. Omitted: the issuer is not judged. */
  trustedIssuers?: readonly Uint8Array[];
  /** Current time, Unix seconds, for suite-2 validity. Omitted: validity is not judged. */
  now?: number;
  /** Suite 2: demand the key-agreement KeyUsage bit (CBKE does). Default true. */
  requireKeyAgreement?: boolean;
}

/**
 * The checks a Key Establishment partner makes on the certificate it receives, as a value:
 * - issuer not among the CAs we trust → UNKNOWN_ISSUER 0x01 (SE Annex C.3.1.2.3.4; crypto.md §4.7);
 * - suite 2 type ≠ 0x00, curve ≠ 0x0D, hash ≠ 0x08, KeyUsage without key agreement →
 *   INVALID_CERTIFICATE 0x06 (SE 1.2+; the checks of panweave Certificate::parse);
 * - subject ≠ the partner's EUI-64 → BAD_MESSAGE 0x03 (Silicon Labs key-establishment.c
 *   checkKeyTable: "EUI64 of TC does not match its cert" → INVALID_PARTNER_MESSAGE → BAD_MESSAGE);
 * - suite 2 outside [validFrom, validTo] → INVALID_CERTIFICATE 0x06 (no public source pins this
 *   status; it is our reading of "certificate invalid").
 * Order: issuer first (a certificate from an unknown CA is refused before anything else is read),
 * then the structural fields, then subject and validity.
 */
export function checkCertificate(cert: Certificate, opts: CheckOptions = {}): CertificateCheck {
  const off = cert.suite === 1 ? V1_OFFSETS : V2_OFFSETS;
  if (opts.trustedIssuers && !opts.trustedIssuers.some((i) => equalBytes(i, cert.issuer))) {
    return fail('unknown-issuer', KeStatus.UNKNOWN_ISSUER, 'issuer', off.issuer, `issuer ${bytesToHex(cert.issuer).toUpperCase()} is not a trusted CA`);
  }
  if (cert.suite === 2) {
    if (cert.type !== CERT_V2_TYPE_IMPLICIT) return fail('bad-type', KeStatus.INVALID_CERTIFICATE, 'type', 0, `type 0x${h2(cert.type)} (expected 0x00, implicit)`);
    if (cert.curve !== CERT_V2_CURVE_SECT283K1) return fail('bad-curve', KeStatus.INVALID_CERTIFICATE, 'curve', 9, `curve 0x${h2(cert.curve)} (expected 0x0d, sect283k1)`);
    if (cert.hash !== CERT_V2_HASH_AES_MMO) return fail('bad-hash', KeStatus.INVALID_CERTIFICATE, 'hash', 10, `hash 0x${h2(cert.hash)} (expected 0x08, AES-MMO)`);
    if ((opts.requireKeyAgreement ?? true) && (cert.keyUsage & KeyUsage.keyAgreement) === 0) {
      return fail('bad-key-usage', KeStatus.INVALID_CERTIFICATE, 'keyUsage', 36, `KeyUsage 0x${h2(cert.keyUsage)} lacks key agreement (0x08)`);
    }
  }
  if (opts.expectedSubject && !equalBytes(opts.expectedSubject, cert.subject)) {
    return fail('subject-mismatch', KeStatus.BAD_MESSAGE, 'subject', off.subject,
      `subject ${bytesToHex(cert.subject).toUpperCase()} is not the partner's EUI-64 ${bytesToHex(opts.expectedSubject).toUpperCase()}`);
  }
  if (cert.suite === 2 && opts.now !== undefined) {
    if (opts.now < cert.validFrom) return fail('not-yet-valid', KeStatus.INVALID_CERTIFICATE, 'validFrom', 19, `valid from ${iso(cert.validFrom)}, now is ${iso(opts.now)}`);
    if (cert.validTo !== null && opts.now > cert.validTo) return fail('expired', KeStatus.INVALID_CERTIFICATE, 'validTo', 24, `expired at ${iso(cert.validTo)}, now is ${iso(opts.now)}`);
  }
  return { ok: true };
}

function fail(problem: CertificateProblem, status: KeStatus, field: string, offset: number, message: string): CertificateCheck {
  return { ok: false, problem, status, field, offset, message };
}

function fieldBytes(v: Uint8Array, len: number, field: string, offset: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`"${field}" expected Uint8Array`);
  if (v.length !== len) throw new CertificateError(field, offset, `expected ${len} bytes, got ${v.length}`);
  return v;
}

function byteField(v: number, field: string, offset: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new CertificateError(field, offset, `must be a byte, got ${v}`);
  return v;
}

const readU32 = (b: Uint8Array, o: number) => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}
const h2 = (v: number) => v.toString(16).padStart(2, '0');
/** Seconds → ISO-8601 UTC; 40-bit times beyond JS Date's range print as raw seconds. */
export function iso(seconds: number): string {
  const ms = seconds * 1000;
  return ms <= 8.64e15 ? new Date(ms).toISOString().replace('.000Z', 'Z') : `${seconds} s`;
}
