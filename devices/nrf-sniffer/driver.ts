// The nRF Sniffer for 802.15.4 as the rig's sniffer role (radios.md §1). It speaks the firmware's
// shell over a serial line (or a recorded transcript), turns `received:` lines into RadioFrames
// on the run's clock, and keeps a transcript of every line both ways.
//
// Recovery ladder (radios.md §7.4, cut to what a host can do to this dongle on its own):
//   0. A liveness probe while capturing: after `idleProbeMs` without a line, `channel` must be
//      answered within `replyTimeoutMs` (a quiet channel is normal; a silent shell is not).
//   1. Port lost or firmware mute: close, re-open the tty with exponential backoff and replay
//      the start sequence. Re-opening re-asserts DTR, which gates the Zephyr shell (§7.4 step 2).
//   2. If the rig has a `power.cycle` command (uhubctl, §7.1), run it, wait for the port path to
//      reappear (use a /dev/serial/by-id path so it survives re-enumeration), re-open, restart
//      with a fresh clock map: the firmware's µs counter restarts at boot.
//   3. Give up: frames() ends with RigUnavailableError naming the port and what was tried.
// Not on the ladder: the dongle's `bootloader` command (the DFU bootloader needs a reflash to get
// back, §7.2) and reflashing (step 5: an operator decision, not a test-time one).
import { powerCycleCommand } from '../../harness/rig/schema.ts';
import type { Capability } from '../../harness/rig/capabilities.ts';
import {
  DeviceTimeoutError, RigUnavailableError, type DeviceInfo, type RadioFrame, type Sniffer,
} from '../../harness/rig/roles.ts';
import { RealClock, type Clock } from '../../harness/sim/clock.ts';
import { SnifferClockMap } from './clock-map.ts';
import { SerialSession, waitForPath } from '../serial-session.ts';
import { runShell } from './host.ts';
import { isPrintable, parseSnifferLine, SnifferCommand, SnifferLineError } from './protocol.ts';
import { serialOpener, type SourceOpener } from './transport.ts';
import { FrameQueue, ReplyWaiters } from './waits.ts';

export interface NrfSnifferOptions {
  /** Serial device; prefer /dev/serial/by-id/… (stable across replugs). */
  port: string;
  /** Irrelevant on USB CDC-ACM (the extcap never sets one, radios.md §1.1); used on UART bridges. */
  baudRate?: number;
  /** The run's clock: RadioFrame.timestampUs is on it. */
  clock: Clock;
  /**
   * Clock for deadlines and backoff (default: real time). The serial line lives in real time; a
   * virtual run clock cannot see bytes in flight, so it must not time them.
   */
  timers?: Clock;
  /** RadioFrame.heardBy (default "sniffer"). */
  name?: string;
  /** 64 on NCS firmware, 32 on pre-NCS builds (radios.md §1.3). Default 64. */
  counterBits?: 32 | 64;
  replyTimeoutMs?: number;
  /** "flush + read all" of the extcap: how long the output must pause before `channel N`. */
  quietMs?: number;
  /** Liveness probe after this long without a line while capturing; 0 turns it off. */
  idleProbeMs?: number;
  reopen?: { attempts?: number; firstDelayMs?: number; maxDelayMs?: number };
  /** The rig's `power.cycle` shell command, if it has one. */
  powerCycle?: { command: string; timeoutMs?: number; reappearMs?: number };
  /** Write the transcript as JSON lines here (format in transcript.ts) for replay. */
  recordTo?: string;
  /** Where lines come from (default: the serial port). Tests pass a replay. */
  source?: SourceOpener;
  maxLine?: number;
}

export interface SnifferStats {
  frames: number;
  /** `received:` lines that could not be read (each one in `lineErrors`). */
  lineErrors: number;
  /** Lines with bytes the firmware never prints, and noise glued before a frame line. */
  garbageLines: number;
  overlongLines: number;
  nulBytes: number;
  /** Echo, logs, shell messages: read and ignored. */
  otherLines: number;
  /** Frame lines seen while not capturing (in flight around start/stop). */
  framesOutsideCapture: number;
  /** Mapped timestamps raised to keep frames in order after a clock-map refit. */
  clampedTimestamps: number;
  recoveries: number;
  counterWraps: number;
}

const MAX_KEPT_ERRORS = 100;
const NUMBER = /^\s*(\d+)\s*$/;

type State = 'closed' | 'idle' | 'capturing' | 'recovering' | 'failed';

export class NrfSnifferDriver implements Sniffer {
  readonly role = 'sniffer' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set();
  readonly stats: SnifferStats = {
    frames: 0, lineErrors: 0, garbageLines: 0, overlongLines: 0, nulBytes: 0, otherLines: 0,
    framesOutsideCapture: 0, clampedTimestamps: 0, recoveries: 0, counterWraps: 0,
  };
  /** The most recent malformed frame lines (typed reports; the count is in stats). */
  readonly lineErrors: SnifferLineError[] = [];

  private readonly o: Required<Omit<NrfSnifferOptions, 'powerCycle' | 'recordTo' | 'source' | 'reopen'>> &
    Pick<NrfSnifferOptions, 'powerCycle' | 'recordTo'> & { reopen: Required<NonNullable<NrfSnifferOptions['reopen']>> };
  private readonly timers: Clock;
  private readonly replies: ReplyWaiters;
  private readonly session: SerialSession;
  private state: State = 'closed';
  private capture = 0;
  private channel = 0;
  private queue: FrameQueue<RadioFrame> | null = null;
  private map: SnifferClockMap;
  private lastDevice: bigint | null = null;
  private lastTimestamp: bigint | null = null;
  private cancelIdle: () => void = () => {};
  private probing = false;
  /** Between sending `receive` and stop/loss: frame lines belong to the capture. */
  private receiving = false;

  constructor(opts: NrfSnifferOptions) {
    this.o = {
      port: opts.port, baudRate: opts.baudRate ?? 115200, clock: opts.clock, timers: opts.timers ?? new RealClock(),
      name: opts.name ?? 'sniffer', counterBits: opts.counterBits ?? 64, replyTimeoutMs: opts.replyTimeoutMs ?? 2000,
      quietMs: opts.quietMs ?? 100, idleProbeMs: opts.idleProbeMs ?? 5000, maxLine: opts.maxLine ?? 512,
      reopen: { attempts: opts.reopen?.attempts ?? 4, firstDelayMs: opts.reopen?.firstDelayMs ?? 250, maxDelayMs: opts.reopen?.maxDelayMs ?? 4000 },
      powerCycle: opts.powerCycle, recordTo: opts.recordTo,
    };
    this.timers = this.o.timers;
    this.replies = new ReplyWaiters(this.timers);
    this.session = new SerialSession({
      ...this.o, role: 'sniffer', driver: 'nrf-sniffer', stats: this.stats, reportDropped: true,
      opener: opts.source ?? serialOpener({ path: opts.port, baudRate: this.o.baudRate, clock: opts.clock, maxLine: this.o.maxLine }),
      onLine: (text, atMs) => this.onLine(text, atMs),
      onClosed: (reason) => this.lost(`port closed (${reason})`),
    });
    this.map = new SnifferClockMap({ counterBits: this.o.counterBits });
  }

  async open(): Promise<void> {
    if (this.session.isOpen) return;
    await this.session.open();
    this.state = 'idle';
  }

  /** Asks the firmware its channel: proof that the shell answers. Reports what it says. */
  async probe(): Promise<DeviceInfo> {
    await this.open();
    const answer = await this.ask('probe');
    return {
      driver: 'nrf-sniffer', location: this.o.port, channel: answer,
      notes: [`firmware answered "channel" with ${answer}`, `timestamps read as a ${this.o.counterBits}-bit µs counter`,
        ...this.session.notes],
    };
  }

  async start(channel: number): Promise<void> {
    SnifferCommand.channel(channel); // RangeError for a channel the firmware would silently ignore
    if (this.state === 'capturing' || this.state === 'recovering') throw new Error(`${this.o.name}: already capturing on channel ${this.channel}; stop() first`);
    const capture = ++this.capture;
    this.channel = channel;
    if (!this.queue || this.queue.ended) this.queue = new FrameQueue<RadioFrame>();
    try {
      await this.open();
      await this.startSequence('start');
    } catch (e) {
      if (capture !== this.capture) return;
      try {
        await this.ladder(capture, `start on channel ${channel} failed: ${(e as Error).message}`);
      } catch (fatal) {
        if (capture === this.capture) { this.state = 'failed'; this.queue.end(fatal as Error); }
        throw fatal;
      }
    }
    if (capture !== this.capture) return;
    this.state = 'capturing';
    this.armIdle();
  }

  async stop(): Promise<void> {
    const was = this.state;
    this.capture++; // aborts a ladder in progress
    this.receiving = false;
    this.cancelIdle();
    this.queue?.end();
    if (was !== 'capturing') {
      if (was === 'recovering' || was === 'failed') this.state = this.session.isOpen ? 'idle' : 'closed';
      return;
    }
    this.state = 'idle';
    // Extcap `_stop()`: an empty line (ends anything half-typed), then `sleep` (radio off); the
    // answer to a `channel` after it says the radio is off when stop() resolves.
    await this.send(SnifferCommand.newline, 'stop');
    await this.send(SnifferCommand.sleep, 'stop');
    await this.ask('stop');
  }

  frames(): AsyncIterable<RadioFrame> {
    if (!this.queue) this.queue = new FrameQueue<RadioFrame>();
    return this.queue;
  }

  async close(): Promise<void> {
    if (this.state === 'capturing') {
      try { await this.stop(); } catch (e) { this.note(`stop before close failed: ${(e as Error).message}`); }
    } else {
      this.capture++;
      this.receiving = false;
      this.queue?.end();
    }
    this.cancelIdle();
    await this.session.close();
    this.state = 'closed';
  }

  /** Drift of the sniffer's crystal against the run clock as the clock map currently sees it. */
  get clockDriftPpm(): number {
    return -this.map.driftPpm;
  }

  takeTranscript(): string[] {
    return this.session.takeTranscript();
  }

  // ---- the conversation ---------------------------------------------------------------------

  /**
   * Extcap `_start()` (radios.md §1.2): `sleep`, `shell echo off`, flush + read all, `channel N`,
   * `receive`; with an empty line first (as `_stop()` does) to clear half-typed input, and a
   * `channel` query before and after `receive`: the shell runs commands in order, so the first
   * answer proves the channel is set (a shell that does not answer fails here, with a deadline,
   * instead of looking like a quiet channel) and the second that the radio is receiving when
   * start() resolves (the extcap just hopes so).
   */
  private async startSequence(step: string): Promise<void> {
    this.receiving = false;
    await this.send(SnifferCommand.newline, step);
    await this.send(SnifferCommand.sleep, step);
    await this.send(SnifferCommand.echoOff, step);
    await this.session.quiet(step);
    await this.send(SnifferCommand.channel(this.channel), step);
    const now = await this.ask(step);
    if (now !== this.channel) {
      throw new RigUnavailableError('sniffer', this.o.port, `asked for channel ${this.channel}, the firmware reports ${now}`);
    }
    // Frames the radio hears before the answer below are the capture's already.
    this.receiving = true;
    await this.send(SnifferCommand.receive, step);
    await this.ask(step);
  }

  /** Sends `channel` and returns the number the firmware prints. */
  private async ask(step: string, probe = false): Promise<number> {
    const dtr = this.session.notes.length ? ' (DTR could not be asserted: see the transcript)' : '';
    const reply = this.replies.expect((l) => NUMBER.test(l), this.o.replyTimeoutMs,
      () => new DeviceTimeoutError('sniffer', step, `answer to "channel" from ${this.o.port}${dtr}`, this.o.replyTimeoutMs));
    try {
      await this.send(SnifferCommand.channelQuery, step, probe);
    } catch (e) {
      reply.cancel();
      throw e;
    }
    return Number(NUMBER.exec(await reply.promise)![1]);
  }

  private send(line: string, step: string, probe = false): Promise<void> {
    return this.session.write(line, step, probe);
  }

  // ---- what comes in ------------------------------------------------------------------------

  private onLine(text: string, atMs: number): void {
    if (this.replies.offer(text)) return;
    let parsed;
    try {
      parsed = parseSnifferLine(text);
    } catch (err) {
      if (!(err instanceof SnifferLineError)) throw err;
      this.stats.lineErrors++;
      this.lineErrors.push(err);
      if (this.lineErrors.length > MAX_KEPT_ERRORS) this.lineErrors.shift();
      this.note(err.message);
      return;
    }
    if (parsed.kind === 'other') {
      if (text.trim() === '') return;
      if (isPrintable(text)) this.stats.otherLines++; else this.stats.garbageLines++;
      return;
    }
    if (parsed.skippedPrefix !== undefined) this.stats.garbageLines++;
    if (!this.receiving || !this.queue) { this.stats.framesOutsideCapture++; return; }
    this.stats.frames++;
    this.queue.push({
      psdu: parsed.psdu, fcsIncluded: false, channel: this.channel, rssi: parsed.rssi, lqi: parsed.lqi,
      timestampUs: this.mapTime(parsed.deviceTimeUs, atMs), heardBy: this.o.name,
    });
  }

  /** Device µs → run-clock µs through the clock map (unwrap, lower-envelope drift fit). */
  private mapTime(raw: bigint, atMs: number): bigint {
    if (this.o.counterBits === 64 && this.lastDevice !== null && raw < this.lastDevice) {
      // A 64-bit counter only goes back when the firmware rebooted: the old fit means nothing now.
      this.note(`device counter went back from ${this.lastDevice} to ${raw} µs: the sniffer rebooted; clock map restarted`);
      this.newClockMap();
    }
    this.lastDevice = raw;
    const device = this.map.unwrap(raw);
    this.stats.counterWraps = this.map.wraps;
    this.map.observe(device, atMs * 1000);
    let t = BigInt(Math.round(this.map.toHostUs(device)));
    // Frames arrive in the order the radio heard them; a refit must not reorder them.
    if (this.lastTimestamp !== null && t <= this.lastTimestamp) { t = this.lastTimestamp + 1n; this.stats.clampedTimestamps++; }
    this.lastTimestamp = t;
    return t;
  }

  private newClockMap(): void {
    this.map = new SnifferClockMap({ counterBits: this.o.counterBits });
    this.lastDevice = null;
  }

  // ---- losing the device and getting it back ------------------------------------------------

  /** The port went away or the firmware stopped answering. */
  private lost(why: string): void {
    this.receiving = false;
    void this.session.drop();
    this.replies.failAll(new RigUnavailableError('sniffer', this.o.port, why));
    if (this.state === 'capturing') {
      const capture = this.capture;
      this.cancelIdle();
      this.ladder(capture, why).then(
        () => { if (capture === this.capture) { this.state = 'capturing'; this.armIdle(); } },
        (e: Error) => { if (capture === this.capture) { this.state = 'failed'; this.queue?.end(e); } },
      );
    } else if (this.state === 'idle') {
      this.state = 'closed';
    }
  }

  /** Steps 1–3 of the ladder in the header comment. Resolves when capturing again. */
  private async ladder(capture: number, why: string): Promise<void> {
    this.state = 'recovering';
    this.note(`lost the sniffer: ${why}; trying to get it back`);
    const aborted = () => capture !== this.capture;
    let last: Error = new Error(why);
    let delay = this.o.reopen.firstDelayMs;
    const attempt = async (how: string): Promise<boolean> => {
      await this.session.drop();
      if (aborted()) return true;
      try {
        await this.session.open();
        await this.startSequence(how);
        this.stats.recoveries++;
        this.note(`recovered by ${how}`);
        return true;
      } catch (e) {
        last = e as Error;
        this.note(`${how} failed: ${last.message}`);
        return false;
      }
    };
    for (let i = 1; i <= this.o.reopen.attempts; i++) {
      await this.timers.sleep(delay);
      delay = Math.min(delay * 2, this.o.reopen.maxDelayMs);
      if (aborted() || (await attempt(`re-open ${i}/${this.o.reopen.attempts}`))) return;
    }
    const pc = this.o.powerCycle;
    if (pc) {
      await this.session.drop();
      this.note(`power-cycling: ${pc.command}`);
      try {
        await runShell(pc.command, pc.timeoutMs ?? 30_000, this.timers);
        await this.waitForPath(pc.reappearMs ?? 15_000);
        this.newClockMap();
        if (aborted() || (await attempt('power cycle'))) return;
      } catch (e) {
        last = e as Error;
        this.note(`power cycle failed: ${last.message}`);
      }
    }
    if (aborted()) return;
    await this.session.drop();
    const tried = `re-opened ${this.o.reopen.attempts} time(s)` +
      (pc ? ' and power-cycled' : ' (no powerCycle for the role nor power.cycle in the rig file to try next)');
    throw new RigUnavailableError('sniffer', this.o.port, `${why}; ${tried}; last error: ${last.message}`);
  }

  private waitForPath(ms: number): Promise<void> {
    return waitForPath(this.o.port, ms, this.timers, 'sniffer');
  }

  private armIdle(): void {
    this.cancelIdle();
    if (this.o.idleProbeMs <= 0) return;
    const check = () => {
      if (this.state !== 'capturing') return;
      const quietFor = this.timers.now() - this.session.lastRx;
      if (quietFor < this.o.idleProbeMs || this.probing) {
        this.cancelIdle = this.timers.setTimer(Math.max(1, this.o.idleProbeMs - quietFor), check);
        return;
      }
      this.probing = true;
      this.ask('liveness probe', true).then(
        () => { this.probing = false; this.cancelIdle = this.timers.setTimer(this.o.idleProbeMs, check); },
        (e: Error) => { this.probing = false; if (this.state === 'capturing') this.lost(e.message); },
      );
    };
    this.cancelIdle = this.timers.setTimer(this.o.idleProbeMs, check);
  }

  private note(line: string): void {
    this.session.note(line);
  }
}

/** The driver for a rig's `nrf-sniffer` role. */
export function nrfSnifferFromRig(role: { port: string; baud: number; powerCycle?: string }, rig: { power?: { cycle: string } }, clock: Clock): NrfSnifferDriver {
  const cycle = powerCycleCommand(role, rig);
  return new NrfSnifferDriver({ port: role.port, baudRate: role.baud, clock, ...(cycle ? { powerCycle: { command: cycle } } : {}) });
}
