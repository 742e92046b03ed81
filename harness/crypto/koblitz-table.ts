// Tables of affine points α_u·P for τ-adic scalar multiplication on Koblitz curves (a ∈ {0, 1},
// b = 1), built with few inversions: each α_u is written in plain τNAF (digits 0, ±1) and evaluated
// by Horner's rule, one "stage" per nonzero digit; every stage is a batch of affine additions
// τ^g(V) ± P that share one inversion (Montgomery's trick). For width 5 that is 2 inversions and
// about 7·(5M + S), against about 10 mixed additions plus a normalisation for projective Horner.
// Affine τ is two squarings. Exceptional additions (equal or opposite points, infinity) are handled,
// so P may have small order.
import type { BinaryField, Fe } from './gf2m.ts';

/** Affine points plus what the addition loop needs: x + y (y of −P) and comb tables of x, y, x + y. */
export interface PointTable {
  readonly count: number;
  readonly x: readonly Fe[];
  readonly y: readonly Fe[];
  readonly xy: readonly Fe[];
  readonly tx: readonly Int32Array[];
  readonly ty: readonly Int32Array[];
  readonly txy: readonly Int32Array[];
  /** 1 where the entry is the point at infinity (its coordinates are then zero and unused). */
  readonly inf: Uint8Array;
}

interface Affine { x: Fe; y: Fe; inf: boolean }

/**
 * How to evaluate a set of α_u on a point, worked out once per curve from their plain-τNAF digit
 * strings. Stage s holds points V = τ^shift(source) ± P, source being entry `src` of stage s − 1
 * (stage 0 is P alone); entry u of the result is sign·τ^shift(stage[stage][index]).
 */
export interface TablePlan {
  readonly stages: readonly (readonly { readonly src: number; readonly shift: number; readonly plus: boolean }[])[];
  readonly results: readonly { readonly stage: number; readonly index: number; readonly shift: number; readonly negate: boolean }[];
}

/**
 * Horner's rule for each digit string, top digit made +1: V_1 = P, V_(t+1) = τ^(p_t − p_(t+1))·V_t ±
 * P over the nonzero positions p_1 > p_2 > …; α·P = sign·τ^(p_last)·V_last. Strings with the same
 * digits from p_t upwards share V_t.
 */
export function planTable(alphaDigits: readonly Int8Array[]): TablePlan {
  const stages: { src: number; shift: number; plus: boolean }[][] = [];
  const plans = alphaDigits.map((d) => {
    const pos: number[] = [];
    for (let i = d.length - 1; i >= 0; i--) if (d[i] !== 0) pos.push(i);
    if (pos.length === 0) throw new RangeError('α digit string is zero');
    return { d, pos, sign: d[pos[0]], at: 0 };
  });
  for (let t = 1; plans.some((pl) => pl.pos.length > t); t++) {
    const memo = new Map<string, number>();
    const stage: { src: number; shift: number; plus: boolean }[] = [];
    for (const pl of plans) {
      if (pl.pos.length <= t) continue;
      const key = Array.from(pl.d.subarray(pl.pos[t]), (v) => v * pl.sign).join(',');
      let k = memo.get(key);
      if (k === undefined) {
        k = stage.length;
        memo.set(key, k);
        stage.push({ src: pl.at, shift: pl.pos[t - 1] - pl.pos[t], plus: pl.d[pl.pos[t]] * pl.sign > 0 });
      }
      pl.at = k;
    }
    stages.push(stage);
  }
  return {
    stages,
    results: plans.map((pl) => ({ stage: pl.pos.length - 1, index: pl.at, shift: pl.pos[pl.pos.length - 1], negate: pl.sign < 0 })),
  };
}

export interface TableBuilder {
  /** An empty table for `count` points, to be filled (and refilled) by `build`. */
  allocate(count: number): PointTable;
  /**
   * α_u·P for the digit strings `plan` was made from, written into `into` (a fresh table when
   * omitted): reusing a table spares allocating 3·count comb tables per scalar multiplication.
   */
  build(px: Fe, py: Fe, plan: TablePlan, into?: PointTable): PointTable;
  /** τ^s applied to every entry (for fixed-base tables split into blocks). */
  frobeniusTable(T: PointTable, s: number): PointTable;
}

export function tableBuilder(F: BinaryField, a: 0 | 1): TableBuilder {
  const W = F.W;
  const fe = () => new Int32Array(W);

  function tau(p: Affine, s: number): Affine {
    if (p.inf || s === 0) return p;
    return { x: F.sqrN(fe(), p.x, s), y: F.sqrN(fe(), p.y, s), inf: false };
  }

  function neg(p: Affine): Affine {
    return p.inf ? p : { x: p.x, y: F.add(fe(), p.x, p.y), inf: false };
  }

  /** A_i + B_i for all i with one inversion. HMV §3.1.2 (affine group law, binary curves). */
  function addBatch(A: readonly Affine[], B: readonly Affine[]): Affine[] {
    const out: (Affine | null)[] = [];
    const dens: Fe[] = [], slots: number[] = [], doubling: boolean[] = [];
    for (let i = 0; i < A.length; i++) {
      const p = A[i], q = B[i];
      if (p.inf) { out.push(q); continue; }
      if (q.inf) { out.push(p); continue; }
      if (!F.equals(p.x, q.x)) { out.push(null); dens.push(F.add(fe(), p.x, q.x)); slots.push(i); doubling.push(false); continue; }
      // Same x: q = p (doubling; a point with x = 0 has order 2) or q = −p.
      if (!F.equals(p.y, q.y) || F.isZero(p.x)) { out.push({ x: fe(), y: fe(), inf: true }); continue; }
      out.push(null); dens.push(F.copy(fe(), p.x)); slots.push(i); doubling.push(true);
    }
    const invs = batchInvert(dens);
    for (let j = 0; j < slots.length; j++) {
      const p = A[slots[j]], q = B[slots[j]];
      const lambda = fe(), x3 = fe(), y3 = fe();
      if (doubling[j]) {
        F.mul(lambda, p.y, invs[j]);
        F.add(lambda, lambda, p.x); // λ = x + y/x
        F.sqr(x3, lambda);
        F.add(x3, x3, lambda);
        if (a) x3[0] ^= 1; // x3 = λ² + λ + a
        F.sqr(y3, p.x);
        lambda[0] ^= 1;
        F.add(y3, y3, F.mul(lambda, lambda, x3)); // y3 = x² + (λ + 1)·x3
      } else {
        F.add(lambda, p.y, q.y);
        F.mul(lambda, lambda, invs[j]); // λ = (y1 + y2)/(x1 + x2)
        F.sqr(x3, lambda);
        F.add(x3, x3, lambda);
        F.add(x3, x3, dens[j]);
        if (a) x3[0] ^= 1; // x3 = λ² + λ + x1 + x2 + a
        F.add(y3, p.x, x3);
        F.mul(y3, y3, lambda);
        F.add(y3, y3, x3);
        F.add(y3, y3, p.y); // y3 = λ(x1 + x3) + x3 + y1
      }
      out[slots[j]] = { x: x3, y: y3, inf: false };
    }
    return out as Affine[];
  }

  /** Inverses of nonzero elements with one field inversion (Montgomery's trick). */
  function batchInvert(v: readonly Fe[]): Fe[] {
    if (v.length === 0) return [];
    const prefix: Fe[] = [F.copy(fe(), v[0])];
    for (let i = 1; i < v.length; i++) prefix.push(F.mul(fe(), prefix[i - 1], v[i]));
    let inv = F.inv(fe(), prefix[v.length - 1]);
    const out: Fe[] = new Array(v.length);
    for (let i = v.length - 1; i > 0; i--) {
      out[i] = F.mul(fe(), inv, prefix[i - 1]);
      inv = F.mul(fe(), inv, v[i]);
    }
    out[0] = inv;
    return out;
  }

  /** A table of `count` entries whose arrays are views of one buffer (comb tables are 16·W words). */
  function allocate(count: number): PointTable {
    const per = 3 * W + 3 * 16 * W;
    const slab = new Int32Array(count * per);
    const view = (i: number, off: number, len: number) => slab.subarray(i * per + off, i * per + off + len);
    const idx = Array.from({ length: count }, (_, i) => i);
    return {
      count,
      x: idx.map((i) => view(i, 0, W)), y: idx.map((i) => view(i, W, W)), xy: idx.map((i) => view(i, 2 * W, W)),
      tx: idx.map((i) => view(i, 3 * W, 16 * W)), ty: idx.map((i) => view(i, 19 * W, 16 * W)), txy: idx.map((i) => view(i, 35 * W, 16 * W)),
      inf: new Uint8Array(count),
    };
  }

  function finish(points: readonly Affine[], T: PointTable): PointTable {
    if (T.count !== points.length) throw new RangeError(`table has ${T.count} entries, need ${points.length}`);
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      F.copy(T.x[i], p.x);
      F.copy(T.y[i], p.y);
      F.add(T.xy[i], p.x, p.y);
      F.combTable(T.x[i], T.tx[i]);
      F.combTable(T.y[i], T.ty[i]);
      F.combTable(T.xy[i], T.txy[i]);
      T.inf[i] = p.inf ? 1 : 0;
    }
    return T;
  }

  function build(px: Fe, py: Fe, plan: TablePlan, into: PointTable = allocate(plan.results.length)): PointTable {
    const P: Affine = { x: px, y: py, inf: false };
    const Pn = neg(P);
    const levels: Affine[][] = [[P]];
    for (const stage of plan.stages) {
      const prev = levels[levels.length - 1];
      levels.push(addBatch(stage.map((op) => tau(prev[op.src], op.shift)), stage.map((op) => (op.plus ? P : Pn))));
    }
    return finish(plan.results.map((r) => {
      const v = tau(levels[r.stage][r.index], r.shift);
      return r.negate ? neg(v) : v;
    }), into);
  }

  function frobeniusTable(T: PointTable, s: number): PointTable {
    const pts: Affine[] = [];
    for (let i = 0; i < T.count; i++) pts.push(tau({ x: T.x[i], y: T.y[i], inf: T.inf[i] === 1 }, s));
    return finish(pts, allocate(T.count));
  }

  return { allocate, build, frobeniusTable };
}
