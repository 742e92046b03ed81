// One virtual-hardware rig under test: `sehil emulate RIG --dir TMP/ports` running (its socat
// PTYs and firmware emulators), a copy of the rig file pointing at those ports, and `sehil run`
// on it as a child process with its run record parsed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { RunRecord } from '../../harness/run/run-reporter.ts';
import { stop, watch } from './child.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const SEHIL_BIN = path.join(ROOT, 'bin/sehil.mjs');

export interface EmulatedRig {
  tmp: string;
  /** Where the emulator put the role ttys (`--dir`). */
  ports: string;
  /** The rig file rewritten to those ports. */
  rig: string;
  emulator: ChildProcess;
  emu: ReturnType<typeof watch>;
  /** `sehil run --rig <rig> ARGS --out OUT --json`: exit code, the run record, stderr. */
  run(args: readonly string[], out: string, ms: number): Promise<{ code: number | null; record: RunRecord; stderr: string }>;
  /** Stops a run still going and the emulator; removes the temp dir. */
  close(): Promise<void>;
}

export async function emulateRig(rigFile: string): Promise<EmulatedRig> {
  const text = fs.readFileSync(rigFile, 'utf8');
  const portDir = /port:\s*(\/tmp\/[^/\s]+\/)/.exec(text)?.[1];
  if (!portDir) throw new Error(`${rigFile}: no /tmp/… port to relocate`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${path.basename(rigFile, '.yaml')}-`));
  const ports = path.join(tmp, 'ports');
  const emulator = spawn(process.execPath, [SEHIL_BIN, 'emulate', rigFile, '--dir', ports], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const emu = watch(emulator);
  let runChild: ChildProcess | undefined;
  const close = async () => {
    await stop(runChild);
    await stop(emulator);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await emu.until('stdout', /^\{"ready":true.*\}$/m, 30_000);
  } catch (e) {
    await close();
    throw e;
  }
  const rig = path.join(tmp, path.basename(rigFile));
  fs.writeFileSync(rig, text.replaceAll(portDir, `${ports}/`));
  return {
    tmp, ports, rig, emulator, emu, close,
    async run(args, out, ms) {
      runChild = spawn(process.execPath, [SEHIL_BIN, 'run', '--rig', rig, ...args, '--out', out, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const run = watch(runChild);
      const { code } = await run.exit(ms);
      return { code, record: JSON.parse(run.out.stdout) as RunRecord, stderr: run.out.stderr };
    },
  };
}

/** SIGTERM to the emulator: it exits 0, removes every port link and leaves no socat behind. */
export async function expectCleanStop(vh: EmulatedRig): Promise<void> {
  const socats = spawnSync('pgrep', ['-P', String(vh.emulator.pid), 'socat'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
  expect(socats.length, 'one socat per role').toBeGreaterThanOrEqual(3);
  vh.emulator.kill('SIGTERM');
  const { code } = await vh.emu.exit(10_000);
  expect(code, vh.emu.out.stderr).toBe(0);
  expect(fs.readdirSync(vh.ports)).toEqual([]);
  for (const pid of socats) expect(() => process.kill(pid, 0), `socat ${pid} still running`).toThrow();
}
