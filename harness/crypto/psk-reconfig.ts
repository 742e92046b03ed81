// Cryptographic primitives and message codecs of the PSK reconfiguration of
// draft-kang-core-secure-reconfiguration-00: new node SBI(i), controller SBR(c), server SBS(s).
// The draft leaves the concrete choices open; sehil's profile of them (and the reasons) is
// harness/psk/PROFILE.md, whose section numbers (P1…P9) the comments below cite.
//
//   M1 i→c  hello         ID_i ‖ RN_i                               (clear, §4 ¶2)
//   M2 c→s  authRequest   H ‖ TS ‖ RN_i ‖ RN_c ‖ MIC(SK_cs)         (§4 ¶3, authenticated: P6)
//   M3 s→c  authResponse  H ‖ E(IK_i ‖ ID_i, SK_cs)                 (§4 ¶5)
//   M4 c→i  keyOffer      H ‖ E(RN_i ‖ RN_c, IK_i)                  (§4 ¶6)
//   M5 i→c  confirm       H ‖ E(RN_c, PSK_i)                        (§4 ¶7, the confirmation)
//   H = type(1) ‖ ID_c(4) ‖ TID(4) ‖ ID_i(4), big-endian; it is also the CCM nonce (P4).
//
// Pure TypeScript over Uint8Array, no `node:` imports: this runs in browsers too. No module-level
// mutable state: randomness, clocks and the replay cache are passed in.
import { createAes128 } from './aes.ts';
import { abytes, concatBytes, equalBytes, wipe } from './bytes.ts';
import { ccmStarDecrypt, ccmStarEncrypt } from './ccm-star.ts';

/** Field sizes of the profile, in bytes (PROFILE.md P2, P5). */
export const PSK_SIZES = {
  id: 4, rn: 16, key: 16, tid: 4, ts: 4, mic: 8, header: 13, nonce: 13,
} as const;

/** Default timestamp acceptance window, seconds either side of "now" (PROFILE.md P7). */
export const DEFAULT_FRESHNESS_WINDOW_S = 120;

/** Message type codes, the first byte of every message (PROFILE.md P5). */
export const MessageType = { hello: 0x01, authRequest: 0x02, authResponse: 0x03, keyOffer: 0x04, confirm: 0x05 } as const;
export type MessageTypeName = keyof typeof MessageType;

/** The transaction a message belongs to: the fields of H after the type byte. */
export interface TransactionHeader { idC: number; tid: number; idI: number }

export interface Hello { type: 'hello'; idI: number; rnI: Uint8Array }
export interface AuthRequest extends TransactionHeader { type: 'authRequest'; ts: number; rnI: Uint8Array; rnC: Uint8Array; mic: Uint8Array }
/** `sealed` = CCM ciphertext ‖ 8-byte tag. */
export interface AuthResponse extends TransactionHeader { type: 'authResponse'; sealed: Uint8Array }
export interface KeyOffer extends TransactionHeader { type: 'keyOffer'; sealed: Uint8Array }
export interface Confirm extends TransactionHeader { type: 'confirm'; sealed: Uint8Array }
export type PskMessage = Hello | AuthRequest | AuthResponse | KeyOffer | Confirm;

// ---------------------------------------------------------------------------------------------
// Encoding (PROFILE.md P5): each message is a fixed list of fields; one table drives both
// directions so the encoder and the decoder cannot disagree.

type FieldSpec = readonly [name: string, kind: 'u32' | number];
const HEADER_FIELDS: readonly FieldSpec[] = [['idC', 'u32'], ['tid', 'u32'], ['idI', 'u32']];
const LAYOUT: Record<MessageTypeName, readonly FieldSpec[]> = {
  hello: [['idI', 'u32'], ['rnI', 16]],
  authRequest: [...HEADER_FIELDS, ['ts', 'u32'], ['rnI', 16], ['rnC', 16], ['mic', 8]],
  authResponse: [...HEADER_FIELDS, ['sealed', 16 + 4 + 8]],
  keyOffer: [...HEADER_FIELDS, ['sealed', 16 + 16 + 8]],
  confirm: [...HEADER_FIELDS, ['sealed', 16 + 8]],
};

/** Encoded length of each message type, type byte included. */
export const MESSAGE_LENGTH = Object.fromEntries(
  Object.entries(LAYOUT).map(([k, fields]) => [k, 1 + fields.reduce((n, [, kind]) => n + (kind === 'u32' ? 4 : kind), 0)]),
) as Record<MessageTypeName, number>;

const TYPE_NAME = new Map<number, MessageTypeName>(Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]));

/** A message that does not decode: which message, which field, where, and what was read before it. */
export class PskDecodeError extends RangeError {
  override name = 'PskDecodeError';
  constructor(
    readonly messageType: MessageTypeName | undefined,
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`psk ${messageType ?? 'message'} @${offset} "${field}": ${reason}`);
  }
}

export type PskDecoded<T> =
  | { ok: true; value: T; offset: number }
  | { ok: false; error: PskDecodeError; partial: Record<string, unknown> };

function checkU32(value: unknown, title: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`"${title}" expected an integer in 0..0xffffffff, got ${String(value)}`);
  }
  return value;
}

/**
 * Message → bytes. Wrong field types or lengths are the caller's bug: TypeError / RangeError naming the field.
 * @spec draft-kang-core-secure-reconfiguration-00 §4 (fields), §2 (sizes); layout: PROFILE.md P5
 */
export function encodeMessage(message: PskMessage): Uint8Array {
  const layout = LAYOUT[message.type];
  if (layout === undefined) throw new RangeError(`"type" expected one of ${Object.keys(LAYOUT).join(', ')}, got ${String(message.type)}`);
  const out = new Uint8Array(MESSAGE_LENGTH[message.type]);
  out[0] = MessageType[message.type];
  let o = 1;
  const fields = message as unknown as Record<string, unknown>;
  for (const [name, kind] of layout) {
    if (kind === 'u32') {
      // Network byte order (big-endian), PROFILE.md P5.
      new DataView(out.buffer).setUint32(o, checkU32(fields[name], name));
      o += 4;
    } else {
      out.set(abytes(fields[name], kind, name), o);
      o += kind;
    }
  }
  return out;
}

/**
 * Bytes → message, starting at `offset`. With `expected`, any other type is an error. Never
 * throws on bad input: returns the error and the fields decoded before it. Byte fields are copies.
 * @spec draft-kang-core-secure-reconfiguration-00 §4; layout: PROFILE.md P5
 */
export function decodeMessage(bytes: Uint8Array, offset = 0, expected?: MessageTypeName): PskDecoded<PskMessage> {
  abytes(bytes, undefined, 'bytes');
  const partial: Record<string, unknown> = {};
  const fail = (type: MessageTypeName | undefined, field: string, at: number, reason: string): PskDecoded<PskMessage> =>
    ({ ok: false, error: new PskDecodeError(type, field, at, reason), partial });
  if (offset >= bytes.length) return fail(expected, 'type', offset, 'truncated: need 1 byte, have 0');
  const type = TYPE_NAME.get(bytes[offset]);
  if (type === undefined) return fail(expected, 'type', offset, `unknown message type 0x${bytes[offset].toString(16).padStart(2, '0')}`);
  if (expected !== undefined && type !== expected) {
    return fail(expected, 'type', offset, `expected ${expected} (0x0${MessageType[expected]}), got ${type} (0x0${MessageType[type]})`);
  }
  partial.type = type;
  let o = offset + 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [name, kind] of LAYOUT[type]) {
    const n = kind === 'u32' ? 4 : kind;
    if (o + n > bytes.length) return fail(type, name, o, `truncated: need ${n} bytes, have ${bytes.length - o}`);
    partial[name] = kind === 'u32' ? view.getUint32(o) : bytes.slice(o, o + n);
    o += n;
  }
  return { ok: true, value: partial as unknown as PskMessage, offset: o };
}

/** A whole datagram / CoAP payload: exactly one message, no leftover bytes. */
export function decodeMessageExact(bytes: Uint8Array, expected?: MessageTypeName): PskDecoded<PskMessage> {
  const r = decodeMessage(bytes, 0, expected);
  if (r.ok && r.offset !== bytes.length) {
    const error = new PskDecodeError(r.value.type, 'end', r.offset, `${bytes.length - r.offset} leftover bytes after the message`);
    return { ok: false, error, partial: { ...r.value } };
  }
  return r;
}

/** H = type ‖ ID_c ‖ TID ‖ ID_i: 13 bytes, the CCM nonce of the message (PROFILE.md P4). */
export function transactionHeader(type: Exclude<MessageTypeName, 'hello'>, h: TransactionHeader): Uint8Array {
  const out = new Uint8Array(PSK_SIZES.header);
  const v = new DataView(out.buffer);
  out[0] = MessageType[type];
  v.setUint32(1, checkU32(h.idC, 'idC'));
  v.setUint32(5, checkU32(h.tid, 'tid'));
  v.setUint32(9, checkU32(h.idI, 'idI'));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Randomness (§2 RN_A: 128-bit secure random numbers).

/** Fills `out` with secure random bytes and returns it; tests inject a deterministic one. */
export type RandomSource = (out: Uint8Array) => Uint8Array;
export const defaultRandom: RandomSource = (out) => globalThis.crypto.getRandomValues(out);

/** A fresh RN_A (§2: 128 bits). */
export function newRandomNumber(random: RandomSource = defaultRandom): Uint8Array {
  return abytes(random(new Uint8Array(PSK_SIZES.rn)), PSK_SIZES.rn, 'random() result');
}

/** M1: the new node's hello with a fresh RN_i. @spec draft-kang-core-secure-reconfiguration-00 §4 ¶2 */
export function createHello(idI: number, random: RandomSource = defaultRandom): Hello {
  return { type: 'hello', idI: checkU32(idI, 'idI'), rnI: newRandomNumber(random) };
}

// ---------------------------------------------------------------------------------------------
// PSK derivation.

/**
 * PSK_i = E(RN_i ∨ RN_c, IK_i), with ∨ the draft's XOR (§2) and E(M, SK) one AES-128 block
 * encryption of plaintext M = RN_i ⊕ RN_c under key SK = IK_i (FIPS 197; PROFILE.md P1):
 * the argument order is the draft's own definition of E(M, SK) in §2.
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶4, §2
 */
export function derivePsk(rnI: Uint8Array, rnC: Uint8Array, ikI: Uint8Array): Uint8Array {
  abytes(rnI, PSK_SIZES.rn, 'rnI');
  abytes(rnC, PSK_SIZES.rn, 'rnC');
  abytes(ikI, PSK_SIZES.key, 'ikI');
  const x = new Uint8Array(16);
  for (let i = 0; i < 16; i++) x[i] = rnI[i] ^ rnC[i];
  const psk = createAes128(ikI).encryptBlock(x);
  wipe(x);
  return psk;
}

// ---------------------------------------------------------------------------------------------
// Message protection: E(·, K) of a message is AES-128-CCM, 8-byte tag, 13-byte nonce H, and as
// associated data every clear byte in front of the ciphertext (PROFILE.md P2–P4).

/** Why a protected message was refused. Plaintext is never released with any of these. */
export type OpenFailure =
  | 'auth-failed'            // CCM tag did not verify: wrong key, or bytes changed on the way
  | 'id-mismatch'            // M3: ID_i inside the ciphertext differs from ID_i in H
  | 'wrong-node'             // M4: addressed to another ID_i
  | 'rn-mismatch'            // M4: RN_i inside is not the one this node sent in M1
  | 'confirmation-mismatch'; // M5: verified under PSK_i but does not carry RN_c

export type Opened<T> = { ok: true; value: T } | { ok: false; reason: OpenFailure };

function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return ccmStarEncrypt(key, nonce, aad, plaintext, PSK_SIZES.mic);
}

/** Verify-then-decrypt; `undefined` when the tag fails (ccm-star releases nothing in that case). */
function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  const r = ccmStarDecrypt(key, nonce, aad, sealed, PSK_SIZES.mic);
  return r.ok ? r.plaintext : undefined;
}

/** The clear bytes M2's MIC covers: the whole message up to the MIC. */
function authRequestAad(m: Omit<AuthRequest, 'type' | 'mic'>): Uint8Array {
  const full = encodeMessage({ ...m, type: 'authRequest', mic: new Uint8Array(PSK_SIZES.mic) });
  return full.subarray(0, full.length - PSK_SIZES.mic);
}

/**
 * M2: c→s. The draft sends it in clear; the profile adds a MIC under SK_cs so that TS and the
 * RNs cannot be altered (PROFILE.md P6). CCM with an empty payload: only the tag is new.
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶3
 */
export function sealAuthRequest(m: Omit<AuthRequest, 'type' | 'mic'>, skCs: Uint8Array): AuthRequest {
  abytes(skCs, PSK_SIZES.key, 'skCs');
  const aad = authRequestAad(m);
  const mic = seal(skCs, transactionHeader('authRequest', m), aad, new Uint8Array(0));
  return { type: 'authRequest', idC: m.idC, tid: m.tid, idI: m.idI, ts: m.ts, rnI: m.rnI.slice(), rnC: m.rnC.slice(), mic };
}

/** M2 at the server: the MIC only (freshness and replay: acceptAuthRequest). */
export function verifyAuthRequest(m: AuthRequest, skCs: Uint8Array): Opened<AuthRequest> {
  abytes(skCs, PSK_SIZES.key, 'skCs');
  const pt = open(skCs, transactionHeader('authRequest', m), authRequestAad(m), abytes(m.mic, PSK_SIZES.mic, 'mic'));
  return pt === undefined ? { ok: false, reason: 'auth-failed' } : { ok: true, value: m };
}

/**
 * M3: s→c, E(IK_i ‖ ID_i, SK_cs): hands IK_i to the controller so it can compute PSK_i.
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶5
 */
export function sealAuthResponse(h: TransactionHeader, ikI: Uint8Array, skCs: Uint8Array): AuthResponse {
  abytes(ikI, PSK_SIZES.key, 'ikI');
  abytes(skCs, PSK_SIZES.key, 'skCs');
  const hdr = transactionHeader('authResponse', h);
  const pt = concatBytes(ikI, hdr.subarray(9, 13));
  const sealed = seal(skCs, hdr, hdr, pt);
  wipe(pt);
  return { type: 'authResponse', idC: h.idC, tid: h.tid, idI: h.idI, sealed };
}

/** M3 at the controller: IK_i, released only if the tag verifies and the inner ID_i is H's ID_i. */
export function openAuthResponse(m: AuthResponse, skCs: Uint8Array): Opened<{ ikI: Uint8Array }> {
  abytes(skCs, PSK_SIZES.key, 'skCs');
  const hdr = transactionHeader('authResponse', m);
  const pt = open(skCs, hdr, hdr, abytes(m.sealed, MESSAGE_LENGTH.authResponse - PSK_SIZES.header, 'sealed'));
  if (pt === undefined) return { ok: false, reason: 'auth-failed' };
  const idMatches = equalBytes(pt.subarray(16, 20), hdr.subarray(9, 13));
  const ikI = pt.slice(0, 16);
  wipe(pt);
  if (!idMatches) { wipe(ikI); return { ok: false, reason: 'id-mismatch' }; }
  return { ok: true, value: { ikI } };
}

/**
 * M4: c→i, E(RN_i ‖ RN_c, IK_i), with ID_c in H (the draft's "ID_r", §4 ¶6; PROFILE.md P5).
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶6
 */
export function sealKeyOffer(h: TransactionHeader, rnI: Uint8Array, rnC: Uint8Array, ikI: Uint8Array): KeyOffer {
  abytes(rnI, PSK_SIZES.rn, 'rnI');
  abytes(rnC, PSK_SIZES.rn, 'rnC');
  abytes(ikI, PSK_SIZES.key, 'ikI');
  const hdr = transactionHeader('keyOffer', h);
  const pt = concatBytes(rnI, rnC);
  const sealed = seal(ikI, hdr, hdr, pt);
  wipe(pt);
  return { type: 'keyOffer', idC: h.idC, tid: h.tid, idI: h.idI, sealed };
}

/**
 * M4 at the new node: RN_c, released only if the tag verifies under IK_i, H names this node and
 * the RN_i inside is the one it sent in M1 (which is what makes M4 fresh for the node).
 */
export function openKeyOffer(m: KeyOffer, ikI: Uint8Array, own: { idI: number; rnI: Uint8Array }): Opened<{ rnC: Uint8Array }> {
  abytes(ikI, PSK_SIZES.key, 'ikI');
  abytes(own.rnI, PSK_SIZES.rn, 'rnI');
  if (m.idI !== own.idI) return { ok: false, reason: 'wrong-node' };
  const hdr = transactionHeader('keyOffer', m);
  const pt = open(ikI, hdr, hdr, abytes(m.sealed, MESSAGE_LENGTH.keyOffer - PSK_SIZES.header, 'sealed'));
  if (pt === undefined) return { ok: false, reason: 'auth-failed' };
  const rnMatches = equalBytes(pt.subarray(0, 16), own.rnI);
  const rnC = pt.slice(16, 32);
  wipe(pt);
  if (!rnMatches) { wipe(rnC); return { ok: false, reason: 'rn-mismatch' }; }
  return { ok: true, value: { rnC } };
}

/**
 * The final confirmation value: E(RN_c, PSK_i) = CCM_PSK_i(nonce H5, aad H5, RN_c), 24 bytes
 * (PROFILE.md P8). Only a holder of PSK_i can make it; it names the transaction through H5.
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶7
 */
export function computeConfirmation(h: TransactionHeader, rnC: Uint8Array, psk: Uint8Array): Uint8Array {
  abytes(rnC, PSK_SIZES.rn, 'rnC');
  abytes(psk, PSK_SIZES.key, 'psk');
  const hdr = transactionHeader('confirm', h);
  return seal(psk, hdr, hdr, rnC);
}

/** M5: i→c, carrying the confirmation value. */
export function sealConfirm(h: TransactionHeader, rnC: Uint8Array, psk: Uint8Array): Confirm {
  return { type: 'confirm', idC: h.idC, tid: h.tid, idI: h.idI, sealed: computeConfirmation(h, rnC, psk) };
}

/** M5 at the controller: the node proves it holds PSK_i and echoes this transaction's RN_c. */
export function verifyConfirm(m: Confirm, psk: Uint8Array, rnC: Uint8Array): Opened<TransactionHeader> {
  abytes(psk, PSK_SIZES.key, 'psk');
  abytes(rnC, PSK_SIZES.rn, 'rnC');
  const hdr = transactionHeader('confirm', m);
  const pt = open(psk, hdr, hdr, abytes(m.sealed, MESSAGE_LENGTH.confirm - PSK_SIZES.header, 'sealed'));
  if (pt === undefined) return { ok: false, reason: 'auth-failed' };
  const matches = equalBytes(pt, rnC);
  wipe(pt);
  return matches ? { ok: true, value: { idC: m.idC, tid: m.tid, idI: m.idI } } : { ok: false, reason: 'confirmation-mismatch' };
}

// ---------------------------------------------------------------------------------------------
// Timestamp freshness and transaction-ID replay (§4 ¶3: "TS allows [SBS] to … verify the
// freshness of the arrived message"; PROFILE.md P7, P9).

/** TS: unsigned 32-bit seconds since 1970-01-01T00:00:00Z, modulo 2^32 (PROFILE.md P7). */
export function timestampFromMs(ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError(`"ms" expected a finite number, got ${ms}`);
  return Math.floor(ms / 1000) >>> 0;
}

/** now − ts as a signed 32-bit serial-number difference (RFC 1982 style), so 2106's wrap is harmless. */
function ageS(ts: number, nowS: number): number {
  return (checkU32(nowS, 'nowS') - checkU32(ts, 'ts')) | 0;
}

function checkWindow(windowS: number): number {
  if (!Number.isInteger(windowS) || windowS < 0 || windowS >= 0x40000000) {
    throw new RangeError(`"windowS" expected an integer in 0..2^30-1 seconds, got ${windowS}`);
  }
  return windowS;
}

export type Freshness = { ok: true; ageS: number } | { ok: false; reason: 'stale' | 'future'; ageS: number };

/**
 * Accepts `ts` when |now − ts| ≤ windowS; `ageS` < 0 means ts is ahead of our clock.
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶3 (TS), §2 (TS); window: PROFILE.md P7
 */
export function checkFreshness(ts: number, nowS: number, windowS = DEFAULT_FRESHNESS_WINDOW_S): Freshness {
  checkWindow(windowS);
  const age = ageS(ts, nowS);
  if (age > windowS) return { ok: false, reason: 'stale', ageS: age };
  if (age < -windowS) return { ok: false, reason: 'future', ageS: age };
  return { ok: true, ageS: age };
}

/**
 * Transaction IDs the server has admitted, keyed by (ID_c, TID), with their TS. An entry is kept
 * while a message with that TS could still pass the freshness check, and no longer: after that
 * the timestamp alone rejects a replay. Immutable: every admit returns a new cache.
 */
export interface ReplayCache {
  readonly windowS: number;
  readonly seen: ReadonlyMap<string, number>;
}

export function createReplayCache(windowS = DEFAULT_FRESHNESS_WINDOW_S): ReplayCache {
  return { windowS: checkWindow(windowS), seen: new Map() };
}

export type Admission = { ok: true; cache: ReplayCache } | { ok: false; reason: 'stale' | 'future' | 'replay'; cache: ReplayCache };

/**
 * Freshness, then replay of (ID_c, TID); on success the returned cache records it (and drops expired entries).
 * @spec draft-kang-core-secure-reconfiguration-00 §4 ¶3 (TID: "a serial number used as a transaction ID"); PROFILE.md P9
 */
export function admitTransaction(cache: ReplayCache, m: { idC: number; tid: number; ts: number }, nowS: number): Admission {
  const fresh = checkFreshness(m.ts, nowS, cache.windowS);
  if (!fresh.ok) return { ok: false, reason: fresh.reason, cache };
  const key = `${checkU32(m.idC, 'idC')}:${checkU32(m.tid, 'tid')}`;
  if (cache.seen.has(key)) return { ok: false, reason: 'replay', cache };
  const seen = new Map<string, number>();
  for (const [k, ts] of cache.seen) if (ageS(ts, nowS) <= cache.windowS) seen.set(k, ts);
  seen.set(key, m.ts);
  return { ok: true, cache: { windowS: cache.windowS, seen } };
}

export type Acceptance =
  | { ok: true; value: AuthRequest; cache: ReplayCache }
  | { ok: false; reason: 'auth-failed' | 'stale' | 'future' | 'replay'; cache: ReplayCache };

/**
 * The server's entry point for M2: MIC first, then freshness and replay. In this order so that a
 * forged M2 can neither fill the cache nor burn a legitimate controller's TID.
 */
export function acceptAuthRequest(cache: ReplayCache, m: AuthRequest, skCs: Uint8Array, nowS: number): Acceptance {
  const verified = verifyAuthRequest(m, skCs);
  if (!verified.ok) return { ok: false, reason: 'auth-failed', cache };
  const admitted = admitTransaction(cache, m, nowS);
  return admitted.ok ? { ok: true, value: m, cache: admitted.cache } : admitted;
}
