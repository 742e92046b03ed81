// Plumbing the serial drivers (nrf-sniffer, nrf-zigbee-shell, ember-cli) share, so that deadlines,
// transcripts and port loss behave alike in all of them: opening the line source (serial port or
// replay) with a deadline, the transcript (test artifact and JSON-lines recording), writes and
// quiet-waiting with deadlines, and, for the command-line drivers, one command at a time.
// What a line means and when a reply ends stays in each driver's folder.
import { existsSync } from 'node:fs';
import { DeviceTimeoutError, RigUnavailableError } from '../harness/rig/roles.ts';
import type { Clock } from '../harness/sim/clock.ts';
import { explainOpenError } from './nrf-sniffer/host.ts';
import { formatEntry, TranscriptRecorder, type TranscriptEntry } from './nrf-sniffer/transcript.ts';
import { serialOpener, type LineSource, type SourceEvent, type SourceOpener } from './nrf-sniffer/transport.ts';
import { withDeadline } from './nrf-sniffer/waits.ts';

/** Transcript lines kept for takeTranscript(); older ones go first (a run nobody drains). */
const MAX_TRANSCRIPT = 200_000;

export interface SerialSessionOptions {
  /** Role name in errors ('sniffer', 'tc', 'dut'). */
  role: string;
  /** Driver name in the recording's header. */
  driver: string;
  port: string;
  /** The run's clock: transcript times are on it. */
  clock: Clock;
  /** Deadlines and quiet-waiting (the serial line lives in real time). */
  timers: Clock;
  opener: SourceOpener;
  replyTimeoutMs: number;
  quietMs: number;
  recordTo?: string;
  /** The driver's stats, counted here for what never reaches the driver. */
  stats: { nulBytes: number; overlongLines: number };
  /** takeTranscript() says how many lines were dropped unread (the sniffer's long captures). */
  reportDropped?: boolean;
  onLine(text: string, atMs: number): void;
  /** The port went away underneath (already in the transcript). */
  onClosed(reason: string): void;
}

export class SerialSession {
  private src: LineSource | null = null;
  /** Bumped whenever the source is left, so its late events are ignored. */
  private gen = 0;
  private rx = 0;
  private transcript: string[] = [];
  private dropped = 0;
  private recorder: TranscriptRecorder | null = null;

  constructor(private readonly o: SerialSessionOptions) {}

  get isOpen(): boolean {
    return this.src !== null;
  }

  /** What opening the source noted (e.g. DTR could not be set). */
  get notes(): readonly string[] {
    return this.src?.notes ?? [];
  }

  /** Timer time of the last byte from the device (or of the open). */
  get lastRx(): number {
    return this.rx;
  }

  /** Opens the source with a deadline; a failure is a RigUnavailableError that explains it. */
  async open(): Promise<void> {
    const o = this.o;
    if (o.recordTo && !this.recorder) {
      this.recorder = new TranscriptRecorder(o.recordTo, { driver: o.driver, location: o.port, started: new Date().toISOString() });
    }
    const gen = ++this.gen;
    let timedOut = false;
    const opening = o.opener((e) => this.handle(gen, e));
    // An open that lands after its deadline would hold the port forever.
    opening.then((s) => { if (timedOut) void s.close(); }, () => {});
    try {
      this.src = await withDeadline(opening, o.replyTimeoutMs, o.timers, () => {
        timedOut = true;
        return new DeviceTimeoutError(o.role, 'open', `open of ${o.port}`, o.replyTimeoutMs);
      });
    } catch (e) {
      const reason = explainOpenError(e as Error);
      this.record({ t: o.clock.now(), dir: 'open-failed', line: reason });
      throw new RigUnavailableError(o.role, o.port, reason);
    }
    this.rx = o.timers.now();
    this.record({ t: o.clock.now(), dir: 'open', line: o.port });
    for (const n of this.src.notes) this.note(n);
  }

  /** Leaves the source and closes it. */
  async drop(): Promise<void> {
    const s = this.src;
    this.detach();
    if (s) await s.close();
  }

  /** Leaves a source that went away on its own (nothing left to close). */
  detach(): void {
    this.src = null;
    this.gen++;
  }

  /** drop(), and the recording ends. */
  async close(): Promise<void> {
    await this.drop();
    this.recorder?.close();
    this.recorder = null;
  }

  /** Sends one line; the write must drain within replyTimeoutMs. `probe` marks the driver's own. */
  async write(line: string, step: string, probe = false): Promise<void> {
    const { o, src } = this;
    if (!src) throw new RigUnavailableError(o.role, o.port, `${step}: the port is not open`);
    this.record(probe ? { t: o.clock.now(), dir: 'tx', line, probe: true } : { t: o.clock.now(), dir: 'tx', line });
    await withDeadline(src.write(line), o.replyTimeoutMs, o.timers,
      () => new DeviceTimeoutError(o.role, step, `write of "${line}" to ${o.port} to drain`, o.replyTimeoutMs));
  }

  /** Waits until the device has been silent for quietMs (at most replyTimeoutMs). */
  async quiet(step: string): Promise<void> {
    const o = this.o;
    const from = o.timers.now();
    for (;;) {
      const now = o.timers.now();
      const silent = now - Math.max(this.rx, from);
      if (silent >= o.quietMs) return;
      if (now - from > o.replyTimeoutMs) {
        throw new DeviceTimeoutError(o.role, step, `pause of ${o.quietMs} ms in the output of ${o.port} (it keeps talking)`, o.replyTimeoutMs);
      }
      await o.timers.sleep(o.quietMs - silent);
    }
  }

  note(line: string): void {
    this.record({ t: this.o.clock.now(), dir: 'note', line });
  }

  takeTranscript(): string[] {
    const out = this.transcript;
    if (this.o.reportDropped && this.dropped > 0) out.unshift(`(${this.dropped} earlier transcript lines dropped: nobody took them)`);
    this.transcript = [];
    this.dropped = 0;
    return out;
  }

  private record(e: TranscriptEntry): void {
    this.recorder?.write(e);
    if (this.transcript.length >= MAX_TRANSCRIPT) { this.transcript.shift(); this.dropped++; }
    this.transcript.push(formatEntry(e));
  }

  private handle(gen: number, e: SourceEvent): void {
    if (gen !== this.gen) return; // a source we already left
    this.rx = this.o.timers.now();
    switch (e.kind) {
      case 'nul':
        this.o.stats.nulBytes += e.count;
        this.record({ t: e.atMs, dir: 'rx-nul', count: e.count });
        return;
      case 'overlong':
        this.o.stats.overlongLines++;
        this.record({ t: e.atMs, dir: 'rx-overlong', line: e.head, maxLine: e.maxLine });
        return;
      case 'closed':
        this.record({ t: e.atMs, dir: 'closed', line: e.reason, disconnected: e.disconnected });
        this.o.onClosed(e.reason);
        return;
      case 'line':
        this.record({ t: e.atMs, dir: 'rx', line: e.text });
        this.o.onLine(e.text, e.atMs);
    }
  }
}

/** The command waiting for its reply; the driver's line handler fills it in and settles it. */
export interface PendingCommand {
  readonly command: string;
  readonly step: string;
  /** Output lines so far (echo, prompts and noise left out). */
  readonly lines: string[];
  /** Error lines inside a reply that goes on to its end (the EmberZNet CLI's `Error:` before the prompt). */
  readonly errors: { text: string; status?: number }[];
  echoSeen: boolean;
  resolve(lines: string[]): void;
  reject(e: Error): void;
}

export interface CommandQueueOptions {
  role: string;
  port: string;
  timers: Clock;
  session: SerialSession;
  stats: { commands: number; timeouts: number };
  /** Types the command (and whatever ends it). */
  send(command: string, step: string): Promise<void>;
  /** Before the next command after a timeout: lets the abandoned command's late answer pass. */
  resync(step: string): Promise<void>;
  /** What the deadline error says never came, e.g. `prompt after "x"`. */
  awaited(command: string): string;
  /** Inside the queue once the reply is complete: throws the protocol's error for it, if any. */
  check?(p: PendingCommand): void;
  /** The driver's error for a port lost while `p` waited. */
  portClosed(p: PendingCommand, reason: string): Error;
  /** The serial device node, when lines come from one (not a replay): its disappearance means a lost port. */
  devicePath?: string;
}

/** One command at a time, each with a deadline; later ones queue up behind it. */
export class CommandQueue {
  private current: PendingCommand | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private desynced = false;

  constructor(private readonly o: CommandQueueOptions) {}

  get pending(): PendingCommand | null {
    return this.current;
  }

  run(command: string, step: string, ms: number): Promise<string[]> {
    const job = this.chain.then(() => this.exec(command, step, ms));
    this.chain = job.catch(() => {});
    return job;
  }

  /** The reply is complete: the waiting command resolves with its lines. */
  complete(): void {
    const p = this.current;
    this.current = null;
    p?.resolve(p.lines);
  }

  /** The waiting command (if any) fails with `e`. */
  fail(e: Error): void {
    const p = this.current;
    this.current = null;
    p?.reject(e);
  }

  /** The error for a port that went away: the waiting command's, or a plain one. */
  closedError(reason: string): Error {
    const p = this.current;
    return p ? this.o.portClosed(p, reason) : new RigUnavailableError(this.o.role, this.o.port, `port closed (${reason})`);
  }

  /**
   * A write that failed: a port going away mid-command often fails the write (EIO) before its
   * close event arrives. Give the close a moment to name it; otherwise the write error stands.
   */
  private async lostOr(p: PendingCommand, reply: Promise<string[]>, e: Error): Promise<Error> {
    const closed = await Promise.race([reply.then(() => undefined, (x: unknown) => x as Error), this.o.timers.sleep(1_000).then(() => undefined)]);
    if (closed) return closed;
    const code = (e as NodeJS.ErrnoException).code;
    if (!this.o.session.isOpen || code === 'EIO' || /Input\/output error/.test(e.message) || (this.o.devicePath && !existsSync(this.o.devicePath))) {
      return this.o.portClosed(p, `write failed: ${e.message}`);
    }
    return e;
  }

  private async exec(command: string, step: string, ms: number): Promise<string[]> {
    const o = this.o;
    if (!o.session.isOpen) throw new RigUnavailableError(o.role, o.port, `${step}: the port is not open (call open() first)`);
    if (this.desynced) {
      await o.resync(step);
      this.desynced = false;
    }
    o.stats.commands++;
    const reply = new Promise<string[]>((resolve, reject) => {
      this.current = { command, step, lines: [], errors: [], echoSeen: false, resolve, reject };
    });
    reply.catch(() => {});
    const p = this.current!;
    try {
      try {
        await o.send(command, step);
      } catch (e) {
        throw await this.lostOr(p, reply, e as Error);
      }
      const lines = await withDeadline(reply, ms, o.timers, () => {
        // A device node that is gone (unplugged, its PTY's socat ended) is a lost port, not a slow device.
        if (o.devicePath && !existsSync(o.devicePath)) return o.portClosed(p, `${o.devicePath} is gone`);
        o.stats.timeouts++;
        this.desynced = true;
        return new DeviceTimeoutError(o.role, step, `${o.awaited(command)} from ${o.port}`, ms);
      });
      o.check?.(p);
      return lines;
    } finally {
      if (this.current === p) this.current = null;
    }
  }
}

export interface CommandLineOptions
  extends Omit<SerialSessionOptions, 'role' | 'opener' | 'onClosed'>, Omit<CommandQueueOptions, 'role' | 'timers' | 'session' | 'stats'> {
  /** Read when used: the drivers' role is a subclass field, not set while their constructor runs. */
  role(): string;
  baudRate: number;
  maxLine: number;
  /** Where lines come from (default: the serial port). */
  source?: SourceOpener;
  stats: SerialSessionOptions['stats'] & CommandQueueOptions['stats'];
  /** After the waiting command failed for a lost port: fail whatever else waits on it. */
  onPortLost?(e: Error): void;
}

/** A command-line driver's session and command queue, wired so that a lost port fails the waiting command. */
export function commandLine(o: CommandLineOptions): { session: SerialSession; commands: CommandQueue } {
  const role = o.role;
  const session = new SerialSession({
    ...o, get role() { return role(); },
    opener: o.source ?? serialOpener({ path: o.port, baudRate: o.baudRate, clock: o.clock, maxLine: o.maxLine }),
    onClosed: (reason) => {
      const err = commands.closedError(reason);
      session.detach();
      commands.fail(err);
      o.onPortLost?.(err);
    },
  });
  const commands = new CommandQueue({ ...o, get role() { return role(); }, session, devicePath: o.source ? undefined : o.port });
  return { session, commands };
}
