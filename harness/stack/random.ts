// Random sources of a simulated node. Two kinds, kept apart on purpose:
// - `RandomSource` for behaviour (MAC sequence numbers, address allocation, jitter): seeded by
//   default from the node's EUI-64, so a scenario replays the same way on every run;
// - `KeyRandom` for key material (network key, fresh TC link keys): the platform CSPRNG by
//   default. Tests may pass a seeded one to get reproducible captures; real runs must not.
import { seededRandom } from '../sim/air.ts';
import type { Eui64 } from '../zigbee/codec.ts';

export interface RandomSource {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** Fills and returns `n` random bytes. */
export type KeyRandom = (n: number) => Uint8Array;

export function randomSource(seed: number): RandomSource {
  const next = seededRandom(seed);
  return { next, int: (n) => Math.floor(next() * n) };
}

/** A seed from an EUI-64 (FNV-1a over its hex digits): distinct nodes, stable across runs. */
export function seedFromEui64(eui64: Eui64): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < eui64.length; i++) h = Math.imul(h ^ eui64.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Platform CSPRNG (Web Crypto, present in Node 20 and browsers). */
export const cryptoKeyRandom: KeyRandom = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

/** Deterministic key bytes for reproducible test captures (never for a real network). */
export function seededKeyRandom(seed: number): KeyRandom {
  const next = seededRandom(seed);
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}
