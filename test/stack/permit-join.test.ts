// Permit join: the TC's deadline is respected — beacons carry the association-permit bit until
// it passes and not after, and an association request after it is refused (status 0x02, PAN
// access denied) — while the long-permit-join profile keeps the network open (255 = no limit).
import { afterEach, describe, expect, it } from 'vitest';
import { Joiner } from '../../harness/stack/joiner.ts';
import { tcProfile } from '../../harness/stack/profiles.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, TC_EUI, within, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function setup(profile: string) {
  sim = createSim();
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, profile: tcProfile(profile) }));
  const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, installCode: INSTALL_CODE, transcript: sim.transcript }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  return { tc, dut };
}

/** The association-permit bit of the TC's beacon, as heard on the air now. */
async function permitBitOnAir(dut: Joiner): Promise<boolean> {
  const mark = sim.sniffed.length;
  const seen = await dut.node.mac.scan(CHANNEL);
  const beacons = decodeAir(sim.sniffed.slice(mark), { nwk: [], link: [] }).filter((r) => r.mac.body.kind === 'beacon');
  expect(beacons).toHaveLength(1);
  const b = beacons[0].mac.body;
  expect(b.kind === 'beacon' && b.zigbee).toMatchObject({ stackProfile: 2, protocolVersion: 2, extendedPanId: TC_EUI });
  expect(seen[0].permitJoin).toBe(b.kind === 'beacon' && b.superframe.associationPermit);
  return b.kind === 'beacon' && b.superframe.associationPermit;
}

describe('permit join', () => {
  it('closes at the deadline: permit bit on before, off after; an association after it is refused with 0x02', async () => {
    const { tc, dut } = await setup('compliant');
    expect(await permitBitOnAir(dut)).toBe(false);
    await tc.permitJoin(60);
    const opened = sim.clock.now();
    await sim.run(59_000);
    expect(await permitBitOnAir(dut)).toBe(true);
    await sim.run(opened + 60_001 - sim.clock.now());
    expect(await permitBitOnAir(dut)).toBe(false);
    const mark = sim.sniffed.length;
    const r = await within(sim, 30_000, 'join', dut.join({ channel: CHANNEL, requirePermitJoin: false }));
    expect(r).toMatchObject({ joined: false, code: 'association-refused' });
    expect(r.reason).toMatch(/0x02 \(PAN access denied\)/);
    const rsp = decodeAir(sim.sniffed.slice(mark), { nwk: [], link: [] }).find((x) => x.mac.body.kind === 'command' && x.mac.body.command.kind === 'associationResponse');
    expect(rsp?.mac.body).toMatchObject({ command: { status: 0x02, shortAddress: 0xffff } });
    // A joiner that honours the beacon does not even try.
    expect(await within(sim, 30_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: false, code: 'no-network' });
  });

  it('caps a request for 255 s ("forever") at 254 s on a compliant TC', async () => {
    const { tc, dut } = await setup('compliant');
    await tc.permitJoin(255);
    await sim.run(253_000);
    expect(await permitBitOnAir(dut)).toBe(true);
    await sim.run(2_000);
    expect(await permitBitOnAir(dut)).toBe(false);
  });

  it('long-permit-join: 255 keeps the network open (an hour later it still permits and admits)', async () => {
    const { tc, dut } = await setup('long-permit-join');
    await tc.permitJoin(255);
    await sim.run(3_600_000);
    expect(await permitBitOnAir(dut)).toBe(true);
    expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
  });
});
