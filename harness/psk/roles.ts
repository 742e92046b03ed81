// The three roles of draft-kang-core-secure-reconfiguration-00 as transport-free state machines:
// new node SBI(i) (`PskNode`), controller SBR(c) (`PskController`), server SBS(s) (`PskServer`).
// Each takes the bytes of a message and answers with bytes or a refusal that carries the CoAP
// response code the binding sends (PROFILE.md P10, P11). The crypto and codecs are
// harness/crypto/psk-reconfig.ts; this file adds who keeps which state and when a PSK counts as
// installed. Known-bad behaviours (for the kit's own tests) are switches of a profile.
//
// Pure TypeScript over Uint8Array, no `node:` imports (runs in browsers); time and randomness are
// passed in.
import { createAes128 } from '../crypto/aes.ts';
import { bytesToHex, concatBytes } from '../crypto/bytes.ts';
import {
  DEFAULT_FRESHNESS_WINDOW_S, MESSAGE_LENGTH, PSK_SIZES, admitTransaction, checkFreshness, createHello,
  createReplayCache, decodeMessageExact, defaultRandom, derivePsk, encodeMessage, newRandomNumber, openAuthResponse,
  openKeyOffer, sealAuthRequest, sealAuthResponse, sealConfirm, sealKeyOffer, transactionHeader, verifyAuthRequest,
  verifyConfirm, type AuthRequest, type AuthResponse, type Confirm, type KeyOffer, type MessageTypeName,
  type RandomSource, type ReplayCache, type TransactionHeader,
} from '../crypto/psk-reconfig.ts';

/** CoAP response codes of the binding (PROFILE.md P10). */
export type PskCode = '2.04' | '4.00' | '4.01' | '4.04' | '5.02' | '5.04';

/** Why a role refused a message (the diagnostic payload of the CoAP error names it first). */
export type PskRefusalReason =
  | 'malformed' | 'auth-failed' | 'id-mismatch' | 'wrong-node' | 'rn-mismatch' | 'confirmation-mismatch'
  | 'stale' | 'future' | 'replay' | 'unknown-node' | 'unknown-controller' | 'unknown-transaction'
  | 'server-refused' | 'server-unreachable';

export interface PskRefusal { ok: false; code: PskCode; reason: PskRefusalReason; detail: string }
export type PskReply = { ok: true; code: '2.04'; payload: Uint8Array } | PskRefusal;

const CODE_OF: Record<PskRefusalReason, PskCode> = {
  malformed: '4.00', 'auth-failed': '4.01', 'id-mismatch': '4.01', 'wrong-node': '4.01', 'rn-mismatch': '4.01',
  'confirmation-mismatch': '4.01', stale: '4.01', future: '4.01', replay: '4.01', 'unknown-node': '4.04',
  'unknown-controller': '4.04', 'unknown-transaction': '4.04', 'server-refused': '5.02', 'server-unreachable': '5.04',
};

export function refuse(reason: PskRefusalReason, detail: string): PskRefusal {
  return { ok: false, code: CODE_OF[reason], reason, detail: `${reason}: ${detail}` };
}

/** The diagnostic payload of a refusal, `reason: detail` (RFC 7252 §5.5.2), as bytes. */
export function diagnosticPayload(r: PskRefusal): Uint8Array {
  return new TextEncoder().encode(r.detail);
}

function decodeOr<T>(bytes: Uint8Array, type: MessageTypeName): { ok: true; value: T } | PskRefusal {
  const d = decodeMessageExact(bytes, type);
  if (!d.ok) return refuse('malformed', `${d.error.message}`);
  return { ok: true, value: d.value as T };
}

// ---------------------------------------------------------------------------------------------
// Behaviour profiles. `compliant` is what the profile requires; the others are known-bad devices
// the suite must catch (test/psk/roles.test.ts and suites/psk-reconfig prove it).

export interface ServerBehaviour { checkMic: boolean; checkFreshness: boolean; checkReplay: boolean }
export interface ControllerBehaviour { checkConfirmation: boolean; refuseRepeatedHello: boolean; flipKeyOfferBit: boolean }
export interface NodeBehaviour { verifyKeyOffer: boolean }

export const PSK_PROFILES = {
  sbs: {
    compliant: { checkMic: true, checkFreshness: true, checkReplay: true },
    'ignores-mic': { checkMic: false, checkFreshness: true, checkReplay: true },
    'ignores-timestamp': { checkMic: true, checkFreshness: false, checkReplay: true },
    'accepts-replay': { checkMic: true, checkFreshness: true, checkReplay: false },
  } satisfies Record<string, ServerBehaviour>,
  sbr: {
    compliant: { checkConfirmation: true, refuseRepeatedHello: true, flipKeyOfferBit: false },
    'accepts-any-confirmation': { checkConfirmation: false, refuseRepeatedHello: true, flipKeyOfferBit: false },
    'answers-replayed-hello': { checkConfirmation: true, refuseRepeatedHello: false, flipKeyOfferBit: false },
    /** Not a bad device but the kit's tamperer: a controller whose M4 has one ciphertext bit flipped. */
    'flips-key-offer-bit': { checkConfirmation: true, refuseRepeatedHello: true, flipKeyOfferBit: true },
  } satisfies Record<string, ControllerBehaviour>,
  sbi: {
    compliant: { verifyKeyOffer: true },
    /** Decrypts M4 without checking its tag or the RN_i inside, and confirms whatever comes out. */
    'skips-key-offer-check': { verifyKeyOffer: false },
  } satisfies Record<string, NodeBehaviour>,
} as const;

export type PskRoleName = keyof typeof PSK_PROFILES;

export function pskProfile<R extends PskRoleName>(role: R, name: string): (typeof PSK_PROFILES)[R][keyof (typeof PSK_PROFILES)[R]] {
  const table = PSK_PROFILES[role] as Record<string, unknown>;
  if (!(name in table)) throw new RangeError(`unknown ${role} profile "${name}"; known: ${Object.keys(table).join(', ')}`);
  return table[name] as (typeof PSK_PROFILES)[R][keyof (typeof PSK_PROFILES)[R]];
}

// ---------------------------------------------------------------------------------------------
// SBS(s): answers M2 with M3; derives and installs PSK_i (§4 ¶4) when it admits an M2.

export interface ServerOptions {
  /** ID_i → IK_i of every node the administrator registered (§3 item 2). */
  nodes: ReadonlyMap<number, Uint8Array>;
  /** ID_c → SK_cs of every controller. */
  controllers: ReadonlyMap<number, Uint8Array>;
  /** Current time, TS units (seconds since 1970, mod 2^32). */
  nowS: () => number;
  windowS?: number;
  behaviour?: ServerBehaviour;
}

export class PskServer {
  private cache: ReplayCache;
  private readonly behaviour: ServerBehaviour;
  /** ID_i → PSK_i, set when an M2 for that node is admitted (the draft's "replace the IK_i … to the PSK"). */
  readonly installed = new Map<number, Uint8Array>();
  /** M2s admitted, in order (for the kit's checks: a refused M2 never appears here). */
  readonly admitted: { idC: number; tid: number; idI: number; ts: number }[] = [];

  constructor(private readonly o: ServerOptions) {
    this.cache = createReplayCache(o.windowS ?? DEFAULT_FRESHNESS_WINDOW_S);
    this.behaviour = o.behaviour ?? PSK_PROFILES.sbs.compliant;
  }

  /** M2 → M3. Order: decode, controller, MIC, freshness, replay, node (PROFILE.md P6, P9). */
  handleAuthRequest(bytes: Uint8Array): PskReply {
    const d = decodeOr<AuthRequest>(bytes, 'authRequest');
    if (!d.ok) return d;
    const m = d.value;
    const sk = this.o.controllers.get(m.idC);
    if (!sk) return refuse('unknown-controller', `ID_c ${m.idC} is not registered at this server`);
    if (this.behaviour.checkMic && !verifyAuthRequest(m, sk).ok) return refuse('auth-failed', 'M2 MIC does not verify under SK_cs');
    const nowS = this.o.nowS();
    if (this.behaviour.checkFreshness) {
      const f = checkFreshness(m.ts, nowS, this.cache.windowS);
      if (!f.ok) return refuse(f.reason, `TS ${m.ts} is ${f.ageS} s from now (${nowS}), window ±${this.cache.windowS} s`);
    }
    if (this.behaviour.checkReplay) {
      // With freshness off (a known-bad profile) the cache still works: judge TS as if it were now.
      const a = admitTransaction(this.cache, m, this.behaviour.checkFreshness ? nowS : m.ts);
      if (!a.ok) return refuse(a.reason, `transaction (ID_c ${m.idC}, TID ${m.tid}) was already admitted`);
      this.cache = a.cache;
    }
    const ik = this.o.nodes.get(m.idI);
    if (!ik) return refuse('unknown-node', `ID_i ${m.idI} is not registered at this server`);
    this.installed.set(m.idI, derivePsk(m.rnI, m.rnC, ik));
    this.admitted.push({ idC: m.idC, tid: m.tid, idI: m.idI, ts: m.ts });
    return { ok: true, code: '2.04', payload: encodeMessage(sealAuthResponse(m, ik, sk)) };
  }
}

// ---------------------------------------------------------------------------------------------
// SBR(c): M1 → M2 (to the server) → M3 → M4 (to the node); M5 → installs PSK_i.

export interface ControllerOptions {
  idC: number;
  skCs: Uint8Array;
  nowS: () => number;
  random?: RandomSource;
  /** The first TID; each transaction takes the next (PROFILE.md P9). Default: the current TS. */
  firstTid?: number;
  windowS?: number;
  behaviour?: ControllerBehaviour;
}

interface Pending { header: TransactionHeader; rnI: Uint8Array; rnC: Uint8Array; startedS: number; psk?: Uint8Array }

export class PskController {
  private nextTid: number;
  private readonly behaviour: ControllerBehaviour;
  private readonly windowS: number;
  private readonly pending = new Map<number, Pending>();
  /** hex(ID_i ‖ RN_i) → TS of the hello: M1s seen within the window (PROFILE.md P11). */
  private readonly hellos = new Map<string, number>();
  /** ID_i → PSK_i, set only when the node's M5 verifies. */
  readonly installed = new Map<number, Uint8Array>();

  constructor(private readonly o: ControllerOptions) {
    this.behaviour = o.behaviour ?? PSK_PROFILES.sbr.compliant;
    this.windowS = o.windowS ?? DEFAULT_FRESHNESS_WINDOW_S;
    this.nextTid = o.firstTid ?? o.nowS();
  }

  get idC(): number { return this.o.idC; }

  /** M1 → M2 for the server. */
  handleHello(bytes: Uint8Array): { ok: true; tid: number; authRequest: Uint8Array } | PskRefusal {
    const d = decodeMessageExact(bytes, 'hello');
    if (!d.ok) return refuse('malformed', d.error.message);
    if (d.value.type !== 'hello') return refuse('malformed', 'not a hello');
    const m = d.value;
    const nowS = this.o.nowS();
    this.expire(nowS);
    const key = `${m.idI}:${bytesToHex(m.rnI)}`;
    if (this.behaviour.refuseRepeatedHello && this.hellos.has(key)) {
      return refuse('replay', `hello from ID_i ${m.idI} repeats an RN_i already used ${nowS - this.hellos.get(key)!} s ago`);
    }
    this.hellos.set(key, nowS);
    const tid = this.nextTid >>> 0;
    this.nextTid = (tid + 1) >>> 0;
    const rnC = newRandomNumber(this.o.random ?? defaultRandom);
    const header = { idC: this.o.idC, tid, idI: m.idI };
    this.pending.set(tid, { header, rnI: m.rnI, rnC, startedS: nowS });
    const m2 = sealAuthRequest({ ...header, ts: nowS >>> 0, rnI: m.rnI, rnC }, this.o.skCs);
    return { ok: true, tid, authRequest: encodeMessage(m2) };
  }

  /** The server's answer to M2 of transaction `tid`, or its refusal / silence: → M4, or 5.02 / 5.04. */
  handleAuthResponse(tid: number, server: { code: string; payload: Uint8Array } | { unreachable: string }): PskReply {
    const p = this.pending.get(tid);
    if (!p) return refuse('unknown-transaction', `no open transaction ${tid}`);
    const fail = (r: PskRefusal): PskRefusal => { this.pending.delete(tid); return r; };
    if ('unreachable' in server) return fail(refuse('server-unreachable', server.unreachable));
    if (server.code !== '2.04') {
      return fail(refuse('server-refused', `server answered M2 with ${server.code} ${new TextDecoder().decode(server.payload)}`.trim()));
    }
    const d = decodeMessageExact(server.payload, 'authResponse');
    if (!d.ok) return fail(refuse('server-refused', `server's M3 does not decode: ${d.error.message}`));
    const m3 = d.value as AuthResponse;
    if (m3.idC !== p.header.idC || m3.tid !== p.header.tid || m3.idI !== p.header.idI) {
      return fail(refuse('server-refused', `server's M3 is for (ID_c ${m3.idC}, TID ${m3.tid}, ID_i ${m3.idI}), not this transaction`));
    }
    const opened = openAuthResponse(m3, this.o.skCs);
    if (!opened.ok) return fail(refuse('server-refused', `server's M3 refused: ${opened.reason}`));
    p.psk = derivePsk(p.rnI, p.rnC, opened.value.ikI);
    const m4 = encodeMessage(sealKeyOffer(p.header, p.rnI, p.rnC, opened.value.ikI));
    if (this.behaviour.flipKeyOfferBit) m4[PSK_SIZES.header + 3] ^= 0x10;
    return { ok: true, code: '2.04', payload: m4 };
  }

  /** M5 → 2.04 (PSK_i installed) or a refusal (nothing installed; the transaction stays open). */
  handleConfirm(bytes: Uint8Array): PskReply {
    const d = decodeOr<Confirm>(bytes, 'confirm');
    if (!d.ok) return d;
    const m = d.value;
    this.expire(this.o.nowS());
    if (m.idC !== this.o.idC) return refuse('unknown-transaction', `M5 is for controller ${m.idC}, this is ${this.o.idC}`);
    const p = this.pending.get(m.tid);
    if (!p || p.header.idI !== m.idI || !p.psk) return refuse('unknown-transaction', `no key offered in transaction ${m.tid} to ID_i ${m.idI}`);
    if (this.behaviour.checkConfirmation) {
      const v = verifyConfirm(m, p.psk, p.rnC);
      if (!v.ok) return refuse(v.reason === 'confirmation-mismatch' ? 'confirmation-mismatch' : 'auth-failed', `M5 of transaction ${m.tid} does not verify under PSK_i (${v.reason})`);
    }
    this.installed.set(m.idI, p.psk);
    this.pending.delete(m.tid);
    return { ok: true, code: '2.04', payload: new Uint8Array(0) };
  }

  /** Open transactions (TID → header), for diagnosis. */
  openTransactions(): TransactionHeader[] {
    return [...this.pending.values()].map((p) => p.header);
  }

  private expire(nowS: number): void {
    for (const [k, t] of this.hellos) if (((nowS - t) | 0) > this.windowS) this.hellos.delete(k);
    for (const [k, p] of this.pending) if (((nowS - p.startedS) | 0) > this.windowS) this.pending.delete(k);
  }
}

// ---------------------------------------------------------------------------------------------
// SBI(i): makes M1, opens M4, answers M5; installs PSK_i when the controller accepts M5.

export interface NodeOptions {
  idI: number;
  ikI: Uint8Array;
  random?: RandomSource;
  behaviour?: NodeBehaviour;
}

export type NodeOutcome =
  | { installed: true; psk: Uint8Array }
  | { installed: false; step: 'hello' | 'keyOffer' | 'confirm'; reason: string };

export class PskNode {
  private readonly behaviour: NodeBehaviour;
  private state: { rnI: Uint8Array; candidate?: { psk: Uint8Array } } | undefined;
  /** The key in force: IK_i until a PSK_i is installed. */
  installed: Uint8Array | undefined;

  constructor(private readonly o: NodeOptions) {
    this.behaviour = o.behaviour ?? PSK_PROFILES.sbi.compliant;
  }

  get idI(): number { return this.o.idI; }

  /** M1 with a fresh RN_i; any earlier unfinished run is forgotten. */
  hello(): Uint8Array {
    const h = createHello(this.o.idI, this.o.random ?? defaultRandom);
    this.state = { rnI: h.rnI };
    return encodeMessage(h);
  }

  /** M4 → M5, or the reason it is refused (then no M5 is sent). */
  handleKeyOffer(bytes: Uint8Array): { ok: true; confirm: Uint8Array } | PskRefusal {
    if (!this.state) return refuse('unknown-transaction', 'no hello outstanding');
    const d = decodeOr<KeyOffer>(bytes, 'keyOffer');
    if (!d.ok) return d;
    const m = d.value;
    let rnC: Uint8Array;
    if (this.behaviour.verifyKeyOffer) {
      const opened = openKeyOffer(m, this.o.ikI, { idI: this.o.idI, rnI: this.state.rnI });
      if (!opened.ok) return refuse(opened.reason, `M4 of transaction ${m.tid} refused`);
      rnC = opened.value.rnC;
    } else {
      rnC = ccmCtrOnly(this.o.ikI, transactionHeader('keyOffer', m), m.sealed).subarray(16, 32);
    }
    const psk = derivePsk(this.state.rnI, rnC, this.o.ikI);
    this.state.candidate = { psk };
    return { ok: true, confirm: encodeMessage(sealConfirm(m, rnC, psk)) };
  }

  /** The controller's response code to M5: 2.04 installs the candidate PSK_i (PROFILE.md P11). */
  handleConfirmResult(code: string): NodeOutcome {
    const c = this.state?.candidate;
    this.state = undefined;
    if (!c) return { installed: false, step: 'confirm', reason: 'no key offer was accepted' };
    if (code !== '2.04') return { installed: false, step: 'confirm', reason: `controller answered M5 with ${code}` };
    this.installed = c.psk;
    return { installed: true, psk: c.psk };
  }
}

/** CCM decryption without the tag check (the known-bad node): CTR with A_i = 0x01 ‖ nonce ‖ i. */
function ccmCtrOnly(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  const aes = createAes128(key);
  const ct = sealed.subarray(0, sealed.length - PSK_SIZES.mic);
  const out = new Uint8Array(ct.length);
  for (let i = 0; i * 16 < ct.length; i++) {
    const a = concatBytes(Uint8Array.of(0x01), nonce, Uint8Array.of(((i + 1) >> 8) & 0xff, (i + 1) & 0xff));
    const s = aes.encryptBlock(a);
    for (let j = 0; j < 16 && i * 16 + j < ct.length; j++) out[i * 16 + j] = ct[i * 16 + j] ^ s[j];
  }
  return out;
}

/** Sizes the binding checks before it decodes (a cheap pre-filter; decoding decides). */
export const PSK_MESSAGE_LENGTH = MESSAGE_LENGTH;
