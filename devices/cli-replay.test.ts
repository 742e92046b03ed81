// Record a Trust Center session of each command-line driver over a real PTY (nrf-sniffer
// transcript format and replay source, reused), then feed the recording back through a fresh
// driver: same replies, same refusals, nothing left over; a driver that types something else than
// the recording is caught. A recording is a regression test that needs no emulator and no dongle.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../harness/sim/clock.ts';
import type { Eui64 } from '../harness/zigbee/codec.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../test/helpers/pty.ts';
import { CHANNEL, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, TC_EUI } from '../test/stack/helpers.ts';
import { within } from './cli-testkit.ts';
import { EmberCliCommandError, EmberCliTrustCenter } from './ember-cli/driver.ts';
import * as ember from './ember-cli/testkit.ts';
import { readTranscript } from './nrf-sniffer/transcript.ts';
import { ReplayMismatchError, replayTranscript, type SourceOpener } from './nrf-sniffer/transport.ts';
import { NrfZigbeeShellTrustCenter, ShellCommandError } from './nrf-zigbee-shell/driver.ts';
import * as shell from './nrf-zigbee-shell/testkit.ts';

warnIfSocatMissing();

/** What the test needs of a TC driver. */
interface Tc {
  readonly eui64: Eui64;
  form(p: { channel: number; panId: number; networkKey: Uint8Array }): Promise<unknown>;
  addInstallCode(eui64: Eui64, code: string): Promise<void>;
  keyTable(): Promise<unknown[]>;
  close(): Promise<void>;
}

const drivers = [
  {
    name: 'nrf-zigbee-shell',
    live: async (recordTo: string) => shell.makeTcBench({ emulator: { eui64: TC_EUI }, driver: { recordTo } }),
    replayed: (source: SourceOpener): Tc => new NrfZigbeeShellTrustCenter({ port: 'replay', clock: new RealClock(), source, replyTimeoutMs: 1500, pollMs: 1, quietMs: 5 }),
    refusedCommand: 'bdb ic add', refusalLine: 'Failed to add IC', commandError: ShellCommandError,
    /** The second install code of session() (the TC's own EUI-64) is refused. */
    selfRefusal: [`bdb ic add ${INSTALL_CODE} ${TC_EUI}`, "Device can't add itself"],
    refusal: { name: 'ShellCommandError', shellText: 'Failed to add IC', step: 'add install code' },
    /** The shell prints ANSI colours until `shell colors off`: kept as sent. */
    rawMark: '\x1b[',
    close: shell.closeShellBenches,
  },
  {
    name: 'ember-cli',
    live: async (recordTo: string) => ember.makeTcBench({ emulator: { eui64: TC_EUI }, driver: { recordTo } }),
    replayed: (source: SourceOpener): Tc => new EmberCliTrustCenter({ port: 'replay', clock: new RealClock(), source, replyTimeoutMs: 1500, pollMs: 1, quietMs: 5 }),
    refusedCommand: 'option install-code', refusalLine: 'ERR: Install Code must be 8, 10, 14, or 18 bytes in length', commandError: EmberCliCommandError,
    selfRefusal: ['option install-code 1 ', 'ERR: Install Code must be 8, 10, 14, or 18 bytes in length'],
    refusal: { name: 'EmberCliCommandError', cliText: 'ERR: Install Code must be 8, 10, 14, or 18 bytes in length', step: 'add install code' },
    /** The Ember CLI's prompt, as sent. */
    rawMark: '>',
    close: ember.closeEmberBenches,
  },
] as const;

const dirs: string[] = [];
const replayedDrivers: Tc[] = [];
afterEach(async () => {
  await Promise.all(replayedDrivers.splice(0).map((d) => within(3000, d.close(), 'replay driver close()').catch(() => {})));
  for (const d of drivers) await d.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-cli-rec-'));
  dirs.push(dir);
  return path.join(dir, name);
}

/** The same session, whatever the source. */
async function session(tc: Tc) {
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  const refused = await tc.addInstallCode(TC_EUI, INSTALL_CODE).catch((e: unknown) => e);
  const table = await tc.keyTable();
  return { eui64: tc.eui64, table, refused };
}

describe.skipIf(!socatAvailable).each(drivers)(`$name record/replay (${socatAvailable ? 'socat' : socatSkipReason})`, (d) => {
  it('replays a recorded TC session: same replies, same refusal, nothing left over', async () => {
    const file = tmpFile('tc.jsonl');
    const b = await d.live(file);
    b.emu.errorOn(d.refusedCommand, d.refusalLine);
    await within(10_000, (async () => {
      await b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
      expect(await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE).catch((e: unknown) => e)).toBeInstanceOf(d.commandError);
    })(), 'live session part 1');
    await b.driver.close();

    const { header, entries } = readTranscript(file);
    expect(header).toMatchObject({ format: 'sehil-serial-transcript', driver: d.name });
    expect(entries.some((e) => e.dir === 'rx' && e.line.includes(d.rawMark))).toBe(true); // lines as the firmware sent them

    const replay = replayTranscript(entries);
    const tc = d.replayed(replay.opener);
    replayedDrivers.push(tc);
    await within(5000, tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'replayed form()');
    expect(await tc.addInstallCode(DUT_EUI, INSTALL_CODE).catch((x: unknown) => x)).toMatchObject(d.refusal);
    expect(tc.eui64).toBe(TC_EUI);
    expect(replay.remaining()).toBe(0);
  });

  it('a full session replays to the same results', async () => {
    const file = tmpFile('tc2.jsonl');
    const b = await d.live(file);
    b.emu.errorOn(d.selfRefusal[0], d.selfRefusal[1]);
    const live = await within(10_000, session(b.driver), 'live session');
    expect(live.refused).toBeInstanceOf(d.commandError);
    await b.driver.close();
    const replay = replayTranscript(readTranscript(file).entries);
    const tc = d.replayed(replay.opener);
    replayedDrivers.push(tc);
    const again = await within(5000, session(tc), 'replayed session');
    expect(again.eui64).toBe(live.eui64);
    expect(again.table).toEqual(live.table);
    expect(String(again.refused)).toBe(String(live.refused));
    expect(replay.remaining()).toBe(0);
  });

  it('a driver that types something else than the recording is caught', async () => {
    const file = tmpFile('tc3.jsonl');
    const b = await d.live(file);
    await within(10_000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'live form');
    await b.driver.close();
    const replay = replayTranscript(readTranscript(file).entries);
    const tc = d.replayed(replay.opener);
    replayedDrivers.push(tc);
    await expect(within(5000, tc.form({ channel: 20, panId: PAN_ID, networkKey: NETWORK_KEY }), 'replayed form')).rejects.toBeInstanceOf(ReplayMismatchError);
  });
});
if (!socatAvailable) describe.skip(socatSkipReason, () => {});
