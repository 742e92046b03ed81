// The shape every binary-field curve implementation in sehil has (the fast one in koblitz.ts and
// the slow, readable BigInt reference in reference/binary-curve-ref.ts), so the same tests and
// vectors check both. Points cross this boundary as affine BigInt coordinates; `null` is the
// point at infinity.

export interface AffinePoint {
  readonly x: bigint;
  readonly y: bigint;
}

export type MaybePoint = AffinePoint | null;

/** Domain parameters of a binary-field curve y² + xy = x³ + a·x² + b over GF(2^m). @spec SEC 2 v1.0 §3 */
export interface BinaryCurveParams {
  readonly name: string;
  /** Field degree m. */
  readonly m: number;
  /** Reduction polynomial f(x) as a bigint with bit m set. */
  readonly poly: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly Gx: bigint;
  readonly Gy: bigint;
  /** Order of G. */
  readonly n: bigint;
  /** Cofactor. */
  readonly h: bigint;
}

export interface BinaryCurve extends BinaryCurveParams {
  readonly G: AffinePoint;
  /** Octets of one field element / private key: ⌈m/8⌉ (21 for sect163k1, 36 for sect283k1). */
  readonly fieldBytes: number;
  /** ⌈log2 n⌉ (163 for sect163k1, 281 for sect283k1): ECMQV's avf uses this, not m. */
  readonly orderBits: number;
  isOnCurve(P: AffinePoint): boolean;
  add(P: MaybePoint, Q: MaybePoint): MaybePoint;
  negate(P: MaybePoint): MaybePoint;
  /** k·P for any k ≥ 0 (k is reduced mod n only when P is known to have order n). */
  multiply(P: AffinePoint, k: bigint): MaybePoint;
  /** k·G. */
  multiplyBase(k: bigint): MaybePoint;
  /** k1·P1 + k2·P2 (ECQV reconstruction, ECMQV). */
  multiplyAdd(P1: AffinePoint, k1: bigint, P2: AffinePoint, k2: bigint): MaybePoint;
  /** SEC 1 §2.3.3 compressed form: 02/03 ‖ x (1 + fieldBytes octets). */
  compress(P: AffinePoint): Uint8Array;
  /** SEC 1 §2.3.4; throws PointDecodingError saying why (length, prefix, x ≥ 2^m, not on curve). */
  decompress(bytes: Uint8Array): AffinePoint;
  /** 04 ‖ x ‖ y, the form node:crypto / OpenSSL print. */
  encodeUncompressed(P: AffinePoint): Uint8Array;
  decodeUncompressed(bytes: Uint8Array): AffinePoint;
  /**
   * Public-key validation (SEC 1 §3.2.2.1 for binary fields): not infinity, coordinates in the
   * field, on the curve, and n·Q = infinity. Returns a reason when invalid, or null when valid.
   */
  validatePublicKey(P: MaybePoint): string | null;
}

/** A point encoding that cannot be a point of the curve. */
export class PointDecodingError extends RangeError {
  override name = 'PointDecodingError';
  constructor(readonly curve: string, readonly reason: string) {
    super(`${curve}: ${reason}`);
  }
}
