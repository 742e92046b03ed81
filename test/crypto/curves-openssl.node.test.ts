// Our sect163k1 / sect283k1 against OpenSSL (node:crypto) on 10^4 random private keys per curve:
// multiplyBase(d) must equal the public key OpenSSL computes for d, and our ECDH x-coordinate
// x(d·Q_peer) must equal OpenSSL's computeSecret. Keys come in pairs (d_i, d_(i+1)): each is the
// other's peer, so one OpenSSL computeSecret checks two of our multiplications, d_i·Q_(i+1) and
// d_(i+1)·Q_i, with both Q computed by OpenSSL. OpenSSL runs in a worker thread, so its work and
// ours overlap on a multi-core machine; results come back in chunks.
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import type { BinaryCurve } from '../../harness/crypto/curve-types.ts';
import { sect163k1, sect283k1 } from '../../harness/crypto/curves.ts';

const KEYS = 10_000;
const CHUNK = 500;

// CommonJS source of the worker: for each key pair, both public keys and the shared x-coordinate.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createECDH } = require('node:crypto');
const { curve, keys, chunk } = workerData;
const a = createECDH(curve), b = createECDH(curve);
for (let start = 0; start < keys.length; start += chunk) {
  const pubs = [], secrets = [];
  for (let i = start; i < Math.min(start + chunk, keys.length); i += 2) {
    a.setPrivateKey(keys[i], 'hex');
    b.setPrivateKey(keys[i + 1], 'hex');
    pubs.push(a.getPublicKey('hex'), b.getPublicKey('hex'));
    secrets.push(a.computeSecret(b.getPublicKey()).toString('hex'));
  }
  parentPort.postMessage({ start, pubs, secrets });
}
`;

interface Chunk { start: number; pubs: string[]; secrets: string[] }

/** Private keys in [1, n − 1]: fast-check's biased sample (small, large, near-n values) plus edges. */
function privateKeys(c: BinaryCurve, seed: number): bigint[] {
  const edges = [1n, 2n, 3n, c.n - 1n, c.n - 2n, 1n << BigInt(c.orderBits - 2), (1n << 64n) - 1n, c.n >> 1n];
  const sample = fc.sample(fc.bigInt({ min: 1n, max: c.n - 1n }), { numRuns: KEYS - edges.length, seed });
  return [...edges, ...sample];
}

async function checkAgainstOpenssl(c: BinaryCurve): Promise<void> {
  const seed = Date.now() ^ (Math.random() * 2 ** 31);
  const keys = privateKeys(c, seed);
  const keyHex = keys.map((d) => bytesToHex(bigIntToBytes(d, c.fieldBytes)));
  const failures: string[] = [];
  let checked = 0;
  const consume = ({ start, pubs, secrets }: Chunk) => {
    for (let j = 0; j < pubs.length; j++) {
      const d = keys[start + j];
      const ours = bytesToHex(c.encodeUncompressed(c.multiplyBase(d)!));
      if (ours !== pubs[j]) failures.push(`d = 0x${d.toString(16)}: multiplyBase ${ours}, OpenSSL ${pubs[j]}`);
    }
    for (let p = 0; p < secrets.length; p++) {
      const i = start + 2 * p;
      const Qi = c.decodeUncompressed(hexToBytes(pubs[2 * p])), Qj = c.decodeUncompressed(hexToBytes(pubs[2 * p + 1]));
      for (const [d, Q] of [[keys[i], Qj], [keys[i + 1], Qi]] as const) {
        const P = c.multiply(Q, d);
        const ours = P === null ? 'infinity' : bytesToHex(bigIntToBytes(P.x, c.fieldBytes));
        if (ours !== secrets[p]) failures.push(`d = 0x${d.toString(16)}, Q = ${bytesToHex(c.encodeUncompressed(Q))}: x(d·Q) ${ours}, OpenSSL ${secrets[p]}`);
      }
    }
    checked += pubs.length;
  };
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { curve: c.name, keys: keyHex, chunk: CHUNK } });
    worker.on('message', (msg: Chunk) => {
      try { consume(msg); } catch (e) { reject(e); }
      if (checked === keys.length) resolve();
    });
    worker.on('error', reject);
    worker.on('exit', (code) => { if (checked !== keys.length) reject(new Error(`OpenSSL worker exited (${code}) after ${checked} keys`)); });
  });
  expect(failures.slice(0, 5), `fast-check seed ${seed}; ${failures.length} failures`).toEqual([]);
  expect(checked).toBe(KEYS);
}

describe('fast curves against OpenSSL (node:crypto), 10^4 private keys per curve', () => {
  for (const c of [sect163k1, sect283k1]) {
    it(`${c.name}: public keys d·G and ECDH x(d·Q_peer)`, () => checkAgainstOpenssl(c), 120_000);
  }
});
