// Plumbing the serial drivers (nrf-sniffer, nrf-zigbee-shell, ember-cli) share, so that deadlines,
// transcripts and port loss behave alike in all of them: opening the line source (serial port or
// replay) with a deadline, the transcript (test artifact and JSON-lines recording), writes and
// quiet-waiting with deadlines, and, for the command-line drivers, one command at a time.
// What a line means and when a reply ends stays in each driver's folder.
//
// Recovery ladder of the command-line drivers (nrf-zigbee-shell, ember-cli), run when a command
// (or open()) finds the port lost underneath — the command that was waiting when it went fails at
// once with the driver's port-closed error (it may or may not have run: it is never re-sent):
//   1. Re-open the port, `reopen.attempts` times (default 3) with backoff (200 ms doubling to
//      2 s). A dongle that re-enumerates comes back at the same /dev/serial/by-id path; after
//      each open the driver brings the CLI back into shape (`reopened`: the shell's echo/colours
//      off, an empty line for the EmberZNet prompt) before the command is typed.
//   2. If the rig has a `power.cycle` command (uhubctl), run it, wait for the port path to
//      reappear, re-open.
//   3. Give up: the command fails with the driver's port-closed error (a RigUnavailableError)
//      naming every step tried and the last error. The next command climbs the ladder again.
// The nRF sniffer keeps its own ladder (a capture restarts in the background and refits its clock
// map); waitForPath and the power-cycle runner are shared.
import { existsSync, realpathSync } from 'node:fs';
import { DeviceTimeoutError, RigUnavailableError } from '../harness/rig/roles.ts';
import type { Clock } from '../harness/sim/clock.ts';
import { explainOpenError, runShell } from './nrf-sniffer/host.ts';
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
  private lost: string | null = null;
  private device: string | undefined;

  constructor(private readonly o: SerialSessionOptions) {}

  /** Why the port went away underneath (not closed by us), until it is open again or closed. */
  get lostReason(): string | null {
    return this.src === null ? this.lost : null;
  }

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
    this.lost = null;
    this.device = realpathOrUndefined(o.port);
    this.record({ t: o.clock.now(), dir: 'open', line: o.port });
    for (const n of this.src.notes) this.note(n);
  }

  /**
   * Whether the device node behind the port path is no longer the one opened: the path is gone
   * (unplugged: a tty does not always report a hang-up while nobody reads) or leads to another
   * node (re-enumerated). Only for a real serial device at `path`.
   */
  staleDevice(path: string): string | null {
    if (!this.src) return null;
    if (!existsSync(path)) return `${path} is gone`;
    const now = realpathOrUndefined(path);
    if (this.device !== undefined && now !== undefined && now !== this.device) return `${path} now leads to ${now}, not ${this.device} (re-enumerated)`;
    return null;
  }

  /** The port went away underneath, found by us rather than reported by the source. */
  async lose(reason: string): Promise<void> {
    this.record({ t: this.o.clock.now(), dir: 'closed', line: reason, disconnected: true });
    await this.drop().catch(() => {});
    this.lost = reason;
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
    this.lost = null;
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
        this.lost = e.reason;
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
  /** Climbs the recovery ladder for a lost port (header); absent: a lost port stays lost. */
  recover?(why: string, step: string): Promise<LadderOutcome>;
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

  /**
   * When the port was lost underneath: the recovery ladder (header), with the driver's port-closed
   * error naming what was tried when it fails. Nothing to do when the port is open.
   */
  async recover(step: string, command = '(open)'): Promise<void> {
    const o = this.o;
    const why = o.session.lostReason;
    if (o.session.isOpen || why === null || !o.recover) return;
    const r = await o.recover(why, step);
    if ('recoveredBy' in r) return;
    const p: PendingCommand = { command, step, lines: [], errors: [], echoSeen: false, resolve: () => {}, reject: () => {} };
    throw o.portClosed(p, `the port is not open: lost (${why}); tried ${r.tried.join(', ')}; last error: ${r.last.message}`);
  }

  private async exec(command: string, step: string, ms: number): Promise<string[]> {
    const o = this.o;
    // A port found gone before typing: the command has not been sent, so the ladder may run first.
    const stale = o.devicePath ? o.session.staleDevice(o.devicePath) : null;
    if (stale) await o.session.lose(stale);
    await this.recover(step, command);
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
  /** The recovery ladder's re-open steps and the rig's power-cycle command (header). */
  recovery?: RecoveryOptions;
  /** After a re-open on the ladder: bring the CLI back into shape (no queued commands: write directly). */
  reopened?(step: string): Promise<void>;
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
  const r = o.recovery ?? {};
  const reopen = { attempts: r.reopen?.attempts ?? 3, firstDelayMs: r.reopen?.firstDelayMs ?? 200, maxDelayMs: r.reopen?.maxDelayMs ?? 2000 };
  const recover = (why: string, step: string): Promise<LadderOutcome> => {
    session.note(`${step}: the port was lost (${why}); trying to get it back`);
    return recoveryLadder({
      role: role(), port: o.port, timers: o.timers, reopen, powerCycle: r.powerCycle,
      drop: () => session.drop(),
      attempt: async (how) => { await session.open(); await o.reopened?.(`${step} (${how})`); },
      note: (line) => session.note(line),
    });
  };
  const commands = new CommandQueue({ ...o, get role() { return role(); }, session, devicePath: o.source ? undefined : o.port, recover });
  return { session, commands };
}

/** The recovery ladder's settings (header). */
export interface RecoveryOptions {
  /** Re-opens before the power cycle: attempts (default 3) and backoff (200 ms doubling up to 2 s). */
  reopen?: { attempts?: number; firstDelayMs?: number; maxDelayMs?: number };
  /** The rig's `power.cycle` shell command, if it has one; `reappearMs`: how long the port path may take to come back (15 s). */
  powerCycle?: { command: string; timeoutMs?: number; reappearMs?: number };
}

/** How a ladder ended: the step that got the port back, or every step tried and the last error. */
export type LadderOutcome = { recoveredBy: string } | { tried: string[]; last: Error };

/**
 * Re-opens (with backoff), then the power cycle when there is one, then gives up (header). Each
 * `attempt` opens the port and brings the device into shape, throwing when it cannot.
 */
export async function recoveryLadder(o: {
  role: string;
  port: string;
  timers: Clock;
  reopen: Required<NonNullable<RecoveryOptions['reopen']>>;
  powerCycle?: RecoveryOptions['powerCycle'];
  drop(): Promise<void>;
  attempt(how: string): Promise<void>;
  note(line: string): void;
}): Promise<LadderOutcome> {
  const tried: string[] = [];
  let last: Error = new Error('no attempt made');
  const attempt = async (how: string): Promise<boolean> => {
    tried.push(how);
    await o.drop();
    try {
      await o.attempt(how);
      o.note(`recovered by ${how}`);
      return true;
    } catch (e) {
      last = e as Error;
      o.note(`${how} failed: ${last.message}`);
      return false;
    }
  };
  let delay = o.reopen.firstDelayMs;
  for (let i = 1; i <= o.reopen.attempts; i++) {
    await o.timers.sleep(delay);
    delay = Math.min(delay * 2, o.reopen.maxDelayMs);
    if (await attempt(`re-open ${i}/${o.reopen.attempts}`)) return { recoveredBy: tried[tried.length - 1] };
  }
  const pc = o.powerCycle;
  if (pc) {
    await o.drop();
    o.note(`power-cycling: ${pc.command}`);
    try {
      await runShell(pc.command, pc.timeoutMs ?? 30_000, o.timers, o.role);
      await waitForPath(o.port, pc.reappearMs ?? 15_000, o.timers, o.role);
      if (await attempt(`power cycle ("${pc.command}") and re-open`)) return { recoveredBy: tried[tried.length - 1] };
    } catch (e) {
      last = e as Error;
      tried.push(`power cycle ("${pc.command}")`);
      o.note(`power cycle failed: ${last.message}`);
    }
  } else {
    tried.push('no power cycle (neither the role\'s powerCycle nor power.cycle in the rig file)');
  }
  await o.drop();
  return { tried, last };
}

/** Waits for a device path to (re)appear, e.g. after a power cycle re-enumerated the dongle. */
export async function waitForPath(port: string, ms: number, timers: Clock, role: string): Promise<void> {
  const deadline = timers.now() + ms;
  while (!existsSync(port)) {
    if (timers.now() > deadline) throw new DeviceTimeoutError(role, 'power cycle', `${port} to reappear`, ms);
    await timers.sleep(100);
  }
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}
