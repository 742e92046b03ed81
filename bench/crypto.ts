// Benchmark group `crypto`: Koblitz-curve scalar multiplication against node:crypto (OpenSSL in the
// same process) and native OpenSSL (`openssl speed`, a child process).
import { execFileSync } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { bytesToBigInt } from '../harness/crypto/bytes.ts';
import type { BinaryCurve } from '../harness/crypto/curve-types.ts';
import { sect163k1, sect283k1 } from '../harness/crypto/curves.ts';
import { cbkeCases } from './cbke.ts';
import { interleavedMedianMicros, median, ratio, round1, type BenchCase } from './measure.ts';

/**
 * CBKE benchmark cases (ECQV, ECMQV, whole key establishment) — appended here by the CBKE code's
 * benchmark; they run after the curve cases in the `crypto` group.
 */
export const CBKE_CASES: BenchCase[] = [];

interface NativeResult { readonly us: number | null; readonly note?: string }

/** µs per ECDH from one `openssl speed -seconds 2 ecdhk163|ecdhk283` (1e6 / (op/s)); blocks meanwhile. */
function nativeEcdh(alg: Alg): NativeResult {
  let stdout: string;
  try {
    stdout = execFileSync('openssl', ['speed', '-seconds', '2', alg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { us: null, note: 'openssl command not found' };
    return { us: null, note: `openssl speed failed: ${(err as Error).message}` };
  }
  // e.g. " 163 bits ecdh (nistk163)   0.0001s   8064.5"
  const m = /ecdh \(nistk\d+\)\s+[\d.]+s\s+([\d.]+)/.exec(stdout);
  return m ? { us: 1e6 / Number(m[1]) } : { us: null, note: 'could not parse openssl speed output' };
}

type Alg = 'ecdhk163' | 'ecdhk283';

/**
 * Ours and node:crypto (timed runs interleaved) and native OpenSSL (`openssl speed` between the
 * rounds, our process idle meanwhile), so that load from other processes, which on a shared machine
 * comes and goes over seconds, weighs on all three alike. Medians over the rounds.
 */
function compare(ours: (i: number) => unknown, node: (i: number) => unknown, alg: Alg, rounds = 3) {
  const o: number[] = [], n: number[] = [], nat: number[] = [];
  let note: string | undefined;
  for (let r = 0; r < rounds; r++) {
    const [a, b] = interleavedMedianMicros([ours, node], { warmupMs: r === 0 ? 500 : 100, runs: 5 });
    o.push(a);
    n.push(b);
    const x = nativeEcdh(alg);
    if (x.us === null) note = x.note;
    else nat.push(x.us);
  }
  return { ours: median(o), node: median(n), native: { us: nat.length ? median(nat) : null, note } as NativeResult };
}

function randomScalar(curve: BinaryCurve): bigint {
  for (;;) {
    const d = bytesToBigInt(randomBytes(curve.fieldBytes)) % curve.n;
    if (d !== 0n) return d;
  }
}

const toBuf = (d: bigint, len: number) => Buffer.from(d.toString(16).padStart(2 * len, '0'), 'hex');

const POOL = 64;

/**
 * Variable-base multiplication (one ECDH: d·Q_peer, rotating through 64 scalars and peer points)
 * vs node:crypto computeSecret vs `openssl speed ecdhk…`.
 */
function scalarMultCase(label: string, curve: BinaryCurve, alg: Alg): BenchCase {
  return {
    name: `${label}-scalar-mult`,
    async run() {
      const ds = Array.from({ length: POOL }, () => randomScalar(curve));
      const peers = ds.map(() => curve.multiplyBase(randomScalar(curve))!);
      const ecdh = createECDH(curve.name);
      ecdh.setPrivateKey(toBuf(ds[0], curve.fieldBytes));
      const peerBufs = peers.map((P) => Buffer.from(curve.encodeUncompressed(P)));
      const { ours, node, native } = compare(
        (i) => curve.multiply(peers[i % POOL], ds[i % POOL]),
        (i) => ecdh.computeSecret(peerBufs[i % POOL]),
        alg,
      );
      return result(ours, node, native);
    },
  };
}

/** Fixed-base multiplication (key generation d·G) vs node:crypto setPrivateKey (which computes d·G). */
function baseMultCase(label: string, curve: BinaryCurve, alg: Alg): BenchCase {
  return {
    name: `${label}-base-mult`,
    async run() {
      const ds = Array.from({ length: POOL }, () => randomScalar(curve));
      const ecdh = createECDH(curve.name);
      const dBufs = ds.map((d) => toBuf(d, curve.fieldBytes));
      const { ours, node, native } = compare(
        (i) => curve.multiplyBase(ds[i % POOL]),
        (i) => ecdh.setPrivateKey(dBufs[i % POOL]),
        alg,
      );
      return {
        ...result(ours, node, native),
        native_note: native.note ?? 'openssl speed has no key-generation figure; its ECDH time is shown (OpenSSL computes k·G and k·Q with the same GF(2^m) ladder)',
      };
    },
  };
}

function result(ours: number, node: number, native: NativeResult): Record<string, unknown> {
  return {
    ours_us: round1(ours),
    node_openssl_us: round1(node),
    native_openssl_us: native.us === null ? null : round1(native.us),
    ratio_native: ratio(ours, native.us),
    ratio_node: ratio(ours, node),
    ...(native.note ? { native_note: native.note } : {}),
  };
}

export function cryptoCases(): readonly BenchCase[] {
  return [
    scalarMultCase('k163', sect163k1, 'ecdhk163'),
    scalarMultCase('k283', sect283k1, 'ecdhk283'),
    baseMultCase('k163', sect163k1, 'ecdhk163'),
    baseMultCase('k283', sect283k1, 'ecdhk283'),
    ...CBKE_CASES,
    ...cbkeCases(),
  ];
}
