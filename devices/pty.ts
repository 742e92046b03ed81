// Linked pseudo-terminal pairs made by socat (radios.md "Verified on these machines": `socat -d -d
// pty,raw,echo=0,link=A pty,raw,echo=0,link=B`, serialport opens both ends). Used by the serial
// drivers' tests (through test/helpers/pty.ts) and by `sehil emulate`, which puts firmware
// emulators on the device end of one pair per rig role.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** socat answers `-V` (checked once, at first use). */
export function hasSocat(): boolean {
  return (socatChecked ??= spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0);
}
let socatChecked: boolean | undefined;

export interface PtyPair {
  /** Host (driver) side: a symlink to /dev/pts/N. */
  readonly a: string;
  /** Device (emulator) side. */
  readonly b: string;
  /** The /dev/pts names socat reported. */
  readonly pts: readonly string[];
  readonly pid: number;
  /**
   * Pulls the plug: kills socat, so both ttys hang up and their links disappear, as a USB tty
   * does when the dongle is removed. Resolves when socat has exited.
   */
  unplug(): Promise<void>;
  /** Same as unplug, and removes the temporary directory it created (if any). */
  close(): Promise<void>;
}

const open = new Set<PtyPair>();

/** Waits for the child to exit, with a deadline; SIGKILL when it overstays. */
function stopChild(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); }, ms);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
}

/**
 * Starts socat with two linked PTYs and waits (deadline `timeoutMs`) until it reports both and
 * both links exist. `links` reuses paths, e.g. to plug a "dongle" back in at the same place.
 */
export async function openPtyPair(opts: { links?: { a: string; b: string }; timeoutMs?: number } = {}): Promise<PtyPair> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const dir = opts.links ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-pty-'));
  const a = opts.links?.a ?? path.join(dir!, 'host');
  const b = opts.links?.b ?? path.join(dir!, 'device');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const pts: string[] = [];
  let stderr = '';
  const cleanup = async () => {
    await stopChild(child, 2000);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let poll: ReturnType<typeof setInterval> | undefined;
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearInterval(poll);
        child.removeAllListeners('exit');
        if (err) reject(err); else resolve();
      };
      const deadline = setTimeout(() => done(new Error(`socat: no PTY pair within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
      child.once('error', (e) => done(new Error(`socat could not start: ${e.message}`)));
      child.once('exit', (code, sig) => done(new Error(`socat exited (${code ?? sig}) before the PTYs were ready; stderr:\n${stderr}`)));
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        for (const m of stderr.matchAll(/N PTY is (\S+)/g)) if (!pts.includes(m[1])) pts.push(m[1]);
      });
      // socat prints the PTY names before it makes the links; "ready" is both links in place.
      poll = setInterval(() => {
        if (pts.length >= 2 && fs.existsSync(a) && fs.existsSync(b)) done();
      }, 10);
    });
  } catch (e) {
    await cleanup();
    throw e;
  }
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  const pair: PtyPair = {
    a, b, pts, pid: child.pid!,
    unplug: () => stopChild(child, 2000),
    close: async () => { open.delete(pair); await cleanup(); },
  };
  open.add(pair);
  return pair;
}

/** Closes every pair still open (afterEach safety net). */
export async function closeAllPtyPairs(): Promise<void> {
  await Promise.all([...open].map((p) => p.close()));
}
