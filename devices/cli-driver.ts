// What the two command-line drivers (nrf-zigbee-shell, ember-cli) share above their serial
// session and command queue (serial-session.ts commandLine): closing, transcripts, the lost-port
// state, one command at a time, and commands a firmware may refuse without failing the step.
// Their protocols (prompt or `Done`, error lines, echo) stay in their own drivers.
import type { Clock } from '../harness/sim/clock.ts';
import { RigUnavailableError } from '../harness/rig/roles.ts';
import type { SourceOpener } from './nrf-sniffer/transport.ts';
import type { CommandQueue, RecoveryOptions, SerialSession } from './serial-session.ts';

/** Options both command-line drivers take (each adds its own). */
export interface CliDriverOptions {
  /** Serial device; prefer /dev/serial/by-id/… */
  port: string;
  baudRate?: number;
  /** The run's clock: transcript times are on it. */
  clock: Clock;
  /** Clock for deadlines and polling (default: real time: the serial line lives in real time). */
  timers?: Clock;
  /** Deadline of one command's reply, ms (default 3000). */
  replyTimeoutMs?: number;
  /** How long formation may take after the form command, ms (default 15000). */
  formTimeoutMs?: number;
  /** Default join deadline, ms (default 60000; JoinOptions.timeoutMs overrides). */
  joinTimeoutMs?: number;
  /** Poll interval while waiting for a network change, ms. */
  pollMs?: number;
  /** Output must pause this long after the setup commands (default 50). */
  quietMs?: number;
  /** Write the transcript as JSON lines here (nrf-sniffer transcript format). */
  recordTo?: string;
  /** Where lines come from (default: the serial port). Tests pass a replay. */
  source?: SourceOpener;
  maxLine?: number;
  /** Recovery ladder of a lost port (serial-session.ts header): re-open attempts and backoff. */
  reopen?: RecoveryOptions['reopen'];
  /** The rig's power-cycle command (the role's powerCycle, else power.cycle): the ladder's step after the re-opens. */
  powerCycle?: RecoveryOptions['powerCycle'];
}

/** The port went away while a command was waiting for its reply. */
export class CliPortClosedError extends RigUnavailableError {
  override name = 'CliPortClosedError';
  constructor(role: string, location: string, readonly step: string, readonly command: string, readonly reason: string) {
    super(role, location, `${step}: port closed while waiting for the reply to "${command}" (${reason})`);
  }
}

export abstract class CliDriverBase {
  abstract readonly role: 'tc' | 'dut';
  protected abstract readonly o: { port: string; replyTimeoutMs: number };
  /** Set by the subclass constructor from commandLine(). */
  protected session!: SerialSession;
  protected commands!: CommandQueue;

  /**
   * For runTolerating: the firmware's refusal in `e` — `match`, the text a tolerate pattern is
   * tried on, and `shown`, how the transcript quotes it — or undefined when `e` is not one.
   */
  protected abstract refusal(e: unknown): { match: string; shown: string } | undefined;
  /** The harness closing the driver: the error every waiting command gets. */
  protected abstract closedError(): RigUnavailableError;

  async close(): Promise<void> {
    this.failWaiting(this.closedError());
    await this.session.close();
  }

  /** Fails what waits on the device: the command queue (drivers with asynchronous outcomes add theirs). */
  protected failWaiting(e: Error): void {
    this.commands.fail(e);
  }

  takeTranscript(): string[] {
    return this.session.takeTranscript();
  }

  /** Why the port went away underneath, while it is lost (the next command climbs the recovery ladder). */
  get portLost(): string | null {
    return this.session.lostReason;
  }

  /** One command through the queue; resolves with its output lines (see the driver for what ends a reply). */
  protected run(command: string, step: string, timeoutMs = this.o.replyTimeoutMs): Promise<string[]> {
    return this.commands.run(command, step, timeoutMs);
  }

  /** run(), but a refusal whose text matches `tolerate` is noted and returns null. */
  protected async runTolerating(command: string, step: string, tolerate: RegExp): Promise<string[] | null> {
    try {
      return await this.run(command, step);
    } catch (e) {
      const r = this.refusal(e);
      if (r !== undefined && tolerate.test(r.match)) {
        this.note(`${step}: "${command}" answered "${r.shown}"; going on without it`);
        return null;
      }
      throw e;
    }
  }

  protected note(line: string): void {
    this.session.note(line);
  }
}
