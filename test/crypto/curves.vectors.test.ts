// sect163k1 / sect283k1: the fast implementation (curves.ts: word-array GF(2^m), López–Dahab
// points, τNAF) against published values and against the slow BigInt reference
// (reference/binary-curve-ref.ts). Suites that check published values run on every implementation:
// fast, fast with the generic field loops instead of the generated kernels, and the reference.
// Vectors: SEC 2 v1.0 §3.2.1 / §3.5.1 (G, n, h; G in compressed form), vectors/cbke-suite1.json
// (SE Annex C.5), vectors/cbke-suite2.json (Annex C.6), vectors/ecmqv-gec2.json (GEC-2), each
// naming its own source. No `node:` imports: this file also runs in Chromium.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import suite1 from '../../vectors/cbke-suite1.json' with { type: 'json' };
import suite2 from '../../vectors/cbke-suite2.json' with { type: 'json' };
import gec2 from '../../vectors/ecmqv-gec2.json' with { type: 'json' };
import { bigIntToBytes, bytesToBigInt, bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { SECT163K1_PARAMS, SECT283K1_PARAMS } from '../../harness/crypto/curve-params.ts';
import { PointDecodingError, type AffinePoint, type BinaryCurve, type MaybePoint } from '../../harness/crypto/curve-types.ts';
import { curveByName, sect163k1, sect283k1 } from '../../harness/crypto/curves.ts';
import { binaryField } from '../../harness/crypto/gf2m.ts';
import { koblitzCurve } from '../../harness/crypto/koblitz.ts';
import { referenceField, sect163k1Ref, sect283k1Ref } from '../../harness/crypto/reference/binary-curve-ref.ts';
import { reduceInteger, tauContext, wtnaf, wtnafBigInt, zmul, znorm, type ZTau } from '../../harness/crypto/tau-adic.ts';

const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const big = (h: string) => bytesToBigInt(hexToBytes(h));
const same = (P: MaybePoint, Q: MaybePoint) => (P === null ? Q === null : Q !== null && P.x === Q.x && P.y === Q.y);
const show = (P: MaybePoint) => (P === null ? 'O' : `(${P.x.toString(16)}, ${P.y.toString(16)})`);

const PARAMS = [SECT163K1_PARAMS, SECT283K1_PARAMS];
const IMPLEMENTATIONS: { label: string; curves: [BinaryCurve, BinaryCurve] }[] = [
  { label: 'fast', curves: [sect163k1, sect283k1] },
  { label: 'fast, generic field loops', curves: [koblitzCurve(SECT163K1_PARAMS, { genericField: true }), koblitzCurve(SECT283K1_PARAMS, { genericField: true })] },
  { label: 'reference', curves: [sect163k1Ref, sect283k1Ref] },
];
const REF: Record<string, BinaryCurve> = { sect163k1: sect163k1Ref, sect283k1: sect283k1Ref };

/** SEC 2 v1.0 §3.2.1 / §3.5.1, "G = 03 02FE13C0…" and "G = 02 0503213F…" (compressed form). */
const SEC2_G_COMPRESSED: Record<string, string> = {
  sect163k1: '0302FE13C0537BBC11ACAA07D793DE4E6D5E5C94EEE8',
  sect283k1: '020503213F78CA44883F1A3B8162F188E553CD265F23C1567A16876913B0C2AC2458492836',
};

interface KeyPair { label: string; d: string; Q: string }
const KEY_PAIRS: Record<string, KeyPair[]> = {
  sect163k1: [
    { label: 'C.5 responder static', d: suite1.responder.privateKey, Q: suite1.responder.publicKey },
    { label: 'C.5 responder ephemeral', d: suite1.responder.ephemeralPrivateKey, Q: suite1.responder.ephemeralPublicKey },
    { label: 'C.5 initiator static', d: suite1.initiator.privateKey, Q: suite1.initiator.publicKey },
    { label: 'C.5 initiator ephemeral', d: suite1.initiator.ephemeralPrivateKey, Q: suite1.initiator.ephemeralPublicKey },
    { label: 'GEC-2 U static', d: gec2.U.staticPrivateKey, Q: gec2.U.staticPublicKey },
    { label: 'GEC-2 U ephemeral', d: gec2.U.ephemeralPrivateKey, Q: gec2.U.ephemeralPublicKey },
    { label: 'GEC-2 V static', d: gec2.V.staticPrivateKey, Q: gec2.V.staticPublicKey },
    { label: 'GEC-2 V ephemeral', d: gec2.V.ephemeralPrivateKey, Q: gec2.V.ephemeralPublicKey },
  ],
  sect283k1: [
    { label: 'C.6 responder static', d: suite2.responder.privateKey, Q: suite2.responder.publicKey },
    { label: 'C.6 responder ephemeral', d: suite2.responder.ephemeralPrivateKey, Q: suite2.responder.ephemeralPublicKey },
    { label: 'C.6 initiator static', d: suite2.initiator.privateKey, Q: suite2.initiator.publicKey },
    { label: 'C.6 initiator ephemeral', d: suite2.initiator.ephemeralPrivateKey, Q: suite2.initiator.ephemeralPublicKey },
  ],
};

interface Party { dS: string; QS: string; dE: string; QE: string }
interface MqvCase { label: string; curve: string; self: Party; peer: Party; Z: string }
const party = (p: { privateKey: string; publicKey: string; ephemeralPrivateKey: string; ephemeralPublicKey: string }): Party =>
  ({ dS: p.privateKey, QS: p.publicKey, dE: p.ephemeralPrivateKey, QE: p.ephemeralPublicKey });
const gecParty = (p: typeof gec2.U): Party => ({ dS: p.staticPrivateKey, QS: p.staticPublicKey, dE: p.ephemeralPrivateKey, QE: p.ephemeralPublicKey });
const MQV: MqvCase[] = [
  { label: 'C.5 initiator side', curve: 'sect163k1', self: party(suite1.initiator), peer: party(suite1.responder), Z: suite1.sharedSecret },
  { label: 'C.5 responder side', curve: 'sect163k1', self: party(suite1.responder), peer: party(suite1.initiator), Z: suite1.sharedSecret },
  { label: 'GEC-2 U side', curve: 'sect163k1', self: gecParty(gec2.U), peer: gecParty(gec2.V), Z: gec2.sharedSecret },
  { label: 'C.6 initiator side', curve: 'sect283k1', self: party(suite2.initiator), peer: party(suite2.responder), Z: suite2.sharedSecret },
];

/**
 * Cofactor ECMQV (SEC 1 §3.4, crypto.md §4.4) as one multiplyAdd:
 * P = h·s·QE_peer + h·s·avf(QE_peer)·QS_peer, avf(Q) = (x mod 2^L) + 2^L, L = ⌈⌈log2 n⌉/2⌉.
 */
function ecmqv(c: BinaryCurve, self: Party, peer: Party): MaybePoint {
  const L = BigInt(Math.ceil(c.orderBits / 2));
  const avf = (Q: AffinePoint) => (Q.x & ((1n << L) - 1n)) + (1n << L);
  const QEself = c.decompress(hexToBytes(self.QE)), QEpeer = c.decompress(hexToBytes(peer.QE));
  const s = (big(self.dE) + avf(QEself) * big(self.dS)) % c.n;
  const hs = (c.h * s) % c.n;
  return c.multiplyAdd(QEpeer, hs, c.decompress(hexToBytes(peer.QS)), (hs * avf(QEpeer)) % c.n);
}

/** Compressed encoding of x with prefix 02 (for hunting points and non-points). */
const encodeX = (c: BinaryCurve, x: bigint) => Uint8Array.of(0x02, ...bigIntToBytes(x, c.fieldBytes));

/** The first curve point at or after x (about half of all x have one). Usually not of order n. */
function pointNear(c: BinaryCurve, x: bigint): AffinePoint {
  for (let v = x; ; v = (v + 1n) & ((1n << BigInt(c.m)) - 1n)) {
    try { return c.decompress(encodeX(c, v)); } catch { /* no point with this x */ }
  }
}

function decodingError(fn: () => unknown): PointDecodingError {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(PointDecodingError);
    expect(e).toBeInstanceOf(RangeError);
    return e as PointDecodingError;
  }
  throw new Error('expected a PointDecodingError');
}

describe('GF(2^m): generated kernels, generic loops and the BigInt reference field agree', () => {
  for (const p of PARAMS) {
    const fast = binaryField(p.m, p.poly), generic = binaryField(p.m, p.poly, { generic: true });
    const ref = referenceField(p.m, p.poly);
    const elem = fc.bigInt({ min: 0n, max: (1n << BigInt(p.m)) - 1n });
    it(`${p.name}: mul, mulTable, sqr, inv, trace, half-trace, sqrt`, () => {
      fc.assert(fc.property(elem, elem, (a, b) => {
        const A = fast.fromBigInt(a), B = fast.fromBigInt(b);
        const prod = ref.mul(a, b);
        expect(fast.toBigInt(fast.mul(fast.zero(), A, B))).toBe(prod);
        expect(generic.toBigInt(generic.mul(generic.zero(), A, B))).toBe(prod);
        expect(fast.toBigInt(fast.mulTable(fast.zero(), A, fast.combTable(B)))).toBe(prod);
        expect(generic.toBigInt(generic.mulTable(generic.zero(), A, generic.combTable(B)))).toBe(prod);
        expect(fast.toBigInt(fast.sqr(fast.zero(), A))).toBe(ref.sqr(a));
        expect(generic.toBigInt(generic.sqr(generic.zero(), A))).toBe(ref.sqr(a));
        expect(fast.toBigInt(fast.sqr(fast.zero(), fast.sqrt(fast.zero(), A)))).toBe(a);
        if (a !== 0n) {
          expect(fast.toBigInt(fast.inv(fast.zero(), A))).toBe(ref.inv(a));
          expect(generic.toBigInt(generic.inv(generic.zero(), A))).toBe(ref.inv(a));
        }
        const z = fast.halfTrace(fast.zero(), A);
        const z2z = fast.add(fast.zero(), fast.sqr(fast.zero(), z), z);
        expect(fast.equals(z2z, A)).toBe(fast.trace(A) === 0); // z² + z = a exactly when Tr(a) = 0
      }), { numRuns: 150 });
      // The reference trace costs m BigInt squarings: fewer runs.
      fc.assert(fc.property(elem, (a) => { expect(BigInt(fast.trace(fast.fromBigInt(a)))).toBe(ref.trace(a)); }), { numRuns: 15 });
    });
    it(`${p.name}: edge elements (0, 1, z^(m−1), all ones) and argument checks`, () => {
      for (const a of [0n, 1n, 1n << BigInt(p.m - 1), (1n << BigInt(p.m)) - 1n]) {
        const A = fast.fromBigInt(a);
        expect(fast.toBigInt(fast.mul(fast.zero(), A, A))).toBe(ref.mul(a, a));
        expect(fast.toBigInt(fast.sqr(fast.zero(), A))).toBe(ref.sqr(a));
      }
      expect(() => fast.inv(fast.zero(), fast.zero())).toThrow(RangeError);
      expect(() => fast.fromBigInt(1n << BigInt(p.m))).toThrow(RangeError);
      expect(() => fast.fromBigInt(-1n)).toThrow(RangeError);
      expect(() => binaryField(p.m, p.poly ^ 1n)).toThrow(RangeError);
    });
  }
});

describe('τ-adic representations (Solinas; HMV §3.4)', () => {
  for (const p of PARAMS) {
    const a = Number(p.a) as 0 | 1;
    it(`${p.name}: #E = N(τ^m − 1) = 2^m + 1 − t = h·n, |t| ≤ 2·2^(m/2) (Hasse)`, () => {
      const ctx = tauContext(a, p.m, 5);
      const order = znorm(ctx.mu, ctx.tauMMinus1);
      expect(order).toBe(p.h * p.n);
      const t = (1n << BigInt(p.m)) + 1n - order;
      expect(t * t <= 4n * (1n << BigInt(p.m))).toBe(true);
    });
    for (const w of [2, 4, 5, 6, 8]) {
      it(`${p.name}, w = ${w}: digits of the reduced scalar evaluate to it, and the limb and BigInt forms agree`, () => {
        const ctx = tauContext(a, p.m, w);
        const tau: ZTau = [0n, 1n];
        fc.assert(fc.property(fc.bigInt({ min: -(1n << BigInt(p.m + 40)), max: 1n << BigInt(p.m + 40) }), (k) => {
          const [r0, r1] = reduceInteger(ctx.mu, k, ctx.tauMMinus1);
          // k − ρ is a multiple of τ^m − 1: (k − ρ)·conj(γ) ≡ 0 (mod N(γ)) componentwise.
          const [g0, g1] = ctx.tauMMinus1, N = znorm(ctx.mu, ctx.tauMMinus1);
          const [q0, q1] = zmul(ctx.mu, [k - r0, -r1], [g0 + BigInt(ctx.mu) * g1, -g1]);
          expect(q0 % N).toBe(0n);
          expect(q1 % N).toBe(0n);
          expect(znorm(ctx.mu, [r0, r1]) < N).toBe(true);
          const d1 = new Int8Array(p.m + 16), d2 = new Int8Array(p.m + 16);
          const len = wtnaf(ctx, r0, r1, d1);
          expect(wtnafBigInt(ctx, r0, r1, d2)).toBe(len);
          expect(Array.from(d1)).toEqual(Array.from(d2));
          let acc: ZTau = [0n, 0n];
          for (let i = len - 1; i >= 0; i--) {
            acc = zmul(ctx.mu, acc, tau);
            if (d1[i] !== 0) {
              const [x, y] = ctx.alphas[(Math.abs(d1[i]) - 1) >> 1];
              acc = d1[i] > 0 ? [acc[0] + x, acc[1] + y] : [acc[0] - x, acc[1] - y];
              for (let j = 1; j < w && i - j >= 0; j++) expect(d1[i - j]).toBe(0); // width-w: w − 1 zeros follow
            }
          }
          expect(acc).toEqual([r0, r1]);
        }), { numRuns: 60 });
      });
    }
  }
});

for (const impl of IMPLEMENTATIONS) {
  describe(`${impl.label}: domain parameters, encodings and published key pairs`, () => {
    for (const c of impl.curves) {
      it(`${c.name}: G on the curve, n·G = O, sizes`, () => {
        expect(c.isOnCurve(c.G)).toBe(true);
        expect(c.multiplyBase(c.n)).toBeNull();
        expect(c.multiply(c.G, c.n)).toBeNull();
        expect(same(c.multiplyBase(1n), c.G)).toBe(true);
        expect(same(c.multiplyBase(c.n - 1n), c.negate(c.G))).toBe(true);
        expect(c.fieldBytes).toBe(c.m === 163 ? 21 : 36);
        expect(c.orderBits).toBe(c.m === 163 ? 163 : 281);
        expect(c.validatePublicKey(c.G)).toBeNull();
      });
      it(`${c.name}: SEC 2 compressed G`, () => {
        expect(hex(c.compress(c.G))).toBe(SEC2_G_COMPRESSED[c.name]);
        expect(same(c.decompress(hexToBytes(SEC2_G_COMPRESSED[c.name])), c.G)).toBe(true);
        expect(same(c.decodeUncompressed(c.encodeUncompressed(c.G)), c.G)).toBe(true);
      });
      for (const kp of KEY_PAIRS[c.name]) {
        it(`${c.name}: ${kp.label}: d·G = Q`, () => {
          const Q = c.multiplyBase(big(kp.d));
          expect(Q).not.toBeNull();
          expect(hex(c.compress(Q!))).toBe(kp.Q);
          expect(same(c.decompress(hexToBytes(kp.Q)), Q)).toBe(true);
        });
      }
      for (const v of MQV.filter((x) => x.curve === c.name)) {
        it(`${c.name}: ECMQV ${v.label} through multiplyAdd gives the published Z`, () => {
          const P = ecmqv(c, v.self, v.peer);
          expect(P).not.toBeNull();
          expect(hex(bigIntToBytes(P!.x, c.fieldBytes))).toBe(v.Z);
        });
      }
      it(`${c.name}: point decoding errors say why`, () => {
        const good = hexToBytes(SEC2_G_COMPRESSED[c.name]);
        expect(decodingError(() => c.decompress(good.subarray(1))).reason).toMatch(new RegExp(`${c.fieldBytes + 1} bytes, got ${c.fieldBytes}`));
        for (const prefix of [0x00, 0x01, 0x04, 0x05, 0x12]) {
          const bad = good.slice();
          bad[0] = prefix;
          expect(decodingError(() => c.decompress(bad)).reason).toMatch(/prefix/);
        }
        const high = Uint8Array.of(0x02, ...new Uint8Array(c.fieldBytes).fill(0xff));
        expect(decodingError(() => c.decompress(high)).reason).toMatch(/not a field element/);
        let x = 1n;
        while (pointNear(REF[c.name], x).x === x) x++; // the first x ≥ 1 with no point
        expect(decodingError(() => c.decompress(encodeX(c, x))).reason).toMatch(/no curve point has this x/);
        expect(() => c.decompress(new Uint16Array(3) as unknown as Uint8Array)).toThrow(TypeError);
        const un = c.encodeUncompressed(c.G);
        expect(() => c.decodeUncompressed(un.subarray(1))).toThrow(PointDecodingError);
        expect(() => c.decodeUncompressed(Uint8Array.of(0x03, ...un.subarray(1)))).toThrow(PointDecodingError);
        const offCurve = un.slice();
        offCurve[offCurve.length - 1] ^= 1;
        expect(decodingError(() => c.decodeUncompressed(offCurve)).reason).toMatch(/not on the curve/);
      });
      it(`${c.name}: public-key validation (SEC 1 §3.2.2.1)`, () => {
        expect(c.validatePublicKey(null)).toMatch(/infinity/);
        expect(c.validatePublicKey({ x: c.G.x, y: c.G.y ^ 1n })).toMatch(/not on the curve/);
        expect(c.validatePublicKey({ x: c.G.x | (1n << BigInt(c.m)), y: c.G.y })).toMatch(/not a field element/);
        expect(c.validatePublicKey({ x: 0n, y: 1n })).toMatch(/subgroup/); // order 2
        const Q = c.multiplyBase(big(KEY_PAIRS[c.name][0].d))!;
        expect(c.validatePublicKey(Q)).toBeNull();
        expect(c.validatePublicKey(c.add(Q, { x: 0n, y: 1n }))).toMatch(/subgroup/); // order 2n
      });
    }
  });
}

describe('fast implementation against the reference (random scalars and points)', () => {
  for (const [fast, runs] of [[sect163k1, 1], [sect283k1, 0.4]] as const) {
    const ref = REF[fast.name];
    const n = fast.n, m = BigInt(fast.m);
    const scalar = fc.oneof(
      fc.bigInt({ min: 0n, max: n - 1n }),
      fc.bigInt({ min: 0n, max: (1n << (m + 64n)) - 1n }), // beyond n and #E: no reduction mod n
      fc.bigInt({ min: 0n, max: 1n << 40n }),
      fc.constantFrom(0n, 1n, 2n, 3n, n - 1n, n, n + 1n, fast.h * n - 1n, fast.h * n, fast.h * n + 1n),
    );
    const subgroupPoint = fc.bigInt({ min: 1n, max: n - 1n }).map((k) => fast.multiplyBase(k)!);
    const anyPoint = fc.bigInt({ min: 0n, max: (1n << m) - 1n }).map((x) => pointNear(fast, x));
    const numRuns = (k: number) => Math.max(4, Math.round(k * runs));

    it(`${fast.name}: multiplyBase(k) = k·G`, () => {
      fc.assert(fc.property(scalar, (k) => {
        expect(show(fast.multiplyBase(k))).toBe(show(ref.multiply(ref.G, k % n)));
      }), { numRuns: numRuns(50) });
    });
    it(`${fast.name}: multiply(P, k) for P in the subgroup of order n`, () => {
      fc.assert(fc.property(subgroupPoint, scalar, (P, k) => {
        expect(show(fast.multiply(P, k))).toBe(show(ref.multiply(P, k)));
      }), { numRuns: numRuns(40) });
    });
    it(`${fast.name}: multiply(P, k) for arbitrary curve points (mostly not of order n)`, () => {
      fc.assert(fc.property(anyPoint, scalar, (P, k) => {
        expect(ref.isOnCurve(P)).toBe(true);
        expect(show(fast.multiply(P, k))).toBe(show(ref.multiply(P, k)));
      }), { numRuns: numRuns(40) });
    });
    it(`${fast.name}: multiplyAdd = k1·P1 + k2·P2 (G, subgroup and other points)`, () => {
      const point = fc.oneof(subgroupPoint, anyPoint, fc.constant(fast.G));
      fc.assert(fc.property(point, scalar, point, scalar, (P1, k1, P2, k2) => {
        expect(show(fast.multiplyAdd(P1, k1, P2, k2))).toBe(show(fast.add(fast.multiply(P1, k1), fast.multiply(P2, k2))));
      }), { numRuns: numRuns(100) });
      fc.assert(fc.property(point, scalar, point, scalar, (P1, k1, P2, k2) => {
        expect(show(fast.multiplyAdd(P1, k1, P2, k2))).toBe(show(ref.add(ref.multiply(P1, k1), ref.multiply(P2, k2))));
      }), { numRuns: numRuns(8) });
    });
    it(`${fast.name}: add, negate, doubling, P + (−P), compress round trip`, () => {
      const maybe = fc.oneof(anyPoint, subgroupPoint, fc.constant(null));
      fc.assert(fc.property(maybe, maybe, (P, Q) => {
        expect(show(fast.add(P, Q))).toBe(show(ref.add(P, Q)));
        expect(show(fast.add(P, P))).toBe(show(ref.add(P, P)));
        expect(fast.add(P, fast.negate(P))).toBeNull();
        expect(show(fast.negate(P))).toBe(show(ref.negate(P)));
        if (P) {
          expect(same(fast.decompress(fast.compress(P)), P)).toBe(true);
          expect(hex(fast.compress(P))).toBe(hex(ref.compress(P)));
          expect(same(fast.decodeUncompressed(fast.encodeUncompressed(P)), P)).toBe(true);
        }
      }), { numRuns: 150 });
    });
    it(`${fast.name}: (k1 + k2)·P = k1·P + k2·P and k1·(k2·P) = (k1·k2)·P on arbitrary points`, () => {
      fc.assert(fc.property(anyPoint, scalar, scalar, (P, k1, k2) => {
        expect(show(fast.multiply(P, k1 + k2))).toBe(show(fast.add(fast.multiply(P, k1), fast.multiply(P, k2))));
        const Q = fast.multiply(P, k2);
        expect(show(Q === null ? null : fast.multiply(Q, k1))).toBe(show(fast.multiply(P, k1 * k2)));
      }), { numRuns: 100 });
    });
    it(`${fast.name}: group order: h·n·P = O for every point, n·P = O only in the subgroup`, () => {
      fc.assert(fc.property(anyPoint, (P) => {
        expect(fast.multiply(P, fast.h * n)).toBeNull();
        const nP = fast.multiply(P, n);
        expect(fast.validatePublicKey(P) === null).toBe(nP === null);
        if (nP) expect(fast.multiply(nP, fast.h)).toBeNull(); // n·P has order dividing h
      }), { numRuns: 40 });
    });
  }
});

describe('points of small order (outside the subgroup of order n)', () => {
  const order2 = { x: 0n, y: 1n }; // y² = b = 1
  for (const c of [sect163k1, sect283k1]) {
    it(`${c.name}: (0, 1) has order 2 and decompresses from x = 0`, () => {
      expect(c.isOnCurve(order2)).toBe(true);
      expect(same(c.decompress(encodeX(c, 0n)), order2)).toBe(true);
      expect(hex(c.compress(order2))).toBe(hex(encodeX(c, 0n)));
      expect(c.add(order2, order2)).toBeNull();
      for (const k of [0n, 1n, 2n, 3n, 4n, 5n, c.n, c.n + 1n, (1n << 200n) + 1n]) {
        expect(show(c.multiply(order2, k)), `k = ${k}`).toBe(show(k % 2n ? order2 : null));
      }
      expect(show(c.multiplyAdd(order2, 3n, c.G, 2n))).toBe(show(c.add(order2, c.multiplyBase(2n))));
    });
  }
  it('sect283k1: (1, 0) and (1, 1) have order 4 (h = 4)', () => {
    const c = sect283k1;
    const P4 = { x: 1n, y: 0n }, P4n = { x: 1n, y: 1n };
    expect(c.isOnCurve(P4) && c.isOnCurve(P4n)).toBe(true);
    expect(same(c.negate(P4), P4n)).toBe(true);
    expect(same(c.add(P4, P4), order2)).toBe(true);
    for (let k = 0n; k < 12n; k++) {
      const want = [null, P4, order2, P4n][Number(k % 4n)];
      expect(show(c.multiply(P4, k)), `k = ${k}`).toBe(show(want));
    }
    // A point of order 4n: multiples mix both components.
    const R = c.add(c.multiplyBase(12345n), P4)!;
    for (const k of [3n, c.n + 2n, 4n * c.n - 1n]) {
      expect(show(c.multiply(R, k)), `k = ${k}`).toBe(show(sect283k1Ref.multiply(R, k)));
    }
    expect(c.validatePublicKey(P4)).toMatch(/subgroup/);
  });
  it('sect163k1 has no point with x = 1 (h = 2: no points of order 4)', () => {
    expect(decodingError(() => sect163k1.decompress(encodeX(sect163k1, 1n))).reason).toMatch(/no curve point/);
  });
});

describe('curves.ts', () => {
  it('curveByName', () => {
    expect(curveByName('sect163k1')).toBe(sect163k1);
    expect(curveByName('sect283k1')).toBe(sect283k1);
    expect(() => curveByName('secp256r1')).toThrow(/unknown curve "secp256r1"/);
  });
  it('rejects wrong argument types and points off the curve', () => {
    expect(() => sect163k1.multiply(sect163k1.G, 5 as unknown as bigint)).toThrow(TypeError);
    expect(() => sect163k1.multiply({ x: 1n, y: 1n }, 5n)).toThrow(/not a point of sect163k1/);
    expect(() => sect163k1.multiplyAdd(sect163k1.G, 1n, { x: 1n, y: 1n }, 1n)).toThrow(RangeError);
  });
  it('negative scalars give the negated multiple (as the reference does)', () => {
    const P = sect163k1.multiplyBase(777n)!;
    expect(show(sect163k1.multiply(P, -5n))).toBe(show(sect163k1Ref.multiply(P, -5n)));
    expect(show(sect283k1.multiplyBase(-5n))).toBe(show(sect283k1.negate(sect283k1.multiplyBase(5n))));
  });
});
