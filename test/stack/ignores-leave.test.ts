// Leave requests: a compliant device obeys a NWK Leave request and a Mgmt_Leave_req (it announces
// its leave and goes), the ignores-leave profile stays — judged from the air (no announcement; it
// still answers the TC) and from its state.
import { afterEach, describe, expect, it } from 'vitest';
import { ZdpCluster, ZdpStatus } from '../../harness/zigbee/zdo.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { joinerProfile } from '../../harness/stack/profiles.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, TC_EUI, within, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function setup(profile: string) {
  sim = createSim();
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript }));
  const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, installCode: INSTALL_CODE, transcript: sim.transcript, profile: joinerProfile(profile) }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
  return { tc, dut };
}

function airSince(mark: number) {
  return decodeAir(sim.sniffed.slice(mark), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] });
}

const announcement = (r: ReturnType<typeof airSince>[number]) => r.nwk?.command?.kind === 'leave' && !r.nwk.command.request && r.nwk.header.src64 === DUT_EUI;

describe.each([['nwk'], ['zdo']] as const)('leave request (%s)', (method) => {
  it('a compliant device leaves', async () => {
    const { tc, dut } = await setup('compliant');
    const mark = sim.sniffed.length;
    await within(sim, 10_000, 'leave request', tc.requestLeave(DUT_EUI, { method }));
    await sim.run(2_000);
    const air = airSince(mark);
    if (method === 'nwk') expect(air.find((r) => r.nwk?.command?.kind === 'leave' && r.nwk.command.request)?.nwk?.header).toMatchObject({ dst64: DUT_EUI, security: true });
    else expect(air.find((r) => r.aps?.zdp?.command.type === 'Mgmt_Leave_rsp')?.aps?.zdp?.command).toMatchObject({ status: ZdpStatus.SUCCESS });
    expect(air.some(announcement)).toBe(true);
    expect(dut.joined).toBe(false);
    expect(tc.devices.has(DUT_EUI)).toBe(false);
  });

  it('an ignores-leave device stays: no announcement, and it still answers the TC', async () => {
    const { tc, dut } = await setup('ignores-leave');
    const mark = sim.sniffed.length;
    await within(sim, 10_000, 'leave request', tc.requestLeave(DUT_EUI, { method }));
    await sim.run(2_000);
    expect(airSince(mark).some(announcement)).toBe(false);
    expect(dut.joined).toBe(true);
    expect(sim.transcript.has('join.leave-ignored', undefined, 'dut')).toBe(true);
    const rsp = await within(sim, 10_000, 'Node_Desc_rsp', tc.node.zdo.request(dut.shortAddress!, ZdpCluster.NODE_DESC_REQ, { type: 'Node_Desc_req', nwkAddrOfInterest: dut.shortAddress! }, 5_000));
    expect(rsp?.command).toMatchObject({ type: 'Node_Desc_rsp', status: ZdpStatus.SUCCESS });
  });
});
