// Where the driver's lines come from: a real serial port (node-serialport, also over a socat
// pseudo-terminal in tests) or a recorded transcript played back. Both hand the driver the same
// events, stamped with the run-clock time they arrived, so the driver cannot tell them apart.
import { SerialPort } from 'serialport';
import type { Clock } from '../../harness/sim/clock.ts';
import { encodeCommand, LineSplitter, type SplitEvent } from './protocol.ts';
import type { TranscriptEntry } from './transcript.ts';

export type SourceEvent =
  | { kind: 'line'; text: string; atMs: number }
  | { kind: 'overlong'; head: string; maxLine: number; atMs: number }
  | { kind: 'nul'; count: number; atMs: number }
  /** The port went away underneath us (not after our own close()). */
  | { kind: 'closed'; reason: string; disconnected: boolean; atMs: number };

export interface LineSource {
  readonly location: string;
  /** What opening found worth a transcript line (e.g. DTR cannot be set on a pseudo-terminal). */
  readonly notes: readonly string[];
  /** Sends one line (the source adds `\r\n`); resolves once the bytes left the process. */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a source; `onEvent` gets every line and the loss of the port. Throws when it cannot open. */
export type SourceOpener = (onEvent: (e: SourceEvent) => void) => Promise<LineSource>;

function stamp(e: SplitEvent, atMs: number): SourceEvent {
  switch (e.kind) {
    case 'line': return { kind: 'line', text: e.text, atMs };
    case 'overlong': return { kind: 'overlong', head: e.head, maxLine: e.maxLine, atMs };
    case 'nul': return { kind: 'nul', count: e.count, atMs };
  }
}

export interface SerialSourceOptions {
  path: string;
  baudRate: number;
  /** The run's clock: arrival times are read from it. */
  clock: Clock;
  maxLine?: number;
}

/**
 * A serial port through node-serialport (radios.md §8: `lock: true` like the extcap's
 * `Serial(dev, exclusive=True)`; DTR asserted explicitly because the sniffer's Zephyr shell stays
 * silent until DTR, `CONFIG_SHELL_BACKEND_SERIAL_CHECK_DTR=y`, sdk-nrf@41a8e0d:
 * samples/peripheral/802154_sniffer/prj.conf). On a pseudo-terminal DTR does not exist and
 * `set({dtr})` fails with "Inappropriate ioctl for device" (radios.md "Verified on these
 * machines"): that is noted, not fatal; on real hardware a silent shell then shows up as a
 * timeout in the start sequence, whose message mentions DTR.
 */
export function serialOpener(opts: SerialSourceOptions): SourceOpener {
  return async (onEvent) => {
    const port = new SerialPort({ path: opts.path, baudRate: opts.baudRate, autoOpen: false, lock: true });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    const notes: string[] = [];
    const dtrError = await new Promise<Error | null>((resolve) => port.set({ dtr: true }, (err) => resolve(err ?? null)));
    if (dtrError) {
      notes.push(`could not assert DTR (${dtrError.message}); harmless on a pseudo-terminal, but a real sniffer stays silent without DTR`);
    }
    const splitter = new LineSplitter(opts.maxLine);
    let closing = false;
    port.on('data', (chunk: Buffer) => {
      const at = opts.clock.now();
      for (const e of splitter.push(chunk)) onEvent(stamp(e, at));
    });
    // Errors after open arrive as 'error' and, when the device is gone, as 'close' with
    // `disconnected`; a listener keeps an unplug from becoming an uncaught exception.
    port.on('error', () => { /* the close event that follows carries the news */ });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      if (closing) return;
      const held = splitter.pending > 0 ? ` (${splitter.pending} bytes of an unfinished line lost)` : '';
      onEvent({ kind: 'closed', reason: `${err?.message ?? 'closed'}${held}`, disconnected: err?.disconnected ?? false, atMs: opts.clock.now() });
    });
    return {
      location: opts.path,
      notes,
      write: (line) => new Promise<void>((resolve, reject) => {
        if (!port.isOpen) { reject(new Error('port is not open')); return; }
        port.write(Buffer.from(encodeCommand(line)), (err) => {
          if (err) { reject(err); return; }
          port.drain((e) => (e ? reject(e) : resolve()));
        });
      }),
      close: () => new Promise<void>((resolve) => {
        closing = true;
        if (!port.isOpen) { resolve(); return; }
        port.close(() => resolve());
      }),
    };
  };
}

/** The driver wrote something the recording did not expect at this point. */
export class ReplayMismatchError extends Error {
  override name = 'ReplayMismatchError';
  constructor(readonly index: number, readonly expected: string, readonly got: string) {
    super(`replay: entry ${index} expected ${expected}, the driver sent ${JSON.stringify(got)}`);
  }
}

export interface Replay {
  opener: SourceOpener;
  /** Entries not yet replayed (0 when the driver walked the whole recording). */
  remaining(): number;
}

/**
 * Plays a recorded transcript back as a source. Received lines are handed over in order, each
 * with its recorded time, up to the next thing the host sent; there the replay waits until the
 * driver sends the same line (anything else is a ReplayMismatchError). Recorded opens, failed
 * opens and losses of the port happen again where they happened. Liveness probes (`probe`) and
 * notes are the driver's own decisions, so they are skipped, not expected.
 */
export function replayTranscript(entries: readonly TranscriptEntry[], location = 'replay'): Replay {
  const list = entries.filter((e) => e.dir !== 'note' && !(e.dir === 'tx' && e.probe));
  let i = 0;
  const opener: SourceOpener = async (onEvent) => {
    const e = list[i];
    if (e?.dir === 'open-failed') { i++; throw new Error(e.line); }
    if (e?.dir !== 'open') {
      throw new ReplayMismatchError(i, e ? `a ${e.dir} entry` : 'the end of the recording', '(open the port)');
    }
    i++;
    let alive = true;
    /** Hands over the next recorded event if it came before the next thing the host sent. */
    const step = (): boolean => {
      const r = list[i];
      if (!alive || !r || r.dir === 'tx' || r.dir === 'open' || r.dir === 'open-failed') return false;
      i++;
      if (r.dir === 'rx') onEvent({ kind: 'line', text: r.line, atMs: r.t });
      else if (r.dir === 'rx-overlong') onEvent({ kind: 'overlong', head: r.line, maxLine: r.maxLine, atMs: r.t });
      else if (r.dir === 'rx-nul') onEvent({ kind: 'nul', count: r.count, atMs: r.t });
      else if (r.dir === 'closed') { alive = false; onEvent({ kind: 'closed', reason: r.line, disconnected: r.disconnected, atMs: r.t }); }
      return true;
    };
    // One event per macrotask, like bytes arriving from a port: what the driver does in answer
    // to one line (e.g. start() resolving into "capturing") happens before the next line.
    let scheduled = false;
    const pump = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => { scheduled = false; if (step()) pump(); });
    };
    pump();
    return {
      location,
      notes: [],
      write: async (line) => {
        // Lines recorded before this write had arrived before the driver wrote it the first time.
        while (step()) { /* hand them over now */ }
        if (!alive) throw new Error('port is not open');
        const r = list[i];
        if (r?.dir !== 'tx' || r.line !== line) {
          throw new ReplayMismatchError(i, r?.dir === 'tx' ? `tx ${JSON.stringify(r.line)}` : (r ? `a ${r.dir} entry` : 'the end of the recording'), line);
        }
        i++;
        pump();
      },
      close: async () => { alive = false; },
    };
  };
  return { opener, remaining: () => list.length - i };
}
