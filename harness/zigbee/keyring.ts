// The Keyring: every key the kit knows for a capture or a rig, with where it came from, and the
// order in which a dissector should try them. Modelled on Wireshark's Zigbee security dissector:
// explicit keys first, then keys learned in this capture (newest first), then the well-known
// keys; the key that opened a frame is remembered and tried first next time.
import { abytes, bytesToHex, equalBytes, hexToBytes } from '../crypto/bytes.ts';
import { deriveKeyLoadKey, deriveKeyTransportKey } from '../crypto/hmac-mmo.ts';
import type { Eui64 } from './codec.ts';

export type KeyKind = 'network' | 'link';

/** Where a key came from; drives the trial order and is reported with each attribution. */
export type KeyOrigin = 'explicit' | 'install-code' | 'learned' | 'well-known';

export interface KeyEntry {
  readonly label: string;
  readonly key: Uint8Array;
  readonly kind: KeyKind;
  readonly origin: KeyOrigin;
  /** Network key sequence number, when known. */
  readonly seq?: number;
  /** For link keys: the device this key belongs to (the non-TC end), when known. */
  readonly eui64?: Eui64;
  /** For learned keys: index of the frame that carried it. */
  readonly learnedInFrame?: number;
}

/** Well-known link keys. @spec Zigbee 05-3474 §4.6.3.2.2.1; BDB 16-02828 §6.3 (protocol.md §8) */
export const WELL_KNOWN_LINK_KEYS: readonly { label: string; hex: string }[] = [
  { label: 'ZigBeeAlliance09', hex: '5a6967426565416c6c69616e63653039' },
  { label: 'distributed-global', hex: 'd0d1d2d3d4d5d6d7d8d9dadbdcdddedf' },
  { label: 'touchlink-cert', hex: 'c0c1c2c3c4c5c6c7c8c9cacbcccdcecf' },
];

const ORIGIN_RANK: Record<KeyOrigin, number> = { explicit: 0, 'install-code': 1, learned: 2, 'well-known': 3 };

export interface KeyringOptions {
  /** Include the well-known link keys (default true). */
  wellKnown?: boolean;
}

export class Keyring {
  private readonly entries: KeyEntry[] = [];
  private readonly derivedCache = new Map<KeyEntry, { transport: Uint8Array; load: Uint8Array }>();
  /** Last key that opened a frame from a given source (EUI-64 or `nwk:<seq>`), tried first next time. */
  private readonly lastWinner = new Map<string, KeyEntry>();
  private networkOrder: KeyEntry[] | null = null;
  private linkOrder: KeyEntry[] | null = null;

  constructor(opts: KeyringOptions = {}) {
    if (opts.wellKnown !== false) {
      for (const k of WELL_KNOWN_LINK_KEYS) {
        this.add({ label: k.label, key: hexToBytes(k.hex), kind: 'link', origin: 'well-known' });
      }
    }
  }

  /** Adds a key unless the same bytes of the same kind (and owner) are already there; returns the entry kept. */
  add(entry: KeyEntry): KeyEntry {
    abytes(entry.key, 16, `key ${entry.label}`);
    const existing = this.entries.find((e) => e.kind === entry.kind && equalBytes(e.key, entry.key) && e.eui64 === entry.eui64);
    if (existing) return existing;
    const kept = { ...entry, key: entry.key.slice() };
    this.entries.push(kept);
    this.networkOrder = this.linkOrder = null;
    return kept;
  }

  addNetworkKey(key: Uint8Array, opts: { seq?: number; label?: string; origin?: KeyOrigin; learnedInFrame?: number } = {}): KeyEntry {
    const label = opts.label ?? `nwk${opts.seq !== undefined ? `#${opts.seq}` : ''}:${bytesToHex(key).slice(0, 8)}`;
    return this.add({ label, key, kind: 'network', origin: opts.origin ?? 'explicit', seq: opts.seq, learnedInFrame: opts.learnedInFrame });
  }

  addLinkKey(key: Uint8Array, opts: { eui64?: Eui64; label?: string; origin?: KeyOrigin; learnedInFrame?: number } = {}): KeyEntry {
    const label = opts.label ?? `link${opts.eui64 ? `@${opts.eui64}` : ''}:${bytesToHex(key).slice(0, 8)}`;
    return this.add({ label, key, kind: 'link', origin: opts.origin ?? 'explicit', eui64: opts.eui64, learnedInFrame: opts.learnedInFrame });
  }

  get all(): readonly KeyEntry[] {
    return this.entries;
  }

  /**
   * Network keys to try for a frame carrying key sequence number `seq`: the last winner for that
   * seq, then keys with that seq, then the rest — explicit before learned (newest first).
   */
  networkCandidates(seq: number | undefined): KeyEntry[] {
    const ordered = (this.networkOrder ??= sortByOrigin(this.entries.filter((e) => e.kind === 'network')));
    const winner = seq === undefined ? undefined : this.lastWinner.get(`nwk:${seq}`);
    const out: KeyEntry[] = [];
    if (winner) out.push(winner);
    for (const e of ordered) if (e !== winner && e.seq === seq) out.push(e);
    for (const e of ordered) if (e !== winner && e.seq !== seq) out.push(e);
    return out;
  }

  /**
   * Link keys to try for an APS frame between devices `parties` (EUI-64s, either may be unknown):
   * the last winner for those parties, keys bound to one of them, then unbound keys (explicit,
   * learned, well-known). Keys bound to other devices come last: a TC that reuses a key across
   * devices is a finding, and attributing it is still useful.
   */
  linkCandidates(parties: readonly (Eui64 | undefined)[]): KeyEntry[] {
    const ordered = (this.linkOrder ??= sortByOrigin(this.entries.filter((e) => e.kind === 'link')));
    const out: KeyEntry[] = [];
    const seen = new Set<KeyEntry>();
    const push = (e: KeyEntry | undefined) => { if (e && !seen.has(e)) { seen.add(e); out.push(e); } };
    for (const p of parties) if (p) push(this.lastWinner.get(p));
    for (const e of ordered) if (e.eui64 !== undefined && parties.includes(e.eui64)) push(e);
    for (const e of ordered) if (e.eui64 === undefined) push(e);
    for (const e of ordered) push(e);
    return out;
  }

  /** The key-transport (id 2) and key-load (id 3) keys of a link key, derived once. */
  derived(entry: KeyEntry): { transport: Uint8Array; load: Uint8Array } {
    let d = this.derivedCache.get(entry);
    if (!d) {
      d = { transport: deriveKeyTransportKey(entry.key), load: deriveKeyLoadKey(entry.key) };
      this.derivedCache.set(entry, d);
    }
    return d;
  }

  /** Remembers the key that opened a frame so it is tried first for the same source next time. */
  noteWinner(entry: KeyEntry, source: { seq?: number; parties?: readonly (Eui64 | undefined)[] }): void {
    if (entry.kind === 'network' && source.seq !== undefined) this.lastWinner.set(`nwk:${source.seq}`, entry);
    if (entry.kind === 'link') for (const p of source.parties ?? []) if (p) this.lastWinner.set(p, entry);
  }
}

function sortByOrigin(list: KeyEntry[]): KeyEntry[] {
  // Stable: within an origin, learned keys newest first, others in insertion order.
  return list
    .map((e, i) => ({ e, i }))
    .sort((a, b) => ORIGIN_RANK[a.e.origin] - ORIGIN_RANK[b.e.origin] || (a.e.origin === 'learned' ? b.i - a.i : a.i - b.i))
    .map((x) => x.e);
}
