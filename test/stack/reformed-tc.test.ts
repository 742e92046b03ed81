// A TC re-formed as a fresh node (the emulated EFR32 TC's `network leave` + `form` between two
// tests, a coordinator swapped for one with the same EUI-64): its MAC sequence numbers and APS
// counters start where the old one's did, since a node's behaviour is seeded from its EUI-64.
// A joiner that was reset in between must take those frames as new — a MAC or APS duplicate
// table kept across the reset drops the Association Response or the Node_Desc_rsp, and the join
// or the TC link key exchange fails (seen on the EFR32 virtual-hardware rig).
import { afterEach, describe, expect, it } from 'vitest';
import { Joiner } from '../../harness/stack/joiner.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, TC_EUI, within, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function freshTc(): Promise<TrustCenter> {
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  return tc;
}

describe('a joiner reset between two fresh TCs with the same EUI-64 (identical sequence numbers and counters)', () => {
  it('joins both and completes the TC link key exchange both times', async () => {
    sim = createSim();
    const first = await freshTc();
    const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, name: 'dut', installCode: INSTALL_CODE, transcript: sim.transcript }));
    const once = await within(sim, 60_000, 'first join', dut.join({ channel: CHANNEL }));
    expect(once, once.joined ? '' : `first join: ${once.reason}`).toMatchObject({ joined: true, tclk: 'verified' });
    first.stop();
    await dut.reset();
    await freshTc(); // well inside the APS duplicate-rejection hold of the first TC's frames
    const again = await within(sim, 60_000, 'second join', dut.join({ channel: CHANNEL }));
    expect(again, again.joined ? '' : `second join: ${again.reason}`).toMatchObject({ joined: true, tclk: 'verified' });
    // Each session took every answer the first time: one association poll, one Node_Desc_req
    // (a dropped Node_Desc_rsp shows as a repeat 5 s later; enough of them and the device leaves).
    const air = decodeAir(sim.sniffed, { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] });
    const from = (eui: string) => (r: (typeof air)[number]) => r.mac.header.src === eui || r.nwk?.header.src64 === eui || r.nwk?.aux?.source64 === eui;
    expect(air.filter((r) => from(DUT_EUI)(r) && r.aps?.zdp?.command.type === 'Node_Desc_req').length).toBe(2);
    expect(air.filter((r) => r.mac.body.kind === 'command' && r.mac.body.command.kind === 'dataRequest' && r.mac.header.src === DUT_EUI).length).toBe(2);
  });

  it('a TC that dissolves its network and forms again (one node, as firmware): keys gone, new network key, the device joins afresh', async () => {
    sim = createSim();
    const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript }));
    const formOpen = async (networkKey?: Uint8Array) => {
      await tc.form({ channel: CHANNEL, panId: PAN_ID, ...(networkKey ? { networkKey } : {}) });
      await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
      await tc.permitJoin(180);
    };
    await formOpen(NETWORK_KEY);
    const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, name: 'dut', installCode: INSTALL_CODE, transcript: sim.transcript }));
    expect(await within(sim, 60_000, 'first join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
    expect((await tc.keyTable()).map((k) => k.kind)).toEqual(['install-code', 'tclk-exchange']);
    tc.dissolve();
    // The link key table is emptied; install codes given to the TC stay provisioned.
    expect((await tc.keyTable()).map((k) => k.kind)).toEqual(['install-code']);
    await dut.reset();
    await formOpen();
    const again = await within(sim, 60_000, 'join after the re-formation', dut.join({ channel: CHANNEL }));
    expect(again, again.joined ? '' : again.reason).toMatchObject({ joined: true, tclk: 'verified' });
    const nk = await tc.networkKey();
    expect(Buffer.from(nk.key).equals(Buffer.from(NETWORK_KEY))).toBe(false);
  });
});
