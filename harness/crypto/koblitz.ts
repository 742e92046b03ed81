// Fast BinaryCurve for Koblitz curves (a ∈ {0, 1}, b = 1) such as sect163k1 and sect283k1:
// word-array field arithmetic (gf2m.ts), López–Dahab points (koblitz-ld.ts), width-w τNAF scalars
// (tau-adic.ts). The slow reference in reference/binary-curve-ref.ts implements the same interface
// and the tests compare the two. Not constant-time (see gf2m.ts).
import { abytes, bigIntToBytes, bytesToBigInt } from './bytes.ts';
import { PointDecodingError, type AffinePoint, type BinaryCurve, type BinaryCurveParams, type MaybePoint } from './curve-types.ts';
import { binaryField, type Fe } from './gf2m.ts';
import { ldEngine, type Expansion } from './koblitz-ld.ts';
import { planTable, tableBuilder, type PointTable, type TablePlan } from './koblitz-table.ts';
import { reduceInteger, tauContext, wtnaf, type TauContext } from './tau-adic.ts';

export interface KoblitzOptions {
  /** τNAF width for variable-base multiplication (table of 2^(w−2) points built per call). */
  readonly window?: number;
  /** τNAF width for multiples of G (tables built once per curve, on first use). */
  readonly baseWindow?: number;
  /**
   * Fixed-base comb: the τNAF of k is cut into this many blocks of L digits and block j uses the
   * table τ^(jL)(α_u·G), so one pass of L Frobenius steps serves all blocks.
   */
  readonly baseBlocks?: number;
  /** Use gf2m.ts's generic loops instead of the generated kernels (tests). */
  readonly genericField?: boolean;
}

/** How to build the table α_u·P for the α_u of `ctx`, from their plain τNAF (ctx2 has w = 2). */
function alphaPlan(ctx: TauContext, ctx2: TauContext): TablePlan {
  const buf = new Int8Array(ctx.w + 8);
  return planTable(ctx.alphas.map(([r0, r1]) => buf.slice(0, wtnaf(ctx2, r0, r1, buf))));
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** @spec SEC 1 v2.0 §2.2.2 (group law), §2.3.3–2.3.4 (point encoding), §3.2.2.1 (key validation) */
export function koblitzCurve(params: BinaryCurveParams, options: KoblitzOptions = {}): BinaryCurve {
  const { name, m, a: aBig, b, n, h } = params;
  if ((aBig !== 0n && aBig !== 1n) || b !== 1n) throw new RangeError(`${name}: not a Koblitz curve (need a ∈ {0, 1}, b = 1)`);
  const a: 0 | 1 = aBig === 1n ? 1 : 0;
  const F = binaryField(m, params.poly, { generic: options.genericField });
  const eng = ldEngine(F, a);
  const tables = tableBuilder(F, a);
  const fieldBytes = Math.ceil(m / 8);
  const ctxVar = tauContext(a, m, options.window ?? 5);
  const ctxBase = tauContext(a, m, options.baseWindow ?? 8);
  const baseBlocks = options.baseBlocks ?? 4;
  const digitCap = m + 16; // τNAF length bound: log2 N(ρ) + a few, N(ρ) < N(τ^m − 1) = h·n
  const ctx2 = tauContext(a, m, 2);
  const planVar = alphaPlan(ctxVar, ctx2);
  const planBase = alphaPlan(ctxBase, ctx2);
  // Reused per call: one table for multiply, two for multiplyAdd (scratch, like the field's).
  const varTables = [tables.allocate(planVar.results.length), tables.allocate(planVar.results.length)];
  const G: AffinePoint = Object.freeze({ x: params.Gx, y: params.Gy });
  let baseTables: PointTable[] | undefined; // τ^(jL)(α_u·G) for block j, built on first use
  const blockLen = Math.ceil(digitCap / baseBlocks);
  const fieldLimit = 1n << BigInt(m);

  const fe = () => F.zero();
  const s1 = fe(), s2 = fe(), s3 = fe(), s4 = fe();
  const outX = fe(), outY = fe();

  function checkScalar(k: bigint, title: string): void {
    if (typeof k !== 'bigint') throw new TypeError(`"${title}" expected bigint, got ${typeof k}`);
  }

  function checkPoint(P: AffinePoint, title: string): void {
    if (P === null || typeof P !== 'object' || typeof P.x !== 'bigint' || typeof P.y !== 'bigint') {
      throw new TypeError(`"${title}" expected an affine point {x, y} with bigint coordinates`);
    }
  }

  /** y² + xy = x³ + a·x² + b on field elements. */
  function onCurveFe(x: Fe, y: Fe): boolean {
    F.sqr(s1, y);
    F.mul(s2, x, y);
    F.add(s1, s1, s2); // y² + xy
    F.sqr(s2, x);
    F.mul(s3, s2, x); // x³
    if (a) F.add(s3, s3, s2);
    s3[0] ^= 1; // + b
    return F.equals(s1, s3);
  }

  const inField = (v: bigint) => v >= 0n && v < fieldLimit;

  function isOnCurve(P: AffinePoint): boolean {
    checkPoint(P, 'P');
    return inField(P.x) && inField(P.y) && onCurveFe(F.fromBigInt(P.x, s4), F.fromBigInt(P.y, outY));
  }

  /** Coordinates as field elements, or a RangeError naming the argument when P is not on the curve. */
  function pointFe(P: AffinePoint, title: string): [Fe, Fe] {
    checkPoint(P, title);
    if (inField(P.x) && inField(P.y)) {
      const x = F.fromBigInt(P.x), y = F.fromBigInt(P.y);
      if (onCurveFe(x, y)) return [x, y];
    }
    throw new RangeError(`"${title}" is not a point of ${name}`);
  }

  function digitsOf(k: bigint, ctx: TauContext): [Int8Array, number] {
    const [r0, r1] = reduceInteger(ctx.mu, k, ctx.tauMMinus1);
    const digits = new Int8Array(digitCap);
    return [digits, wtnaf(ctx, r0, r1, digits)];
  }

  function expansion(k: bigint, ctx: TauContext, table: PointTable): Expansion {
    const [digits, length] = digitsOf(k, ctx);
    return { digits, length, table };
  }

  /** k·G as block expansions: digits [jL, (j+1)L) against τ^(jL)(α_u·G). */
  function baseExpansions(k: bigint): Expansion[] {
    const T = getBaseTables();
    const [digits, length] = digitsOf(k, ctxBase);
    const out: Expansion[] = [];
    for (let j = 0; j * blockLen < length; j++) {
      out.push({ digits: digits.subarray(j * blockLen, (j + 1) * blockLen), length: Math.min(blockLen, length - j * blockLen), table: T[j] });
    }
    return out;
  }

  function run(expansions: Expansion[]): MaybePoint {
    const finite = eng.evaluate(expansions, outX, outY);
    for (const e of expansions) e.digits.fill(0); // key-derived (blocks share one buffer)
    return finite ? { x: F.toBigInt(outX), y: F.toBigInt(outY) } : null;
  }

  function getBaseTables(): PointTable[] {
    if (!baseTables) {
      const t0 = tables.build(F.fromBigInt(G.x), F.fromBigInt(G.y), planBase);
      baseTables = [t0];
      for (let j = 1; j < baseBlocks; j++) baseTables.push(tables.frobeniusTable(baseTables[j - 1], blockLen));
    }
    return baseTables;
  }

  const isG = (P: AffinePoint) => P.x === G.x && P.y === G.y;

  /** The expansions of k·P: G's cached block tables, or the table α_u·P built into varTables[slot]. */
  function terms(P: AffinePoint, k: bigint, title: string, slot: number): Expansion[] {
    if (isG(P)) return baseExpansions(k);
    const [px, py] = pointFe(P, title);
    if (k === 0n) return [];
    return [expansion(k, ctxVar, tables.build(px, py, planVar, varTables[slot]))];
  }

  function multiply(P: AffinePoint, k: bigint): MaybePoint {
    checkScalar(k, 'k');
    return run(terms(P, k, 'P', 0));
  }

  function multiplyBase(k: bigint): MaybePoint {
    checkScalar(k, 'k');
    return run(baseExpansions(((k % n) + n) % n));
  }

  /** One pass over the interleaved expansions of k1·P1 and k2·P2 (shared Frobenius steps). */
  function multiplyAdd(P1: AffinePoint, k1: bigint, P2: AffinePoint, k2: bigint): MaybePoint {
    checkScalar(k1, 'k1');
    checkScalar(k2, 'k2');
    return run([...terms(P1, k1, 'P1', 0), ...terms(P2, k2, 'P2', 1)]);
  }

  function negate(P: MaybePoint): MaybePoint {
    if (P === null) return null;
    checkPoint(P, 'P');
    return { x: P.x, y: P.x ^ P.y };
  }

  function add(P: MaybePoint, Q: MaybePoint): MaybePoint {
    if (P === null) return Q;
    if (Q === null) return P;
    const [x1, y1] = pointFe(P, 'P');
    const [x2, y2] = pointFe(Q, 'Q');
    const lambda = fe(), x3 = fe(), y3 = fe();
    if (F.equals(x1, x2)) {
      // Q = P or Q = −P (equal when x = 0, the point of order 2).
      if (!F.equals(y1, y2) || F.isZero(x1)) return null;
      F.inv(s1, x1);
      F.mul(lambda, y1, s1);
      F.add(lambda, lambda, x1); // λ = x1 + y1/x1
      F.sqr(x3, lambda);
      F.add(x3, x3, lambda);
      if (a) x3[0] ^= 1; // x3 = λ² + λ + a
      F.sqr(y3, x1);
      lambda[0] ^= 1;
      F.mul(s1, lambda, x3);
      F.add(y3, y3, s1); // y3 = x1² + (λ + 1)·x3
    } else {
      F.add(s1, x1, x2);
      F.inv(s1, s1);
      F.add(lambda, y1, y2);
      F.mul(lambda, lambda, s1); // λ = (y1 + y2)/(x1 + x2)
      F.sqr(x3, lambda);
      F.add(x3, x3, lambda);
      F.add(x3, x3, x1);
      F.add(x3, x3, x2);
      if (a) x3[0] ^= 1; // x3 = λ² + λ + x1 + x2 + a
      F.add(y3, x1, x3);
      F.mul(y3, y3, lambda);
      F.add(y3, y3, x3);
      F.add(y3, y3, y1); // y3 = λ(x1 + x3) + x3 + y1
    }
    return { x: F.toBigInt(x3), y: F.toBigInt(y3) };
  }

  /** ỹ = lsb(y·x⁻¹), 0 when x = 0. @spec SEC 1 v2.0 §2.3.3 step 3.2 */
  function compress(P: AffinePoint): Uint8Array {
    const [x, y] = pointFe(P, 'P');
    let ybit = 0;
    if (!F.isZero(x)) ybit = F.mul(s1, y, F.inv(s1, x))[0] & 1;
    const out = new Uint8Array(fieldBytes + 1);
    out[0] = 0x02 | ybit;
    out.set(bigIntToBytes(P.x, fieldBytes), 1);
    return out;
  }

  /** @spec SEC 1 v2.0 §2.3.4 step 2.4 (F_2^m) */
  function decompress(bytes: Uint8Array): AffinePoint {
    abytes(bytes, undefined, 'point');
    if (bytes.length !== fieldBytes + 1) {
      throw new PointDecodingError(name, `compressed point must be ${fieldBytes + 1} bytes, got ${bytes.length}`);
    }
    if (bytes[0] !== 0x02 && bytes[0] !== 0x03) {
      throw new PointDecodingError(name, `bad compressed-point prefix 0x${bytes[0].toString(16).padStart(2, '0')} (expected 02 or 03)`);
    }
    const xb = bytesToBigInt(bytes.subarray(1));
    if (xb >= fieldLimit) throw new PointDecodingError(name, `x-coordinate is not a field element (≥ 2^${m})`);
    const x = F.fromBigInt(xb, fe());
    // x = 0: y = b^(2^(m−1)) = 1 (b = 1); ỹ is not consulted (step 2.4.2).
    if (F.isZero(x)) return { x: 0n, y: 1n };
    // β = x + a + b·x⁻²; z² + z = β has a solution iff Tr(β) = 0; y = x·z.
    const beta = F.sqr(s1, F.inv(s1, x));
    F.add(beta, beta, x);
    if (a) beta[0] ^= 1;
    if (F.trace(beta) !== 0) throw new PointDecodingError(name, 'no curve point has this x-coordinate');
    const z = F.halfTrace(s2, beta);
    if ((z[0] & 1) !== (bytes[0] & 1)) z[0] ^= 1;
    return { x: xb, y: F.toBigInt(F.mul(s3, x, z)) };
  }

  function encodeUncompressed(P: AffinePoint): Uint8Array {
    pointFe(P, 'P');
    const out = new Uint8Array(2 * fieldBytes + 1);
    out[0] = 0x04;
    out.set(bigIntToBytes(P.x, fieldBytes), 1);
    out.set(bigIntToBytes(P.y, fieldBytes), 1 + fieldBytes);
    return out;
  }

  /** @spec SEC 1 v2.0 §2.3.4 step 3 */
  function decodeUncompressed(bytes: Uint8Array): AffinePoint {
    abytes(bytes, undefined, 'point');
    if (bytes.length !== 2 * fieldBytes + 1) {
      throw new PointDecodingError(name, `uncompressed point must be ${2 * fieldBytes + 1} bytes, got ${bytes.length}`);
    }
    if (bytes[0] !== 0x04) {
      throw new PointDecodingError(name, `bad uncompressed-point prefix 0x${bytes[0].toString(16).padStart(2, '0')} (expected 04)`);
    }
    const P = { x: bytesToBigInt(bytes.subarray(1, 1 + fieldBytes)), y: bytesToBigInt(bytes.subarray(1 + fieldBytes)) };
    if (P.x >= fieldLimit || P.y >= fieldLimit) throw new PointDecodingError(name, `coordinate is not a field element (≥ 2^${m})`);
    if (!isOnCurve(P)) throw new PointDecodingError(name, 'point is not on the curve');
    return P;
  }

  /** @spec SEC 1 v2.0 §3.2.2.1 (binary fields) */
  function validatePublicKey(P: MaybePoint): string | null {
    if (P === null) return 'public key is the point at infinity';
    checkPoint(P, 'P');
    if (!inField(P.x) || !inField(P.y)) return 'public key coordinate is not a field element';
    if (!isOnCurve(P)) return 'public key is not on the curve';
    if (multiply(P, n) !== null) return 'public key is not in the subgroup of order n';
    return null;
  }

  return {
    name, m, poly: params.poly, a: aBig, b, Gx: params.Gx, Gy: params.Gy, n, h,
    G, fieldBytes, orderBits: bitLength(n),
    isOnCurve, add, negate, multiply, multiplyBase, multiplyAdd,
    compress, decompress, encodeUncompressed, decodeUncompressed, validatePublicKey,
  };
}
