// The command-line drivers' recovery ladder (serial-session.ts header) over real socat PTYs: the
// emulator's port vanishes (socat killed: the tty hangs up and its link disappears, as when a USB
// dongle is pulled) and comes back at the same path (the testkit replugs a fresh pair there), or
// does not; with a power-cycle command configured, the ladder runs it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RigUnavailableError } from '../harness/rig/roles.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../test/helpers/pty.ts';
import { timed, within } from './cli-testkit.ts';
import { EmberCliPortClosedError } from './ember-cli/driver.ts';
import * as ember from './ember-cli/testkit.ts';
import { ShellPortClosedError } from './nrf-zigbee-shell/driver.ts';
import * as shell from './nrf-zigbee-shell/testkit.ts';
import type { RecoveryOptions } from './serial-session.ts';

warnIfSocatMissing();

const TC_EUI = '00124b00aabbccdd';

interface Device {
  driver: { open(): Promise<void>; keyTable(): Promise<unknown[]>; takeTranscript(): string[]; readonly portLost: string | null };
  emu: { vanish(): Promise<void> };
  pair: { a: string };
}

const drivers = [
  {
    name: 'ember-cli',
    /** A command that needs nothing but a live CLI. */
    probeCommand: 'network id',
    closedError: EmberCliPortClosedError,
    open: async (recovery: RecoveryOptions) => ember.makeTcBench({ emulator: { eui64: TC_EUI }, driver: { ...recovery } }),
    replug: (b: Device) => ember.replug(b as never),
    close: ember.closeEmberBenches,
  },
  {
    name: 'nrf-zigbee-shell',
    probeCommand: 'zdo eui64',
    closedError: ShellPortClosedError,
    open: async (recovery: RecoveryOptions) => shell.makeTcBench({ emulator: { eui64: TC_EUI }, driver: { ...recovery } }),
    replug: (b: Device) => shell.replug(b as never),
    close: shell.closeShellBenches,
  },
] as const;

/** Types one command through the driver's queue (run() is protected: the roles' methods wrap it). */
const ask = (b: Device, command: string) => (b.driver as unknown as { run(c: string, step: string): Promise<string[]> }).run(command, 'test');

/** Pulls the plug and waits until the host-side link is gone. */
async function pull(b: Device): Promise<void> {
  await b.emu.vanish();
  await within(3000, (async () => { while (fs.existsSync(b.pair.a)) await new Promise((r) => setTimeout(r, 20)); })(), 'the port link to go');
}

const tmp: string[] = [];
afterEach(async () => {
  for (const d of drivers) await d.close();
  for (const t of tmp.splice(0)) fs.rmSync(t, { recursive: true, force: true });
});

describe.skipIf(!socatAvailable).each(drivers)('$name: recovery ladder of a lost port (socat)', (d) => {
  it('the port closes and comes back at the same path: the next command succeeds after a re-open', async () => {
    const b = await d.open({ reopen: { attempts: 4, firstDelayMs: 300 } }) as unknown as Device;
    await within(5000, b.driver.open(), 'open()');
    await pull(b);
    // The dongle re-enumerates while the ladder backs off between re-opens.
    const next = timed(within(10_000, ask(b, d.probeCommand), 'a command after the port came back'));
    await new Promise((r) => setTimeout(r, 150));
    await d.replug(b);
    const t = await next;
    expect(t.error).toBeUndefined();
    expect(t.value!.join('\n')).toMatch(/[0-9a-f]{16}/i);
    const transcript = b.driver.takeTranscript().join('\n');
    expect(transcript).toMatch(/the port was lost .*trying to get it back/);
    expect(transcript).toMatch(/recovered by re-open [1-4]\/4/);
    // and it stays usable
    await within(5000, ask(b, d.probeCommand), 'a command again');
  });

  it('the port does not come back: the command fails with the typed port-closed error listing the steps tried', async () => {
    const b = await d.open({ reopen: { attempts: 2, firstDelayMs: 50 } }) as unknown as Device;
    await within(5000, b.driver.open(), 'open()');
    await pull(b);
    const t = await timed(within(10_000, b.driver.keyTable(), 'keyTable() on a lost port'));
    expect(t.error).toBeInstanceOf(d.closedError);
    expect(t.error).toBeInstanceOf(RigUnavailableError);
    expect((t.error as Error).message).toMatch(/the port is not open: lost \(.+\); tried re-open 1\/2, re-open 2\/2, no power cycle \(neither the role's powerCycle nor power\.cycle in the rig file\); last error: .*(ENOENT|No such file|not plugged in)/);
    // open() climbs the same ladder and fails the same way
    await expect(within(10_000, b.driver.open(), 'open() on a lost port')).rejects.toThrow(/tried re-open 1\/2, re-open 2\/2/);
  });

  it('with a power-cycle command: it runs after the re-opens, and the port is back after it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-pc-'));
    tmp.push(dir);
    const mark = path.join(dir, 'cycled');
    // A stand-in for uhubctl: records that it ran (the test then plugs the dongle back in).
    const script = path.join(dir, 'power-cycle.sh');
    fs.writeFileSync(script, `#!/bin/sh\necho "$@" >> '${mark}'\n`, { mode: 0o755 });
    const b = await d.open({ reopen: { attempts: 1, firstDelayMs: 50 }, powerCycle: { command: `${script} -a cycle`, reappearMs: 5000 } }) as unknown as Device;
    await within(5000, b.driver.open(), 'open()');
    await pull(b);
    const next = timed(within(15_000, ask(b, d.probeCommand), 'a command after the power cycle'));
    await within(5000, (async () => { while (!fs.existsSync(mark)) await new Promise((r) => setTimeout(r, 20)); })(), 'the power-cycle command to run');
    await d.replug(b);
    const t = await next;
    expect(t.error).toBeUndefined();
    expect(fs.readFileSync(mark, 'utf8')).toBe('-a cycle\n');
    const transcript = b.driver.takeTranscript().join('\n');
    expect(transcript).toMatch(/re-open 1\/1 failed/);
    expect(transcript).toMatch(/power-cycling: .*power-cycle\.sh -a cycle/);
    expect(transcript).toMatch(/recovered by power cycle \(".*power-cycle\.sh -a cycle"\) and re-open/);
  });

  it('with a power-cycle command after which the port never reappears: the failure names it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-pc-'));
    tmp.push(dir);
    const mark = path.join(dir, 'cycled');
    const b = await d.open({ reopen: { attempts: 1, firstDelayMs: 50 }, powerCycle: { command: `touch '${mark}'`, reappearMs: 300 } }) as unknown as Device;
    await within(5000, b.driver.open(), 'open()');
    await pull(b);
    const t = await timed(within(10_000, b.driver.keyTable(), 'keyTable() on a lost port'));
    expect(fs.existsSync(mark)).toBe(true);
    expect(t.error).toBeInstanceOf(d.closedError);
    expect((t.error as Error).message).toMatch(/tried re-open 1\/1, power cycle \("touch .*"\); last error: .*to reappear/);
  });
});
if (!socatAvailable) describe.skip(socatSkipReason, () => {});
