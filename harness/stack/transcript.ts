// The node transcript: structured events — what a node sent, received and decided — kept as
// objects and formatted into lines only when someone asks (the per-test artifact, a failing
// assertion). Events never carry key bytes: keys are named by label and origin.
export type Detail = Record<string, unknown>;

export interface TranscriptEvent {
  /** Virtual (or real) clock time, ms. */
  t: number;
  node: string;
  event: string;
  detail?: Detail;
}

/** What a layer calls to record an event; bound to one node and one clock. */
export type Tracer = (event: string, detail?: Detail) => void;

/** Detail fields printed as 16-bit hex (addresses, PAN ids) and 8-bit hex (status codes). */
const HEX16 = new Set(['short', 'src16', 'dst16', 'parent', 'panId', 'nwkAddress', 'macSrc', 'macDst', 'router', 'device16', 'nextHop']);
const HEX8 = new Set(['status', 'emberStatus', 'keyType', 'cmd', 'capability']);

function formatValue(k: string, v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
    if (HEX16.has(k)) return '0x' + v.toString(16).padStart(4, '0');
    if (HEX8.has(k)) return '0x' + v.toString(16).padStart(2, '0');
  }
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `<${v.length} bytes>`; // never print byte contents: they may be keys
  try {
    return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : typeof x === 'bigint' ? String(x) : x));
  } catch {
    return String(v);
  }
}

/** `  12.345678 tc      aps.tx transport-key to=… key="install-code"` */
export function formatEvent(e: TranscriptEvent): string {
  let s = `${(e.t / 1000).toFixed(6).padStart(12)} ${e.node.padEnd(8)} ${e.event}`;
  if (e.detail) for (const k in e.detail) {
    const v = e.detail[k];
    if (v !== undefined) s += ` ${k}=${formatValue(k, v)}`;
  }
  return s;
}

export class Transcript {
  private readonly events: TranscriptEvent[] = [];
  /** Events dropped because `limit` was reached (oldest first). */
  dropped = 0;

  /** `limit` bounds memory on long runs (the scale benchmark): older events are discarded. */
  constructor(readonly limit = 250_000) {}

  push(e: TranscriptEvent): void {
    if (this.events.length >= this.limit) {
      this.events.splice(0, this.events.length >> 2);
      this.dropped += this.limit >> 2;
    }
    this.events.push(e);
  }

  tracer(node: string, now: () => number): Tracer {
    return (event, detail) => this.push(detail ? { t: now(), node, event, detail } : { t: now(), node, event });
  }

  get all(): readonly TranscriptEvent[] {
    return this.events;
  }

  /** Events, optionally of one node and/or whose name starts with `prefix`. */
  filter(opts: { node?: string; prefix?: string } = {}): TranscriptEvent[] {
    return this.events.filter((e) => (opts.node === undefined || e.node === opts.node) && (opts.prefix === undefined || e.event.startsWith(opts.prefix)));
  }

  /** Whether an event named `event` (and matching `match`, if given) was recorded. */
  has(event: string, match?: (d: Detail) => boolean, node?: string): boolean {
    return this.events.some((e) => e.event === event && (node === undefined || e.node === node) && (!match || match(e.detail ?? {})));
  }

  lines(opts: { node?: string; prefix?: string } = {}): string[] {
    return this.filter(opts).map(formatEvent);
  }
}

/** Merges several transcripts by time (stable), for one scenario-wide artifact. */
export function mergeTranscripts(...ts: Transcript[]): string[] {
  const all = ts.flatMap((t) => t.all.map((e, i) => ({ e, i })));
  all.sort((a, b) => a.e.t - b.e.t || a.i - b.i);
  return all.map((x) => formatEvent(x.e));
}
