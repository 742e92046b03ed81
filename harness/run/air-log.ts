// What the sniffer heard during one test: every frame written to the test's pcapng as it
// arrives (so a killed run leaves a readable capture), dissected and decrypted with the rig's
// keys, and the `expect` waits suites judge by. Verdicts come from these decoded frames, not from
// a driver's word (DESIGN.md "The flow of one test").
import { bytesToHex, equalBytes } from '../crypto/bytes.ts';
import { openPcapngWriter, type CaptureWriter } from '../capture/file.ts';
import type { Clock } from '../sim/clock.ts';
import type { RadioFrame, Sniffer } from '../rig/roles.ts';
import { createDissector, type DissectedFrame, type Dissector } from '../zigbee/dissect.ts';
import { Keyring } from '../zigbee/keyring.ts';

export interface KeyInfo {
  kind: 'network' | 'link';
  label: string;
  key: Uint8Array;
  seq?: number;
  eui64?: string;
}

/** A wait on the air that ran out: names the step, what was awaited, the deadline and what was heard. */
export class AirExpectationError extends Error {
  override name = 'AirExpectationError';
  constructor(readonly step: string, readonly awaited: string, readonly deadlineMs: number, readonly heard: string[]) {
    super(`${step}: no ${awaited} on the air within ${deadlineMs} ms of rig time` +
      (heard.length ? `; last frames heard:\n    ${heard.join('\n    ')}` : '; nothing was heard'));
  }
}

/** A frame the suite asserted must not appear, and did. */
export class AirUnexpectedFrameError extends Error {
  override name = 'AirUnexpectedFrameError';
  constructor(readonly step: string, readonly forbidden: string, readonly frame: DissectedFrame) {
    super(`${step}: ${forbidden} appeared on the air (frame ${frame.index}: ${frame.summary})`);
  }
}

export type FrameMatcher = (f: DissectedFrame) => boolean;

export interface AirLogOptions {
  sniffer: Sniffer;
  clock: Clock;
  channel: number;
  capturePath: string;
  /** Keys the kit knows (TC network key, DUT install-code key, TC key table); asked again when a frame does not open. */
  keys: () => Promise<KeyInfo[]>;
  /** Name of the current step, for error messages. */
  step: () => string;
  /** pcapng if_name: the sniffer's device. */
  snifferName?: string;
  /** Called for every frame once dissected (progress). */
  onFrame?: (f: DissectedFrame) => void;
}

export class AirLog {
  readonly frames: DissectedFrame[] = [];
  readonly keyring = new Keyring();
  private readonly dissector: Dissector;
  private readonly writer: CaptureWriter;
  private readonly radio: RadioFrame[] = [];
  private waiters = new Set<() => void>();
  private pump: Promise<void> | undefined;
  private wallBaseUs = 0n;
  private knownKeys = 0;
  private closed = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly o: AirLogOptions) {
    this.dissector = createDissector({ keyring: this.keyring, hasFcs: true });
    this.writer = openPcapngWriter(o.capturePath, { interfaceName: o.snifferName ?? 'sniffer', description: `channel ${o.channel}` });
  }

  get capturePath(): string {
    return this.writer.path;
  }

  async start(): Promise<void> {
    await this.refreshKeys();
    // pcapng wants wall time; the rig clock counts from the run's (or the test's) start.
    this.wallBaseUs = BigInt(Date.now()) * 1000n - BigInt(Math.round(this.o.clock.now() * 1000));
    await this.o.sniffer.start(this.o.channel);
    this.pump = (async () => {
      for await (const f of this.o.sniffer.frames()) this.take(f);
    })();
  }

  private take(f: RadioFrame): void {
    if (this.closed) return;
    this.radio.push(f);
    const index = this.frames.length + 1;
    const d = this.dissector.dissect(f.psdu, { index, timestampUs: f.timestampUs, channel: f.channel, hasFcs: f.fcsIncluded });
    this.frames.push(d);
    this.writer.writeFrame({
      psdu: f.psdu, fcsIncluded: f.fcsIncluded, timestampUs: this.wallBaseUs + f.timestampUs, channel: f.channel, rssi: f.rssi, lqi: f.lqi,
    });
    this.o.onFrame?.(d);
    for (const w of [...this.waiters]) w();
  }

  /** Index to pass as `from` so a wait only considers frames heard after this point. */
  mark(): number {
    return this.frames.length;
  }

  /** Pulls the keys the rig knows now; frames that did not open are dissected again if any key is new. */
  async refreshKeys(): Promise<void> {
    for (const k of await this.o.keys()) {
      // Labels name keys in the trace and the Wireshark key file: a new key under a known label
      // (the TC's install-code entry after the code changed, say) gets its fingerprint appended.
      const clash = this.keyring.all.some((e) => e.label === k.label && !equalBytes(e.key, k.key));
      const label = clash ? `${k.label}~${bytesToHex(k.key).slice(0, 8)}` : k.label;
      if (k.kind === 'network') this.keyring.addNetworkKey(k.key, { label, seq: k.seq });
      else this.keyring.addLinkKey(k.key, { label, eui64: k.eui64 });
    }
    if (this.keyring.all.length === this.knownKeys) return;
    this.knownKeys = this.keyring.all.length;
    for (let i = 0; i < this.frames.length; i++) {
      const f = this.frames[i];
      if (f.security.some((s) => !s.ok)) {
        const r = this.radio[i];
        this.frames[i] = this.dissector.dissect(r.psdu, { index: f.index, timestampUs: r.timestampUs, channel: r.channel, hasFcs: r.fcsIncluded });
      }
    }
  }

  private find(match: FrameMatcher, from: number): DissectedFrame | undefined {
    for (let i = from; i < this.frames.length; i++) if (match(this.frames[i])) return this.frames[i];
    return undefined;
  }

  /**
   * Waits, on the rig's clock, for a frame matching `match` heard at or after `from`. A frame
   * that did not open is retried once the rig knows more keys (a CBKE key, say).
   */
  async expect(awaited: string, match: FrameMatcher, opts: { withinMs: number; from?: number }): Promise<DissectedFrame> {
    const from = opts.from ?? 0;
    const hit = this.find(match, from);
    if (hit) return hit;
    const step = this.o.step();
    return new Promise<DissectedFrame>((resolve, reject) => {
      let scanned = from;
      const done = () => {
        this.waiters.delete(check);
        cancel();
      };
      const check = () => {
        const f = this.find(match, scanned);
        scanned = this.frames.length;
        if (f) {
          done();
          resolve(f);
        }
      };
      const cancel = this.o.clock.setTimer(opts.withinMs, () => {
        this.waiters.delete(check);
        // Last chance: keys learned since (from the TC's table) may open what was heard.
        void this.refreshKeys().then(() => {
          const f = this.find(match, from);
          if (f) resolve(f);
          else reject(new AirExpectationError(step, awaited, opts.withinMs, this.frames.slice(-6).map((x) => `#${x.index} ${x.summary}`)));
        }, reject);
      });
      this.waiters.add(check);
    });
  }

  /** Waits for each pattern in turn, each after the previous match; returns the matched frames. */
  async expectSequence(steps: readonly { awaited: string; match: FrameMatcher }[], opts: { withinMs: number; from?: number }): Promise<DissectedFrame[]> {
    const out: DissectedFrame[] = [];
    let from = opts.from ?? 0;
    const start = this.o.clock.now();
    for (const s of steps) {
      const left = Math.max(0, opts.withinMs - (this.o.clock.now() - start));
      const f = await this.expect(s.awaited, s.match, { withinMs: left, from });
      out.push(f);
      from = f.index; // frames are 1-based: the next search starts after this one
    }
    return out;
  }

  /** Asserts that no frame matching `match` is heard for `forMs` (silence is a verdict too). */
  async expectNone(forbidden: string, match: FrameMatcher, opts: { forMs: number; from?: number }): Promise<void> {
    const from = opts.from ?? this.frames.length;
    const step = this.o.step();
    await this.o.clock.sleep(opts.forMs);
    await this.refreshKeys();
    const f = this.find(match, from);
    if (f) throw new AirUnexpectedFrameError(step, forbidden, f);
  }

  /** Stops listening and closes the capture; the frames stay for the report. */
  /** Stops the capture and closes the file; idempotent, also when called again before it finished. */
  stop(): Promise<void> {
    return (this.stopping ??= this.close());
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    await this.o.sniffer.stop().catch(() => {});
    await Promise.race([this.pump, new Promise((r) => setTimeout(r, 1000))]);
    await this.refreshKeys().catch(() => {});
    this.closed = true;
    this.writer.close();
  }

  /** One line per frame, like tshark's Info column, with rig time. */
  trace(): string[] {
    return this.frames.map((f) => {
      const t = f.timestampUs !== undefined ? (Number(f.timestampUs) / 1e6).toFixed(6).padStart(12) : ''.padStart(12);
      return `${String(f.index).padStart(5)} ${t}  ${f.summary}`;
    });
  }
}
