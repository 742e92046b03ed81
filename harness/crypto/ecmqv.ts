// ECMQV with cofactor: the shared secret of CBKE.
// @spec SEC 1 v2.0 §3.4 (ECMQV primitive, cofactor variant), §6.2 (scheme); SE Annex C.4.2.2.3;
//       crypto.md §4.4 and pitfall 8 — verified on SE C.5, C.6 and GEC-2 (vectors/*.json).
import { bigIntToBytes } from './bytes.ts';
import type { AffinePoint, BinaryCurve } from './curve-types.ts';

/** ECMQV cannot produce a secret: invalid partner key, or the result is the point at infinity. */
export class EcmqvError extends Error {
  override name = 'EcmqvError';
  constructor(readonly reason: 'invalid-peer-ephemeral' | 'invalid-peer-static' | 'infinity', message: string) {
    super(message);
  }
}

/**
 * Associate value function: avf(Q) = (x̄ mod 2^L) + 2^L with L = ⌈f/2⌉, f = ⌈log2 n⌉.
 * L comes from the order, not the field: 82 for sect163k1, 141 (not 142) for sect283k1.
 * @spec SEC 1 v2.0 §3.4 step 2 / step 5
 */
export function avf(curve: BinaryCurve, Q: AffinePoint): bigint {
  const L = BigInt(Math.ceil(curve.orderBits / 2));
  const twoL = 1n << L;
  return (Q.x & (twoL - 1n)) + twoL;
}

export interface EcmqvInput {
  /** Own static private key d (from the certificate: ECQV reconstruction data). */
  staticPrivate: bigint;
  /** Own ephemeral private key de. */
  ephemeralPrivate: bigint;
  /** Own ephemeral public key QE = de·G (computed when omitted). */
  ephemeralPublic?: AffinePoint;
  /** Partner's static public key (ECQV-reconstructed from its certificate). */
  peerStatic: AffinePoint;
  /** Partner's ephemeral public key, as received. */
  peerEphemeral: AffinePoint;
  /** Also check n·QE_peer = O (SEC 1 §3.2.2 full validation). Default: partial (§3.2.3). */
  fullValidation?: boolean;
}

/**
 * Z = x(P) as a field-element octet string (leading zeros kept), where
 *   s = (de + avf(QE_self)·d) mod n,  P = h·s·(QE_peer + avf(QE_peer)·Q_peer),  P = O → error.
 * The partner's ephemeral key is validated first: not O, coordinates in the field, on the curve
 * (SEC 1 §3.2.3 partial validation, which the cofactor variant permits — the h factor maps any
 * small-subgroup component to O); with `fullValidation` also n·QE = O (§3.2.2).
 * h·s (and h·s·avf) are deliberately NOT reduced mod n: the cofactor must act on points outside
 * the subgroup.
 */
export function ecmqvSharedSecret(curve: BinaryCurve, input: EcmqvInput): Uint8Array {
  const { peerEphemeral: QE2, peerStatic: Q2 } = input;
  const whyE = validate(curve, QE2, input.fullValidation ?? false);
  if (whyE) throw new EcmqvError('invalid-peer-ephemeral', `partner ephemeral key rejected: ${whyE}`);
  const whyS = validate(curve, Q2, false);
  if (whyS) throw new EcmqvError('invalid-peer-static', `partner static key rejected: ${whyS}`);

  const QE1 = input.ephemeralPublic ?? curve.multiplyBase(input.ephemeralPrivate);
  if (!QE1) throw new EcmqvError('infinity', 'own ephemeral key is the point at infinity');
  const s = (input.ephemeralPrivate + avf(curve, QE1) * input.staticPrivate) % curve.n;
  // P = (h·s)·QE2 + (h·s·avf(QE2))·Q2 as one joint multiplication.
  const hs = curve.h * s;
  const P = curve.multiplyAdd(QE2, hs, Q2, hs * avf(curve, QE2));
  if (!P) throw new EcmqvError('infinity', 'ECMQV result is the point at infinity');
  return bigIntToBytes(P.x, curve.fieldBytes);
}

function validate(curve: BinaryCurve, Q: AffinePoint | null, full: boolean): string | null {
  if (full) return curve.validatePublicKey(Q);
  if (!Q) return 'point at infinity';
  if (!curve.isOnCurve(Q)) return 'not on the curve';
  return null;
}
