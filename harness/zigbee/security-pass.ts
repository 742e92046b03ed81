// The dissector's security pass: which key opens a secured NWK or APS layer, and what a
// Transport Key teaches the keyring. Modelled on Wireshark's packet-zbee-security.c: keys are
// tried in the Keyring's order (remembered winner, keys bound to the parties, explicit, learned
// newest first, well-known), the winner is remembered, and every layer gets an attribution that
// names the key (label, origin, the frame that carried a learned key) or says why none opened it.
//
// Cost model: a frame from a known sender costs one CCM* run. CCM* instances (expanded AES keys)
// are kept per keyring entry and key id, so no frame re-expands a key or re-derives the
// key-transport / key-load keys (the Keyring caches those derivations too).
import { equalBytes } from '../crypto/bytes.ts';
import { createCcmStar, type CcmStar } from '../crypto/ccm-star.ts';
import { ApsKeyType, type ApsCommand } from './aps.ts';
import type { Eui64 } from './codec.ts';
import type { KeyEntry, KeyKind, KeyOrigin, Keyring } from './keyring.ts';
import { KeyId, MIC_LENGTH, prepareUnsecureInto, type AuxSecurityHeader } from './security.ts';

/**
 * Why a secured layer stayed closed (stable diagnostic ids):
 * - `no-key`: the keyring holds no key of the kind this key id needs;
 * - `no-key-opened`: keys were tried and none authenticated the frame;
 * - `mic-failed`: the key this sender / key sequence was opened with before (or the key that has
 *   this sequence number) did not authenticate it — a corrupted or tampered frame, or a stale key;
 * - `no-source-address`: no extended nonce and the sender's EUI-64 is not known yet;
 * - `too-long`: longer than CCM* with L = 2 can carry (never on a real 802.15.4 frame).
 */
export type SecurityFailure = 'no-key' | 'no-key-opened' | 'mic-failed' | 'no-source-address' | 'too-long';

export interface SecurityAttribution {
  layer: 'nwk' | 'aps';
  /** Key identifier from the aux header: 0 data (link) key, 1 network, 2 key-transport, 3 key-load. */
  keyId: number;
  /** Label of the keyring entry that opened the layer; null when none did. */
  keyLabel: string | null;
  keyOrigin?: KeyOrigin;
  /** For a learned key: index of the frame whose Transport Key carried it. */
  keyFrame?: number;
  ok: boolean;
  reason?: SecurityFailure;
  /** Keys run through CCM* for this layer (1 when the remembered key opened it at once). */
  tried: number;
}

/** What one Transport Key taught (or would have taught) the keyring. */
export interface LearnedKey {
  keyType: number;
  kind: KeyKind;
  /** Label of the keyring entry that holds these key bytes now (new, or the one that already had them). */
  label: string;
  origin: KeyOrigin;
  /** True when this frame added the key; false when the keyring already had the bytes or is full. */
  added: boolean;
  note?: 'already-known' | 'keyring-full';
}

export interface OpenInput {
  /**
   * The bytes holding the layer: its header is bytes[start, auxStart), its aux header
   * bytes[auxStart, auxEnd) (offsets, not views: this runs for every secured layer).
   */
  bytes: Uint8Array;
  start: number;
  auxStart: number;
  auxEnd: number;
  aux: AuxSecurityHeader;
  /** Ciphertext ‖ MIC; absent = bytes[auxEnd, bytes.length) (no view needed to open it). */
  body?: Uint8Array;
  /** Nonce source as on-air bytes when the aux header has no extended nonce (undefined if unknown). */
  source64?: Uint8Array;
}

export interface OpenResult {
  plaintext?: Uint8Array;
  attribution: SecurityAttribution;
}

interface CcmSet {
  data?: CcmStar;
  transport?: CcmStar;
  load?: CcmStar;
}

/** CCM* with L = 2 carries at most 65535 bytes of message. */
const MAX_CCM_MESSAGE = 0xffff;

function failure(layer: 'nwk' | 'aps', keyId: number, reason: SecurityFailure, tried: number): OpenResult {
  return { attribution: { layer, keyId, keyLabel: null, ok: false, reason, tried } };
}

export interface SecurityPassOptions {
  /** Keys a capture may teach before further Transport Keys are only reported (default 256). */
  maxLearnedKeys?: number;
}

/** Bytes per plaintext slab; payloads longer than a sixteenth of it get their own array. */
const PLAINTEXT_SLAB = 16384;

export class SecurityPass {
  private readonly ccms = new Map<KeyEntry, CcmSet>();
  private readonly opened = new Map<KeyEntry, number>();
  /** Last key that opened a NWK frame per key sequence number / an APS frame per (source, destination). */
  private readonly nwkWinner = new Map<number, KeyEntry>();
  private readonly apsWinner = new Map<string, KeyEntry>();
  private learnedCount = 0;
  private readonly maxLearned: number;
  /** Nonce and authenticated data of the layer being opened: scratch, rebuilt for every layer. */
  private readonly nonce = new Uint8Array(13);
  private aBuf = new Uint8Array(64);
  /**
   * Plaintexts are carved from a shared slab, not allocated one by one: V8 backs an ArrayBuffer
   * with its own off-heap store, and a small typed array gets one (≈1 µs) as soon as anything
   * takes a view of it — which every dissected payload does. A slab is dropped when its last
   * frame is.
   */
  private slab = new ArrayBuffer(PLAINTEXT_SLAB);
  private slabUsed = 0;

  constructor(readonly keyring: Keyring, opts: SecurityPassOptions = {}) {
    this.maxLearned = opts.maxLearnedKeys ?? 256;
  }

  /** How many layers each key opened so far. */
  get usage(): ReadonlyMap<KeyEntry, number> {
    return this.opened;
  }

  /** The CCM* instance for `entry` under key id `keyId` (2 and 3 run with the derived keys). */
  private ccm(entry: KeyEntry, keyId: number): CcmStar {
    let set = this.ccms.get(entry);
    if (set === undefined) {
      set = {};
      this.ccms.set(entry, set);
    }
    switch (keyId) {
      case KeyId.keyTransport:
        return (set.transport ??= createCcmStar(this.keyring.derived(entry).transport));
      case KeyId.keyLoad:
        return (set.load ??= createCcmStar(this.keyring.derived(entry).load));
      default:
        return (set.data ??= createCcmStar(entry.key));
    }
  }

  /** Opens a NWK layer with the network keys for its key sequence number. */
  openNwk(input: OpenInput): OpenResult {
    const seq = input.aux.keySeq;
    const remembered = seq === undefined ? undefined : this.nwkWinner.get(seq);
    const r = this.run('nwk', input, remembered, undefined);
    const winner = r.winner;
    if (winner !== undefined && seq !== undefined && winner !== remembered) {
      this.nwkWinner.set(seq, winner);
      this.keyring.noteWinner(winner, { seq });
    }
    return r;
  }

  /**
   * Opens an APS layer. Key id 1 uses the network keys; 0, 2, 3 the link keys (2 and 3 through
   * their derived keys). `parties` are the EUI-64s of both ends when known, `source` the nonce
   * source (the securing device). The winner is remembered per (source, destination) pair: a TC
   * talks to every device with a different key, so "last key the TC used" would be wrong half the time.
   */
  openAps(input: OpenInput, source: Eui64 | undefined, parties: readonly (Eui64 | undefined)[]): OpenResult {
    if (input.aux.keyId === KeyId.network) return this.run('aps', input, undefined, undefined);
    const pair = `${source ?? ''}>${parties[1] ?? ''}`;
    const remembered = this.apsWinner.get(pair);
    const r = this.run('aps', input, remembered, parties);
    const winner = r.winner;
    if (winner !== undefined && winner !== remembered) {
      this.apsWinner.set(pair, winner);
      this.keyring.noteWinner(winner, { parties });
    }
    return r;
  }

  /**
   * Tries `remembered` first (no candidate list is built when it opens the frame), then the
   * Keyring's order: network keys for key id 1, else the link keys for `parties`. A failure is
   * `mic-failed` when a key was expected to open the frame (it did before, or it carries this
   * sequence number / is bound to one of the parties), else `no-key-opened`.
   * (Plain arguments, no callbacks: this runs for every secured layer.)
   */
  private run(layer: 'nwk' | 'aps', input: OpenInput, remembered: KeyEntry | undefined, parties: readonly (Eui64 | undefined)[] | undefined): OpenResult & { winner?: KeyEntry } {
    const keyId = input.aux.keyId;
    const body = input.body;
    const bytes = body ?? input.bytes;
    const cStart = body === undefined ? input.auxEnd : 0;
    const cEnd = bytes.length;
    if (cEnd - cStart - MIC_LENGTH > MAX_CCM_MESSAGE) return failure(layer, keyId, 'too-long', 0);
    if (!input.aux.extendedNonce && input.source64 === undefined) return failure(layer, keyId, 'no-source-address', 0);
    // Nonce and authenticated data depend on the layer only: built once (into scratch) for every key tried.
    // (-1 only for a layer too short for its aux header or MIC: then every key fails, as before.)
    if (this.aBuf.length < input.auxEnd - input.start) this.aBuf = new Uint8Array(Math.max(2 * this.aBuf.length, input.auxEnd - input.start));
    const aLength = prepareUnsecureInto(input.bytes, input.start, input.auxStart, input.auxEnd, cEnd - cStart, input.source64, this.nonce, this.aBuf);
    let tried = 0;
    if (remembered !== undefined) {
      tried++;
      const plaintext = this.attempt(aLength, bytes, cStart, cEnd, remembered, keyId);
      if (plaintext !== undefined) return this.success(layer, keyId, remembered, plaintext, tried);
    }
    const useNetwork = parties === undefined;
    const cands = useNetwork ? this.keyring.networkCandidates(input.aux.keySeq) : this.keyring.linkCandidates(parties);
    if (cands.length === 0) return failure(layer, keyId, 'no-key', tried);
    let expected = remembered !== undefined;
    for (const entry of cands) {
      if (useNetwork ? entry.seq === input.aux.keySeq : entry.eui64 !== undefined && parties.includes(entry.eui64)) expected = true;
      if (entry === remembered) continue;
      tried++;
      const plaintext = this.attempt(aLength, bytes, cStart, cEnd, entry, keyId);
      if (plaintext !== undefined) return this.success(layer, keyId, entry, plaintext, tried);
    }
    return failure(layer, keyId, expected ? 'mic-failed' : 'no-key-opened', tried);
  }

  /** The plaintext when `entry` (under key id `keyId`) authenticates ciphertext ‖ MIC src[cStart, cEnd) (nonce and a prepared). */
  private attempt(aLength: number, src: Uint8Array, cStart: number, cEnd: number, entry: KeyEntry, keyId: number): Uint8Array | undefined {
    if (aLength < 0) return undefined;
    const length = cEnd - cStart - MIC_LENGTH;
    if (length > PLAINTEXT_SLAB >> 4) return this.ccm(entry, keyId).decryptRange(this.nonce, this.aBuf, aLength, src, cStart, cEnd, MIC_LENGTH);
    if (this.slabUsed + length > PLAINTEXT_SLAB) {
      this.slab = new ArrayBuffer(PLAINTEXT_SLAB);
      this.slabUsed = 0;
    }
    const into = new Uint8Array(this.slab, this.slabUsed, length);
    const plaintext = this.ccm(entry, keyId).decryptRange(this.nonce, this.aBuf, aLength, src, cStart, cEnd, MIC_LENGTH, into);
    if (plaintext !== undefined) this.slabUsed += length; // a failed attempt's bytes (zeroed) are reused
    return plaintext;
  }

  private success(layer: 'nwk' | 'aps', keyId: number, entry: KeyEntry, plaintext: Uint8Array, tried: number): OpenResult & { winner: KeyEntry } {
    this.opened.set(entry, (this.opened.get(entry) ?? 0) + 1);
    const attribution: SecurityAttribution = { layer, keyId, keyLabel: entry.label, keyOrigin: entry.origin, ok: true, tried };
    if (entry.learnedInFrame !== undefined) attribution.keyFrame = entry.learnedInFrame;
    return { plaintext, attribution, winner: entry };
  }

  /**
   * Adds the key a Transport Key carries, as Wireshark does (packet-zbee-aps.c → zbee_sec_add_key_to_keyring):
   * a network key under its sequence number, a TC link key bound to the device it was sent to,
   * an application link key bound to the partner. Master keys (0x00, 0x02) open no frame and are
   * not learned. Bytes the keyring already holds as a key of that kind keep their entry (and label).
   */
  learn(cmd: Extract<ApsCommand, { type: 'transportKey' }>, frame: number): LearnedKey | undefined {
    const d = cmd.descriptor;
    let kind: KeyKind;
    let label: string;
    let eui64: Eui64 | undefined;
    let seq: number | undefined;
    if (d.layout === 'network') {
      kind = 'network';
      seq = d.keySeq;
      label = `nwk#${d.keySeq}`;
    } else if (d.layout === 'trustCenter' && cmd.keyType === ApsKeyType.TC_LINK) {
      kind = 'link';
      eui64 = d.dst64;
      label = `tclk@${d.dst64}`;
    } else if (d.layout === 'application' && cmd.keyType === ApsKeyType.APP_LINK) {
      kind = 'link';
      eui64 = d.partner64;
      label = `app-link@${d.partner64}`;
    } else {
      return undefined;
    }
    const key = d.key;
    const known = this.keyring.all.find((e) => e.kind === kind && equalBytes(e.key, key));
    if (known) return { keyType: cmd.keyType, kind, label: known.label, origin: known.origin, added: false, note: 'already-known' };
    if (this.learnedCount >= this.maxLearned) return { keyType: cmd.keyType, kind, label, origin: 'learned', added: false, note: 'keyring-full' };
    if (this.keyring.all.some((e) => e.label === label)) label = `${label}@${frame}`;
    const entry = kind === 'network'
      ? this.keyring.addNetworkKey(key, { seq, label, origin: 'learned', learnedInFrame: frame })
      : this.keyring.addLinkKey(key, { eui64, label, origin: 'learned', learnedInFrame: frame });
    this.learnedCount++;
    return { keyType: cmd.keyType, kind, label: entry.label, origin: entry.origin, added: true };
  }
}
