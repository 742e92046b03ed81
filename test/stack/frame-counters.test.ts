// NWK frame counters: a replayed frame is dropped (spec rule: a counter not above the last one
// accepted from that sender is a replay, protocol.md §7.5); the outgoing counter survives reset()
// (TP_R21_BV-12), and the frame-counter-reuse profile that restarts it at 0 gets its frames
// dropped by the TC — judged from the TC's transcript and from the counters on the air.
import { afterEach, describe, expect, it } from 'vitest';
import { crc16Kermit } from '../../harness/zigbee/ieee802154.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { joinerProfile } from '../../harness/stack/profiles.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, NETWORK_KEY, PAN_ID, RecorderApp, TC_EUI, within, type Sim } from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function setup(profile: string, tcOpts: { reportBadFrameCounter?: boolean } = {}) {
  sim = createSim();
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, ...tcOpts }));
  const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, installCode: INSTALL_CODE, transcript: sim.transcript, profile: joinerProfile(profile) }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  const app = new RecorderApp();
  tc.node.registerApplication(app);
  expect(await within(sim, 60_000, 'join', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
  return { tc, dut, app };
}

const toTc = (payload: number) => ({ dst: { short: 0x0000 }, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, payload: Uint8Array.of(payload), apsSecurity: true });

/** NWK frame counters the DUT put on the air (aux header of its own frames), in order. */
function dutCounters(from = 0): number[] {
  return decodeAir(sim.sniffed.slice(from), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] })
    .filter((r) => r.nwk?.aux?.source64 === DUT_EUI)
    .map((r) => r.nwk!.aux!.frameCounter);
}

describe('NWK frame counters', () => {
  it.each([false, true])('a replayed NWK frame (same counter, new MAC sequence number and FCS) is dropped by the TC (Network Status 0x11: %s)', async (report) => {
    const { dut, app } = await setup('compliant', { reportBadFrameCounter: report });
    const mark = sim.sniffed.length;
    expect(await within(sim, 10_000, 'data to the TC', dut.node.service.send(toTc(0x42)))).toEqual({ ok: true });
    expect(app.received).toHaveLength(1);
    // The data frame the DUT sent: an attacker records it and sends it again later.
    const original = sim.sniffed.slice(mark).find((f) => f.sender === 'dut' && f.psdu.length > 40)!;
    const replay = original.psdu.slice();
    replay[2] = (replay[2] + 77) & 0xff; // a fresh MAC sequence number: the MAC duplicate filter must not be what stops it
    const crc = crc16Kermit(replay, 0, replay.length - 2);
    replay[replay.length - 2] = crc & 0xff;
    replay[replay.length - 1] = crc >> 8;
    const rogue = sim.air.attach('rogue', CHANNEL, () => {});
    await sim.run(5_000);
    await rogue.transmit(replay);
    await sim.run(100);
    rogue.detach();
    expect(app.received).toHaveLength(1);
    const drops = sim.transcript.filter({ node: 'tc', prefix: 'nwk.drop' }).filter((e) => e.detail?.reason === 'replay');
    expect(drops).toHaveLength(1);
    expect(drops[0].detail).toMatchObject({ from: DUT_EUI });
    // On the air: the same NWK frame counter twice from the DUT.
    const counters = dutCounters(mark);
    expect(counters.filter((c) => c === drops[0].detail!.counter)).toHaveLength(2);
    const status = decodeAir(sim.sniffed.slice(mark), { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [] }).filter((r) => r.nwk?.command?.kind === 'networkStatus');
    if (!report) expect(status).toHaveLength(0);
    else expect(status.map((r) => [r.nwk!.header.src16, r.nwk!.header.dst16, r.nwk!.command])).toEqual([[0x0000, dut.shortAddress, { kind: 'networkStatus', status: 0x11, destination: 0x0000 }]]);
  });

  it('a compliant joiner keeps counting across reset() and joins again', async () => {
    const { dut } = await setup('compliant');
    for (let i = 0; i < 5; i++) await within(sim, 10_000, 'data', dut.node.service.send(toTc(i)));
    const before = Math.max(...dutCounters());
    await dut.reset();
    const mark = sim.sniffed.length;
    expect(await within(sim, 60_000, 'join after reset', dut.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
    expect(Math.min(...dutCounters(mark))).toBeGreaterThan(before);
    expect(sim.transcript.has('nwk.drop', (d) => d.reason === 'replay', 'tc')).toBe(false);
  });

  it('frame-counter-reuse: after reset() the joiner restarts at 0 and the TC drops its frames as replays', async () => {
    const { dut } = await setup('frame-counter-reuse');
    for (let i = 0; i < 20; i++) await within(sim, 10_000, 'data', dut.node.service.send(toTc(i)));
    const before = Math.max(...dutCounters());
    await dut.reset();
    const mark = sim.sniffed.length;
    const r = await within(sim, 60_000, 'join after reset', dut.join({ channel: CHANNEL }));
    // Its Device_annce and Node_Desc_req never reach the TC: the exchange fails and it leaves.
    expect(r).toMatchObject({ joined: false, code: 'tclk-exchange-failed' });
    const after = dutCounters(mark);
    expect(after[0]).toBe(0);
    expect(Math.max(...after)).toBeLessThanOrEqual(before);
    const drops = sim.transcript.filter({ node: 'tc', prefix: 'nwk.drop' }).filter((e) => e.detail?.reason === 'replay' && e.detail.from === DUT_EUI);
    expect(drops.length).toBeGreaterThanOrEqual(after.length - 1);
    expect(drops[0].detail!.lastAccepted).toBe(before);
  });
});
