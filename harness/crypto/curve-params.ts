// Domain parameters of the two Smart Energy curves, as data.
// @spec SEC 2 v1.0 §3.2.1 (sect163k1) and §3.5.1 (sect283k1); SE 1.x Annex C (Crypto Suites 1 and 2).
import type { BinaryCurveParams } from './curve-types.ts';

/** Crypto Suite 1 (CBKE v1): f(x) = x^163 + x^7 + x^6 + x^3 + 1, a = b = 1, h = 2. */
export const SECT163K1_PARAMS: BinaryCurveParams = Object.freeze({
  name: 'sect163k1',
  m: 163,
  poly: (1n << 163n) | (1n << 7n) | (1n << 6n) | (1n << 3n) | 1n,
  a: 1n,
  b: 1n,
  Gx: 0x02fe13c0537bbc11acaa07d793de4e6d5e5c94eee8n,
  Gy: 0x0289070fb05d38ff58321f2e800536d538ccdaa3d9n,
  n: 0x04000000000000000000020108a2e0cc0d99f8a5efn,
  h: 2n,
});

/** Crypto Suite 2 (CBKE v2): f(x) = x^283 + x^12 + x^7 + x^5 + 1, a = 0, b = 1, h = 4. */
export const SECT283K1_PARAMS: BinaryCurveParams = Object.freeze({
  name: 'sect283k1',
  m: 283,
  poly: (1n << 283n) | (1n << 12n) | (1n << 7n) | (1n << 5n) | 1n,
  a: 0n,
  b: 1n,
  Gx: 0x0503213f78ca44883f1a3b8162f188e553cd265f23c1567a16876913b0c2ac2458492836n,
  Gy: 0x01ccda380f1c9e318d90f95d07e5426fe87e45c0e8184698e45962364e34116177dd2259n,
  n: 0x01ffffffffffffffffffffffffffffffffffe9ae2ed07577265dff7f94451e061e163c61n,
  h: 4n,
});
