// Certificate-Based Key Establishment: KDF, key-confirmation MACs, and one party's state machine,
// driven one message at a time (the simulated Trust Center and joiner use it over the air;
// runKeyEstablishment below wires two of them together in memory).
// @spec SE 1.x (07-5356) Annex C.3 (Key Establishment cluster 0x0800), C.4.2 (CBKE scheme: ECQV,
//       ECMQV, KDF, MACU/MACV); crypto.md §4.5–4.7. This is a test kit: the secrets (Z, MacKey,
//       KeyData) are exposed on purpose, so captures can be decrypted and verdicts explained.
import { aesMmoHash } from './aes-mmo.ts';
import { abytes, bigIntToBytes, bytesToBigInt, concatBytes, equalBytes } from './bytes.ts';
import { type CryptoSuite, KeStatus, type RandomSource, defaultRandom, randomScalar } from './cbke-suites.ts';
import { type Certificate, type CertificateProblem, checkCertificate, parseCertificate } from './certificate.ts';
import type { AffinePoint } from './curve-types.ts';
import { EcmqvError, ecmqvSharedSecret } from './ecmqv.ts';
import { type CaKey, reconstructPublicKey } from './ecqv.ts';
import { hmacMmo } from './hmac-mmo.ts';

/** Hash_i = AES-MMO(Z ‖ uint32be(i)), SharedInfo empty; MacKey = Hash_1, KeyData = Hash_2. @spec SE C.4.2.2.6 (crypto.md §4.5) */
export function cbkeKdf(sharedSecret: Uint8Array): { macKey: Uint8Array; keyData: Uint8Array } {
  abytes(sharedSecret, [21, 36], 'sharedSecret');
  const block = (i: number) => aesMmoHash(concatBytes(sharedSecret, Uint8Array.of(i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255)));
  return { macKey: block(1), keyData: block(2) };
}

/** The MAC tag bytes: MACU starts with 0x02, MACV with 0x03. @spec SE C.4.2.2.7 (crypto.md §4.6) */
export const MAC_TAG = { U: 0x02, V: 0x03 } as const;

/**
 * Input of a key-confirmation MAC: tag ‖ own ID ‖ partner ID ‖ own QE ‖ partner QE, where ID is
 * the EUI-64 big-endian (= certificate subject) and QE the compressed ephemeral key. For MACU
 * "own" is the initiator U; for MACV it is the responder V (pitfall 10).
 */
export function macInput(tag: number, idFirst: Uint8Array, idSecond: Uint8Array, qeFirst: Uint8Array, qeSecond: Uint8Array): Uint8Array {
  abytes(idFirst, 8, 'idFirst'); abytes(idSecond, 8, 'idSecond');
  abytes(qeFirst, [22, 37], 'qeFirst'); abytes(qeSecond, qeFirst.length, 'qeSecond');
  return concatBytes(Uint8Array.of(tag), idFirst, idSecond, qeFirst, qeSecond);
}

export interface MacParties { idU: Uint8Array; idV: Uint8Array; qeU: Uint8Array; qeV: Uint8Array }

/** MACU = HMAC-MMO(MacKey, 02 ‖ ID_U ‖ ID_V ‖ QE_U ‖ QE_V), sent by the initiator. */
export function computeMacU(macKey: Uint8Array, p: MacParties): Uint8Array {
  return hmacMmo(macKey, macInput(MAC_TAG.U, p.idU, p.idV, p.qeU, p.qeV));
}

/** MACV = HMAC-MMO(MacKey, 03 ‖ ID_V ‖ ID_U ‖ QE_V ‖ QE_U), sent by the responder. */
export function computeMacV(macKey: Uint8Array, p: MacParties): Uint8Array {
  return hmacMmo(macKey, macInput(MAC_TAG.V, p.idV, p.idU, p.qeV, p.qeU));
}

/** An ephemeral key pair for one exchange. @spec SE C.4.2.2.2 (EC key pair generation, SEC 1 §3.2.1) */
export function generateEphemeralKey(suite: CryptoSuite, random: RandomSource = defaultRandom, privateKey?: bigint):
  { privateKey: bigint; publicKey: AffinePoint; encoded: Uint8Array } {
  const d = privateKey ?? randomScalar(suite.curve, random);
  const Q = suite.curve.multiplyBase(d);
  if (!Q) throw new RangeError('ephemeral private key is a multiple of n');
  return { privateKey: d, publicKey: Q, encoded: suite.curve.compress(Q) };
}

// ---- One party ---------------------------------------------------------------------------------

/** A CA whose certificates we accept: the issuer field it writes and its public key. */
export interface TrustedCa { issuer: Uint8Array; publicKey: CaKey; label?: string }

/** KE cluster messages, abstracted from their ZCL frames (command ids in comments). */
export type CbkeMessage =
  | { type: 'certificate'; certificate: Uint8Array } // 0x00 Initiate KE Request / Response
  | { type: 'ephemeral'; publicKey: Uint8Array } //     0x01 Ephemeral Data Request / Response
  | { type: 'confirm'; mac: Uint8Array } //             0x02 Confirm Key Data Request / Response
  | { type: 'terminate'; status: number }; //           0x03 Terminate Key Establishment

export type CbkeRole = 'initiator' | 'responder';
export type CbkeState = 'idle' | 'await-certificate' | 'await-ephemeral' | 'await-confirm' | 'done' | 'failed';

export type CbkeFailureReason =
  | CertificateProblem | 'bad-reconstruction-point' | 'invalid-ephemeral' | 'ecmqv-infinity'
  | 'bad-key-confirm' | 'unexpected-message' | 'malformed-message' | 'partner-terminated';

export interface CbkeFailure {
  status: number;
  reason: CbkeFailureReason;
  /** The state the party was in when it failed. */
  state: CbkeState;
  message: string;
  /** True when we sent Terminate; false when the partner did. */
  sentByUs: boolean;
}

export interface CbkeResult {
  sharedSecret: Uint8Array;
  macKey: Uint8Array;
  /** Becomes the APS link key with the partner. */
  keyData: Uint8Array;
  macU: Uint8Array;
  macV: Uint8Array;
  partnerCertificate: Certificate;
  partnerPublicKey: AffinePoint;
  ownEphemeral: Uint8Array;
  partnerEphemeral: Uint8Array;
}

export interface CbkePartyOptions {
  suite: CryptoSuite;
  role: CbkeRole;
  certificate: Uint8Array;
  /** Static private key (the Certicom "private key reconstruction data"), bigint or scalarBytes octets. */
  privateKey: bigint | Uint8Array;
  trustedCas: readonly TrustedCa[];
  /** Partner's EUI-64 (big-endian), when known: its certificate subject must match. */
  partnerEui64?: Uint8Array;
  /** Unix seconds, for suite-2 certificate validity; omitted = not judged. */
  now?: number;
  random?: RandomSource;
  /** Fixed ephemeral private key (published vectors); otherwise drawn from `random`. */
  ephemeralPrivateKey?: bigint;
  /** Full validation (n·QE = O) of the partner's ephemeral key; default partial. */
  fullValidation?: boolean;
  /** Suite 2: refuse a partner certificate without the key-agreement KeyUsage bit (default true; false only for known-bad test devices). */
  requireKeyAgreement?: boolean;
}

/**
 * One side of CBKE. Message order (SE C.3.1.2.3 / C.4.2.1):
 *   initiator: start() → [cert U] … receive(cert V) → [QE_U] … receive(QE_V) → [MACU] … receive(MACV) → done
 *   responder: receive(cert U) → [cert V] … receive(QE_U) → [QE_V] … receive(MACU) → [MACV] → done
 * Any failure answers Terminate with the status of the step; a Terminate received ends the party.
 */
export class CbkeParty {
  readonly role: CbkeRole;
  state: CbkeState = 'idle';
  result: CbkeResult | undefined;
  failure: CbkeFailure | undefined;
  /** Status of a Terminate that arrived after we finished (e.g. the initiator rejected our MACV). */
  terminatedAfterDone: number | undefined;
  private readonly o: CbkePartyOptions;
  private readonly own: Certificate;
  private readonly d: bigint;
  private partner?: { cert: Certificate; Q: AffinePoint };
  private eph?: { privateKey: bigint; publicKey: AffinePoint; encoded: Uint8Array };
  private expectedPartnerMac?: Uint8Array;

  constructor(opts: CbkePartyOptions) {
    this.o = opts;
    this.role = opts.role;
    this.own = parseCertificate(opts.certificate);
    if (this.own.bytes.length !== opts.suite.certificateBytes) throw new RangeError(`own certificate is not a ${opts.suite.name} certificate`);
    this.d = typeof opts.privateKey === 'bigint' ? opts.privateKey : bytesToBigInt(abytes(opts.privateKey, opts.suite.scalarBytes, 'privateKey'));
    if (this.role === 'responder') this.state = 'await-certificate';
  }

  /** Initiator only: the Initiate Key Establishment Request (our certificate). */
  start(): CbkeMessage {
    if (this.role !== 'initiator' || this.state !== 'idle') throw new Error(`start() is for an idle initiator (role ${this.role}, state ${this.state})`);
    this.state = 'await-certificate';
    return { type: 'certificate', certificate: this.own.bytes };
  }

  /** Handles one message from the partner; returns what to send back, if anything. */
  receive(msg: CbkeMessage): CbkeMessage | undefined {
    if (this.state === 'done' && msg.type === 'terminate') this.terminatedAfterDone = msg.status;
    if (this.state === 'done' || this.state === 'failed') return undefined;
    if (msg.type === 'terminate') {
      this.failure = { status: msg.status, reason: 'partner-terminated', state: this.state, message: `partner sent Terminate 0x${msg.status.toString(16).padStart(2, '0')}`, sentByUs: false };
      this.state = 'failed';
      return undefined;
    }
    const expected = { 'await-certificate': 'certificate', 'await-ephemeral': 'ephemeral', 'await-confirm': 'confirm' }[this.state as string];
    if (msg.type !== expected) return this.fail(KeStatus.BAD_MESSAGE, 'unexpected-message', `got ${msg.type} while in ${this.state}`);
    if (msg.type === 'certificate') return this.onCertificate(msg.certificate);
    if (msg.type === 'ephemeral') return this.onEphemeral(msg.publicKey);
    return this.onConfirm(msg.mac);
  }

  private onCertificate(bytes: Uint8Array): CbkeMessage {
    const { suite } = this.o;
    if (bytes.length !== suite.certificateBytes) return this.fail(KeStatus.BAD_MESSAGE, 'malformed-message', `certificate of ${bytes.length} bytes, ${suite.name} needs ${suite.certificateBytes}`);
    const cert = parseCertificate(bytes);
    const check = checkCertificate(cert, {
      trustedIssuers: this.o.trustedCas.map((c) => c.issuer), expectedSubject: this.o.partnerEui64, now: this.o.now,
      requireKeyAgreement: this.o.requireKeyAgreement,
    });
    if (!check.ok) return this.fail(check.status, check.problem, check.message);
    const ca = this.o.trustedCas.find((c) => equalBytes(c.issuer, cert.issuer)) as TrustedCa;
    let Q: AffinePoint;
    try {
      Q = reconstructPublicKey(suite, cert, ca.publicKey);
    } catch (e) {
      // Not pinned by a public source: a reconstruction point that is not on the curve is an
      // invalid certificate (SE 1.2+ INVALID_CERTIFICATE).
      return this.fail(KeStatus.INVALID_CERTIFICATE, 'bad-reconstruction-point', (e as Error).message);
    }
    this.partner = { cert, Q };
    this.state = 'await-ephemeral';
    if (this.role === 'responder') return { type: 'certificate', certificate: this.own.bytes };
    this.eph = generateEphemeralKey(suite, this.o.random, this.o.ephemeralPrivateKey);
    return { type: 'ephemeral', publicKey: this.eph.encoded };
  }

  private onEphemeral(encoded: Uint8Array): CbkeMessage {
    const { suite } = this.o;
    const partner = this.partner as { cert: Certificate; Q: AffinePoint };
    if (encoded.length !== suite.pointBytes) return this.fail(KeStatus.BAD_MESSAGE, 'malformed-message', `ephemeral key of ${encoded.length} bytes, ${suite.name} needs ${suite.pointBytes}`);
    let QE2: AffinePoint;
    try {
      QE2 = suite.curve.decompress(encoded);
    } catch (e) {
      return this.fail(KeStatus.BAD_MESSAGE, 'invalid-ephemeral', `partner ephemeral key: ${(e as Error).message}`);
    }
    if (this.role === 'responder') this.eph = generateEphemeralKey(suite, this.o.random, this.o.ephemeralPrivateKey);
    const eph = this.eph as { privateKey: bigint; publicKey: AffinePoint; encoded: Uint8Array };
    let Z: Uint8Array;
    try {
      Z = ecmqvSharedSecret(suite.curve, {
        staticPrivate: this.d, ephemeralPrivate: eph.privateKey, ephemeralPublic: eph.publicKey,
        peerStatic: partner.Q, peerEphemeral: QE2, fullValidation: this.o.fullValidation,
      });
    } catch (e) {
      if (!(e instanceof EcmqvError)) throw e;
      return this.fail(KeStatus.BAD_MESSAGE, e.reason === 'infinity' ? 'ecmqv-infinity' : 'invalid-ephemeral', e.message);
    }
    const { macKey, keyData } = cbkeKdf(Z);
    const initiator = this.role === 'initiator';
    const parties: MacParties = {
      idU: initiator ? this.own.subject : partner.cert.subject, idV: initiator ? partner.cert.subject : this.own.subject,
      qeU: initiator ? eph.encoded : encoded, qeV: initiator ? encoded : eph.encoded,
    };
    const macU = computeMacU(macKey, parties);
    const macV = computeMacV(macKey, parties);
    this.result = {
      sharedSecret: Z, macKey, keyData, macU, macV, partnerCertificate: partner.cert, partnerPublicKey: partner.Q,
      ownEphemeral: eph.encoded, partnerEphemeral: encoded.slice(),
    };
    this.expectedPartnerMac = initiator ? macV : macU;
    this.state = 'await-confirm';
    return initiator ? { type: 'confirm', mac: macU } : { type: 'ephemeral', publicKey: eph.encoded };
  }

  private onConfirm(mac: Uint8Array): CbkeMessage | undefined {
    // Key confirmation: the link key (KeyData) is released only after the partner's MAC verifies.
    if (!equalBytes(mac, this.expectedPartnerMac as Uint8Array)) {
      const which = this.role === 'initiator' ? 'MACV' : 'MACU';
      return this.fail(KeStatus.BAD_KEY_CONFIRM, 'bad-key-confirm', `received ${which} does not match the one computed from our secret`);
    }
    this.state = 'done';
    return this.role === 'responder' ? { type: 'confirm', mac: (this.result as CbkeResult).macV } : undefined;
  }

  private fail(status: number, reason: CbkeFailureReason, message: string): CbkeMessage {
    this.failure = { status, reason, state: this.state, message, sentByUs: true };
    this.state = 'failed';
    this.result = undefined;
    return { type: 'terminate', status };
  }
}

// ---- Both parties in memory ----------------------------------------------------------------------

export interface RunParty {
  certificate: Uint8Array;
  privateKey: bigint | Uint8Array;
  ephemeralPrivateKey?: bigint;
  /** CAs this side trusts; defaults to the run's `trustedCas`. */
  trustedCas?: readonly TrustedCa[];
  partnerEui64?: Uint8Array;
}

export interface RunOptions {
  suite: CryptoSuite;
  initiator: RunParty;
  responder: RunParty;
  trustedCas?: readonly TrustedCa[];
  random?: RandomSource;
  now?: number;
  fullValidation?: boolean;
  /** Sees (and may replace) every message in flight: the hook for tampering tests. */
  intercept?: (from: CbkeRole, msg: CbkeMessage) => CbkeMessage;
}

export interface PartyView {
  role: CbkeRole;
  state: CbkeState;
  ok: boolean;
  result?: CbkeResult;
  failure?: CbkeFailure;
  terminatedAfterDone?: number;
}

/** Runs a whole exchange in memory and returns both sides' views and the transcript. */
export function runKeyEstablishment(opts: RunOptions): { initiator: PartyView; responder: PartyView; transcript: { from: CbkeRole; message: CbkeMessage }[] } {
  const make = (role: CbkeRole, p: RunParty) => new CbkeParty({
    suite: opts.suite, role, certificate: p.certificate, privateKey: p.privateKey, ephemeralPrivateKey: p.ephemeralPrivateKey,
    trustedCas: p.trustedCas ?? opts.trustedCas ?? [], partnerEui64: p.partnerEui64, now: opts.now, random: opts.random,
    fullValidation: opts.fullValidation,
  });
  const parties = { initiator: make('initiator', opts.initiator), responder: make('responder', opts.responder) };
  const transcript: { from: CbkeRole; message: CbkeMessage }[] = [];
  let from: CbkeRole = 'initiator';
  let msg: CbkeMessage | undefined = parties.initiator.start();
  for (let i = 0; msg && i < 8; i++) {
    if (opts.intercept) msg = opts.intercept(from, msg);
    transcript.push({ from, message: msg });
    from = from === 'initiator' ? 'responder' : 'initiator';
    msg = parties[from].receive(msg);
  }
  const view = (p: CbkeParty): PartyView => ({ role: p.role, state: p.state, ok: p.state === 'done', result: p.result, failure: p.failure,
    terminatedAfterDone: p.terminatedAfterDone });
  return { initiator: view(parties.initiator), responder: view(parties.responder), transcript };
}

/** Private key octets (scalarBytes, big-endian) → bigint, and back: data files carry octets. */
export const privateKeyToBytes = (suite: CryptoSuite, d: bigint) => bigIntToBytes(d, suite.scalarBytes);
