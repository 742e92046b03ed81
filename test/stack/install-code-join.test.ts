// Scenario 1 (core): an install-code join end to end, judged from the air — the network key goes
// out APS-secured with the key-transport key of the install-code key, the Zigbee 3.0 TC link key
// exchange completes, and later APS traffic runs under the new key.
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { ApsKeyType, ApsStatus } from '../../harness/zigbee/aps.ts';
import { seededRandom, VirtualAir } from '../../harness/sim/air.ts';
import { VirtualClock } from '../../harness/sim/clock.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import {
  apsCommandOf, CHANNEL, createSim, decodeAir, DUT_EUI, INSTALL_CODE, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, RecorderApp, TC_EUI, within, type Sim,
} from './helpers.ts';

let sim: Sim;
afterEach(() => sim?.stopAll());

async function joinedPair() {
  sim = createSim();
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, keyRandom: sim.keyRandom() }));
  const dut = sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, installCode: INSTALL_CODE, transcript: sim.transcript }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.permitJoin(60);
  const result = await within(sim, 60_000, 'join result', dut.join({ channel: CHANNEL }));
  return { tc, dut, result };
}

describe('install-code join (TC + strict Zigbee 3.0 joiner)', () => {
  it('joins, and the Transport Key on the air is APS-secured with key id 2 under the install-code key', async () => {
    const { tc, dut, result } = await joinedPair();
    expect(result, sim.transcript.lines().join('\n')).toMatchObject({ joined: true, tclk: 'verified' });
    expect(dut.joined).toBe(true);
    const tclk = (await tc.keyTable()).find((k) => k.eui64 === DUT_EUI && k.kind === 'tclk-exchange');
    expect(tclk?.verified).toBe(true);
    const air = decodeAir(sim.sniffed, {
      nwk: [{ label: 'nwk', key: NETWORK_KEY }],
      link: [{ label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) }, { label: 'tclk', key: tclk!.key }],
    });
    const tk = air.filter((r) => { const c = apsCommandOf(r); return c?.type === 'transportKey' && c.keyType === ApsKeyType.STANDARD_NETWORK; });
    expect(tk).toHaveLength(1);
    expect(tk[0].nwk!.header.security).toBe(false); // the joiner has no network key yet
    expect(tk[0].aps!.aux).toMatchObject({ keyId: 2, extendedNonce: true, source64: TC_EUI });
    expect(tk[0].aps!.openedWith).toBe('install-code');
    const c = apsCommandOf(tk[0])!;
    expect(c.type === 'transportKey' && c.descriptor.layout === 'network' && Buffer.from(c.descriptor.key).equals(Buffer.from(NETWORK_KEY))).toBe(true);
  });

  it('runs Node_Desc → Request Key → Transport Key (TCLK, key-load) → Verify Key → Confirm Key (new key), then APS data under the new key', async () => {
    const { tc, dut } = await joinedPair();
    const tclk = (await tc.keyTable()).find((k) => k.eui64 === DUT_EUI && k.kind === 'tclk-exchange')!;
    const app = new RecorderApp();
    dut.node.registerApplication(app);
    const sent = await within(sim, 30_000, 'APS data ack', tc.node.service.send({
      dst: { eui64: DUT_EUI }, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, payload: Uint8Array.of(0x00, 0x01, 0x00, 0x00, 0x00), apsSecurity: true,
    }));
    expect(sent).toEqual({ ok: true });
    expect(app.received).toHaveLength(1);
    expect(app.received[0]).toMatchObject({ apsSecured: true, apsKeyLabel: 'tclk-exchange', nwkSecured: true, srcShort: 0 });

    const air = decodeAir(sim.sniffed, {
      nwk: [{ label: 'nwk', key: NETWORK_KEY }],
      link: [{ label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) }, { label: 'tclk', key: tclk.key }],
    });
    const seq = air.flatMap((r) => {
      const c = apsCommandOf(r);
      if (r.aps?.zdp?.command.type === 'Node_Desc_req') return ['Node_Desc_req'];
      if (r.aps?.zdp?.command.type === 'Node_Desc_rsp') return [`Node_Desc_rsp rev ${r.aps.zdp.command.nodeDescriptor?.serverMask.stackComplianceRevision}`];
      if (!c) return [];
      const how = r.aps!.aux ? `key ${r.aps!.aux.keyId} ${r.aps!.openedWith}` : 'unsecured';
      if (c.type === 'transportKey') return [`TK type ${c.keyType} (${how})`];
      if (c.type === 'requestKey' || c.type === 'verifyKey') return [`${c.type} (${how})`];
      if (c.type === 'confirmKey') return [`confirmKey ${c.status} (${how})`];
      return [];
    });
    expect(seq).toEqual([
      'TK type 1 (key 2 install-code)',
      'Node_Desc_req',
      'Node_Desc_rsp rev 22',
      'requestKey (key 0 install-code)',
      'TK type 4 (key 3 install-code)',
      'verifyKey (unsecured)',
      `confirmKey ${ApsStatus.SUCCESS} (key 0 tclk)`,
    ]);
    const data = air.filter((r) => r.aps?.header.frameType === 0 && r.aps.header.clusterId === 0x0025);
    expect(data).toHaveLength(1);
    expect(data[0].aps).toMatchObject({ openedWith: 'tclk', aux: { keyId: 0 } });
    // Its APS ack is secured too, with the same key.
    const ack = air.find((r) => r.aps?.header.frameType === 2 && r.i > data[0].i);
    expect(ack?.aps).toMatchObject({ openedWith: 'tclk' });
    // Every frame on the air has a valid FCS.
    expect(air.every((r) => r.mac.fcsOk)).toBe(true);
  });
});

describe('on a lossy air', () => {
  it('MAC retries (same sequence number again) and APS retries carry the join through 10% loss per receiver', async () => {
    const clock = new VirtualClock();
    const air = new VirtualAir(clock, { loss: 0.1, random: seededRandom(4) });
    const heard: { psdu: Uint8Array; sender: string }[] = [];
    air.sniff(CHANNEL, (f) => heard.push(f));
    const tc = new TrustCenter({ air, clock, eui64: TC_EUI });
    const dut = new Joiner({ air, clock, eui64: DUT_EUI, installCode: INSTALL_CODE });
    try {
      await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
      await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
      await tc.permitJoin(180);
      let r = await dut.join({ channel: CHANNEL });
      // Network steering tries again when a scan or association attempt is lost (BDB §8.3).
      for (let i = 0; i < 4 && !r.joined; i++) {
        await dut.reset();
        r = await dut.join({ channel: CHANNEL });
      }
      expect(r).toMatchObject({ joined: true, tclk: 'verified' });
      const data = heard.filter((f) => (f.psdu[0] & 7) !== 2 && (f.psdu[0] & 0x20) !== 0); // acked frames
      const seen = new Set<string>();
      let retries = 0;
      for (const f of data) {
        const k = `${f.sender}:${f.psdu[2]}:${Buffer.from(f.psdu).toString('hex')}`;
        if (seen.has(k)) retries++;
        seen.add(k);
      }
      expect(retries).toBeGreaterThan(0);
    } finally {
      tc.stop();
      dut.stop();
    }
  });
});
