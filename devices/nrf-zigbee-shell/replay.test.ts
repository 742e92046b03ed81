// Record a Trust Center session over a real PTY (nrf-sniffer transcript format and replay source,
// reused), then feed the recording back through a fresh driver: same replies, same errors,
// nothing left over; a driver that types something else is caught.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../../harness/sim/clock.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../../test/helpers/pty.ts';
import { CHANNEL, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, TC_EUI } from '../../test/stack/helpers.ts';
import { readTranscript } from '../nrf-sniffer/transcript.ts';
import { ReplayMismatchError, replayTranscript } from '../nrf-sniffer/transport.ts';
import { NrfZigbeeShellTrustCenter, ShellCommandError } from './driver.ts';
import { closeShellBenches, makeTcBench, within } from './testkit.ts';

warnIfSocatMissing();
const dirs: string[] = [];
const drivers: NrfZigbeeShellTrustCenter[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => within(3000, d.close(), 'replay driver close()').catch(() => {})));
  await closeShellBenches();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-shell-rec-'));
  dirs.push(dir);
  return path.join(dir, name);
}

/** The same session, whatever the source. */
async function session(tc: NrfZigbeeShellTrustCenter) {
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  const refused = await tc.addInstallCode(TC_EUI, INSTALL_CODE).catch((e: unknown) => e);
  const table = await tc.keyTable();
  return { eui64: tc.eui64, table, refused };
}

describe.skipIf(!socatAvailable)(`nRF Zigbee shell record/replay (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('replays a recorded TC session: same replies, same Error:, nothing left over', async () => {
    const file = tmpFile('tc.jsonl');
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { recordTo: file } });
    b.emu.errorOn('bdb ic add', 'Failed to add IC');
    const live = await within(10_000, (async () => {
      await b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
      const first = await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(ShellCommandError);
      return null;
    })(), 'live session part 1');
    expect(live).toBeNull();
    await b.driver.close();

    const { header, entries } = readTranscript(file);
    expect(header).toMatchObject({ format: 'sehil-serial-transcript', driver: 'nrf-zigbee-shell' });
    expect(entries.some((e) => e.dir === 'rx' && e.line.includes('\x1b['))).toBe(true); // colours as the firmware sent them

    const replay = replayTranscript(entries);
    const tc = new NrfZigbeeShellTrustCenter({ port: 'replay', clock: new RealClock(), source: replay.opener, replyTimeoutMs: 1500, pollMs: 1, quietMs: 5 });
    drivers.push(tc);
    await within(5000, tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'replayed form()');
    const e = await tc.addInstallCode(DUT_EUI, INSTALL_CODE).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ShellCommandError', shellText: 'Failed to add IC', step: 'add install code' });
    expect(tc.eui64).toBe(TC_EUI);
    expect(replay.remaining()).toBe(0);
  });

  it('a full session replays to the same results', async () => {
    const file = tmpFile('tc2.jsonl');
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { recordTo: file } });
    b.emu.errorOn(`bdb ic add ${'83FED3407A939723A5C639B26916D505C3B5'} ${TC_EUI}`, "Device can't add itself");
    const live = await within(10_000, session(b.driver), 'live session');
    await b.driver.close();
    const replay = replayTranscript(readTranscript(file).entries);
    const tc = new NrfZigbeeShellTrustCenter({ port: 'replay', clock: new RealClock(), source: replay.opener, replyTimeoutMs: 1500, pollMs: 1, quietMs: 5 });
    drivers.push(tc);
    const again = await within(5000, session(tc), 'replayed session');
    expect(again.eui64).toBe(live.eui64);
    expect(again.table).toEqual(live.table);
    expect(String(again.refused)).toBe(String(live.refused));
    expect(replay.remaining()).toBe(0);
  });

  it('a driver that types something else than the recording is caught', async () => {
    const file = tmpFile('tc3.jsonl');
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { recordTo: file } });
    await within(10_000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'live form');
    await b.driver.close();
    const replay = replayTranscript(readTranscript(file).entries);
    const tc = new NrfZigbeeShellTrustCenter({ port: 'replay', clock: new RealClock(), source: replay.opener, replyTimeoutMs: 1500, pollMs: 1, quietMs: 5 });
    drivers.push(tc);
    await expect(within(5000, tc.form({ channel: 20, panId: PAN_ID, networkKey: NETWORK_KEY }), 'replayed form')).rejects.toBeInstanceOf(ReplayMismatchError);
  });
});
