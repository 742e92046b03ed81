// The nRF Zigbee shell driver over real pseudo-terminals (socat) against the shell emulator, whose
// node runs on a VirtualAir with a simulated peer. Verdicts come from the air (decodeAir): the
// Transport Key must go out under the key-transport key of the install-code key.
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { DeviceTimeoutError, RigUnavailableError } from '../../harness/rig/roles.ts';
import { VirtualAir, type AirFrame } from '../../harness/sim/air.ts';
import { RealClock } from '../../harness/sim/clock.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { ApsKeyType } from '../../harness/zigbee/aps.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../../test/helpers/pty.ts';
import {
  apsCommandOf, CHANNEL, decodeAir, DUT_EUI, INSTALL_CODE, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, TC_EUI,
} from '../../test/stack/helpers.ts';
import { openRig } from '../../harness/rig/registry.ts';
import { rigSchema } from '../../harness/rig/schema.ts';
import { ShellCommandError, ShellPortClosedError, ShellUnsupportedError } from './driver.ts';
import { expectMuteOpenTimesOut, expectPortClosedMidCommand } from '../cli-testkit.ts';
import { closeShellBenches, makeJoinerBench, makeTcBench, timed, track, within } from './testkit.ts';

warnIfSocatMissing();
afterEach(closeShellBenches);

/**
 * The network-key Transport Keys on the air, with the label of the link key that opened each.
 * MAC retransmissions (same bytes, same MAC sequence number: the air runs in real time here, so
 * an ACK can be late) count once.
 */
function transportKeys(sniffed: AirFrame[]) {
  const air = decodeAir(sniffed, { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [{ label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) }] });
  const seen = new Set<string>();
  return air.filter((r) => {
    const c = apsCommandOf(r);
    if (c?.type !== 'transportKey' || c.keyType !== ApsKeyType.STANDARD_NETWORK) return false;
    const id = Buffer.from(r.psdu).toString('hex');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

async function simulatedTc(shared: { clock: RealClock; air: VirtualAir }) {
  const tc = track(new TrustCenter({ air: shared.air, clock: shared.clock, eui64: TC_EUI }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  return tc;
}

describe.skipIf(!socatAvailable)(`nRF Zigbee shell driver over a PTY (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('as DUT joins a simulated TC with its install code: the Transport Key goes out under the install-code key', async () => {
    const clock = new RealClock();
    const air = new VirtualAir(clock);
    const tc = await simulatedTc({ clock, air });
    const b = await makeJoinerBench({ shared: { clock, air }, emulator: { eui64: DUT_EUI }, driver: { installCode: INSTALL_CODE, expectEui64: DUT_EUI, deviceRole: 'zr' } });
    await within(5000, b.driver.open(), 'open()');
    expect(b.driver.eui64).toBe(DUT_EUI);
    expect([...b.driver.capabilities].sort()).toEqual(['install-code', 'leave', 'legacy-join', 'tclk-exchange']);
    const r = await within(10_000, b.driver.join({ channel: CHANNEL, timeoutMs: 8000 }), 'join()');
    const transcript = b.driver.takeTranscript();
    expect(r, transcript.join('\n')).toMatchObject({ joined: true });
    expect(r.shortAddress).toBe(tc.devices.get(DUT_EUI)?.short);
    expect(b.emu.commands).toEqual(expect.arrayContaining(['bdb role zr', `bdb channel ${CHANNEL}`, 'bdb ic set 83FED3407A939723A5C639B26916D505C3B5', 'bdb start']));

    const tk = transportKeys(b.sniffed);
    expect(tk).toHaveLength(1);
    expect(tk[0].aps!.aux).toMatchObject({ keyId: 2, source64: TC_EUI });
    expect(tk[0].aps!.openedWith).toBe('install-code');

    // The emulator spoke with echo and colours until the driver turned them off.
    expect(transcript.some((l) => l.includes('\\x1b[1;32muart:~$'))).toBe(true);
    expect(b.emu.commands.slice(0, 2)).toEqual(['shell echo off', 'shell colors off']);

    const before = b.sniffed.length;
    await within(5000, b.driver.leave(), 'leave()');
    expect(b.emu.joiner?.joined).toBe(false);
    expect(b.emu.commands).toContain(`zdo mgmt_leave 0x${r.shortAddress!.toString(16).padStart(4, '0')}`);
    const leaves = decodeAir(b.sniffed.slice(before), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] })
      .filter((x) => x.nwk?.command?.kind === 'leave' && x.sender === 'nrf-shell-zr');
    expect(leaves.length).toBeGreaterThanOrEqual(1);
    // `bdb start` again = network steering: back on the network.
    const again = await within(10_000, b.driver.join({ timeoutMs: 8000 }), 'join after leave');
    expect(again, b.driver.takeTranscript().join("\n")).toMatchObject({ joined: true });
    await expect(b.driver.rejoin({ secured: true })).rejects.toBeInstanceOf(ShellUnsupportedError);
  });

  it('as DUT reports joined:false with the shell\'s words when no network takes it', async () => {
    const b = await makeJoinerBench({ emulator: { eui64: DUT_EUI }, driver: { installCode: INSTALL_CODE } });
    const r = await within(5000, b.driver.join({ channel: CHANNEL, timeoutMs: 600 }), 'join()');
    expect(r.joined).toBe(false);
    // The firmware's own words: the steering outcome it logged, else what `zdo short` kept saying.
    expect(r.reason).toMatch(/Network steering was not successful|no network joined within 600 ms.*Check if device was commissioned/);
  });

  it('refuses a dongle whose EUI-64 is not the rig file\'s', async () => {
    const b = await makeJoinerBench({ emulator: { eui64: DUT_EUI }, driver: { expectEui64: TC_EUI } });
    await expect(within(5000, b.driver.open(), 'open()')).rejects.toThrow(/reports 00124b00aabbccdd.*says 00124b0001020304/);
  });

  it('as TC forms, takes an install code and admits a simulated joiner under the install-code key', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'form()');
    expect(b.emu.commands).toEqual(expect.arrayContaining(['bdb role zc', 'bdb panid 1a62', 'bdb ic policy enable', 'bdb start']));
    await within(3000, b.driver.addInstallCode(DUT_EUI, INSTALL_CODE), 'addInstallCode()');
    await within(3000, b.driver.permitJoin(180), 'permitJoin()');

    const dut = track(new Joiner({ air: b.air, clock: b.clock, eui64: DUT_EUI, installCode: INSTALL_CODE }));
    const r = await within(8000, dut.join({ channel: CHANNEL, timeoutMs: 6000 }), 'simulated join');
    expect(r).toMatchObject({ joined: true, tclk: 'verified' });
    const tk = transportKeys(b.sniffed);
    expect(tk).toHaveLength(1);
    expect(tk[0].aps!.openedWith).toBe('install-code');
    expect(tk[0].aps!.aux).toMatchObject({ source64: TC_EUI });

    const table = await within(3000, b.driver.keyTable(), 'keyTable()');
    expect(table).toEqual([{ eui64: DUT_EUI, key: hexToBytes(INSTALL_CODE_KEY), kind: 'install-code' }]);
    expect(await b.driver.networkKey()).toEqual({ key: NETWORK_KEY, seq: 0 });
    await expect(b.driver.permitJoin(0)).rejects.toBeInstanceOf(ShellUnsupportedError);
    await expect(b.driver.deleteLinkKey(DUT_EUI)).rejects.toThrow(/not supported by the nRF Zigbee shell/);
    expect(b.driver.capabilities.has('cbke-v1')).toBe(false);
    expect(b.driver.capabilities.has('key-table-edit')).toBe(false);
  });

  it('as TC with the install-code policy on, turns away a joiner with the well-known key', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'form()');
    const dut = track(new Joiner({ air: b.air, clock: b.clock, eui64: DUT_EUI }));
    const r = await within(8000, dut.join({ channel: CHANNEL, timeoutMs: 4000 }), 'simulated join');
    expect(r.joined).toBe(false);
  });
});

describe('nrf-zigbee-shell in the driver registry', () => {
  it('plays tc and dut, and names a missing port as rig-unavailable', async () => {
    const config = rigSchema.parse({
      name: 'shell', channel: 15,
      roles: { tc: { driver: 'nrf-zigbee-shell', port: '/dev/does-not-exist-tc' }, dut: { driver: 'sim', identity: { eui64: DUT_EUI } }, sniffer: { driver: 'sim' } },
    });
    const e = await openRig(config, 'inline').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RigUnavailableError);
    expect(e).toMatchObject({ role: 'tc', location: '/dev/does-not-exist-tc' });
    const sniffer = rigSchema.parse({ ...config, roles: { ...config.roles, tc: { driver: 'sim' }, sniffer: { driver: 'nrf-zigbee-shell', port: '/dev/null' } } });
    await expect(openRig(sniffer, 'inline')).rejects.toThrow(/cannot play the sniffer role \(it plays tc, dut\)/);
  });
});

describe.skipIf(!socatAvailable)(`nRF Zigbee shell driver faults (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('survives garbage lines and a partial line glued before a reply', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    b.emu.injectRaw('\xff\xfe\x80 line noise\r\n');
    b.emu.beforeReply('zdo eui64', '\xff\xfe\x81half a li'); // no line ending: glued to the EUI-64 line
    const t = await timed(within(5000, b.driver.open(), 'open()'));
    // The glued line cannot be read as an EUI-64: a typed parse error, not a hang.
    expect(String(t.error)).toMatch(/ShellParseError|not understood/);
    b.emu.injectRaw('\x07\x1b[31m\xfe\xff junk\r\n');
    // NULs while a command runs: bytes sent before open() may be flushed by the open itself.
    b.emu.beforeReply('bdb start', '\x00\x00\xfe\xffhalf a line '); // glued to "Started coordinator", which nobody needs
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'form() after noise');
    expect(b.driver.stats.garbageLines).toBeGreaterThanOrEqual(2);
    expect(b.driver.stats.nulBytes).toBe(2);
  });

  it('turns an Error: reply into ShellCommandError with the shell\'s text, role and step', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'form()');
    b.emu.errorOn('bdb ic add', 'Failed to add IC');
    const e = await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ShellCommandError);
    expect(e).toMatchObject({ role: 'tc', step: 'add install code', shellText: 'Failed to add IC' });
    expect((e as Error).message).toContain('"bdb ic add 83FED3407A939723A5C639B26916D505C3B5 00124b00aabbccdd" failed: Error: Failed to add IC');
    // A second formation of the same network reuses it (the TC stays up across tests) …
    await within(3000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'form() again');
    expect(b.driver.takeTranscript().join('\n')).toMatch(/already runs the network asked for .*reused/);
    // … another one meets the firmware's own refusal, with what to do about it.
    await expect(b.driver.form({ channel: CHANNEL, panId: PAN_ID + 1 })).rejects.toThrow(/Stack already started.*power-cycle/);
  });

  it('a command that never answers fails with DeviceTimeoutError naming role, step and deadline; the next command works', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { replyTimeoutMs: 400 } });
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY }), 'form()');
    b.emu.hangOn('bdb ic add');
    const t = await timed(b.driver.addInstallCode(DUT_EUI, INSTALL_CODE));
    expect(t.error).toBeInstanceOf(DeviceTimeoutError);
    expect(t.error).toMatchObject({ role: 'tc', step: 'add install code', deadlineMs: 400 });
    expect((t.error as Error).message).toMatch(/no "Done" or "Error:" after "bdb ic add .*" from .* within 400 ms/);
    expect(t.ms).toBeLessThan(10_000); // bounded, not hung; the typed error names the deadline it kept
    expect(await within(3000, b.driver.keyTable(), 'keyTable() after the timeout')).toEqual([]);
  });

  it('a mute firmware fails open() with a deadline', async () => {
    const b = await makeJoinerBench({ emulator: { eui64: DUT_EUI }, driver: { replyTimeoutMs: 300 } });
    await expectMuteOpenTimesOut(b, 'dut', 300);
  });

  it('a port that closes mid-command fails that command at once with ShellPortClosedError', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { replyTimeoutMs: 3000 } });
    b.emu.closeOn('bdb start');
    await expectPortClosedMidCommand(b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()', ShellPortClosedError, { role: 'tc', step: 'form', command: 'bdb start' }, () => b.driver.permitJoin(180));
  });
});
