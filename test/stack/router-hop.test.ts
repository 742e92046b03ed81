// One router hop: a joiner associating through a router. The router reports it in an APS-secured
// Update Device; the TC answers with a Tunnel (NWK-secured, APS-unsecured) holding the APS-secured
// Transport Key; the router hands the inner frame to the child NWK-unsecured; the child joins and
// runs its TC link key exchange through the router. A sleepy child gets its frames from the
// router's indirect queue when it polls.
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { ApsKeyType, UpdateDeviceStatus } from '../../harness/zigbee/aps.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import {
  apsCommandOf, CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, INSTALL_CODE_2, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, RecorderApp, ROUTER_EUI, TC_EUI, within, type Sim,
} from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function withRouter(childType: 'end-device' | 'sleepy-end-device') {
  sim = createSim();
  const opts = { air: sim.air, clock: sim.clock, transcript: sim.transcript };
  const tc = sim.track(new TrustCenter({ ...opts, eui64: TC_EUI }));
  const router = sim.track(new Joiner({ ...opts, eui64: ROUTER_EUI, name: 'router', deviceType: 'router', installCode: INSTALL_CODE_2 }));
  const child = sim.track(new Joiner({ ...opts, eui64: DUT_EUI, name: 'child', deviceType: childType, installCode: INSTALL_CODE }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(ROUTER_EUI, INSTALL_CODE_2);
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(180);
  expect(await within(sim, 60_000, 'router join', router.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
  await tc.permitJoin(180); // the Mgmt_Permit_Joining_req broadcast now opens the router too
  expect(router.parent?.permitJoining).toBe(true);
  const mark = sim.sniffed.length;
  const r = await within(sim, 60_000, 'child join', child.join({ channel: CHANNEL, parentShort: router.shortAddress }));
  return { tc, router, child, r, mark };
}

async function keys(tc: TrustCenter) {
  return {
    nwk: [{ label: 'nwk', key: NETWORK_KEY }],
    link: [
      { label: 'child install-code', key: hexToBytes(INSTALL_CODE_KEY) },
      ...(await tc.keyTable()).filter((k) => k.kind === 'tclk-exchange').map((k) => ({ label: `tclk ${k.eui64}`, key: k.key })),
    ],
  };
}

describe('joining through a router', () => {
  it('Update Device → Tunnel with the APS-secured Transport Key → child joined and verified', async () => {
    const { tc, router, child, r, mark } = await withRouter('end-device');
    expect(r).toMatchObject({ joined: true, tclk: 'verified' });
    expect(tc.devices.get(DUT_EUI)).toMatchObject({ parentShort: router.shortAddress, tclk: 'verified' });
    const air = decodeAir(sim.sniffed.slice(mark), await keys(tc));
    const assoc = air.find((x) => x.mac.body.kind === 'command' && x.mac.body.command.kind === 'associationRequest');
    expect(assoc?.mac.header.dst).toBe(router.shortAddress);
    const ud = air.find((x) => x.aps?.command?.type === 'updateDevice')!;
    expect(ud.nwk!.header).toMatchObject({ src16: router.shortAddress, dst16: 0x0000, security: true });
    expect(ud.aps).toMatchObject({ openedWith: `tclk ${ROUTER_EUI}`, aux: { keyId: 0 } });
    expect(ud.aps!.command).toMatchObject({ device64: DUT_EUI, device16: child.shortAddress, status: UpdateDeviceStatus.STANDARD_UNSECURED_JOIN });
    const tunnel = air.find((x) => x.aps?.command?.type === 'tunnel')!;
    expect(tunnel.i).toBeGreaterThan(ud.i);
    expect(tunnel.nwk!.header).toMatchObject({ src16: 0x0000, dst16: router.shortAddress, security: true });
    expect(tunnel.aps!.header.security).toBe(false);
    expect(tunnel.aps!.inner).toMatchObject({ openedWith: 'child install-code', aux: { keyId: 2, source64: TC_EUI } });
    expect(tunnel.aps!.inner!.header.ackRequest).toBe(false);
    // The router → child copy: NWK-unsecured, the inner frame byte for byte.
    const relayed = air.find((x) => x.i > tunnel.i && x.nwk && !x.nwk.header.security && apsCommandOf(x)?.type === 'transportKey')!;
    expect(relayed.nwk!.header).toMatchObject({ src16: router.shortAddress, dst16: child.shortAddress });
    expect(relayed.aps).toMatchObject({ openedWith: 'child install-code', aux: { keyId: 2 } });
    const c = apsCommandOf(relayed)!;
    expect(c.type === 'transportKey' && c.keyType === ApsKeyType.STANDARD_NETWORK).toBe(true);
    // The child's exchange goes through the router: its Request Key is relayed to the TC.
    const rk = air.filter((x) => apsCommandOf(x)?.type === 'requestKey');
    expect(rk.map((x) => x.mac.header.dst)).toEqual([router.shortAddress, 0x0000]);
    // NWK security is hop by hop: the relayed copy carries the router's address and counter.
    expect(rk[0].nwk!.aux!.source64).toBe(DUT_EUI);
    expect(rk[1].nwk!.aux!.source64).toBe(ROUTER_EUI);
  });

  it('a sleepy child polls with MAC Data Requests and gets its frames from the router\'s indirect queue', async () => {
    const { tc, router, child, r, mark } = await withRouter('sleepy-end-device');
    expect(r).toMatchObject({ joined: true, tclk: 'verified' });
    const app = new RecorderApp();
    child.node.registerApplication(app);
    await sim.run(10_000); // past the fast-poll window: the child is on its long poll now
    const before = sim.sniffed.length;
    const sent = await within(sim, 30_000, 'APS data to the sleepy child', tc.node.service.send({
      dst: { eui64: DUT_EUI }, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, payload: Uint8Array.of(0, 9, 0, 0, 0), apsSecurity: true,
    }));
    expect(sent).toEqual({ ok: true });
    expect(app.received).toHaveLength(1);
    const air = decodeAir(sim.sniffed.slice(before), await keys(tc));
    const delivered = air.find((x) => x.aps?.header.clusterId === 0x0025 && x.mac.header.src === router.shortAddress)!;
    expect(delivered.mac.header.dst).toBe(child.shortAddress);
    // Just before it: the child's Data Request, acked with frame pending.
    const poll = air.filter((x) => x.i < delivered.i && x.mac.body.kind === 'command' && x.mac.body.command.kind === 'dataRequest' && x.mac.header.src === child.shortAddress).pop()!;
    expect(poll).toBeDefined();
    const ack = air.find((x) => x.i > poll.i && x.mac.header.frameType === 2 && x.mac.header.seq === poll.mac.header.seq)!;
    expect(ack.mac.header.framePending).toBe(true);
    expect(delivered.t - poll.t).toBeLessThan(20);
    // The router held it: the TC's copy reached the router long before the poll (long poll interval).
    const atRouter = air.find((x) => x.aps?.header.clusterId === 0x0025 && x.mac.header.dst === router.shortAddress)!;
    expect(poll.t - atRouter.t).toBeGreaterThan(50);
    expect(mark).toBeGreaterThan(0);
  });

  it('removing a child behind the router: APS Remove Device to the router, NWK Leave to the child, Update Device "device left"', async () => {
    const { tc, router, child, r } = await withRouter('end-device');
    expect(r).toMatchObject({ joined: true });
    const childShort = child.shortAddress;
    const mark = sim.sniffed.length;
    await within(sim, 10_000, 'remove', tc.requestLeave(DUT_EUI));
    await sim.run(2_000);
    expect(child.joined).toBe(false);
    expect(tc.devices.has(DUT_EUI)).toBe(false);
    expect(router.parent?.child(DUT_EUI)).toBeUndefined();
    const air = decodeAir(sim.sniffed.slice(mark), await keys(tc));
    const steps = air.flatMap((x) => {
      if (x.aps?.command?.type === 'removeDevice') return [`remove-device ${x.aps.openedWith} key ${x.aps.aux?.keyId}`];
      if (x.nwk?.command?.kind === 'leave') return [`leave request=${x.nwk.command.request} from ${x.nwk.header.src16 === router.shortAddress ? 'router' : x.nwk.header.src16 === childShort ? 'child' : x.nwk.header.src16}`];
      if (x.aps?.command?.type === 'updateDevice') return [`update-device status ${x.aps.command.status}`];
      return [];
    });
    expect(steps).toEqual([`remove-device tclk ${ROUTER_EUI} key 0`, 'leave request=true from router', 'leave request=false from child', `update-device status ${UpdateDeviceStatus.DEVICE_LEFT}`]);
  });
});

