// `sehil emulate RIG.yaml [--dir DIR]`: virtual hardware for a rig whose roles use serial drivers.
// Each role's firmware emulator runs on the device end of a socat PTY pair whose host end is
// linked at the role's `port` (moved into DIR with --dir); all emulators share one virtual air in
// real time. Prints {"ready":true,"ports":{…}} on stdout once the ttys exist, then runs until
// SIGINT/SIGTERM, when it closes the emulators and removes the links. Then, in another terminal:
// `sehil run --rig RIG.yaml`.
import { parseArgs } from 'node:util';
import { emulationProblems, NotEmulatableError, relocatePorts, startVirtualHardware } from '../../../devices/emulate.ts';
import { hasSocat } from '../../../devices/pty.ts';
import { loadRigFile, RigFileError } from '../../rig/load.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const USAGE = 'emulate RIG.yaml [--dir DIR]';

export const emulate: Command = {
  words: ['emulate'],
  usage: USAGE,
  summary: 'virtual hardware: firmware emulators on socat PTYs at the rig\'s ports, on one virtual air (then `sehil run --rig RIG.yaml`)',
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, options: { dir: { type: 'string' } }, allowPositionals: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const [file, ...extra] = parsed.positionals;
    if (!file || extra.length) throw new UsageError(`expected one rig file\nUsage: sehil ${USAGE}`);
    let rig;
    try {
      rig = loadRigFile(file);
    } catch (e) {
      if (e instanceof RigFileError) throw new UsageError(e.message);
      throw e;
    }
    const problems = emulationProblems(rig);
    if (problems.length) throw new UsageError(`${file}: cannot be emulated:\n  - ${problems.join('\n  - ')}`);
    if (!hasSocat()) {
      io.err('sehil emulate: socat not found on PATH (apt-get install socat): it makes the pseudo-terminals');
      return EXIT.rigUnavailable;
    }
    if (parsed.values.dir) rig = relocatePorts(rig, parsed.values.dir);
    // Signals that arrive while the ttys are being made still stop us, after the set-up.
    let stopRequested = false;
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => { stop = () => { stopRequested = true; resolve(); }; });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let hw;
    try {
      hw = await startVirtualHardware(rig);
    } catch (e) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (e instanceof NotEmulatableError) throw new UsageError(e.message);
      // Ctrl-C during set-up reaches socat too (same process group): not a failure of ours.
      if (stopRequested) { io.err('sehil emulate: stopped during set-up'); return EXIT.ok; }
      io.err(`sehil emulate: ${(e as Error).message}`);
      return EXIT.rigUnavailable;
    }
    io.err(`sehil emulate: rig ${rig.name}: ${Object.entries(hw.ports).map(([r, p]) => `${r} ${rig.roles[r as 'tc'].driver} at ${p}`).join(', ')}; Ctrl-C stops`);
    io.out(JSON.stringify({ ready: true, ports: hw.ports }));
    await stopped;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await hw.close();
    io.err('sehil emulate: stopped, links removed');
    return EXIT.ok;
  },
};
