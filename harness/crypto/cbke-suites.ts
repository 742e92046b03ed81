// The two Smart Energy CBKE crypto suites as data, the Key Establishment cluster's status codes,
// and the random scalars every key generation draws.
// @spec SE 1.x (07-5356) Annex C.3 (cluster 0x0800), C.4/C.5 (Crypto Suite 1), C.6 (Crypto Suite 2);
//       sizes cross-checked with Silicon Labs key-establishment.h (see crypto.md §4.1, §4.7).
import { abytes, bytesToBigInt } from './bytes.ts';
import type { BinaryCurve } from './curve-types.ts';
// The suites carry their curve (the fast implementation); nothing else in the CBKE code names a
// concrete curve, and suiteWithCurve() puts the same suite on the BigInt reference for cross-checks.
import { sect163k1, sect283k1 } from './curves.ts';

export type SuiteId = 1 | 2;

export interface CryptoSuite {
  readonly id: SuiteId;
  readonly name: string;
  /** Bit of the KeyEstablishmentSuite attribute (0x0000) and of the Initiate request's Suite field. */
  readonly bit: number;
  readonly curve: BinaryCurve;
  /** Implicit certificate length: 48 (suite 1) / 74 (suite 2). */
  readonly certificateBytes: number;
  /** SEC 1 compressed point: 22 / 37. */
  readonly pointBytes: number;
  /** Private key / field element octets: 21 / 36. */
  readonly scalarBytes: number;
  /** MACU/MACV input: 1 + 8 + 8 + 2·pointBytes = 61 / 91. */
  readonly macInputBytes: number;
}

function makeSuite(id: SuiteId, name: string, bit: number, curve: BinaryCurve, certificateBytes: number): CryptoSuite {
  return Object.freeze({
    id, name, bit, curve, certificateBytes,
    pointBytes: curve.fieldBytes + 1,
    scalarBytes: curve.fieldBytes,
    macInputBytes: 1 + 8 + 8 + 2 * (curve.fieldBytes + 1),
  });
}

/** Crypto Suite 1: CBKE-ECMQV on sect163k1, 48-byte certificates. @spec SE Annex C.4 */
export const CRYPTO_SUITE_1: CryptoSuite = makeSuite(1, 'Crypto Suite 1 (sect163k1)', 0x0001, sect163k1, 48);
/** Crypto Suite 2: CBKE-ECMQV on sect283k1, 74-byte certificates. @spec SE 1.2+ Annex C.6 */
export const CRYPTO_SUITE_2: CryptoSuite = makeSuite(2, 'Crypto Suite 2 (sect283k1)', 0x0002, sect283k1, 74);

export const CRYPTO_SUITES: readonly CryptoSuite[] = Object.freeze([CRYPTO_SUITE_1, CRYPTO_SUITE_2]);

/** The same suite on another implementation of its curve (tests run the reference curve this way). */
export function suiteWithCurve(suite: CryptoSuite, curve: BinaryCurve): CryptoSuite {
  if (curve.name !== suite.curve.name) throw new RangeError(`${suite.name} needs ${suite.curve.name}, got ${curve.name}`);
  return makeSuite(suite.id, suite.name, suite.bit, curve, suite.certificateBytes);
}

export function suiteById(id: number): CryptoSuite {
  const s = CRYPTO_SUITES.find((c) => c.id === id);
  if (!s) throw new RangeError(`unknown crypto suite ${id} (known: 1, 2)`);
  return s;
}

/** The suite whose certificate has this length, or undefined. */
export function suiteByCertificateLength(length: number): CryptoSuite | undefined {
  return CRYPTO_SUITES.find((c) => c.certificateBytes === length);
}

/** Suites whose bit is set in a KeyEstablishmentSuite bitmap, lowest first (unknown bits ignored). */
export function suitesInBitmap(bitmap: number): CryptoSuite[] {
  return CRYPTO_SUITES.filter((c) => (bitmap & c.bit) !== 0);
}

/** Negotiation picks the highest suite both sides support. @spec SE Annex C.3.1.2.3 (via crypto.md §4.7) */
export function negotiateSuite(localBitmap: number, remoteBitmap: number): CryptoSuite | undefined {
  const common = suitesInBitmap(localBitmap & remoteBitmap);
  return common[common.length - 1];
}

/**
 * The suite an Initiate request names: exactly one known bit. More than one bit → BAD_MESSAGE,
 * a bit we do not know → UNSUPPORTED_SUITE (panweave, citing SE C.3.1.2.3.1.2; crypto.md §4.7).
 */
export function suiteFromRequest(bitmap: number, supported: number = 0x0003):
  { ok: true; suite: CryptoSuite } | { ok: false; status: KeStatus; reason: string } {
  if (bitmap === 0 || (bitmap & (bitmap - 1)) !== 0) {
    return { ok: false, status: KeStatus.BAD_MESSAGE, reason: `suite field 0x${hex16(bitmap)} must have exactly one bit set` };
  }
  const suite = CRYPTO_SUITES.find((c) => c.bit === bitmap);
  if (!suite || (supported & bitmap) === 0) {
    return { ok: false, status: KeStatus.UNSUPPORTED_SUITE, reason: `suite 0x${hex16(bitmap)} is not supported` };
  }
  return { ok: true, suite };
}

const hex16 = (v: number) => v.toString(16).padStart(4, '0');

/** Terminate Key Establishment status codes. @spec SE Annex C.3.1.2.3.4 (crypto.md §4.7) */
export const KeStatus = {
  SUCCESS: 0x00,
  UNKNOWN_ISSUER: 0x01,
  BAD_KEY_CONFIRM: 0x02,
  BAD_MESSAGE: 0x03,
  NO_RESOURCES: 0x04,
  UNSUPPORTED_SUITE: 0x05,
  /** SE 1.2+: certificate type, curve, hash or KeyUsage not acceptable. */
  INVALID_CERTIFICATE: 0x06,
} as const;
export type KeStatus = (typeof KeStatus)[keyof typeof KeStatus];

export function keStatusName(status: number): string {
  const e = Object.entries(KeStatus).find(([, v]) => v === status);
  return e ? e[0] : `0x${status.toString(16).padStart(2, '0')}`;
}

/** Injectable randomness: n fresh random bytes. */
export type RandomSource = (n: number) => Uint8Array;

/** The platform CSPRNG (Web Crypto, present in Node 20 and browsers). */
export const defaultRandom: RandomSource = (n) => {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
};

/**
 * A uniform scalar in [1, n−1] by rejection sampling: draw ⌈orderBits/8⌉ bytes, clear the bits
 * above orderBits, retry while ≥ n or 0. @spec SEC 1 v2.0 §3.2.1 (key pair generation)
 */
export function randomScalar(curve: BinaryCurve, random: RandomSource = defaultRandom): bigint {
  const len = Math.ceil(curve.orderBits / 8);
  const excess = BigInt(len * 8 - curve.orderBits);
  for (let i = 0; i < 1000; i++) {
    const k = bytesToBigInt(abytes(random(len), len, 'random bytes')) >> excess;
    if (k > 0n && k < curve.n) return k;
  }
  throw new RangeError('random source keeps returning out-of-range scalars (is it constant?)');
}
