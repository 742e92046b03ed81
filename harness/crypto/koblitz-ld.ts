// Point arithmetic for Koblitz curves y² + xy = x³ + a·x² + 1 over GF(2^m) in López–Dahab (LD)
// projective coordinates: (X : Y : Z) is the affine point (X/Z, Y/Z²), Z = 0 is infinity.
// Formulas: HMV §3.2.3 (LD doubling; mixed LD–affine addition, 8M + 5S, four of the eight
// multiplications by the affine point's coordinates, whose comb tables the PointTable caches),
// Frobenius τ(X : Y : Z) = (X² : Y² : Z²) (3S). Scalar multiplication evaluates τ-adic digit
// strings (tau-adic.ts) against tables of affine points α_u·P (koblitz-table.ts), left to right,
// one τ per digit position and one mixed addition per nonzero digit.
//
// Exceptional cases of the addition formula (adding ±Q to Q, infinity) are handled explicitly, so
// points outside the subgroup of order n, including the points of order 2 and 4, work too.
// Not constant-time (see gf2m.ts).
import type { BinaryField, Fe } from './gf2m.ts';
import type { PointTable } from './koblitz-table.ts';

/** One τ-adic expansion to evaluate: digit i (coefficient of τ^i) ±u selects ±table entry (u − 1)/2. */
export interface Expansion {
  readonly digits: Int8Array;
  readonly length: number;
  readonly table: PointTable;
}

export interface LdEngine {
  /** Σ_j Σ_i d_ji·τ^i(T_j) into (ox, oy); returns false (and leaves them alone) for infinity. */
  evaluate(expansions: readonly Expansion[], ox: Fe, oy: Fe): boolean;
}

export function ldEngine(F: BinaryField, a: 0 | 1): LdEngine {
  const W = F.W;
  const fe = () => new Int32Array(W);
  // Accumulator and temporaries (scratch owned by this engine; see gf2m.ts on sharing).
  const X = fe(), Y = fe(), Z = fe();
  const t1 = fe(), t2 = fe(), tA = fe(), tB = fe(), tC = fe(), tD = fe(), tE = fe(), tF = fe();
  let inf = true;

  function isZeroFe(v: Fe): boolean {
    let d = 0;
    for (let i = 0; i < W; i++) d |= v[i];
    return d === 0;
  }

  function xorInto(out: Fe, v: Fe): void {
    for (let i = 0; i < W; i++) out[i] ^= v[i];
  }

  function setAffine(x: Fe, y: Fe): void {
    for (let i = 0; i < W; i++) { X[i] = x[i]; Y[i] = y[i]; Z[i] = 0; }
    Z[0] = 1;
    inf = false;
  }

  /** (X : Y : Z) ← 2·(X : Y : Z); b = 1. HMV Alg. 3.24 (López–Dahab doubling). */
  function double(): void {
    if (inf) return;
    F.sqr(t1, X); // X²
    F.sqr(t2, Z); // Z²
    F.mul(Z, t1, t2); // Z3 = X²Z²
    if (isZeroFe(Z)) { inf = true; return; } // X = 0: the point of order 2
    F.sqr(t1, t1); // X⁴
    F.sqr(t2, t2); // Z⁴ = b·Z⁴
    F.add(X, t1, t2); // X3 = X⁴ + bZ⁴
    F.sqr(tA, Y); // Y²
    xorInto(tA, t2); // Y² + bZ⁴
    if (a) xorInto(tA, Z); // + aZ3
    F.mul(tA, tA, X); // X3·(aZ3 + Y² + bZ⁴)
    F.mul(t2, t2, Z); // bZ⁴·Z3
    F.add(Y, tA, t2);
  }

  /**
   * (X : Y : Z) ← (X : Y : Z) + (x2, y2) with x2, y2 entry i of T, negated when neg (y2 := x2 + y2).
   * HMV Alg. 3.25 (LD–affine addition) with a ∈ {0, 1}.
   */
  function addMixed(T: PointTable, i: number, neg: boolean): void {
    const x2 = T.x[i], y2 = neg ? T.xy[i] : T.y[i];
    if (inf) { setAffine(x2, y2); return; }
    const tx = T.tx[i], ty = neg ? T.txy[i] : T.ty[i], txy = neg ? T.ty[i] : T.txy[i];
    F.sqr(t1, Z); // Z1²
    F.mulTable(tA, t1, ty);
    xorInto(tA, Y); // A = y2·Z1² + Y1
    F.mulTable(tB, Z, tx);
    xorInto(tB, X); // B = x2·Z1 + X1
    if (isZeroFe(tB)) {
      // Same x: the points are equal (A = 0) or opposite.
      if (isZeroFe(tA)) { setAffine(x2, y2); double(); } else inf = true;
      return;
    }
    F.mul(tC, Z, tB); // C = Z1·B
    if (a) F.add(tD, tC, t1); else F.copy(tD, tC); // C + a·Z1²
    F.sqr(t2, tB);
    F.mul(tD, tD, t2); // D = B²·(C + a·Z1²)
    F.sqr(Z, tC); // Z3 = C²
    F.mul(tE, tA, tC); // E = A·C
    F.sqr(X, tA);
    xorInto(X, tD);
    xorInto(X, tE); // X3 = A² + D + E
    F.mulTable(tF, Z, tx);
    xorInto(tF, X); // F = X3 + x2·Z3
    F.sqr(t2, Z);
    F.mulTable(t2, t2, txy); // G = (x2 + y2)·Z3²
    xorInto(tE, Z); // E + Z3
    F.mul(Y, tE, tF);
    xorInto(Y, t2); // Y3 = (E + Z3)·F + G
  }

  function frobenius(): void {
    if (inf) return;
    F.sqr(X, X);
    F.sqr(Y, Y);
    F.sqr(Z, Z);
  }

  function evaluateInto(expansions: readonly Expansion[]): void {
    inf = true;
    let len = 0;
    for (const e of expansions) len = Math.max(len, e.length);
    for (let i = len - 1; i >= 0; i--) {
      frobenius();
      for (let j = 0; j < expansions.length; j++) {
        const e = expansions[j];
        if (i >= e.length) continue;
        const d = e.digits[i];
        if (d === 0) continue;
        const idx = (d > 0 ? d - 1 : -d - 1) >> 1;
        if (e.table.inf[idx] === 0) addMixed(e.table, idx, d < 0);
      }
    }
  }

  function evaluate(expansions: readonly Expansion[], ox: Fe, oy: Fe): boolean {
    evaluateInto(expansions);
    const finite = !inf;
    if (finite) {
      F.inv(t1, Z);
      F.mul(ox, X, t1);
      F.sqr(t1, t1);
      F.mul(oy, Y, t1);
    }
    // The accumulator went through multiples of P that depend on the scalar's digits.
    for (const v of [X, Y, Z, tA, tB]) v.fill(0);
    inf = true;
    return finite;
  }

  return { evaluate };
}
