// Scenario 1 through Wireshark: the whole air of an install-code join with the Zigbee 3.0 TC link
// key exchange and APS data under the new key — plus a router hop with a tunnelled Transport Key
// and a network key update — written as pcapng with our writer and the exported key file. The
// real tshark must take every frame: nothing malformed, no expert errors, every FCS right,
// every secured NWK and APS layer decrypted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { openPcapngWriter } from '../../harness/capture/file.ts';
import { writeWiresharkKeys, type WiresharkKey } from '../../harness/capture/wireshark-keys.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { runTshark, runTsharkPdml, tsharkCaptureProblems, tsharkAvailable, tsharkSkipReason, warnIfTsharkMissing } from '../helpers/tshark.ts';
import {
  CHANNEL, createSim, DUT2_EUI, DUT_EUI, INSTALL_CODE, INSTALL_CODE_2, INSTALL_CODE_KEY, NETWORK_KEY, PAN_ID, RecorderApp, ROUTER_EUI, TC_EUI, within, type Sim,
} from './helpers.ts';

let dir: string;
let sim: Sim;
beforeAll(() => {
  warnIfTsharkMissing();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-stack-tshark-'));
});
// SEHIL_KEEP_CAPTURE=1 keeps the capture and its key file for a look in Wireshark.
afterAll(() => (process.env.SEHIL_KEEP_CAPTURE ? console.log(`capture kept in ${dir}`) : fs.rmSync(dir, { recursive: true, force: true })));
afterEach(() => sim?.stopAll());

/** Runs the scenario on virtual time, then (only then) writes the capture and the key file. */
async function scenario(): Promise<{ capture: string; keys: WiresharkKey[]; frames: number }> {
  sim = createSim();
  const opts = { air: sim.air, clock: sim.clock, transcript: sim.transcript };
  const tc = sim.track(new TrustCenter({ ...opts, eui64: TC_EUI, keyRandom: sim.keyRandom() }));
  const router = sim.track(new Joiner({ ...opts, eui64: ROUTER_EUI, name: 'router', deviceType: 'router', installCode: INSTALL_CODE_2 }));
  const dut = sim.track(new Joiner({ ...opts, eui64: DUT_EUI, installCode: INSTALL_CODE }));
  const sleepy = sim.track(new Joiner({ ...opts, eui64: DUT2_EUI, name: 'sleepy', deviceType: 'sleepy-end-device' }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.addInstallCode(DUT_EUI, INSTALL_CODE);
  await tc.addInstallCode(ROUTER_EUI, INSTALL_CODE_2);
  await tc.permitJoin(120);
  expect(await within(sim, 60_000, 'router join', router.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
  await tc.permitJoin(120); // again, now that the router hears the Mgmt_Permit_Joining_req
  expect(await within(sim, 60_000, 'dut join', dut.join({ channel: CHANNEL, parentShort: 0x0000 }))).toMatchObject({ joined: true, tclk: 'verified' });
  // A sleepy device with the well-known key behind the router: Update Device, Tunnel, polling.
  expect(await within(sim, 60_000, 'sleepy join', sleepy.join({ channel: CHANNEL, parentShort: router.shortAddress }))).toMatchObject({ joined: true, tclk: 'verified' });
  const app = new RecorderApp();
  dut.node.registerApplication(app);
  await within(sim, 30_000, 'APS data', tc.node.service.send({ dst: { eui64: DUT_EUI }, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x0025, profileId: 0x0109, payload: Uint8Array.of(0x00, 0x07, 0x00, 0x00, 0x00), apsSecurity: true }));
  await within(sim, 30_000, 'key update', tc.updateNetworkKey(hexToBytes('00112233445566778899aabbccddeeff'), 2_000));
  await within(sim, 30_000, 'leave', dut.leave());
  await sim.run(1_000);

  const capture = path.join(dir, 'scenario.pcapng');
  const w = openPcapngWriter(capture, { interfaceName: 'sim', description: 'virtual air, channel 15' });
  for (const f of sim.sniffed) w.writeFrame({ psdu: f.psdu, fcsIncluded: true, timestampUs: f.timestampUs + 1_700_000_000_000_000n, channel: f.channel, rssi: f.rssi, lqi: f.lqi });
  w.close();
  const table = await tc.keyTable();
  const keys: WiresharkKey[] = [
    { label: 'network key #0', key: NETWORK_KEY },
    { label: 'network key #1', key: hexToBytes('00112233445566778899aabbccddeeff') },
    { label: 'install code dut', key: hexToBytes(INSTALL_CODE_KEY) },
    ...table.filter((k) => k.kind !== 'install-code').map((k) => ({ label: `${k.kind} ${k.eui64}`, key: k.key })),
    ...table.filter((k) => k.kind === 'install-code').map((k) => ({ label: `install code ${k.eui64}`, key: k.key })),
    { label: 'ZigBeeAlliance09', key: hexToBytes('5a6967426565416c6c69616e63653039') },
  ];
  writeWiresharkKeys(capture, keys);
  return { capture, keys, frames: sim.sniffed.length };
}

describe.skipIf(!tsharkAvailable)('tshark reads the simulated air', () => {
  it('accepts every frame: not malformed, no expert error, FCS valid, every secured layer decrypted', async () => {
    const { capture, keys, frames } = await scenario();
    expect(fs.existsSync(`${capture}.zigbee_pc_keys`)).toBe(true);
    const { problems, frames: seen, decryptedByLabel, decryptedByLearned } = tsharkCaptureProblems(capture, keys);
    expect(seen).toBe(frames);
    expect(decryptedByLabel).toBeGreaterThan(0);
    expect(decryptedByLearned).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    const rows = runTshark(capture, keys, ['zbee_aps.cmd.id']);
    const pdml = runTsharkPdml(capture, keys);
    expect(pdml).not.toMatch(/Encrypted Payload/);
    // The commands we expect are there, as Wireshark names them.
    const apsCmds = new Set(rows.flatMap((r) => (r[0] ? r[0].split(',') : [])));
    for (const id of ['0x05', '0x06', '0x08', '0x09', '0x0e', '0x0f', '0x10']) expect([...apsCmds].map((x) => '0x' + Number(x).toString(16).padStart(2, '0'))).toContain(id);
  });
});

if (!tsharkAvailable) it.skip(tsharkSkipReason, () => {});
