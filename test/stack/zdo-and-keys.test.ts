// ZDO server on the simulated nodes (descriptors of the registered applications, Match_Desc as
// the SE Keep-Alive and KE clients use it, Mgmt_Leave_req to the coordinator), the network key
// update (Transport Key broadcast + Switch Key, and a device that missed it catching up by Trust
// Center rejoin), a failed rejoin that leaves the device where it was (Keep-Alive's TCSO), and a
// transcript that never holds key bytes.
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { ZdpCluster, ZdpStatus } from '../../harness/zigbee/zdo.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { tcProfile } from '../../harness/stack/profiles.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { CHANNEL, createSim, decodeAir, DUT2_EUI, DUT_EUI, INSTALL_CODE, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, RecorderApp, TC_EUI, within, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function setup(profile = 'compliant') {
  sim = createSim();
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, profile: tcProfile(profile) }));
  const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, installCode: INSTALL_CODE, transcript: sim.transcript }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
  return { tc, dut };
}

describe('ZDO server', () => {
  it('answers Match_Desc / Active_EP / Simple_Desc from the registered applications', async () => {
    const { tc, dut } = await setup();
    tc.node.registerApplication(new RecorderApp(1, 0x0109, [0x0025, 0x0800]));
    tc.node.registerApplication(new RecorderApp(2, 0x0104, [0x0006]));
    const zdo = dut.node.zdo;
    const match = await within(sim, 10_000, 'Match_Desc_rsp', zdo.request(0, ZdpCluster.MATCH_DESC_REQ, { type: 'Match_Desc_req', nwkAddrOfInterest: 0, profileId: 0x0109, inClusters: [0x0800], outClusters: [] }, 5_000));
    expect(match?.command).toMatchObject({ type: 'Match_Desc_rsp', status: ZdpStatus.SUCCESS, matchList: [1] });
    const wildcard = await zdo.request(0, ZdpCluster.MATCH_DESC_REQ, { type: 'Match_Desc_req', nwkAddrOfInterest: 0, profileId: 0xffff, inClusters: [0x0006, 0x0025], outClusters: [] }, 5_000);
    expect(wildcard?.command).toMatchObject({ matchList: [1, 2] });
    const active = await zdo.request(0, ZdpCluster.ACTIVE_EP_REQ, { type: 'Active_EP_req', nwkAddrOfInterest: 0 }, 5_000);
    expect(active?.command).toMatchObject({ status: 0, endpoints: [1, 2] });
    const simple = await zdo.request(0, ZdpCluster.SIMPLE_DESC_REQ, { type: 'Simple_Desc_req', nwkAddrOfInterest: 0, endpoint: 1 }, 5_000);
    expect(simple?.command).toMatchObject({ status: 0, simpleDescriptor: { endpoint: 1, profileId: 0x0109, inClusters: [0x0025, 0x0800], outClusters: [] } });
    const none = await zdo.request(0, ZdpCluster.SIMPLE_DESC_REQ, { type: 'Simple_Desc_req', nwkAddrOfInterest: 0, endpoint: 9 }, 5_000);
    expect(none?.command).toMatchObject({ status: ZdpStatus.NOT_ACTIVE });
    expect(tc.node.unregisterApplication(2)).toBe(true);
    const after = await zdo.request(0, ZdpCluster.ACTIVE_EP_REQ, { type: 'Active_EP_req', nwkAddrOfInterest: 0 }, 5_000);
    expect(after?.command).toMatchObject({ endpoints: [1] });
  });

  it('advertises the profile\'s stack revision in the TC node descriptor, read when asked', async () => {
    const { tc, dut } = await setup('legacy-global-key');
    const nd = await dut.node.zdo.request(0, ZdpCluster.NODE_DESC_REQ, { type: 'Node_Desc_req', nwkAddrOfInterest: 0 }, 5_000);
    expect(nd?.command).toMatchObject({ nodeDescriptor: { logicalType: 0, serverMask: { primaryTrustCenter: true, stackComplianceRevision: 21 } } });
    tc.behaviour = { ...tc.behaviour, stackRevision: 0 };
    const nd0 = await dut.node.zdo.request(0, ZdpCluster.NODE_DESC_REQ, { type: 'Node_Desc_req', nwkAddrOfInterest: 0 }, 5_000);
    expect(nd0?.command).toMatchObject({ nodeDescriptor: { serverMask: { stackComplianceRevision: 0 } } });
  });

  it('the coordinator does not act on a Mgmt_Leave_req for itself', async () => {
    const { tc, dut } = await setup();
    const rsp = await dut.node.zdo.request(0, ZdpCluster.MGMT_LEAVE_REQ, { type: 'Mgmt_Leave_req', deviceAddress: TC_EUI, rejoin: false, removeChildren: false, reserved: 0 }, 5_000);
    expect(rsp?.command).toMatchObject({ type: 'Mgmt_Leave_rsp', status: ZdpStatus.NOT_SUPPORTED });
    expect(tc.node.net.onNetwork).toBe(true);
  });
});

describe('network key update', () => {
  it('Transport Key broadcast, then Switch Key: the devices switch; one that missed it gets the new key by Trust Center rejoin', async () => {
    const { tc, dut } = await setup();
    const late = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT2_EUI, name: 'late', transcript: sim.transcript }));
    expect(await within(sim, 60_000, 'join', late.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
    late.node.mac.channel = 20; // away while the key changes
    const next = hexToBytes('00112233445566778899aabbccddeeff');
    const mark = sim.sniffed.length;
    expect(await within(sim, 30_000, 'key update', tc.updateNetworkKey(next, 3_000))).toEqual({ seq: 1 });
    await sim.run(100);
    expect(dut.node.nwkSecurity.active).toMatchObject({ seq: 1 });
    expect(bytesToHex(dut.node.nwkSecurity.active!.material.key)).toBe(bytesToHex(next));
    expect(late.node.nwkSecurity.active?.seq).toBe(0);
    const app = new RecorderApp();
    tc.node.registerApplication(app);
    await within(sim, 10_000, 'data', dut.node.service.send({ dst: { short: 0 }, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, payload: Uint8Array.of(1), apsSecurity: true }));
    expect(app.received).toHaveLength(1);
    const air = decodeAir(sim.sniffed.slice(mark), { nwk: [{ label: 'old', key: NETWORK_KEY }, { label: 'new', key: next }], link: [] });
    const cmds = air.filter((r) => r.aps?.command).map((r) => `${r.aps!.command!.type} seq ${r.nwk!.aux!.keySeq}`);
    expect(cmds).toEqual(['transportKey seq 0', 'switchKey seq 0']);
    expect(air.filter((r) => r.nwk?.aux?.source64 === DUT_EUI).every((r) => r.nwk!.aux!.keySeq === 1 && r.nwk!.aux!.frameCounter < 10)).toBe(true);
    // Back on the channel with the old key: a secured rejoin fails, a TC rejoin brings the new key.
    late.node.mac.channel = CHANNEL;
    expect(await within(sim, 30_000, 'secured rejoin', late.rejoin({ secured: true }))).toMatchObject({ joined: false });
    expect(await within(sim, 30_000, 'TC rejoin', late.rejoin({ secured: false }))).toMatchObject({ joined: true });
    expect(late.node.nwkSecurity.active).toMatchObject({ seq: 1 });
  });
});

describe('rejoin as Keep-Alive\'s Trust Center Swap-Out uses it (JoinerControl)', () => {
  it('a rejoin that finds no Trust Center leaves the device on its network', async () => {
    const { tc, dut } = await setup();
    const control = dut; // Joiner implements JoinerControl
    expect(control.trustCenterEui64).toBe(TC_EUI);
    tc.stop();
    const r = await within(sim, 30_000, 'rejoin', control.rejoin({ secured: false }));
    expect(r).toMatchObject({ joined: false });
    expect(r.reason).toMatch(/not found on channel 15/);
    expect(dut.joined).toBe(true);
  });
});

describe('APS data service limits', () => {
  it('refuses a payload that cannot fit one frame (ASDU_TOO_LONG), without putting anything on the air', async () => {
    const { dut } = await setup();
    const mark = sim.sniffed.length;
    await expect(dut.node.service.send({ dst: { short: 0 }, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, payload: new Uint8Array(100), apsSecurity: true }))
      .rejects.toThrow(/ASDU_TOO_LONG/);
    expect(sim.sniffed.length).toBe(mark);
  });
});

describe('transcripts', () => {
  it('name keys by label and never carry their bytes', async () => {
    const { tc } = await setup();
    const keys = [bytesToHex(NETWORK_KEY), INSTALL_CODE_KEY, ...(await tc.keyTable()).map((k) => bytesToHex(k.key))];
    const text = sim.transcript.lines().join('\n').toLowerCase();
    expect(text).toMatch(/key-transport\(install-code\)/);
    for (const k of keys) expect(text).not.toContain(k);
  });
});
