// Arithmetic in GF(2^m) with a pentanomial basis, over little-endian 32-bit words.
//
// An element is an Int32Array of W = ⌈m/32⌉ words, bit i of the polynomial in bit (i mod 32) of word
// ⌊i/32⌋, always fully reduced (bits ≥ m are zero). Algorithms: Hankerson, Menezes, Vanstone,
// "Guide to Elliptic Curve Cryptography" (HMV) §2.3: left-to-right comb multiplication with 4-bit
// windows (Alg. 2.36), squaring by bit spreading (Alg. 2.39), word-wise reduction (§2.3.5),
// inversion by the extended Euclidean algorithm (Alg. 2.48), half-trace for solving z² + z = c.
// For the SEC 2 Koblitz fields, gf2m-kernels.ts holds straight-line versions of mul and sqr.
//
// Nothing here is constant-time: sehil is a conformance kit that handles test keys, and speed matters
// more here than side channels. Each field owns scratch buffers (not observable state): operations
// are synchronous and never re-enter, so sharing them within one field is safe.
import { FIELD_KERNELS, SPREAD8 } from './gf2m-kernels.ts';

/** A field element: Int32Array of `W` words, see the file comment. */
export type Fe = Int32Array;

export interface BinaryField {
  /** Degree m. */
  readonly m: number;
  /** Words per element, ⌈m/32⌉. */
  readonly W: number;
  /** Middle exponents of the pentanomial / trinomial f(z) = z^m + Σ z^k + 1, descending. */
  readonly terms: readonly number[];
  zero(): Fe;
  one(): Fe;
  fromBigInt(x: bigint, out?: Fe): Fe;
  toBigInt(a: Fe): bigint;
  copy(out: Fe, a: Fe): Fe;
  isZero(a: Fe): boolean;
  isOne(a: Fe): boolean;
  equals(a: Fe, b: Fe): boolean;
  add(out: Fe, a: Fe, b: Fe): Fe;
  /** out = a·b; out may alias a or b. */
  mul(out: Fe, a: Fe, b: Fe): Fe;
  /** The comb table of b (16·W words) for `mulTable`; saves rebuilding it when b is reused. */
  combTable(b: Fe, table?: Int32Array): Int32Array;
  /** out = a·b given combTable(b); out may alias a. */
  mulTable(out: Fe, a: Fe, table: Int32Array): Fe;
  /** out = a²; out may alias a. */
  sqr(out: Fe, a: Fe): Fe;
  /** out = a^(2^k); out may alias a. */
  sqrN(out: Fe, a: Fe, k: number): Fe;
  /** out = a⁻¹; RangeError for a = 0. out may alias a. */
  inv(out: Fe, a: Fe): Fe;
  /** out = √a = a^(2^(m−1)). */
  sqrt(out: Fe, a: Fe): Fe;
  /** Tr(a) ∈ {0, 1}. */
  trace(a: Fe): number;
  /** H(a) = Σ_{i=0}^{(m−1)/2} a^(2^(2i)) for odd m: a solution z of z² + z = a when Tr(a) = 0. */
  halfTrace(out: Fe, a: Fe): Fe;
}

export interface BinaryFieldOptions {
  /** Use the generic loops even when gf2m-kernels.ts has straight-line code for this field (tests). */
  readonly generic?: boolean;
}

/**
 * GF(2^m) with reduction polynomial `poly` = z^m + z^k… + 1 (a trinomial or pentanomial with bit m
 * set). Requires m − (second-highest exponent) ≥ 33 so that one reduction pass works word by word
 * (true for every SEC 2 binary field). @spec SEC 2 v1.0 §3.1 (reduction polynomials)
 */
export function binaryField(m: number, poly: bigint, options: BinaryFieldOptions = {}): BinaryField {
  if (!Number.isInteger(m) || m < 64) throw new RangeError(`field degree m must be an integer ≥ 64, got ${m}`);
  if (typeof poly !== 'bigint' || poly >> BigInt(m) !== 1n || (poly & 1n) !== 1n) {
    throw new RangeError(`reduction polynomial must have degree m = ${m} and constant term 1`);
  }
  const exps: number[] = [];
  for (let e = m - 1; e > 0; e--) if ((poly >> BigInt(e)) & 1n) exps.push(e);
  if (exps.length === 0 || exps[0] > m - 33) {
    throw new RangeError(`reduction polynomial needs middle terms of degree ≤ m − 33, got [${exps.join(', ')}]`);
  }
  const kernel = options.generic ? undefined : FIELD_KERNELS.find((k) => k.poly === poly)?.create();
  const W = Math.ceil(m / 32);
  const TOP = m - 32 * (W - 1); // bits used in the top word, 1..32
  const TOPMASK = TOP === 32 ? -1 : (1 << TOP) - 1;
  if (m + 2 >= 32 * W) throw new RangeError(`comb multiplication needs m + 3 ≤ 32·⌈m/32⌉ (m = ${m})`);

  // Folding a word t that sits at bit 32·i (i ≥ W) subtracts f·z^(32i−m): t goes to bit 32i − m + e
  // for each e in {0, terms…}. Word offset and bit shift per term, the same for every i.
  const foldE = [0, ...exps];
  const foldDq = new Int32Array(foldE.length);
  const foldS = new Int32Array(foldE.length);
  for (let j = 0; j < foldE.length; j++) {
    const off = foldE[j] - m;
    foldDq[j] = Math.floor(off / 32);
    foldS[j] = off - 32 * foldDq[j];
  }
  const NF = foldE.length;

  // Scratch: comb table (16 multiples of b), double-length product, Euclid state.
  const T = new Int32Array(16 * W);
  const C = new Int32Array(2 * W);
  const eu = new Int32Array(W), ev = new Int32Array(W), eg1 = new Int32Array(W), eg2 = new Int32Array(W);
  const tmp = new Int32Array(W);

  /** Reduces C[0 .. 2W) modulo f into out. */
  function reduce(out: Fe): Fe {
    for (let i = 2 * W - 1; i >= W; i--) {
      const t = C[i];
      if (t === 0) continue;
      C[i] = 0;
      for (let j = 0; j < NF; j++) {
        const q = i + foldDq[j], s = foldS[j];
        C[q] ^= t << s;
        if (s !== 0) C[q + 1] ^= t >>> (32 - s);
      }
    }
    const t = C[W - 1] >>> TOP;
    if (t !== 0) {
      C[W - 1] &= TOPMASK;
      for (let j = 0; j < NF; j++) {
        const e = foldE[j];
        const q = e >>> 5, s = e & 31;
        C[q] ^= t << s;
        if (s !== 0) C[q + 1] ^= t >>> (32 - s);
      }
    }
    for (let i = 0; i < W; i++) out[i] = C[i];
    return out;
  }

  // T[u·W + i] = word i of u(z)·b(z), u of degree < 4; fits W words because m + 2 < 32W.
  function genericCombTable(Tb: Int32Array, b: Fe): Int32Array {
    for (let i = 0; i < W; i++) { Tb[i] = 0; Tb[W + i] = b[i]; }
    for (let u = 2; u < 16; u += 2) {
      const h = (u >> 1) * W, d = u * W;
      let carry = 0;
      for (let i = 0; i < W; i++) {
        const v = Tb[h + i];
        Tb[d + i] = (v << 1) | carry;
        carry = v >>> 31;
        Tb[d + W + i] = Tb[d + i] ^ b[i];
      }
    }
    return Tb;
  }

  function genericMulTable(out: Fe, a: Fe, Tb: Int32Array): Fe {
    C.fill(0);
    for (let k = 28; k >= 0; k -= 4) {
      for (let j = 0; j < W; j++) {
        const base = ((a[j] >>> k) & 15) * W;
        if (base === 0) continue;
        for (let i = 0; i < W; i++) C[j + i] ^= Tb[base + i];
      }
      if (k !== 0) {
        for (let i = 2 * W - 1; i > 0; i--) C[i] = (C[i] << 4) | (C[i - 1] >>> 28);
        C[0] <<= 4;
      }
    }
    return reduce(out);
  }

  function genericSqr(out: Fe, a: Fe): Fe {
    for (let i = 0; i < W; i++) {
      const v = a[i];
      C[2 * i] = SPREAD8[v & 255] | (SPREAD8[(v >>> 8) & 255] << 16);
      C[2 * i + 1] = SPREAD8[(v >>> 16) & 255] | (SPREAD8[v >>> 24] << 16);
    }
    return reduce(out);
  }

  // The generated kernels are used as they are (no wrapper: a call layer costs measurably here).
  const mul = kernel ? kernel.mul : (out: Fe, a: Fe, b: Fe): Fe => genericMulTable(out, a, genericCombTable(T, b));
  const mulTable = kernel ? kernel.mulTable : genericMulTable;
  const sqr = kernel ? kernel.sqr : genericSqr;
  const buildTable = kernel ? kernel.combTable : genericCombTable;
  const combTable = (b: Fe, Tb: Int32Array = new Int32Array(16 * W)): Int32Array => buildTable(Tb, b);

  function sqrN(out: Fe, a: Fe, k: number): Fe {
    if (k === 0) return copy(out, a);
    sqr(out, a);
    for (let i = 1; i < k; i++) sqr(out, out);
    return out;
  }

  function copy(out: Fe, a: Fe): Fe {
    for (let i = 0; i < W; i++) out[i] = a[i];
    return out;
  }

  function isZero(a: Fe): boolean {
    let d = 0;
    for (let i = 0; i < W; i++) d |= a[i];
    return d === 0;
  }

  function isOne(a: Fe): boolean {
    let d = a[0] ^ 1;
    for (let i = 1; i < W; i++) d |= a[i];
    return d === 0;
  }

  function equals(a: Fe, b: Fe): boolean {
    let d = 0;
    for (let i = 0; i < W; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  function add(out: Fe, a: Fe, b: Fe): Fe {
    for (let i = 0; i < W; i++) out[i] = a[i] ^ b[i];
    return out;
  }

  const fWords = new Int32Array(W);
  for (const e of [0, ...exps, m]) fWords[e >>> 5] |= 1 << (e & 31);

  // HMV Alg. 2.48 (extended Euclid): invariants a·g1 ≡ u, a·g2 ≡ v (mod f); each step cancels the
  // leading term of the higher-degree one of u, v. deg u, deg v ≤ m < 32W and deg g1, g2 < m. Only
  // the words in use are touched: u and v shrink from the top, g1 and g2 grow from the bottom.
  function inv(out: Fe, a: Fe): Fe {
    if (isZero(a)) throw new RangeError('GF(2^m): zero has no inverse');
    let u = eu, v = ev, g1 = eg1, g2 = eg2;
    for (let i = 0; i < W; i++) { u[i] = a[i]; v[i] = fWords[i]; g1[i] = 0; g2[i] = 0; }
    g1[0] = 1;
    let top = W - 1;
    while (u[top] === 0) top--;
    let du = 32 * top + 31 - Math.clz32(u[top]), dv = m;
    let lg1 = 1, lg2 = 0; // words of g1, g2 in use
    while (du !== 0) {
      let j = du - dv;
      if (j < 0) {
        let t = u; u = v; v = t;
        t = g1; g1 = g2; g2 = t;
        let d = du; du = dv; dv = d;
        d = lg1; lg1 = lg2; lg2 = d;
        j = -j;
      }
      // u ^= v·z^j; g1 ^= g2·z^j.
      const q = j >>> 5, s = j & 31;
      let ut = du >>> 5;
      const gt = Math.min(W - 1, lg2 + q);
      if (s === 0) {
        for (let i = ut; i >= q; i--) u[i] ^= v[i - q];
        for (let i = gt; i >= q; i--) g1[i] ^= g2[i - q];
      } else {
        const r = 32 - s;
        for (let i = ut; i > q; i--) u[i] ^= (v[i - q] << s) | (v[i - q - 1] >>> r);
        u[q] ^= v[0] << s;
        for (let i = gt; i > q; i--) g1[i] ^= (g2[i - q] << s) | (g2[i - q - 1] >>> r);
        g1[q] ^= g2[0] << s;
      }
      if (gt + 1 > lg1) lg1 = gt + 1;
      while (u[ut] === 0) ut--;
      du = 32 * ut + 31 - Math.clz32(u[ut]);
    }
    return copy(out, g1);
  }

  // Tr is GF(2)-linear: Tr(a) = parity of (a AND mask) with mask bit i = Tr(z^i) = s_i, the power
  // sums of the roots of f. Newton's identities over GF(2), with f = z^m + c_1·z^(m−1) + … + c_m:
  // s_0 = m mod 2 and s_k = Σ_(j<k) c_j·s_(k−j) + (k mod 2)·c_k for 1 ≤ k < m.
  const traceMask = new Int32Array(W);
  {
    const cj = [...exps.map((e) => m - e), m]; // j with c_j = 1
    const sums = new Uint8Array(m);
    sums[0] = m & 1;
    for (let k = 1; k < m; k++) {
      let v = 0;
      for (const j of cj) if (j < k) v ^= sums[k - j];
      if (k & 1 && cj.includes(k)) v ^= 1;
      sums[k] = v;
      if (v) traceMask[k >>> 5] |= 1 << (k & 31);
    }
    if (sums[0]) traceMask[0] |= 1;
  }

  function trace(a: Fe): number {
    let x = 0;
    for (let i = 0; i < W; i++) x ^= a[i] & traceMask[i];
    x ^= x >>> 16;
    x ^= x >>> 8;
    x ^= x >>> 4;
    x ^= x >>> 2;
    x ^= x >>> 1;
    return x & 1;
  }

  function halfTrace(out: Fe, a: Fe): Fe {
    if ((m & 1) === 0) throw new RangeError('half-trace needs odd m');
    const s = copy(tmp, a);
    copy(out, a);
    for (let i = 1; i <= (m - 1) / 2; i++) {
      sqr(s, s);
      sqr(s, s);
      add(out, out, s);
    }
    return out;
  }

  function fromBigInt(x: bigint, out: Fe = new Int32Array(W)): Fe {
    if (typeof x !== 'bigint') throw new TypeError(`field element expected bigint, got ${typeof x}`);
    if (x < 0n || x >> BigInt(m) !== 0n) throw new RangeError(`field element out of range 0..2^${m}−1`);
    for (let i = 0; i < W; i++) {
      out[i] = Number(BigInt.asUintN(32, x)) | 0;
      x >>= 32n;
    }
    return out;
  }

  function toBigInt(a: Fe): bigint {
    let r = 0n;
    for (let i = W - 1; i >= 0; i--) r = (r << 32n) | BigInt(a[i] >>> 0);
    return r;
  }

  return {
    m, W, terms: exps,
    zero: () => new Int32Array(W),
    one: () => { const o = new Int32Array(W); o[0] = 1; return o; },
    fromBigInt, toBigInt, copy, isZero, isOne, equals, add, mul, combTable, mulTable, sqr, sqrN, inv,
    sqrt: (out, a) => sqrN(out, a, m - 1),
    trace, halfTrace,
  };
}
