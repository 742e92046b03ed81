// Leave and rejoin basics, judged from the air: leave announcements with and without rejoin,
// secured rejoin (NWK-secured request and response, no key sent), Trust Center rejoin (unsecured
// request and response, the network key under the device's TC link key), the R21 refusal of a
// TC rejoin with the well-known key, and the SE leave/rejoin trap of
// shared/sources/ember-se-rejoin-after-leave-faq.txt (the keeps-key-after-leave TC profile).
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { ApsKeyType } from '../../harness/zigbee/aps.ts';
import { EmberStatus } from '../../harness/stack/joiner-key.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { joinerProfile, tcProfile } from '../../harness/stack/profiles.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { apsCommandOf, CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, TC_EUI, within, type NamedKey, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function setup(opts: { tc?: string; joiner?: string; installCode?: boolean; requireKeyExchange?: boolean } = {}) {
  sim = createSim();
  const tc = sim.track(new TrustCenter({
    air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, profile: tcProfile(opts.tc ?? 'compliant'), requireKeyExchange: opts.requireKeyExchange,
  }));
  const dut = sim.track(new Joiner({
    air: sim.air, clock: sim.clock, eui64: DUT_EUI, transcript: sim.transcript, profile: joinerProfile(opts.joiner ?? 'compliant'),
    installCode: opts.installCode === false ? undefined : INSTALL_CODE,
  }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  if (opts.installCode !== false) await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  return { tc, dut };
}

async function linkKeys(tc: TrustCenter): Promise<NamedKey[]> {
  return [
    { label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) },
    ...(await tc.keyTable()).filter((k) => k.kind !== 'install-code').map((k) => ({ label: k.kind, key: k.key })),
    { label: 'ZigBeeAlliance09', key: hexToBytes('5a6967426565416c6c69616e63653039') },
  ];
}

const since = (sim: Sim, n: number) => sim.sniffed.slice(n);

describe('leave', () => {
  it('without rejoin: a NWK-secured leave announcement to 0xFFFD (radius 1, Src64); the TC forgets the device', async () => {
    const { tc, dut } = await setup();
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    const mark = sim.sniffed.length;
    await within(sim, 5_000, 'leave', dut.leave());
    await sim.run(50);
    const air = decodeAir(since(sim, mark), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] });
    const leave = air.filter((r) => r.nwk?.command?.kind === 'leave');
    expect(leave).toHaveLength(1);
    expect(leave[0].nwk).toMatchObject({ header: { dst16: 0xfffd, radius: 1, security: true, src64: DUT_EUI }, command: { request: false, rejoin: false, removeChildren: false } });
    expect(dut.joined).toBe(false);
    expect(tc.devices.has(DUT_EUI)).toBe(false);
    // deleteKeyOnLeave is false in the compliant profile: the key entry stays (Ember FAQ: leave is not trusted).
    expect((await tc.keyTable()).some((k) => k.eui64 === DUT_EUI && k.kind === 'tclk-exchange')).toBe(true);
  });

  it('a TC whose profile deletes the key on leave forgets the link key too', async () => {
    const { tc, dut } = await setup();
    tc.behaviour = { ...tc.behaviour, deleteKeyOnLeave: true };
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    await within(sim, 5_000, 'leave', dut.leave());
    await sim.run(50);
    expect((await tc.keyTable()).filter((k) => k.eui64 === DUT_EUI).map((k) => k.kind)).toEqual(['install-code']);
  });

  it('with rejoin, then a secured rejoin: NWK-secured Rejoin Request and Response, no key sent', async () => {
    const { tc, dut } = await setup();
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    const short = dut.shortAddress;
    const mark = sim.sniffed.length;
    await within(sim, 5_000, 'leave', dut.leave({ rejoin: true }));
    expect(tc.devices.has(DUT_EUI)).toBe(true); // leave-with-rejoin: the TC keeps it
    const r = await within(sim, 30_000, 'rejoin', dut.rejoin({ secured: true }));
    expect(r).toMatchObject({ joined: true, shortAddress: short });
    await sim.run(50);
    const air = decodeAir(since(sim, mark), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: await linkKeys(tc) });
    expect(air.find((x) => x.nwk?.command?.kind === 'leave')?.nwk?.command).toMatchObject({ rejoin: true, request: false });
    const req = air.find((x) => x.nwk?.command?.kind === 'rejoinRequest');
    const rsp = air.find((x) => x.nwk?.command?.kind === 'rejoinResponse');
    expect(req?.nwk?.header).toMatchObject({ security: true, radius: 1, src64: DUT_EUI });
    expect(rsp?.nwk).toMatchObject({ header: { security: true }, command: { status: 0, nwkAddress: short } });
    expect(air.some((x) => apsCommandOf(x)?.type === 'transportKey')).toBe(false);
    expect(sim.transcript.has('tc.device-rejoined', (d) => d.device === DUT_EUI && d.secured === true)).toBe(true);
  });

  it('Trust Center rejoin: unsecured request and response, then the network key under the key-transport key of the verified TC link key', async () => {
    const { tc, dut } = await setup();
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
    const mark = sim.sniffed.length;
    const r = await within(sim, 30_000, 'TC rejoin', dut.rejoin({ secured: false }));
    expect(r).toMatchObject({ joined: true });
    const air = decodeAir(since(sim, mark), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: await linkKeys(tc) });
    expect(air.find((x) => x.nwk?.command?.kind === 'rejoinRequest')?.nwk?.header).toMatchObject({ security: false, src64: DUT_EUI });
    expect(air.find((x) => x.nwk?.command?.kind === 'rejoinResponse')?.nwk?.header).toMatchObject({ security: false });
    const tk = air.find((x) => { const c = apsCommandOf(x); return c?.type === 'transportKey' && c.keyType === ApsKeyType.STANDARD_NETWORK; });
    expect(tk?.nwk?.header.security).toBe(false);
    expect(tk?.aps).toMatchObject({ openedWith: 'tclk-exchange', aux: { keyId: 2 } });
  });

  it('refuses a Trust Center rejoin by a device that holds only the well-known key (R21)', async () => {
    const { dut } = await setup({ joiner: 'compliant-legacy', installCode: false, requireKeyExchange: false });
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'provisional' });
    const mark = sim.sniffed.length;
    const r = await within(sim, 30_000, 'TC rejoin', dut.rejoin({ secured: false }));
    expect(r).toMatchObject({ joined: false, code: 'no-network-key', emberStatus: EmberStatus.NO_NETWORK_KEY_RECEIVED });
    expect(sim.transcript.has('tc.tc-rejoin-refused', (d) => d.device === DUT_EUI)).toBe(true);
    const air = decodeAir(since(sim, mark), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] });
    expect(air.find((x) => x.nwk?.command?.kind === 'rejoinResponse')?.nwk).toMatchObject({ header: { security: false }, command: { status: 0 } });
    expect(air.some((x) => x.aps?.command?.type === 'transportKey' || x.aps?.aux !== undefined)).toBe(false);
  });
});

// The SE leave/rejoin trap with a real CBKE key is in cbke-join.test.ts.
describe('fresh join key policy', () => {
  it('the unencrypted-transport-key TC: a joiner with a preconfigured key refuses the key in the clear (Ember 0xAC)', async () => {
    const { dut } = await setup({ tc: 'unencrypted-transport-key' });
    const r = await within(sim, 30_000, 'join', dut.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: false, code: 'network-key-in-the-clear', emberStatus: EmberStatus.RECEIVED_KEY_IN_THE_CLEAR });
  });
});
