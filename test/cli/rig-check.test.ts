// `sehil rig check`: the table of roles a lab reads before booking a bench, and its exit codes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../harness/run/cli.ts';
import { captureIO } from '../helpers/cli-io.ts';

const SIM = fs.readFileSync(path.resolve(import.meta.dirname, '../../rigs/sim.yaml'), 'utf8');

function rigFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-rigcheck-'));
  const f = path.join(dir, 'rig.yaml');
  fs.writeFileSync(f, text);
  return f;
}

describe('sehil rig check', () => {
  it('probes every role of the simulated rig: ready, exit 0', async () => {
    const io = captureIO();
    expect(await main(['rig', 'check', 'rigs/sim.yaml'], io)).toBe(0);
    expect(io.stdout).toMatch(/^tc\s+sim\s+sim\s+ok\s+sehil stack, TC profile compliant/m);
    expect(io.stdout).toMatch(/^dut\s+sim\s+sim\s+ok\s+.*EUI-64 000d6f000b123456/m);
    expect(io.stdout).toMatch(/^ready$/m);
  });

  it('--json gives the same as one document', async () => {
    const io = captureIO();
    expect(await main(['rig', 'check', 'rigs/sim.yaml', '--json'], io)).toBe(0);
    const doc = JSON.parse(io.stdout) as { ready: boolean; roles: { role: string; status: string }[] };
    expect(doc.ready).toBe(true);
    expect(doc.roles.map((r) => `${r.role}:${r.status}`)).toEqual(['tc:ok', 'dut:ok', 'sniffer:ok']);
  });

  it('a sniffer dongle that is not plugged in: exit 3, the role and the port named', async () => {
    const f = rigFile(SIM.replace('clock: virtual', 'clock: real').replace(/sniffer:\n    driver: sim/, 'sniffer:\n    driver: nrf-sniffer\n    port: /dev/ttyACM97'));
    const io = captureIO();
    expect(await main(['rig', 'check', f], io)).toBe(3);
    expect(io.stdout).toMatch(/^sniffer\s+nrf-sniffer\s+\/dev\/ttyACM97\s+unavailable\s+.*no such serial device/m);
    expect(io.stdout).toMatch(/not ready/);
  });

  it('a bad rig file exits 2 naming the field; no file exits 2', async () => {
    const io = captureIO();
    expect(await main(['rig', 'check', rigFile(SIM.replace('panId: 0x1a62', 'panId: 0x1ffff'))], io)).toBe(2);
    expect(io.stderr).toMatch(/line \d+: panId/);
    const io2 = captureIO();
    expect(await main(['rig', 'check'], io2)).toBe(2);
    expect(io2.stderr).toMatch(/expected one rig file/);
  });
});
