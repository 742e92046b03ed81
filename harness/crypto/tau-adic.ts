// τ-adic scalar representations for Koblitz curves E_a: y² + xy = x³ + a·x² + 1 over GF(2^m).
//
// The Frobenius map τ(x, y) = (x², y²) satisfies τ² − μτ + 2 = 0 with μ = (−1)^(1−a), so Z[τ] acts
// on the curve and k·P can be computed as Σ d_i·τ^i(P) with sparse digits. Algorithms: Solinas,
// "Efficient arithmetic on Koblitz curves", DCC 19 (2000); Hankerson–Menezes–Vanstone, "Guide to
// ECC" (HMV) §3.4: rounding in Z[τ] (Alg. 3.61), reduction, width-w τNAF (Alg. 3.69).
//
// Reduction is modulo τ^m − 1, not modulo δ = (τ^m − 1)/(τ − 1): τ^m is the identity on every point
// of E(GF(2^m)), so ρ ≡ k (mod τ^m − 1) gives ρ·P = k·P for all points, including those outside the
// subgroup of order n (δ only annihilates that subgroup). The price is about log2(h) extra digits.

/** x + y·τ. */
export type ZTau = readonly [bigint, bigint];

export interface TauContext {
  readonly mu: 1 | -1;
  readonly m: number;
  /** Window width w ≥ 2. */
  readonly w: number;
  /** t_w = φ_w(τ), the image of τ in Z[τ]/(τ^w) ≅ Z/2^w: 2·U_{w−1}·U_w⁻¹ mod 2^w (HMV §3.4). */
  readonly tw: number;
  /** α_u = u mods τ^w for odd u = 1, 3, …, 2^(w−1) − 1, at index (u − 1)/2. */
  readonly alphas: readonly ZTau[];
  /** The same α_u as 32-bit integers: β_u, γ_u at [u − 1], [u] (α_u = β_u + γ_u·τ). */
  readonly alphaLimbs: Int32Array;
  /** τ^m − 1. */
  readonly tauMMinus1: ZTau;
}

export function zmul(mu: 1 | -1, [a0, a1]: ZTau, [b0, b1]: ZTau): ZTau {
  const m = BigInt(mu);
  const t = a1 * b1; // τ² = μτ − 2
  return [a0 * b0 - 2n * t, a0 * b1 + a1 * b0 + m * t];
}

export function znorm(mu: 1 | -1, [x, y]: ZTau): bigint {
  return x * x + BigInt(mu) * x * y + 2n * y * y;
}

export function zpow(mu: 1 | -1, base: ZTau, e: number): ZTau {
  let r: ZTau = [1n, 0n];
  for (let i = 0; i < e; i++) r = zmul(mu, r, base);
  return r;
}

/** ⌊a/b⌋ for b > 0. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a < 0n && q * b !== a ? q - 1n : q;
}

/**
 * Rounds λ = (n0 + n1·τ)/d (d > 0) to a nearby element of Z[τ] so that N(λ − q) ≤ 4/7.
 * @spec HMV Algorithm 3.61
 */
export function roundZTau(mu: 1 | -1, n0: bigint, n1: bigint, d: bigint): ZTau {
  const M = BigInt(mu);
  const f0 = floorDiv(2n * n0 + d, 2n * d), f1 = floorDiv(2n * n1 + d, 2n * d);
  // η_i·d as integers.
  const e0 = n0 - f0 * d, e1 = n1 - f1 * d;
  const eta = 2n * e0 + M * e1;
  let h0 = 0n, h1 = 0n;
  if (eta >= d) {
    if (e0 - 3n * M * e1 < -d) h1 = M;
    else h0 = 1n;
  } else if (e0 + 4n * M * e1 >= 2n * d) h1 = M;
  if (eta < -d) {
    if (e0 - 3n * M * e1 >= d) h1 = -M;
    else h0 = -1n;
  } else if (e0 + 4n * M * e1 < -2n * d) h1 = -M;
  return [f0 + h0, f1 + h1];
}

/** r ≡ k (mod γ) with N(r) < N(γ): k − round(k/γ)·γ, k an integer. */
export function reduceInteger(mu: 1 | -1, k: bigint, gamma: ZTau): ZTau {
  const [g0, g1] = gamma;
  const M = BigInt(mu);
  // k/γ = k·γ̄/N(γ), γ̄ = (g0 + μ·g1) − g1·τ.
  const q = roundZTau(mu, k * (g0 + M * g1), -k * g1, znorm(mu, gamma));
  const qg = zmul(mu, q, gamma);
  return [k - qg[0], -qg[1]];
}

/** Lucas sequence U_0 = 0, U_1 = 1, U_{k+1} = μ·U_k − 2·U_{k−1} (so τ^k = U_k·τ − 2·U_{k−1}). */
function lucasU(mu: 1 | -1, k: number): bigint {
  let u0 = 0n, u1 = 1n;
  for (let i = 0; i < k; i++) [u0, u1] = [u1, BigInt(mu) * u1 - 2n * u0];
  return u0;
}

function modInverse(a: bigint, mod: bigint): bigint {
  let [r0, r1, s0, s1] = [((a % mod) + mod) % mod, mod, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return ((s0 % mod) + mod) % mod;
}

/** Constants for width-w τNAF on the Koblitz curve with parameter a over GF(2^m). */
export function tauContext(a: 0 | 1, m: number, w: number): TauContext {
  if (!Number.isInteger(w) || w < 2 || w > 8) throw new RangeError(`τNAF width must be 2..8, got ${w}`);
  const mu: 1 | -1 = a === 1 ? 1 : -1;
  const W = 1n << BigInt(w);
  const tw = (((2n * lucasU(mu, w - 1) * modInverse(lucasU(mu, w), W)) % W) + W) % W;
  const tauW = zpow(mu, [0n, 1n], w);
  const alphas: ZTau[] = [];
  for (let u = 1n; u < W / 2n; u += 2n) {
    const alpha = reduceInteger(mu, u, tauW);
    // φ_w(α_u) must be u, or the digit loop would not clear the low τ-adic digits.
    if ((((alpha[0] + alpha[1] * tw - u) % W) + W) % W !== 0n) throw new Error(`internal: α_${u} is not ≡ ${u} mod τ^${w}`);
    alphas.push(alpha);
  }
  const tm = zpow(mu, [0n, 1n], m);
  const alphaLimbs = Int32Array.from(alphas.flatMap(([x, y]) => [Number(x), Number(y)]));
  return { mu, m, w, tw: Number(tw), alphas, alphaLimbs, tauMMinus1: [tm[0] - 1n, tm[1]] };
}

/**
 * Width-w τNAF of r0 + r1·τ: digits d_i (index i = coefficient of τ^i) in {0, ±1, ±3, …,
 * ±(2^(w−1) − 1)}, digit ±u standing for ±α_u; of any w consecutive digits at most one is
 * nonzero. Returns the digit count. This is the readable BigInt form; `wtnaf` computes the same
 * digits on 32-bit limbs, several times faster.
 * @spec HMV Algorithm 3.69
 */
export function wtnafBigInt(ctx: TauContext, r0: bigint, r1: bigint, out: Int8Array): number {
  const { w, tw, alphas } = ctx;
  const mask = (1 << w) - 1, half = 1 << (w - 1);
  const neg = ctx.mu === -1;
  let i = 0;
  while (r0 !== 0n || r1 !== 0n) {
    if (i >= out.length) throw new RangeError('τNAF longer than the digit buffer');
    if (r0 & 1n) {
      // u = φ_w(r0 + r1·τ) mods 2^w; only the low w bits of r0 and r1 matter.
      const lo0 = Number(BigInt.asUintN(16, r0)), lo1 = Number(BigInt.asUintN(16, r1));
      let u = (lo0 + lo1 * tw) & mask;
      if (u >= half) u -= 1 << w;
      const al = alphas[(Math.abs(u) - 1) >> 1];
      if (u > 0) { r0 -= al[0]; r1 -= al[1]; } else { r0 += al[0]; r1 += al[1]; }
      out[i] = u;
    } else out[i] = 0;
    // (r0 + r1·τ)/τ = (r1 + μ·r0/2) − (r0/2)·τ, r0 even here.
    const t = r0 >> 1n;
    r0 = neg ? r1 - t : r1 + t;
    r1 = -t;
    i++;
  }
  return i;
}

const TWO32 = 4294967296;

/** x as L two's-complement 32-bit limbs, least significant first. */
function toLimbs(x: bigint, L: number): Int32Array {
  const hex = BigInt.asUintN(32 * L, x).toString(16).padStart(8 * L, '0');
  const out = new Int32Array(L);
  for (let i = 0; i < L; i++) out[i] = parseInt(hex.slice(8 * (L - 1 - i), 8 * (L - i)), 16) | 0;
  return out;
}

/** R += s for a small integer s (|s| < 2^21), two's complement over the first L limbs. */
function addSmall(R: Int32Array, L: number, s: number): void {
  let c = s;
  for (let i = 0; i < L && c !== 0; i++) {
    const v = (R[i] >>> 0) + c;
    R[i] = v | 0;
    c = Math.floor(v / TWO32);
  }
}

/**
 * The digits of `wtnafBigInt`, computed on two's-complement 32-bit limbs that are dropped as the
 * values shrink (each division by τ halves the norm). @spec HMV Algorithm 3.69
 */
export function wtnaf(ctx: TauContext, r0: bigint, r1: bigint, out: Int8Array): number {
  const { w, tw } = ctx;
  const mask = (1 << w) - 1, half = 1 << (w - 1);
  const neg = ctx.mu === -1;
  const ab = ctx.alphaLimbs;
  const abs = (v: bigint) => (v < 0n ? -v : v);
  // |r0|, |r1| stay below c·√N(r0 + r1·τ) and the norm never grows by more than a few bits, so 8
  // bits of headroom above the larger input suffice; 2 limbs minimum keeps the shrink test simple.
  let L = Math.max(2, Math.ceil(((abs(r0) > abs(r1) ? abs(r0) : abs(r1)).toString(16).length * 4 + 8) / 32));
  const A = toLimbs(r0, L), B = toLimbs(r1, L);
  const s = neg ? -1 : 1;
  let nz = 0;
  for (let j = 0; j < L; j++) nz |= A[j] | B[j];
  let i = 0;
  while (nz !== 0) {
    if (i >= out.length) throw new RangeError('τNAF longer than the digit buffer');
    if (A[0] & 1) {
      let u = (A[0] + Math.imul(B[0], tw)) & mask;
      if (u >= half) u -= 1 << w;
      const k = (u > 0 ? u - 1 : -u - 1) & ~1; // 2·index of α_|u|
      if (u > 0) { addSmall(A, L, -ab[k]); addSmall(B, L, -ab[k + 1]); } else { addSmall(A, L, ab[k]); addSmall(B, L, ab[k + 1]); }
      out[i] = u;
    } else out[i] = 0;
    // One pass: t = A/2 (exact), A ← B + μ·t, B ← −t = ~t + 1, and the zero test for the next step.
    let cA = 0, cB = 1;
    nz = 0;
    for (let j = 0; j < L; j++) {
      const t = j < L - 1 ? (A[j] >>> 1) | (A[j + 1] << 31) : A[j] >> 1;
      const v = (B[j] >>> 0) + s * (t >>> 0) + cA;
      const nv = (~t >>> 0) + cB;
      A[j] = v | 0;
      B[j] = nv | 0;
      cA = Math.floor(v / TWO32);
      cB = nv >= TWO32 ? 1 : 0;
      nz |= A[j] | B[j];
    }
    i++;
    // Drop the top limb once both values fit, with 8 bits to spare, in the limbs below it.
    if (L > 2) {
      const a2 = A[L - 2] >> 23, b2 = B[L - 2] >> 23;
      if ((a2 === 0 || a2 === -1) && (b2 === 0 || b2 === -1) && A[L - 1] === a2 && B[L - 1] === b2) L--;
    }
  }
  return i;
}
