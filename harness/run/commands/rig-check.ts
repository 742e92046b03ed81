// `sehil rig check RIG.yaml [--json]`: validates the rig file, opens every role and asks each device
// who it is (driver, where, firmware, EUI-64, channel). Exit 2 for a bad file, 3 when a device
// does not answer, 0 when the rig is ready.
import { parseArgs } from 'node:util';
import { loadRigFile, RigFileError } from '../../rig/load.ts';
import { openRig } from '../../rig/registry.ts';
import { RigUnavailableError } from '../../rig/roles.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const USAGE = 'rig check RIG.yaml [--json]';

interface Row { role: string; driver: string; location: string; status: 'ok' | 'unavailable'; detail: string }

export const rigCheck: Command = {
  words: ['rig', 'check'],
  usage: USAGE,
  summary: 'validate a rig file and probe every role\'s device (driver answers, firmware, channel)',
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const [file, ...extra] = parsed.positionals;
    if (!file || extra.length) throw new UsageError(`expected one rig file\nUsage: sehil ${USAGE}`);
    let config;
    try {
      config = loadRigFile(file);
    } catch (e) {
      if (e instanceof RigFileError) throw new UsageError(e.message);
      throw e;
    }
    const rows: Row[] = [];
    let opened;
    try {
      opened = await openRig(config, file);
    } catch (e) {
      if (!(e instanceof RigUnavailableError)) throw e;
      for (const role of ['tc', 'dut', 'sniffer'] as const) {
        const r = config.roles[role];
        rows.push(e.role === role
          ? { role, driver: r.driver, location: e.location, status: 'unavailable', detail: e.message }
          : { role, driver: r.driver, location: '', status: 'unavailable', detail: 'not probed: the rig did not open' });
      }
    }
    if (opened) {
      try {
        for (const p of await opened.probe()) {
          const r = config.roles[p.role];
          rows.push(p.info
            ? { role: p.role, driver: r.driver, location: p.info.location, status: 'ok', detail: [p.info.firmware, p.info.eui64 && `EUI-64 ${p.info.eui64}`, ...(p.info.notes ?? [])].filter(Boolean).join('; ') }
            : { role: p.role, driver: r.driver, location: '', status: 'unavailable', detail: p.error ?? 'no answer' });
        }
      } finally {
        await opened.close();
      }
    }
    const ready = rows.every((r) => r.status === 'ok');
    if (parsed.values.json) {
      io.out(JSON.stringify({ rig: config.name, file, channel: config.channel, panId: config.panId, clock: config.clock, ready, roles: rows }, null, 2));
    } else {
      const w = (k: keyof Row) => Math.max(k.length, ...rows.map((r) => r[k].length));
      const cols: (keyof Row)[] = ['role', 'driver', 'location', 'status'];
      io.out(`rig ${config.name} (${file}): channel ${config.channel}, PAN 0x${config.panId.toString(16).padStart(4, '0')}, ${config.clock} clock`);
      io.out(cols.map((c) => c.toUpperCase().padEnd(w(c))).join('  ') + '  DETAIL');
      for (const r of rows) io.out(cols.map((c) => r[c].padEnd(w(c))).join('  ') + `  ${r.detail}`);
      io.out(ready ? 'ready' : 'not ready: fix the roles marked unavailable');
    }
    return ready ? EXIT.ok : EXIT.rigUnavailable;
  },
};
