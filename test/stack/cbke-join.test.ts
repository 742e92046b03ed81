// Smart Energy join on the virtual air: install-code join, then real CBKE (suite 1 and 2) between
// the TrustCenter and the Joiner through hostSeTrustCenter / hostSeDevice, judged from the
// sniffer's frames; the SE leave/rejoin trap of ember-se-rejoin-after-leave-faq.txt with the key
// CBKE really derived; and the CBKE profiles caught through this path.
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { KeStatus, type CryptoSuite } from '../../harness/crypto/cbke-suites.ts';
import { deterministicRandom } from '../../harness/crypto/test-ca.ts';
import { ApsKeyType } from '../../harness/zigbee/aps.ts';
import { KEY_ESTABLISHMENT_CLUSTER, KeyEstablishmentCommandId, decodeKeyEstablishmentCommand } from '../../harness/zigbee/clusters/key-establishment.ts';
import { KEEP_ALIVE_CLUSTER } from '../../harness/zigbee/clusters/keep-alive.ts';
import { decodeZclFrame, ZclFrameType } from '../../harness/zigbee/zcl.ts';
import { EmberStatus } from '../../harness/stack/joiner-key.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { joinerProfile, tcProfile } from '../../harness/stack/profiles.ts';
import { hostSeDevice, hostSeTrustCenter, type SeDeviceOptions } from '../../harness/stack/smart-energy.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, credentials } from './apps/fixtures.ts';
import { apsCommandOf, CHANNEL, createSim, decodeAir, DUT2_EUI, DUT_EUI, INSTALL_CODE, INSTALL_CODE_2, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, TC_EUI, within, type AirRecord, type NamedKey, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

const IC_KEY: NamedKey = { label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) };
const NWK: NamedKey[] = [{ label: 'nwk', key: NETWORK_KEY }];

interface SetupOptions {
  tc?: string;
  joiner?: string;
  deviceSuites?: readonly CryptoSuite[];
  device?: Partial<SeDeviceOptions>;
  tcKeepAlive?: boolean;
}

async function setup(o: SetupOptions = {}) {
  sim = createSim();
  const tc = sim.track(new TrustCenter({
    air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, profile: tcProfile(o.tc ?? 'compliant'),
    keyRandom: sim.keyRandom(), acceptWellKnownKeyJoins: false,
  }));
  const dut = sim.track(new Joiner({
    air: sim.air, clock: sim.clock, eui64: DUT_EUI, transcript: sim.transcript, profile: joinerProfile(o.joiner ?? 'compliant'), installCode: INSTALL_CODE,
  }));
  const seTc = hostSeTrustCenter(tc, { credentials: credentials(TC_EUI), random: deterministicRandom('tc-ephemeral'), keepAlive: o.tcKeepAlive });
  const seDut = hostSeDevice(dut, { credentials: credentials(DUT_EUI, o.deviceSuites), random: deterministicRandom('dut-ephemeral'), ...o.device });
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  return { tc, dut, seTc, seDut };
}

/** The TC's link-key entry for the device (keyTable() lists the install-code table first, without `verified`). */
async function tcLinkKey(tc: TrustCenter) {
  return (await tc.keyTable()).find((k) => k.eui64 === DUT_EUI && k.verified !== undefined);
}

interface KeFrame { rec: AirRecord; direction: string; commandId: number; tsn: number; cmd: ReturnType<typeof decodeKeyEstablishmentCommand>['value'] }

/** Key Establishment cluster commands on the air (cluster-specific frames only). */
function keFrames(air: AirRecord[]): KeFrame[] {
  const out: KeFrame[] = [];
  for (const rec of air) {
    const h = rec.aps?.header;
    if (!h || h.frameType !== 0 || h.clusterId !== KEY_ESTABLISHMENT_CLUSTER || !rec.aps?.payload) continue;
    const z = decodeZclFrame(rec.aps.payload).value;
    if (z.header.frameType !== ZclFrameType.CLUSTER || z.command.type !== 'raw') continue;
    out.push({ rec, direction: z.header.direction, commandId: z.header.commandId, tsn: z.header.tsn, cmd: decodeKeyEstablishmentCommand(z.header.commandId, z.command.raw).value });
  }
  return out;
}

describe('install-code join, then CBKE over the air', () => {
  it.each([
    ['suite 1 (sect163k1, 48-byte certificates)', CRYPTO_SUITE_1],
    ['suite 2 (sect283k1, 74-byte certificates)', CRYPTO_SUITE_2],
  ])('%s: KE commands on the air, the same new key at both ends, later APS traffic secured under it', async (_name, suite) => {
    const { tc, dut, seTc, seDut } = await setup({
      deviceSuites: [suite], tcKeepAlive: true, device: { keepAlive: { firstReadDelayMs: 60_000 } },
    });
    const r = await within(sim, 120_000, 'SE join', seDut.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: true, tclk: 'cbke', keyEstablishment: { ok: true, role: 'initiator', suite: suite.id } });
    expect(dut.tclk).toBe('cbke');
    const devOutcome = seDut.outcomes.at(-1)!;
    const tcOutcome = seTc.outcomes.at(-1)!;
    expect(tcOutcome).toMatchObject({ ok: true, role: 'responder', partner: DUT_EUI, suite: suite.id });
    if (!devOutcome.ok || !tcOutcome.ok) throw new Error('CBKE failed');
    const cbkeKey = devOutcome.key;

    // Both ends hold the same key, and it is new (not the install-code key).
    expect(bytesToHex(tcOutcome.key)).toBe(bytesToHex(cbkeKey));
    expect(bytesToHex(cbkeKey)).not.toBe(INSTALL_CODE_KEY);
    const tcEntry = await tcLinkKey(tc);
    expect(tcEntry).toMatchObject({ kind: 'cbke', verified: true });
    expect(bytesToHex(tcEntry!.key)).toBe(bytesToHex(cbkeKey));
    const held = dut.node.service.getLinkKey(TC_EUI);
    expect(held?.origin).toBe('cbke');
    expect(bytesToHex(held!.key)).toBe(bytesToHex(cbkeKey));

    // Let the first keep-alive read run (60 s after network-up), then judge the air.
    await sim.run(90_000);
    const CBKE: NamedKey = { label: 'cbke', key: cbkeKey };
    const air = decodeAir(sim.sniffed, { nwk: NWK, link: [IC_KEY, CBKE] });

    // Every KE command, both directions: NWK-secured (opened with the network key) and without
    // APS security — KE is not on the SE APS-encryption list (protocol.md §6.2, §7.1; EMBER).
    const ke = keFrames(air);
    const seen = (dir: string) => ke.filter((f) => f.direction === dir).map((f) => f.commandId);
    const I = KeyEstablishmentCommandId;
    expect(seen('client-to-server')).toEqual([I.INITIATE_KEY_ESTABLISHMENT, I.EPHEMERAL_DATA, I.CONFIRM_KEY_DATA]);
    expect(seen('server-to-client')).toEqual([I.INITIATE_KEY_ESTABLISHMENT, I.EPHEMERAL_DATA, I.CONFIRM_KEY_DATA]);
    for (const f of ke) {
      expect(f.rec.nwk).toMatchObject({ opened: true, header: { security: true } });
      expect(f.rec.aps?.header.security).toBe(false);
      expect(f.rec.aps?.header.profileId).toBe(0x0109);
    }
    expect(new Set(ke.map((f) => f.tsn)).size).toBe(1); // one TSN per exchange (EMBER)
    const initReq = ke[0].cmd;
    const initRsp = ke.find((f) => f.direction === 'server-to-client')!.cmd;
    expect(initReq).toMatchObject({ type: 'initiateKeyEstablishment', suite: suite.bit });
    expect(initRsp).toMatchObject({ type: 'initiateKeyEstablishment', suite: suite.bit });
    if (initReq.type !== 'initiateKeyEstablishment' || initRsp.type !== 'initiateKeyEstablishment') throw new Error('not Initiate');
    expect(initReq.identity.length).toBe(suite.id === 1 ? 48 : 74);
    expect(bytesToHex(initReq.identity)).toBe(bytesToHex(credentials(DUT_EUI, [suite])[0].certificate));
    expect(bytesToHex(initRsp.identity)).toBe(bytesToHex(credentials(TC_EUI, [suite])[0].certificate));

    // After CBKE: the keep-alive read and its answer are APS-secured under the CBKE key, and only it.
    const afterKe = air.filter((x) => x.t > ke.at(-1)!.rec.t);
    const ka = afterKe.filter((x) => x.aps?.header.frameType === 0 && x.aps.header.clusterId === KEEP_ALIVE_CLUSTER);
    expect(ka.map((x) => x.sender)).toEqual(['dut', 'tc']);
    for (const x of ka) expect(x.aps).toMatchObject({ openedWith: 'cbke', aux: { keyId: 0 } });
    expect(decodeZclFrame(ka[1].aps!.payload!).value.command).toMatchObject({ type: 'readAttributesResponse', records: [{ attributeId: 0, value: 10 }, { attributeId: 1, value: 300 }] });
    expect(seDut.keepAlive?.polls[0]).toMatchObject({ result: 'success' });
    // Nothing APS-secured after the exchange opens with the install-code key any more.
    expect(afterKe.filter((x) => x.aps?.aux !== undefined && x.aps.header.frameType !== 2).every((x) => x.aps?.openedWith === 'cbke')).toBe(true);
  });

  it('dynamic activation: a device joined in SE mode runs CBKE only when asked, at any later time', async () => {
    const { tc, dut, seDut } = await setup({ deviceSuites: [CRYPTO_SUITE_1] });
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'cbke-pending' });
    const askedAt = sim.clock.now() + 3_600_000;
    await sim.run(3_600_000);
    expect(keFrames(decodeAir(sim.sniffed, { nwk: NWK, link: [] }))).toHaveLength(0);
    expect(await tcLinkKey(tc)).toMatchObject({ kind: 'install-code' });
    const o = await within(sim, 60_000, 'CBKE', seDut.startKeyEstablishment());
    expect(o).toMatchObject({ ok: true, startedAt: askedAt });
    expect(dut.tclk).toBe('cbke');
    expect(await tcLinkKey(tc)).toMatchObject({ kind: 'cbke' });
  });

  it('autoStart runs CBKE after the join by itself, and not again once the key is a CBKE key', async () => {
    const { dut, seDut } = await setup({ deviceSuites: [CRYPTO_SUITE_1], device: { autoStart: true, autoStartDelayMs: 2_000 } });
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'cbke-pending' });
    await sim.run(60_000);
    expect(dut.tclk).toBe('cbke');
    expect(seDut.outcomes).toHaveLength(1);
    expect(await within(sim, 30_000, 'secured rejoin', dut.rejoin({ secured: true }))).toMatchObject({ joined: true, tclk: 'cbke' });
    await sim.run(60_000);
    expect(seDut.outcomes).toHaveLength(1);
  });
  it('a TC busy with another device answers NO_RESOURCES; the device tries again after the WaitTime and gets its own key', async () => {
    const { tc, dut, seTc, seDut } = await setup({ deviceSuites: [CRYPTO_SUITE_1] });
    const dut2 = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT2_EUI, name: 'dut2', transcript: sim.transcript, installCode: INSTALL_CODE_2 }));
    const se2 = hostSeDevice(dut2, { credentials: credentials(DUT2_EUI, [CRYPTO_SUITE_1]), random: deterministicRandom('dut2-ephemeral') });
    await tc.addInstallCode(DUT2_EUI, INSTALL_CODE_2);
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    expect(await within(sim, 60_000, 'join 2', dut2.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    const t0 = sim.clock.now();
    const [a, b] = await within(sim, 120_000, 'both CBKE', Promise.all([seDut.startKeyEstablishment(), se2.startKeyEstablishment()]));
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    expect(se2.outcomes.map((o) => (o.ok ? 'ok' : o.statusName))).toEqual(['NO_RESOURCES', 'ok']);
    expect(b.startedAt - t0).toBeGreaterThanOrEqual(30_000); // the WaitTime (30 s, EMBER) it was told
    expect(seTc.outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.statusName)).toEqual(['NO_RESOURCES']);
    expect(dut.tclk).toBe('cbke');
    expect(dut2.tclk).toBe('cbke');
    if (!a.ok || !b.ok) throw new Error('CBKE failed');
    expect(bytesToHex(a.key)).not.toBe(bytesToHex(b.key));
    expect(bytesToHex(tc.node.service.getLinkKey(DUT2_EUI)!.key)).toBe(bytesToHex(b.key));
  });
});

describe('SE leave and fresh join after a real CBKE (ember-se-rejoin-after-leave-faq.txt)', () => {
  async function previousSession(profile: string) {
    const s = await setup({ tc: profile, deviceSuites: [CRYPTO_SUITE_1] });
    const first = await within(sim, 120_000, 'first SE join', s.seDut.join({ channel: CHANNEL }));
    expect(first).toMatchObject({ joined: true, tclk: 'cbke', keyEstablishment: { ok: true } });
    const o = first.keyEstablishment;
    if (!o?.ok) throw new Error('CBKE failed');
    expect(await tcLinkKey(s.tc)).toMatchObject({ kind: 'cbke' });
    await within(sim, 5_000, 'leave', s.dut.leave());
    await s.dut.reset();
    await sim.run(100);
    // The device is back on its install-code key (the CBKE key went with the leave).
    expect(s.dut.node.linkKeys.get(TC_EUI)).toBeUndefined();
    expect(s.dut.node.linkKeys.fallback?.origin).toBe('install-code');
    await s.tc.permitJoin(180);
    return { ...s, cbke: { label: 'cbke', key: o.key } as NamedKey };
  }

  it('keeps-key-after-leave: the network key goes out under the CBKE key; the joiner cannot open it; after deleteLinkKey the join succeeds', async () => {
    const { tc, seDut, cbke } = await previousSession('keeps-key-after-leave');
    expect(await tcLinkKey(tc)).toMatchObject({ kind: 'cbke', key: cbke.key }); // the profile's fault: the entry survives the leave
    const mark = sim.sniffed.length;
    const r = await within(sim, 30_000, 'second join', seDut.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: false, code: 'no-network-key', emberStatus: EmberStatus.NO_NETWORK_KEY_RECEIVED });
    expect(r.keyEstablishment).toBeUndefined();
    expect(r.reason).toMatch(/network key sent under a key this device does not hold/);
    expect(r.reason).toMatch(/"install-code"/);
    const air = decodeAir(sim.sniffed.slice(mark), { nwk: NWK, link: [IC_KEY, cbke] });
    const tk = air.filter((x) => { const c = apsCommandOf(x); return c?.type === 'transportKey' && c.keyType === ApsKeyType.STANDARD_NETWORK; });
    expect(tk).toHaveLength(1);
    expect(tk[0].aps).toMatchObject({ openedWith: 'cbke', aux: { keyId: 2 } });
    // Proof it is not the install-code key: with that key alone the frame does not open.
    const icOnly = decodeAir(sim.sniffed.slice(mark), { nwk: NWK, link: [IC_KEY] }).find((x) => x.i === tk[0].i);
    expect(icOnly?.aps?.openedWith).toBeUndefined();

    // The FAQ's fix: delete the TC's key entry; the fresh join then uses the install-code key, and CBKE runs again.
    await tc.deleteLinkKey(DUT_EUI);
    await tc.permitJoin(180);
    const mark2 = sim.sniffed.length;
    const again = await within(sim, 120_000, 'third join', seDut.join({ channel: CHANNEL }));
    expect(again).toMatchObject({ joined: true, tclk: 'cbke', keyEstablishment: { ok: true } });
    const air2 = decodeAir(sim.sniffed.slice(mark2), { nwk: NWK, link: [IC_KEY, cbke] });
    expect(air2.find((x) => apsCommandOf(x)?.type === 'transportKey')?.aps).toMatchObject({ openedWith: 'install-code', aux: { keyId: 2 } });
    const fresh = again.keyEstablishment;
    if (!fresh?.ok) throw new Error('second CBKE failed');
    expect(bytesToHex(fresh.key)).not.toBe(bytesToHex(cbke.key));
    expect(bytesToHex((await tcLinkKey(tc))!.key)).toBe(bytesToHex(fresh.key));
  });

  it('compliant TC: the fresh join gets the network key under the install-code key the first time', async () => {
    const { tc, seDut, cbke } = await previousSession('compliant');
    const mark = sim.sniffed.length;
    const r = await within(sim, 120_000, 'second join', seDut.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: true, tclk: 'cbke', keyEstablishment: { ok: true } });
    const air = decodeAir(sim.sniffed.slice(mark), { nwk: NWK, link: [cbke, IC_KEY] });
    expect(air.find((x) => apsCommandOf(x)?.type === 'transportKey')?.aps).toMatchObject({ openedWith: 'install-code', aux: { keyId: 2 } });
    expect(await tcLinkKey(tc)).toMatchObject({ kind: 'cbke' });
  });
});

describe('CBKE profiles caught through the SE hosting', () => {
  it('cbke-bad-mac TC: the joiner terminates with BAD_KEY_CONFIRM and keeps no CBKE key (the TC restores the install-code key)', async () => {
    const { tc, dut, seTc, seDut } = await setup({ tc: 'cbke-bad-mac', deviceSuites: [CRYPTO_SUITE_1] });
    const r = await within(sim, 120_000, 'SE join', seDut.join({ channel: CHANNEL }));
    expect(r).toMatchObject({
      joined: true, tclk: 'cbke-pending',
      keyEstablishment: { ok: false, reason: 'bad-key-confirm', status: KeStatus.BAD_KEY_CONFIRM, terminate: 'sent', step: 'confirm' },
    });
    await sim.run(1_000);
    expect(dut.node.service.getLinkKey(TC_EUI)?.origin).toBe('install-code');
    expect(dut.tclk).toBe('cbke-pending');
    expect(seTc.outcomes.at(-1)).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.BAD_KEY_CONFIRM, step: 'after-confirm' });
    const entry = await tcLinkKey(tc);
    expect(entry?.kind).toBe('install-code');
    expect(bytesToHex(entry!.key)).toBe(INSTALL_CODE_KEY);
    const term = keFrames(decodeAir(sim.sniffed, { nwk: NWK, link: [] })).filter((f) => f.commandId === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT);
    expect(term.map((f) => [f.direction, f.cmd])).toEqual([['client-to-server', expect.objectContaining({ status: KeStatus.BAD_KEY_CONFIRM })]]);
  });

  it('cbke-unknown-issuer-cert TC: a compliant joiner terminates with UNKNOWN_ISSUER; accepts-unknown-issuer goes on to Confirm Key', async () => {
    const devTerminates = () => keFrames(decodeAir(sim.sniffed, { nwk: NWK, link: [] }))
      .filter((f) => f.commandId === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT && f.direction === 'client-to-server')
      .map((f) => (f.cmd.type === 'terminateKeyEstablishment' ? f.cmd.status : -1));
    const good = await setup({ tc: 'cbke-unknown-issuer-cert', deviceSuites: [CRYPTO_SUITE_1] });
    expect(await within(sim, 120_000, 'SE join', good.seDut.join({ channel: CHANNEL }))).toMatchObject({
      tclk: 'cbke-pending', keyEstablishment: { ok: false, reason: 'unknown-issuer', status: KeStatus.UNKNOWN_ISSUER, terminate: 'sent', step: 'initiate' },
    });
    await sim.run(1_000); // the Terminate is on the air after the outcome
    expect(devTerminates()).toEqual([KeStatus.UNKNOWN_ISSUER]);
    sim.stopAll();
    // The known-bad joiner takes the certificate; the foreign CA key then breaks key confirmation at the TC.
    const bad = await setup({ tc: 'cbke-unknown-issuer-cert', joiner: 'accepts-unknown-issuer', deviceSuites: [CRYPTO_SUITE_1] });
    expect(await within(sim, 120_000, 'SE join', bad.seDut.join({ channel: CHANNEL }))).toMatchObject({
      tclk: 'cbke-pending', keyEstablishment: { ok: false, reason: 'partner-terminated', status: KeStatus.BAD_KEY_CONFIRM, step: 'confirm' },
    });
    await sim.run(1_000);
    expect(devTerminates()).toEqual([]);
  });

  it('cbke-slow TC: the joiner times out without Terminate; terminates-after-timeout sends one', async () => {
    const good = await setup({ tc: 'cbke-slow', deviceSuites: [CRYPTO_SUITE_1] });
    expect(await within(sim, 300_000, 'SE join', good.seDut.join({ channel: CHANNEL }))).toMatchObject({
      tclk: 'cbke-pending', keyEstablishment: { ok: false, reason: 'timeout', terminate: 'none' },
    });
    await sim.run(60_000); // past the TC's late answer too
    expect(keFrames(decodeAir(sim.sniffed, { nwk: NWK, link: [] })).some((f) => f.commandId === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT && f.direction === 'client-to-server')).toBe(false);
    sim.stopAll();
    const bad = await setup({ tc: 'cbke-slow', joiner: 'terminates-after-timeout', deviceSuites: [CRYPTO_SUITE_1] });
    expect(await within(sim, 300_000, 'SE join', bad.seDut.join({ channel: CHANNEL }))).toMatchObject({
      keyEstablishment: { ok: false, reason: 'timeout', terminate: 'sent' },
    });
    await sim.run(1_000);
    expect(keFrames(decodeAir(sim.sniffed, { nwk: NWK, link: [] })).some((f) => f.commandId === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT && f.direction === 'client-to-server')).toBe(true);
  });
});
