// The Smart Energy curves, fast implementation (koblitz.ts) over the SEC 2 parameters.
// @spec SEC 2 v1.0 §3.2.1 (sect163k1, Crypto Suite 1) and §3.5.1 (sect283k1, Crypto Suite 2)
import { SECT163K1_PARAMS, SECT283K1_PARAMS } from './curve-params.ts';
import type { BinaryCurve } from './curve-types.ts';
import { koblitzCurve } from './koblitz.ts';

export const sect163k1: BinaryCurve = koblitzCurve(SECT163K1_PARAMS);
export const sect283k1: BinaryCurve = koblitzCurve(SECT283K1_PARAMS);

const BY_NAME: ReadonlyMap<string, BinaryCurve> = new Map([
  [sect163k1.name, sect163k1],
  [sect283k1.name, sect283k1],
]);

/** 'sect163k1' | 'sect283k1' → the curve; RangeError for any other name. */
export function curveByName(name: string): BinaryCurve {
  const c = BY_NAME.get(name);
  if (!c) throw new RangeError(`unknown curve "${name}" (expected ${[...BY_NAME.keys()].join(' or ')})`);
  return c;
}
