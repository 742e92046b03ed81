// Key Establishment applications end to end over the in-memory APS network: suite negotiation,
// suite 1 and suite 2 exchanges (keys cross-checked with runKeyEstablishment), wire format, NWK-only
// security, dynamic and automatic activation, broadcast frames, busy responder, missing acks.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../harness/crypto/bytes.ts';
import { type CryptoSuite, KeStatus, randomScalar } from '../../../harness/crypto/cbke-suites.ts';
import { runKeyEstablishment } from '../../../harness/crypto/cbke.ts';
import { deterministicRandom } from '../../../harness/crypto/test-ca.ts';
import { KEY_ESTABLISHMENT_CLUSTER, KE_TIMING } from '../../../harness/stack/apps/key-establishment.ts';
import { inject } from './aps-pair.ts';
import { airOf, names } from './air.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, DEV2_EUI, DEV_EUI, IC_KEY, SE_ENDPOINT, TC_EUI, issue, makeRig, testCa } from './fixtures.ts';

const hex = (b: Uint8Array | undefined) => (b ? bytesToHex(b) : 'none');

/** What runKeyEstablishment computes with the same certificates and the same ephemeral draws. */
function expectedKey(suite: CryptoSuite): string {
  const dev = issue(suite, DEV_EUI);
  const tc = issue(suite, TC_EUI);
  const run = runKeyEstablishment({
    suite, trustedCas: [testCa(suite).trusted()],
    initiator: { certificate: dev.certificate, privateKey: dev.privateKey, partnerEui64: hexToBytes(TC_EUI),
      ephemeralPrivateKey: randomScalar(suite.curve, deterministicRandom(`dev-ephemeral-${DEV_EUI}`)) },
    responder: { certificate: tc.certificate, privateKey: tc.privateKey, partnerEui64: hexToBytes(DEV_EUI),
      ephemeralPrivateKey: randomScalar(suite.curve, deterministicRandom('tc-ephemeral')) },
  });
  expect(run.initiator.ok && run.responder.ok).toBe(true);
  expect(hex(run.initiator.result?.keyData)).toBe(hex(run.responder.result?.keyData));
  return hex(run.initiator.result?.keyData);
}

describe('CBKE between the client and server applications', () => {
  it.each([
    { suite: CRYPTO_SUITE_2, serverSuites: 0x0003, certBytes: 74, pointBytes: 37 },
    { suite: CRYPTO_SUITE_1, serverSuites: 0x0001, certBytes: 48, pointBytes: 22 },
  ])('suite $suite.id: negotiates (client 0x0003, server $serverSuites), both ends install the same key as runKeyEstablishment', async ({ suite, serverSuites, certBytes, pointBytes }) => {
    const rig = makeRig({ server: { behaviour: { suites: serverSuites } } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(1000); // let the last frames (Default Response) land

    expect(out).toMatchObject({ ok: true, role: 'initiator', suite: suite.id, partner: TC_EUI, keyLabel: `cbke@${DEV_EUI}` });
    expect(rig.server.lastOutcome).toMatchObject({ ok: true, role: 'responder', suite: suite.id, partner: DEV_EUI, keyLabel: `cbke@${DEV_EUI}` });
    const devKey = rig.dev.node.getLinkKey(TC_EUI);
    const tcKey = rig.tc.getLinkKey(DEV_EUI);
    expect(devKey?.origin).toBe('cbke');
    expect(tcKey?.origin).toBe('cbke');
    expect(hex(devKey?.key)).toBe(hex(tcKey?.key));
    expect(hex(devKey?.key)).not.toBe(hex(IC_KEY));
    expect(hex(devKey?.key)).toBe(expectedKey(suite));
    if (out.ok) expect(hex(out.key)).toBe(hex(devKey?.key));

    const air = airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER);
    expect(names(air)).toEqual([
      'dev: Read Attributes', 'tc: Read Attributes Response',
      'dev: Initiate Key Establishment Request', 'tc: Initiate Key Establishment Response',
      'dev: Ephemeral Data Request', 'tc: Ephemeral Data Response',
      'dev: Confirm Key Data Request', 'tc: Confirm Key Data Response',
      'dev: Default Response SUCCESS',
    ]);
    // protocol.md §6.2: unicast, APS ack, NWK security only (no APS encryption).
    for (const l of air) expect(l).toMatchObject({ apsSecured: false, broadcast: false, ackRequest: true, fate: 'delivered' });
    const ke = air.filter((l) => l.name.includes('Key') || l.name.includes('Ephemeral'));
    // Frame control 0x01 (cluster, client→server) / 0x09 (cluster, server→client), default response enabled (EMBER).
    expect(ke.map((l) => l.frameControl)).toEqual([1, 9, 1, 9, 1, 9]);
    // One TSN for the exchange, echoed by the responder.
    expect(new Set(ke.map((l) => l.tsn)).size).toBe(1);
    expect(ke.map((l) => l.payloadBytes)).toEqual([4 + certBytes, 4 + certBytes, pointBytes, pointBytes, 16, 16]);
  });

  it('the Initiate advertises EMBER\'s 11 s / 16 s and the suite the server read', async () => {
    const rig = makeRig({ server: { behaviour: { suites: 0x0001 } } });
    await rig.dev.client.startKeyEstablishment();
    const initiate = rig.net.framesOf(KEY_ESTABLISHMENT_CLUSTER).find((f) => f.payload[2] === 0x00 && f.payload[0] === 0x01);
    expect(bytesToHex((initiate?.payload ?? new Uint8Array(0)).subarray(3, 7))).toBe('01000b10');
    expect(KE_TIMING).toMatchObject({ slackS: 10, ephemeralDataGenerateTimeS: 11, confirmKeyGenerateTimeS: 16, terminateWaitTimeS: 30 });
  });

  it('no common suite: the client stops after reading the attribute, with UNSUPPORTED_SUITE and no Terminate', async () => {
    const rig = makeRig({ server: { behaviour: { suites: 0x0001 } }, client: { behaviour: { cbkeSuites: 0x0002 } } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'no-common-suite', status: KeStatus.UNSUPPORTED_SUITE, statusName: 'UNSUPPORTED_SUITE', terminate: 'none', step: 'read-suite' });
    expect(names(airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER))).toEqual(['dev: Read Attributes', 'tc: Read Attributes Response']);
    expect(rig.dev.node.getLinkKey(TC_EUI)?.origin).toBe('install-code');
  });

  it('an Initiate for a suite the server lacks gets Terminate UNSUPPORTED_SUITE (wait 30 s)', async () => {
    const rig = makeRig({ server: { behaviour: { suites: 0x0001 } }, client: { behaviour: { cbkeSuites: 0x0002 }, readServerSuites: false } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.UNSUPPORTED_SUITE, terminate: 'received', waitTimeS: 30, step: 'initiate' });
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'unsupported-suite', terminate: 'sent' });
    const air = airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER);
    expect(names(air).slice(0, 2)).toEqual(['dev: Initiate Key Establishment Request', 'tc: Terminate Key Establishment UNSUPPORTED_SUITE']);
  });

  it('dynamic activation: nothing happens until startKeyEstablishment(), which may come any time after join', async () => {
    const rig = makeRig();
    await rig.clock.sleep(3600_000);
    expect(rig.net.frames).toHaveLength(0);
    const t0 = rig.clock.now();
    const [a, b] = await Promise.all([rig.dev.client.startKeyEstablishment(), rig.dev.client.startKeyEstablishment()]);
    expect(a).toBe(b); // a second call while one runs joins the running exchange
    expect(a.ok && a.startedAt).toBe(t0);
    expect(rig.dev.client.running).toBe(false);
    // Re-keying later replaces the CBKE key with a new one (fresh ephemeral keys).
    const first = hex(rig.tc.getLinkKey(DEV_EUI)?.key);
    const again = await rig.dev.client.startKeyEstablishment();
    expect(again.ok).toBe(true);
    expect(hex(rig.tc.getLinkKey(DEV_EUI)?.key)).not.toBe(first);
    expect(hex(rig.tc.getLinkKey(DEV_EUI)?.key)).toBe(hex(rig.dev.node.getLinkKey(TC_EUI)?.key));
  });

  it('auto-start after join when configured (and not again for the same TC)', async () => {
    const rig = makeRig({ client: { autoStart: true, autoStartDelayMs: 3000 } });
    rig.dev.client.onNetworkUp();
    await rig.clock.sleep(60_000);
    expect(rig.dev.client.lastOutcome).toMatchObject({ ok: true });
    expect(rig.net.frames[0].at).toBe(3000);
    const count = rig.net.frames.length;
    rig.dev.client.onNetworkUp();
    await rig.clock.sleep(60_000);
    expect(rig.net.frames.length).toBe(count);
  });

  it('ignores Key Establishment frames sent as broadcast (EMBER)', async () => {
    const rig = makeRig();
    const cert = issue(CRYPTO_SUITE_1, DEV_EUI).certificate;
    const payload = Uint8Array.of(0x01, 0x42, 0x00, 0x01, 0x00, 0x0b, 0x10, ...cert);
    await inject(rig.dev.node, { dst: { short: 0xfffd }, dstEndpoint: 0xff, srcEndpoint: SE_ENDPOINT, clusterId: KEY_ESTABLISHMENT_CLUSTER, profileId: 0x0109, payload });
    await rig.clock.sleep(30_000);
    expect(rig.net.frames).toHaveLength(1);
    expect(rig.server.outcomes).toHaveLength(0);
    expect(rig.server.events.some((e) => e.type === 'ignored' && e.detail?.why === 'broadcast')).toBe(true);
  });

  it('busy responder: a second initiator gets Terminate NO_RESOURCES with WaitTime 30 s', async () => {
    const rig = makeRig({ server: { behaviour: { suites: 0x0001 } } });
    const dev2 = rig.addDevice(DEV2_EUI, 0x5678);
    const [a, b] = await Promise.all([rig.dev.client.startKeyEstablishment(), dev2.client.startKeyEstablishment()]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.NO_RESOURCES, statusName: 'NO_RESOURCES', waitTimeS: 30, terminate: 'received' });
    expect(rig.server.outcomes.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['busy', 'ok']);
    const air = airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER).filter((l) => l.terminate);
    expect(air).toEqual([expect.objectContaining({ from: 'tc', to: 'dev-0d02', terminate: 'NO_RESOURCES', waitTime: 30 })]);
    // After the first exchange the second device gets its turn.
    const retry = await dev2.client.startKeyEstablishment();
    expect(retry.ok).toBe(true);
  });

  it('a missing APS ack ends the exchange without a Terminate', async () => {
    const rig = makeRig({ client: { readServerSuites: false } });
    rig.tc.online = false;
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'no-ack', terminate: 'none', step: 'initiate' });
    expect(out.endedAt - out.startedAt).toBe(rig.net.noAckAfterMs);
    expect(airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER).filter((l) => l.terminate)).toEqual([]);
  });

  it('refuses to start when not hosted, and the server attribute reads back as enum16', async () => {
    const rig = makeRig({ server: { behaviour: { suites: 0x0002 } } });
    expect(rig.server.offeredSuites).toBe(0x0002);
    expect(rig.dev.client.offeredSuites).toBe(0x0003);
    const { KeyEstablishmentClient } = await import('../../../harness/stack/apps/key-establishment.ts');
    const loose = new KeyEstablishmentClient({ credentials: [] });
    expect(() => loose.startKeyEstablishment()).toThrow(/not attached/);
    expect(rig.server.attributes[0]).toMatchObject({ id: 0, dataType: 0x31 });
  });
});
