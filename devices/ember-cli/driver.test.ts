// The EmberZNet CLI driver over real pseudo-terminals (socat) against the CLI emulator, whose node
// runs on a VirtualAir with a simulated peer. Verdicts come from the air (decodeAir): the
// Transport Key must go out under the key-transport key of the install-code key; the key table
// the driver reads from `keys print` must be the stack TC's own.
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { deterministicRandom } from '../../harness/crypto/test-ca.ts';
import { openRig } from '../../harness/rig/registry.ts';
import { DeviceTimeoutError, RigUnavailableError } from '../../harness/rig/roles.ts';
import { rigSchema } from '../../harness/rig/schema.ts';
import { VirtualAir, type AirFrame } from '../../harness/sim/air.ts';
import { RealClock } from '../../harness/sim/clock.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { hostSeDevice, hostSeTrustCenter } from '../../harness/stack/smart-energy.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { ApsKeyType } from '../../harness/zigbee/aps.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../../test/helpers/pty.ts';
import {
  apsCommandOf, CHANNEL, decodeAir, DUT_EUI, INSTALL_CODE, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, TC_EUI, type NamedKey,
} from '../../test/stack/helpers.ts';
import { simCredentials } from '../sim/se.ts';
import { EmberCliCommandError, EmberCliPortClosedError, EmberCliUnsupportedError } from './driver.ts';
import { expectMuteOpenTimesOut, expectPortClosedMidCommand } from '../cli-testkit.ts';
import { closeEmberBenches, makeJoinerBench, makeTcBench, timed, track, within } from './testkit.ts';

warnIfSocatMissing();
afterEach(closeEmberBenches);

const IC_KEY: NamedKey = { label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) };

/** Network-key Transport Keys on the air (MAC retransmissions once), with the key that opened each. */
function transportKeys(sniffed: AirFrame[], nwk: Uint8Array, link: NamedKey[]) {
  const seen = new Set<string>();
  return decodeAir(sniffed, { nwk: [{ label: 'nwk', key: nwk }], link }).filter((r) => {
    const c = apsCommandOf(r);
    if (c?.type !== 'transportKey' || c.keyType !== ApsKeyType.STANDARD_NETWORK) return false;
    const id = Buffer.from(r.psdu).toString('hex');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

const plain = (t: { eui64: string; key: Uint8Array }[]) => t.map((e) => `${e.eui64}:${bytesToHex(e.key)}`).sort();

describe.skipIf(!socatAvailable)(`EmberZNet CLI driver over a PTY (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('as TC admits a simulated joiner with an install code; keys print gives the real network key and key table; keys delete edits it', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    await within(5000, b.driver.open(), 'open()');
    expect(b.driver.eui64).toBe(TC_EUI);
    expect([...b.driver.capabilities].sort()).toEqual(['install-code', 'key-table-edit', 'tclk-exchange']);
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()');
    await within(3000, b.driver.addInstallCode(DUT_EUI, INSTALL_CODE), 'addInstallCode()');
    await within(3000, b.driver.permitJoin(180), 'permitJoin()');
    expect(b.emu.commands).toEqual(expect.arrayContaining([
      'plugin network-creator form 1 0x1A62 3 15',
      'option install-code 0 {00 12 4B 00 AA BB CC DD} {83 FE D3 40 7A 93 97 23 A5 C6 39 B2 69 16 D5 05 C3 B5}',
      'network pjoin 180',
    ]));

    const dut = track(new Joiner({ air: b.air, clock: b.clock, eui64: DUT_EUI, installCode: INSTALL_CODE }));
    const r = await within(8000, dut.join({ channel: CHANNEL, timeoutMs: 6000 }), 'simulated join');
    expect(r).toMatchObject({ joined: true, tclk: 'verified' });

    // The network key the kit knows comes from the device (`keys print`), not from the test.
    const nwk = await within(3000, b.driver.networkKey(), 'networkKey()');
    expect(nwk).toEqual(await b.emu.tc!.networkKey());
    const tk = transportKeys(b.sniffed, nwk.key, [IC_KEY]);
    expect(tk).toHaveLength(1);
    expect(tk[0].aps!.openedWith).toBe('install-code');
    expect(tk[0].aps!.aux).toMatchObject({ keyId: 2, source64: TC_EUI });
    expect(apsCommandOf(tk[0])).toMatchObject({ descriptor: { key: nwk.key, keySeq: nwk.seq } });

    // keyTable() from `keys print` = the stack TC's own table (install code + the exchanged TC link key).
    const table = await within(3000, b.driver.keyTable(), 'keyTable()');
    const truth = await b.emu.tc!.keyTable();
    expect(plain(table)).toEqual(plain(truth));
    expect(table.map((e) => e.kind)).toEqual(['install-code', 'link']);
    expect(truth.find((e) => e.kind === 'tclk-exchange')).toBeDefined();

    await within(5000, b.driver.deleteLinkKey(DUT_EUI), 'deleteLinkKey()');
    expect(b.emu.commands).toContain('keys delete 0');
    expect((await b.driver.keyTable()).map((e) => e.kind)).toEqual(['install-code']);
    expect(b.emu.tc!.node.linkKeys.get(DUT_EUI)).toBeUndefined();
    await within(3000, b.driver.permitJoin(0), 'permitJoin(0)');
  });

  it('as SE TC (key establishment build): the CBKE key is in keys print; the FAQ trap after leave, and keys delete as its fix', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI, keyEstablishment: true } });
    await within(5000, b.driver.open(), 'open()');
    expect([...b.driver.capabilities].sort()).toEqual(['cbke-v1', 'install-code', 'key-table-edit', 'tclk-exchange']);
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()');
    // No test-harness component in this build: the suite offer cannot be typed, only noted.
    await within(3000, b.driver.offerKeyEstablishmentSuites([1]), 'offerKeyEstablishmentSuites()');
    expect(b.emu.commands.filter((c) => c.includes('set-available-suite'))).toEqual([]);
    expect(b.driver.takeTranscript().join('\n')).toMatch(/no "plugin key-establishment set-available-suite" in this build/);
    await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE);
    await b.driver.permitJoin(254);

    const dut = track(new Joiner({ air: b.air, clock: b.clock, eui64: DUT_EUI, installCode: INSTALL_CODE }));
    const se = hostSeDevice(dut, { credentials: simCredentials(DUT_EUI, [1]), random: deterministicRandom('ember-test-dut') });
    const r = await within(30_000, se.join({ channel: CHANNEL, timeoutMs: 8000 }), 'SE join + CBKE');
    expect(r).toMatchObject({ joined: true, tclk: 'cbke' });
    expect(r.keyEstablishment?.ok).toBe(true);
    const cbkeKey = r.keyEstablishment!.ok ? r.keyEstablishment!.key : new Uint8Array();

    const table = await b.driver.keyTable();
    expect(plain(table)).toEqual(plain(await b.emu.tc!.keyTable()));
    expect(table.find((e) => e.kind === 'cbke')).toEqual({ eui64: DUT_EUI, key: cbkeKey, kind: 'cbke' });
    const nwk = await b.driver.networkKey();

    // Leave; the Ember TC keeps the CBKE entry and sends the next fresh join's network key under it.
    await dut.leave();
    const before = b.sniffed.length;
    const again = await within(15_000, se.join({ channel: CHANNEL, timeoutMs: 6000 }), 'fresh join after leave');
    expect(again.joined).toBe(false);
    // The stack reports 0xAD NO_NETWORK_KEY_RECEIVED here (the FAQ names 0xAF for the same trap).
    expect(again).toMatchObject({ code: 'no-network-key', emberStatus: 0xad });
    const cbke: NamedKey = { label: 'cbke', key: cbkeKey };
    const trapped = transportKeys(b.sniffed.slice(before), nwk.key, [IC_KEY, cbke]);
    expect(trapped.length).toBeGreaterThanOrEqual(1);
    expect(trapped[0].aps!.openedWith).toBe('cbke');

    // The FAQ fix: `keys delete <i>` of the device's entry; the next fresh join gets the install-code key.
    await within(5000, b.driver.deleteLinkKey(DUT_EUI), 'deleteLinkKey()');
    await dut.reset();
    const mark = b.sniffed.length;
    const fixed = await within(30_000, se.join({ channel: CHANNEL, timeoutMs: 8000 }), 'fresh join after keys delete');
    expect(fixed).toMatchObject({ joined: true, tclk: 'cbke' });
    const ok = transportKeys(b.sniffed.slice(mark), nwk.key, [IC_KEY, cbke]);
    expect(ok).toHaveLength(1);
    expect(ok[0].aps!.openedWith).toBe('install-code');
    se.remove();
  });

  it('as SE TC with the test harness and an SE DUT: suite 1 offered; re-formed for the next test, the DUT of the last network joins the new one and runs CBKE again', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI, keyEstablishment: true, testHarness: true, cbkeSuites: [1, 2] } });
    const d = await makeJoinerBench({ shared: { clock: b.clock, air: b.air }, emulator: { eui64: DUT_EUI, installCode: INSTALL_CODE, keyEstablishment: true }, driver: { installCode: INSTALL_CODE } });
    await within(5000, b.driver.open(), 'open()');
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()');
    expect(b.emu.seTc!.keyEstablishment.offeredSuites).toBe(0x0003);
    await within(3000, b.driver.offerKeyEstablishmentSuites([1]), 'offerKeyEstablishmentSuites([1])');
    expect(b.emu.commands).toContain('plugin key-establishment set-available-suite 0x0001');
    expect(b.emu.seTc!.keyEstablishment.offeredSuites).toBe(0x0001);
    // Only suite 1 is declared (cbke-v1): a suite-2 offer is refused, not pretended.
    await expect(b.driver.offerKeyEstablishmentSuites([1, 2])).rejects.toBeInstanceOf(EmberCliUnsupportedError);
    await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE);
    await b.driver.permitJoin(254);
    const first = await within(40_000, d.driver.join({ channel: CHANNEL, timeoutMs: 10_000, keyEstablishment: 'on-join' }), 'SE join()');
    expect(first, d.driver.takeTranscript().join('\n')).toMatchObject({ joined: true, keyEstablishment: { ok: true, suite: 1 } });
    const firstKey = (await b.driver.keyTable()).find((e) => e.kind === 'cbke')!.key;

    // The next test (a rig's beginTest, then formSe): the DUT is reset, the TC leaves and forms
    // afresh. The firmware does not reboot for that: the same node forms the new network, its MAC
    // and NWK sequence numbers and APS counter go on (a fresh node would replay them), and the link
    // key table starts empty (the application framework clears it upon forming).
    await within(5000, d.driver.reset(), 'reset()');
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'second form()');
    expect(b.emu.commands.filter((c) => c === 'network leave')).toHaveLength(1);
    expect((await b.driver.keyTable()).filter((e) => e.kind !== 'install-code')).toEqual([]);
    await within(3000, b.driver.offerKeyEstablishmentSuites([1]), 'offerKeyEstablishmentSuites([1]) again');
    expect(b.emu.seTc!.keyEstablishment.offeredSuites).toBe(0x0001);
    await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE);
    await b.driver.permitJoin(254);
    const again = await within(40_000, d.driver.join({ channel: CHANNEL, timeoutMs: 10_000, keyEstablishment: 'on-join' }), 'SE join() on the new network');
    expect(again, d.driver.takeTranscript().join('\n')).toMatchObject({ joined: true, keyEstablishment: { ok: true, suite: 1 } });
    const table = await b.driver.keyTable();
    expect(table.filter((e) => e.kind === 'install-code')).toHaveLength(1);
    const cbke = table.filter((e) => e.kind === 'cbke');
    expect(cbke).toHaveLength(1);
    expect(bytesToHex(cbke[0].key)).not.toBe(bytesToHex(firstKey));
    const responses = decodeAir(b.sniffed, { nwk: [], link: [] })
      .filter((r) => r.mac.body.kind === 'command' && r.mac.body.command.kind === 'associationResponse').map((r) => r.mac.header.seq);
    expect(responses.at(-1), 'the second network\'s Association Response replays the first one\'s MAC sequence number').not.toBe(responses[0]);
  });

  it('as DUT joins a simulated TC with its install code (Transport Key under the install-code key), rejoins and leaves', async () => {
    const clock = new RealClock();
    const air = new VirtualAir(clock);
    const tc = track(new TrustCenter({ air, clock, eui64: TC_EUI }));
    await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
    await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
    await tc.permitJoin(180);
    const b = await makeJoinerBench({ shared: { clock, air }, emulator: { eui64: DUT_EUI, installCode: INSTALL_CODE }, driver: { installCode: INSTALL_CODE, expectEui64: DUT_EUI } });
    await within(5000, b.driver.open(), 'open()');
    expect([...b.driver.capabilities].sort()).toEqual(['install-code', 'leave', 'rejoin-secured', 'rejoin-tc', 'tclk-exchange']);
    const r = await within(12_000, b.driver.join({ channel: CHANNEL, timeoutMs: 10_000 }), 'join()');
    expect(r, b.driver.takeTranscript().join('\n')).toMatchObject({ joined: true });
    expect(r.shortAddress).toBe(tc.devices.get(DUT_EUI)?.short);
    expect(b.emu.commands).toEqual(expect.arrayContaining(['plugin network-steering mask set 1 0x00008000', 'plugin network-steering start 0']));
    const tk = transportKeys(b.sniffed, NETWORK_KEY, [IC_KEY]);
    expect(tk).toHaveLength(1);
    expect(tk[0].aps!.openedWith).toBe('install-code');

    // The DUT's own keys print: the network key it took and the TC link key it exchanged.
    const k = await b.driver.keysPrint();
    expect(k.nwkKey).toEqual(NETWORK_KEY);
    expect(k.tcLinkKey?.eui64).toBe(TC_EUI);
    expect(k.tcLinkKey?.key).toEqual((await tc.keyTable()).find((e) => e.kind === 'tclk-exchange')?.key);

    const re = await within(12_000, b.driver.rejoin({ secured: true, channel: CHANNEL, timeoutMs: 10_000 }), 'rejoin()');
    expect(re).toMatchObject({ joined: true });
    expect(b.emu.commands).toContain('network rejoin 1 0x00008000');

    await within(5000, b.driver.leave(), 'leave()');
    expect(b.emu.joiner?.joined).toBe(false);
    await expect(b.driver.leave({ rejoin: true })).rejects.toBeInstanceOf(EmberCliUnsupportedError);
  });

  it('as SE DUT (key establishment build) joins a simulated SE TC and runs CBKE on join', async () => {
    const clock = new RealClock();
    const air = new VirtualAir(clock);
    const tc = track(new TrustCenter({ air, clock, eui64: TC_EUI, acceptWellKnownKeyJoins: false }));
    const seTc = hostSeTrustCenter(tc, { credentials: simCredentials(TC_EUI, [1]), random: deterministicRandom('ember-test-tc') });
    await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
    await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
    await tc.permitJoin(180);
    const b = await makeJoinerBench({ shared: { clock, air }, emulator: { eui64: DUT_EUI, installCode: INSTALL_CODE, keyEstablishment: true }, driver: { installCode: INSTALL_CODE } });
    await within(5000, b.driver.open(), 'open()');
    expect([...b.driver.capabilities].sort()).toEqual(['cbke-dynamic', 'cbke-v1', 'install-code', 'leave', 'rejoin-secured', 'rejoin-tc']);
    const r = await within(40_000, b.driver.join({ channel: CHANNEL, timeoutMs: 10_000, keyEstablishment: 'on-join' }), 'SE join()');
    expect(r, b.driver.takeTranscript().join('\n')).toMatchObject({ joined: true, keyEstablishment: { ok: true, suite: 1 } });
    expect(b.emu.commands).toContain('plugin key-establishment start 0x0000 1');
    const entry = (await tc.keyTable()).find((e) => e.kind === 'cbke');
    expect(entry?.eui64).toBe(DUT_EUI);
    expect(seTc.outcomes.at(-1)?.ok).toBe(true);
    // The device's keys print shows the same CBKE key as its TC link key, authorized.
    const k = await b.driver.keysPrint();
    expect(k.tcLinkKey).toMatchObject({ eui64: TC_EUI, authorized: true, key: entry!.key });
    seTc.remove();
  });

  it('as DUT reports joined:false with the steering outcome when no network takes it', async () => {
    const b = await makeJoinerBench({ emulator: { eui64: DUT_EUI } });
    const r = await within(15_000, b.driver.join({ channel: CHANNEL, timeoutMs: 12_000 }), 'join()');
    expect(r.joined).toBe(false);
    expect(r.reason).toMatch(/NWK Steering: Join Failure: 0x[0-9A-F]{2}/);
    const ke = await b.driver.startKeyEstablishment();
    expect(ke).toMatchObject({ ok: false, reason: 'this build has no Key Establishment plugin' });
  });
});

describe('ember-cli in the driver registry', () => {
  it('plays tc and dut, and names a missing port as rig-unavailable', async () => {
    const config = rigSchema.parse({
      name: 'ember', channel: 15,
      roles: { tc: { driver: 'ember-cli', port: '/dev/does-not-exist-efr32' }, dut: { driver: 'sim', identity: { eui64: DUT_EUI } }, sniffer: { driver: 'sim' } },
    });
    const e = await openRig(config, 'inline').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RigUnavailableError);
    expect(e).toMatchObject({ role: 'tc', location: '/dev/does-not-exist-efr32' });
    const sniffer = rigSchema.parse({ ...config, roles: { ...config.roles, tc: { driver: 'sim' }, sniffer: { driver: 'ember-cli', port: '/dev/null' } } });
    await expect(openRig(sniffer, 'inline')).rejects.toThrow(/cannot play the sniffer role \(it plays tc, dut\)/);
  });
});

describe.skipIf(!socatAvailable)(`EmberZNet CLI driver faults (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('survives garbage lines; a partial line glued into a reply is a typed parse error, not a hang', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    b.emu.injectRaw('\xff\xfe\x80 line noise\r\n');
    b.emu.beforeReply('network id', '\xff\xfe\x81half a li'); // no line ending: glued to the reply line
    const t = await timed(within(5000, b.driver.open(), 'open()'));
    expect(String(t.error)).toMatch(/EmberCliParseError|not understood/);
    await b.driver.close();
    b.emu.injectRaw('\x07\x1b[31m\xfe\xff junk\r\n');
    await within(5000, b.driver.open(), 'open() again');
    // NULs once the port is open: bytes sent before open() may be flushed by the open itself.
    b.emu.beforeReply('plugin network-creator form', '\x00\x00\xfe\xffjunk\r\n');
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form() after noise');
    expect(b.driver.stats.garbageLines).toBeGreaterThanOrEqual(2);
    expect(b.driver.stats.nulBytes).toBe(2);
  });

  it('turns ERR: and Error: replies into EmberCliCommandError with the CLI\'s text, role and step', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI } });
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()');
    b.emu.errorOn('option install-code', 'ERR: Calculated CRC does not match');
    const e = await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EmberCliCommandError);
    expect(e).toMatchObject({ role: 'tc', step: 'add install code', cliText: 'ERR: Calculated CRC does not match' });
    expect((e as Error).message).toMatch(/"option install-code 0 \{00 12 4B 00 AA BB CC DD\} \{.*\}" failed: ERR: Calculated CRC does not match \(the install code's last two bytes/);
    b.emu.errorOn('keys print', 'Error: keys print: 0x05');
    await expect(b.driver.keyTable()).rejects.toMatchObject({ name: 'EmberCliCommandError', status: 5, cliText: 'Error: keys print: 0x05' });
    // A non-zero status is an error too, with what to do about it. (A second form() leaves the
    // running network first, so the firmware's refusal is injected.)
    b.emu.errorOn('plugin network-creator form', 'NWK Creator: Form: 0x70');
    await expect(b.driver.form({ channel: CHANNEL, panId: PAN_ID })).rejects.toThrow(/NWK Creator: Form: 0x70 \(already on a network/);
    await b.driver.addInstallCode(DUT_EUI, INSTALL_CODE);
  });

  it('a command that never answers fails with DeviceTimeoutError naming role, step and deadline; the next command works', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { replyTimeoutMs: 400 } });
    await within(8000, b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()');
    b.emu.hangOn('option install-code', 500);
    const t = await timed(b.driver.addInstallCode(DUT_EUI, INSTALL_CODE));
    expect(t.error).toBeInstanceOf(DeviceTimeoutError);
    expect(t.error).toMatchObject({ role: 'tc', step: 'add install code', deadlineMs: 400 });
    expect((t.error as Error).message).toMatch(/no prompt after "option install-code .*" from .* within 400 ms/);
    expect(t.ms).toBeLessThan(10_000); // bounded, not hung; the typed error names the deadline it kept
    await new Promise((r) => setTimeout(r, 200));
    expect((await within(3000, b.driver.keyTable(), 'keyTable() after the timeout'))).toEqual([]);
  });

  it('a mute firmware fails open() with a deadline', async () => {
    const b = await makeJoinerBench({ emulator: { eui64: DUT_EUI }, driver: { replyTimeoutMs: 300 } });
    await expectMuteOpenTimesOut(b, 'dut', 300);
  });

  it('a port that closes mid-command fails that command at once with EmberCliPortClosedError', async () => {
    const b = await makeTcBench({ emulator: { eui64: TC_EUI }, driver: { replyTimeoutMs: 3000 } });
    b.emu.closeOn('plugin network-creator form');
    await expectPortClosedMidCommand(b.driver.form({ channel: CHANNEL, panId: PAN_ID }), 'form()', EmberCliPortClosedError, { role: 'tc', step: 'form', command: 'plugin network-creator form 1 0x1A62 3 15' }, () => b.driver.permitJoin(180));
  });
});
