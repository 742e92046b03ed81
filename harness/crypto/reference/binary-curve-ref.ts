// Slow, readable reference for binary-field curves: BigInt polynomials, affine coordinates,
// double-and-add. It exists to cross-check the fast implementation (koblitz.ts) — never use it
// on a hot path. @spec SEC 1 v2.0 §2.2.2 (group law over F_2^m), §2.3.3–2.3.4 (point encoding)
import { abytes, bigIntToBytes, bytesToBigInt, concatBytes } from '../bytes.ts';
import { SECT163K1_PARAMS, SECT283K1_PARAMS } from '../curve-params.ts';
import { PointDecodingError, type AffinePoint, type BinaryCurve, type BinaryCurveParams, type MaybePoint } from '../curve-types.ts';

/** GF(2^m) arithmetic on bigint polynomials modulo `poly`. */
export function referenceField(m: number, poly: bigint) {
  const M = BigInt(m);
  const top = 1n << M;
  const reduce = (a: bigint): bigint => {
    for (let deg = bitLength(a) - 1; deg >= m; deg = bitLength(a) - 1) a ^= poly << BigInt(deg - m);
    return a;
  };
  // Shift-and-add, reducing as we go so operands never exceed m bits.
  const mul = (a: bigint, b: bigint): bigint => {
    let r = 0n;
    for (; b > 0n; b >>= 1n) {
      if (b & 1n) r ^= a;
      a <<= 1n;
      if (a & top) a ^= poly;
    }
    return r;
  };
  const sqr = (a: bigint) => mul(a, a);
  // Extended Euclid over GF(2)[x]: keeps g1·a ≡ u and g2·a ≡ v (mod f) until u = 1.
  // @spec Hankerson–Menezes–Vanstone, Guide to ECC, Algorithm 2.48
  const inv = (a: bigint): bigint => {
    if (a === 0n) throw new RangeError('inverse of zero');
    let u = a, v = poly, g1 = 1n, g2 = 0n;
    while (u !== 1n) {
      let j = bitLength(u) - bitLength(v);
      if (j < 0) { [u, v] = [v, u]; [g1, g2] = [g2, g1]; j = -j; }
      u ^= v << BigInt(j);
      g1 ^= g2 << BigInt(j);
    }
    return reduce(g1);
  };
  const trace = (a: bigint): bigint => { let t = a, s = a; for (let i = 1; i < m; i++) { s = sqr(s); t ^= s; } return t; };
  // Half-trace solves z² + z = β for odd m when Tr(β) = 0. @spec IEEE 1363 A.4.7
  const halfTrace = (a: bigint): bigint => { let h = a, s = a; for (let i = 1; i <= (m - 1) / 2; i++) { s = sqr(sqr(s)); h ^= s; } return h; };
  return { m, poly, reduce, mul, sqr, inv, trace, halfTrace };
}

function bitLength(a: bigint): number {
  if (a === 0n) return 0;
  const hex = a.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
}

export function createReferenceCurve(params: BinaryCurveParams): BinaryCurve {
  const F = referenceField(params.m, params.poly);
  const { a, b, n } = params;
  const fieldBytes = Math.ceil(params.m / 8);
  const G: AffinePoint = Object.freeze({ x: params.Gx, y: params.Gy });
  const inField = (v: bigint) => v >= 0n && v < 1n << BigInt(params.m);

  const isOnCurve = (P: AffinePoint): boolean => {
    if (!inField(P.x) || !inField(P.y)) return false;
    // y² + xy = x³ + a x² + b
    const lhs = F.sqr(P.y) ^ F.mul(P.x, P.y);
    const x2 = F.sqr(P.x);
    const rhs = F.mul(x2, P.x) ^ (a ? x2 : 0n) ^ b;
    return lhs === rhs;
  };
  const negate = (P: MaybePoint): MaybePoint => (P ? { x: P.x, y: P.x ^ P.y } : null);
  const add = (P: MaybePoint, Q: MaybePoint): MaybePoint => {
    if (!P) return Q;
    if (!Q) return P;
    let lambda: bigint;
    if (P.x === Q.x) {
      if ((P.y ^ Q.y) === P.x || P.x === 0n) return null; // Q = −P, or doubling a point of order 2
      if (P.y !== Q.y) return null;
      lambda = P.x ^ F.mul(P.y, F.inv(P.x));
      const x3 = F.sqr(lambda) ^ lambda ^ a;
      const y3 = F.sqr(P.x) ^ F.mul(lambda ^ 1n, x3);
      return { x: x3, y: y3 };
    }
    lambda = F.mul(P.y ^ Q.y, F.inv(P.x ^ Q.x));
    const x3 = F.sqr(lambda) ^ lambda ^ P.x ^ Q.x ^ a;
    const y3 = F.mul(lambda, P.x ^ x3) ^ x3 ^ P.y;
    return { x: x3, y: y3 };
  };
  const multiply = (P: AffinePoint, k: bigint): MaybePoint => {
    if (k < 0n) return negate(multiply(P, -k));
    let R: MaybePoint = null;
    for (let i = bitLength(k) - 1; i >= 0; i--) {
      R = add(R, R);
      if ((k >> BigInt(i)) & 1n) R = add(R, P);
    }
    return R;
  };
  const compress = (P: AffinePoint): Uint8Array => {
    const ybit = P.x === 0n ? 0n : F.mul(P.y, F.inv(P.x)) & 1n;
    return concatBytes(Uint8Array.of(ybit ? 0x03 : 0x02), bigIntToBytes(P.x, fieldBytes));
  };
  const decompress = (bytes: Uint8Array): AffinePoint => {
    abytes(bytes, undefined, 'point');
    if (bytes.length !== fieldBytes + 1) throw new PointDecodingError(params.name, `compressed point must be ${fieldBytes + 1} bytes, got ${bytes.length}`);
    if (bytes[0] !== 0x02 && bytes[0] !== 0x03) throw new PointDecodingError(params.name, `bad compressed-point prefix 0x${bytes[0].toString(16).padStart(2, '0')} (expected 02 or 03)`);
    const x = bytesToBigInt(bytes.subarray(1));
    if (!inField(x)) throw new PointDecodingError(params.name, `x-coordinate is not a field element (≥ 2^${params.m})`);
    const ybit = BigInt(bytes[0] & 1);
    if (x === 0n) {
      // y² = b: y = b^(2^(m−1))
      let y = b;
      for (let i = 0; i < params.m - 1; i++) y = F.sqr(y);
      return { x, y };
    }
    const xinv = F.inv(x);
    const beta = x ^ a ^ F.mul(b, F.sqr(xinv));
    if (F.trace(beta) !== 0n) throw new PointDecodingError(params.name, 'no curve point has this x-coordinate');
    let z = F.halfTrace(beta);
    if ((z & 1n) !== ybit) z ^= 1n;
    return { x, y: F.mul(x, z) };
  };
  const encodeUncompressed = (P: AffinePoint) =>
    concatBytes(Uint8Array.of(0x04), bigIntToBytes(P.x, fieldBytes), bigIntToBytes(P.y, fieldBytes));
  const decodeUncompressed = (bytes: Uint8Array): AffinePoint => {
    abytes(bytes, undefined, 'point');
    if (bytes.length !== 2 * fieldBytes + 1 || bytes[0] !== 0x04) throw new PointDecodingError(params.name, `uncompressed point must be 04 ‖ x ‖ y (${2 * fieldBytes + 1} bytes)`);
    const P = { x: bytesToBigInt(bytes.subarray(1, 1 + fieldBytes)), y: bytesToBigInt(bytes.subarray(1 + fieldBytes)) };
    if (!isOnCurve(P)) throw new PointDecodingError(params.name, 'point is not on the curve');
    return P;
  };
  const validatePublicKey = (P: MaybePoint): string | null => {
    if (!P) return 'public key is the point at infinity';
    if (!inField(P.x) || !inField(P.y)) return 'public key coordinate is not a field element';
    if (!isOnCurve(P)) return 'public key is not on the curve';
    if (multiply(P, n) !== null) return 'public key is not in the subgroup of order n';
    return null;
  };
  return {
    ...params,
    G,
    fieldBytes,
    orderBits: bitLength(n),
    isOnCurve,
    add,
    negate,
    multiply,
    multiplyBase: (k) => multiply(G, k),
    multiplyAdd: (P1, k1, P2, k2) => add(multiply(P1, k1), multiply(P2, k2)),
    compress,
    decompress,
    encodeUncompressed,
    decodeUncompressed,
    validatePublicKey,
  };
}

export const sect163k1Ref: BinaryCurve = createReferenceCurve(SECT163K1_PARAMS);
export const sect283k1Ref: BinaryCurve = createReferenceCurve(SECT283K1_PARAMS);
