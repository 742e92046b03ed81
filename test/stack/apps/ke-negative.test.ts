// Key Establishment failure paths: each Terminate status from the side that must send it, the
// known-bad TC and joiner profiles, timeouts (no Terminate to a partner that timed out) and
// out-of-sequence / wrong-length messages.
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../../../harness/crypto/bytes.ts';
import { type CryptoSuite, KeStatus } from '../../../harness/crypto/cbke-suites.ts';
import { type BrokenKind, TEST_CA_NOW } from '../../../harness/crypto/test-ca.ts';
import type { ApsApplication, ApsDataIndication } from '../../../harness/stack/app.ts';
import { KEY_ESTABLISHMENT_CLUSTER } from '../../../harness/stack/apps/key-establishment.ts';
import { joinerProfile, tcProfile } from '../../../harness/stack/profiles.ts';
import { encodeKeyEstablishmentCommand } from '../../../harness/zigbee/clusters/key-establishment.ts';
import { inject } from './aps-pair.ts';
import { airOf, names } from './air.ts';
import { CRYPTO_SUITE_1, CRYPTO_SUITE_2, DEV2_EUI, DEV_EUI, IC_KEY, SE_ENDPOINT, TC_EUI, credential, credentials, issue, makeRig, testCa } from './fixtures.ts';

const broken = (suite: CryptoSuite, kind: BrokenKind, eui = DEV_EUI) => testCa(suite).issueBroken(kind, { subject: hexToBytes(eui) });
const terminatesOnAir = (rig: ReturnType<typeof makeRig>, from: string) =>
  airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER).filter((l) => l.from === from && l.terminate).map((l) => `${l.terminate}/${l.waitTime}`);
const keysUntouched = (rig: ReturnType<typeof makeRig>) => {
  expect(rig.dev.node.getLinkKey(TC_EUI)).toMatchObject({ origin: 'install-code', key: IC_KEY });
  expect(rig.tc.getLinkKey(DEV_EUI)).toMatchObject({ origin: 'install-code', key: IC_KEY });
};

describe('certificate problems → the Terminate status a compliant partner sends', () => {
  it('TC certificate from an untrusted CA (profile cbke-unknown-issuer-cert): the device sends UNKNOWN_ISSUER', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-unknown-issuer-cert').behaviour.cbke } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(1000);
    expect(out).toMatchObject({ ok: false, reason: 'unknown-issuer', status: KeStatus.UNKNOWN_ISSUER, terminate: 'sent', step: 'initiate' });
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.UNKNOWN_ISSUER, terminate: 'received', waitTimeS: 30 });
    expect(terminatesOnAir(rig, 'dev')).toEqual(['UNKNOWN_ISSUER/30']);
    keysUntouched(rig);
  });

  it('joiner profile accepts-unknown-issuer completes with an untrusted TC certificate (same CA key, issuer "NOTTRUST")', async () => {
    const wrongIssuer = broken(CRYPTO_SUITE_2, 'wrong-issuer', TC_EUI);
    const rig = makeRig({
      server: { behaviour: { unknownIssuer: true }, untrustedCredentials: [credential(CRYPTO_SUITE_2, wrongIssuer)] },
      client: { behaviour: joinerProfile('accepts-unknown-issuer').behaviour },
    });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: true, suite: 2 });
    expect(bytesToHex(rig.dev.node.getLinkKey(TC_EUI)?.key ?? new Uint8Array(0))).toBe(bytesToHex(rig.tc.getLinkKey(DEV_EUI)?.key ?? new Uint8Array(1)));
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
    // The compliant joiner refuses the same certificate.
    const strict = makeRig({ server: { behaviour: { unknownIssuer: true }, untrustedCredentials: [credential(CRYPTO_SUITE_2, wrongIssuer)] } });
    expect(await strict.dev.client.startKeyEstablishment()).toMatchObject({ ok: false, status: KeStatus.UNKNOWN_ISSUER, terminate: 'sent' });
  });

  it('accepts-unknown-issuer with a certificate of a foreign CA key: no UNKNOWN_ISSUER, the TC then fails key confirmation', async () => {
    const rig = makeRig({
      server: { behaviour: tcProfile('cbke-unknown-issuer-cert').behaviour.cbke },
      client: { behaviour: joinerProfile('accepts-unknown-issuer').behaviour },
    });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.BAD_KEY_CONFIRM, step: 'confirm' });
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'bad-key-confirm', terminate: 'sent' });
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
    expect(terminatesOnAir(rig, 'tc')).toEqual(['BAD_KEY_CONFIRM/30']);
  });

  it('device certificate subject ≠ sender EUI-64: the TC sends BAD_MESSAGE', async () => {
    const rig = makeRig({ client: { credentials: [credential(CRYPTO_SUITE_1, broken(CRYPTO_SUITE_1, 'wrong-subject'))] } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.BAD_MESSAGE, step: 'initiate', waitTimeS: 30 });
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'subject-mismatch', status: KeStatus.BAD_MESSAGE, terminate: 'sent' });
    keysUntouched(rig);
  });

  it('TC certificate subject ≠ the TC EUI-64: the device sends BAD_MESSAGE (EMBER "EUI64 of TC does not match its cert")', async () => {
    const rig = makeRig({ server: { credentials: [credential(CRYPTO_SUITE_2, broken(CRYPTO_SUITE_2, 'wrong-subject', TC_EUI))] } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'subject-mismatch', status: KeStatus.BAD_MESSAGE, terminate: 'sent', step: 'initiate' });
    expect(terminatesOnAir(rig, 'dev')).toEqual(['BAD_MESSAGE/30']);
  });

  it.each([
    // KeyUsage without key agreement is visible in the certificate: INVALID_CERTIFICATE before any crypto.
    { kind: 'bad-key-usage-signature', suite: CRYPTO_SUITE_2, status: KeStatus.INVALID_CERTIFICATE, reason: 'bad-key-usage', step: 'initiate' },
    { kind: 'bad-key-usage-none', suite: CRYPTO_SUITE_2, status: KeStatus.INVALID_CERTIFICATE, reason: 'bad-key-usage', step: 'initiate' },
    // A reconstruction point off the curve cannot be decompressed: INVALID_CERTIFICATE at once.
    { kind: 'corrupted-point', suite: CRYPTO_SUITE_1, status: KeStatus.INVALID_CERTIFICATE, reason: 'bad-reconstruction-point', step: 'initiate' },
    // A byte flipped elsewhere still parses and decompresses: ECQV silently yields another public
    // key, so the shared secrets differ and the TC only notices when MACU does not verify.
    { kind: 'corrupted', suite: CRYPTO_SUITE_1, status: KeStatus.BAD_KEY_CONFIRM, reason: 'bad-key-confirm', step: 'confirm' },
    { kind: 'corrupted', suite: CRYPTO_SUITE_2, status: KeStatus.BAD_KEY_CONFIRM, reason: 'bad-key-confirm', step: 'confirm' },
  ] as const)('device certificate $kind (suite $suite.id) → TC sends $reason', async ({ kind, suite, status, reason, step }) => {
    const rig = makeRig({ client: { credentials: [credential(suite, broken(suite, kind))] } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'partner-terminated', status, terminate: 'received' });
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason, status, terminate: 'sent', step });
    keysUntouched(rig);
  });

  it('an expired suite-2 certificate is INVALID_CERTIFICATE when the TC judges validity', async () => {
    const rig = makeRig({ server: { unixTime: () => TEST_CA_NOW }, client: { credentials: [credential(CRYPTO_SUITE_2, broken(CRYPTO_SUITE_2, 'expired'))] } });
    await rig.dev.client.startKeyEstablishment();
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'expired', status: KeStatus.INVALID_CERTIFICATE });
  });
});

describe('key confirmation', () => {
  it('TC profile cbke-bad-mac: the device sends BAD_KEY_CONFIRM; the TC puts the install-code key back', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-bad-mac').behaviour.cbke } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(1000);
    expect(out).toMatchObject({ ok: false, reason: 'bad-key-confirm', status: KeStatus.BAD_KEY_CONFIRM, terminate: 'sent', step: 'confirm' });
    expect(rig.server.outcomes.map((o) => (o.ok ? 'ok' : `${o.step}:${o.reason}:${o.statusName}`))).toEqual(['ok', 'after-confirm:partner-terminated:BAD_KEY_CONFIRM']);
    expect(rig.tc.keyLog.map((k) => k.origin)).toEqual(['install-code', 'cbke', 'install-code']);
    keysUntouched(rig);
    expect(terminatesOnAir(rig, 'dev')).toEqual(['BAD_KEY_CONFIRM/30']);
  });
});

describe('timeouts: slack 10 s + the partner\'s advertised time, no Terminate to a partner that timed out', () => {
  it('joiner profile ignores-bad-key-confirm installs the unconfirmed key and sends no Terminate (what CB*-05 catches)', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-bad-mac').behaviour.cbke }, client: { behaviour: joinerProfile('ignores-bad-key-confirm').behaviour } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(1000);
    expect(out).toMatchObject({ ok: true });
    expect(rig.dev.node.getLinkKey(TC_EUI)).toMatchObject({ origin: 'cbke' });
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
  });

  it('TC profile cbke-slow: the device gives up 10 + 11 s after its Ephemeral Data Request and sends nothing', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-slow').behaviour.cbke } });
    const out = await rig.dev.client.startKeyEstablishment();
    const txEph = rig.dev.client.events.find((e) => e.type === 'tx' && e.command === 'Ephemeral Data Request')?.at ?? NaN;
    expect(out).toMatchObject({ ok: false, reason: 'timeout', step: 'ephemeral', terminate: 'none' });
    expect(out.endedAt - txEph).toBe((10 + 11) * 1000);
    await rig.clock.sleep(120_000);
    const air = airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER);
    // The TC answered 11 + 30 s after the request reached it; the device ignored the late answer.
    const late = air.find((l) => l.name === 'Ephemeral Data Response');
    expect((late?.at ?? NaN) - txEph).toBe(rig.net.delayMs + (11 + 30) * 1000);
    expect(rig.dev.client.events.some((e) => e.type === 'ignored' && e.command === 'Ephemeral Data Response')).toBe(true);
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
    // …and the TC, waiting 10 + 16 s for a Confirm Key that never comes, does not terminate either.
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'timeout', step: 'confirm', terminate: 'none' });
    expect(terminatesOnAir(rig, 'tc')).toEqual([]);
  });

  it('joiner profile terminates-after-timeout sends the Terminate the suite must catch', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-slow').behaviour.cbke }, client: { behaviour: joinerProfile('terminates-after-timeout').behaviour } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(120_000);
    const txEph = rig.dev.client.events.find((e) => e.type === 'tx' && e.command === 'Ephemeral Data Request')?.at ?? NaN;
    expect(out).toMatchObject({ ok: false, reason: 'timeout', terminate: 'sent', status: KeStatus.BAD_MESSAGE });
    const term = airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER).find((l) => l.from === 'dev' && l.terminate);
    expect(term && term.at - txEph).toBe(21_000);
    // The TC ends its exchange on the Terminate, and its late answer is never sent.
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.BAD_MESSAGE, step: 'ephemeral' });
    expect(names(airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER))).not.toContain('tc: Ephemeral Data Response');
  });

  it('the TC waits 10 s + the device\'s advertised 11 s for the Ephemeral Data Request', async () => {
    const rig = makeRig();
    // Lose every Ephemeral Data Request (cluster command 0x01, client→server).
    rig.net.dropIf = (f) => f.clusterId === KEY_ESTABLISHMENT_CLUSTER && f.payload[0] === 0x01 && f.payload[2] === 0x01;
    rig.net.noAckAfterMs = 60_000;
    void rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(120_000);
    const rsp = airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER).find((l) => l.name === 'Initiate Key Establishment Response');
    const o = rig.server.lastOutcome;
    expect(o).toMatchObject({ ok: false, reason: 'timeout', step: 'ephemeral', terminate: 'none' });
    expect((o?.endedAt ?? NaN) - (rsp?.at ?? NaN)).toBe(21_000);
  });
});

/** An endpoint that only records what reaches it, for sending hand-made KE frames. */
class Recorder implements ApsApplication {
  readonly endpoint = SE_ENDPOINT;
  readonly profileId = 0x0109;
  readonly inClusters = [];
  readonly outClusters = [KEY_ESTABLISHMENT_CLUSTER];
  readonly got: ApsDataIndication[] = [];
  onData(ind: ApsDataIndication): void { this.got.push(ind); }
}

describe('out-of-sequence and malformed messages → BAD_MESSAGE', () => {
  const setup = () => {
    const rig = makeRig();
    const rec = new Recorder();
    const raw = rig.net.addNode({ name: 'raw', eui64: DEV2_EUI, short: 0x5678, apps: [rec] });
    const send = (commandId: number, body: Uint8Array) => inject(raw, {
      dst: { short: 0x0000 }, dstEndpoint: SE_ENDPOINT, srcEndpoint: SE_ENDPOINT, clusterId: KEY_ESTABLISHMENT_CLUSTER, profileId: 0x0109,
      payload: Uint8Array.of(0x01, 0x33, commandId, ...body),
    });
    const initiate = encodeKeyEstablishmentCommand({
      type: 'initiateKeyEstablishment', suite: 1, ephemeralDataGenerateTime: 11, confirmKeyGenerateTime: 16,
      identity: issue(CRYPTO_SUITE_1, DEV2_EUI).certificate,
    });
    const lastTerminate = () => airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER).filter((l) => l.from === 'tc' && l.terminate).map((l) => l.terminate);
    return { rig, rec, send, initiate, lastTerminate };
  };

  it('an Ephemeral Data Request with no exchange running', async () => {
    const { rig, send, lastTerminate } = setup();
    await send(0x01, new Uint8Array(22).fill(2));
    await rig.clock.sleep(100);
    expect(lastTerminate()).toEqual(['BAD_MESSAGE']);
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'unexpected-message', status: KeStatus.BAD_MESSAGE });
  });

  it('a Confirm Key Data Request where the Ephemeral Data Request belongs', async () => {
    const { rig, rec, send, initiate, lastTerminate } = setup();
    await send(0x00, initiate);
    await rig.clock.sleep(100);
    expect(rec.got.map((i) => i.payload[2])).toEqual([0x00]); // Initiate Key Establishment Response
    await send(0x02, new Uint8Array(16));
    await rig.clock.sleep(100);
    expect(lastTerminate()).toEqual(['BAD_MESSAGE']);
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'unexpected-message', step: 'ephemeral', status: KeStatus.BAD_MESSAGE });
    expect(rig.server.busy).toBe(false);
  });

  it('an Ephemeral Data Request of the wrong length (23 bytes for suite 1)', async () => {
    const { rig, send, initiate, lastTerminate } = setup();
    await send(0x00, initiate);
    await send(0x01, new Uint8Array(23).fill(3));
    await rig.clock.sleep(100);
    expect(lastTerminate()).toEqual(['BAD_MESSAGE']);
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'malformed-message', status: KeStatus.BAD_MESSAGE });
  });

  it('an Initiate whose suite field has two bits set', async () => {
    const { rig, send, initiate, lastTerminate } = setup();
    const twoBits = initiate.slice();
    twoBits[0] = 0x03;
    await send(0x00, twoBits);
    await rig.clock.sleep(100);
    expect(lastTerminate()).toEqual(['BAD_MESSAGE']);
  });

  it('the device answers a response out of order with BAD_MESSAGE', async () => {
    const rig = makeRig({ client: { credentials: credentials(DEV_EUI, [CRYPTO_SUITE_1]) } });
    // The TC's Initiate Response is lost; a (forged) Ephemeral Data Response comes instead.
    rig.net.dropIf = (f) => f.from === 'tc' && f.payload[0] === 0x09 && f.payload[2] === 0x00;
    const pending = rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(50);
    const tsn = rig.net.frames.filter((f) => f.from === 'dev').at(-1)?.payload[1] ?? 0;
    await inject(rig.tc, {
      dst: { short: 0x1234 }, dstEndpoint: SE_ENDPOINT, srcEndpoint: SE_ENDPOINT, clusterId: KEY_ESTABLISHMENT_CLUSTER, profileId: 0x0109,
      payload: Uint8Array.of(0x09, tsn, 0x01, ...new Uint8Array(22).fill(2)),
    });
    expect(await pending).toMatchObject({ ok: false, reason: 'unexpected-message', status: KeStatus.BAD_MESSAGE, terminate: 'sent', step: 'initiate' });
  });
});

describe('TC profiles with a broken certificate / out-of-sequence responses, and the joiner profiles that miss them', () => {
  const issuingCa = (s: CryptoSuite) => testCa(s);
  const tcWith = (name: string) => ({ behaviour: tcProfile(name).behaviour.cbke, issuingCa });

  it.each([CRYPTO_SUITE_1, CRYPTO_SUITE_2])('cbke-subject-mismatch-cert (suite $id): the device sends BAD_MESSAGE after the Initiate Response, keys untouched', async (suite) => {
    const rig = makeRig({ server: tcWith('cbke-subject-mismatch-cert'), client: { credentials: credentials(DEV_EUI, [suite]) } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(1000);
    expect(out).toMatchObject({ ok: false, reason: 'subject-mismatch', status: KeStatus.BAD_MESSAGE, terminate: 'sent', step: 'initiate' });
    expect(rig.server.lastOutcome).toMatchObject({ ok: false, reason: 'partner-terminated', status: KeStatus.BAD_MESSAGE });
    expect(terminatesOnAir(rig, 'dev')).toEqual(['BAD_MESSAGE/30']);
    keysUntouched(rig);
  });

  it('joiner profile accepts-subject-mismatch completes CBKE with that certificate (both ends hold the key)', async () => {
    const rig = makeRig({ server: tcWith('cbke-subject-mismatch-cert'), client: { behaviour: joinerProfile('accepts-subject-mismatch').behaviour } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: true });
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
    expect(rig.tc.getLinkKey(DEV_EUI)?.origin).toBe('cbke');
  });

  it.each([CRYPTO_SUITE_1, CRYPTO_SUITE_2])('cbke-corrupted-cert (suite $id): reconstruction point off the curve → the device sends INVALID_CERTIFICATE', async (suite) => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-corrupted-cert').behaviour.cbke }, client: { credentials: credentials(DEV_EUI, [suite]) } });
    const out = await rig.dev.client.startKeyEstablishment();
    expect(out).toMatchObject({ ok: false, reason: 'bad-reconstruction-point', status: KeStatus.INVALID_CERTIFICATE, terminate: 'sent', step: 'initiate' });
    keysUntouched(rig);
  });

  it('cbke-bad-key-usage-cert: a suite-2 certificate with KeyUsage 0x80 → INVALID_CERTIFICATE; on suite 1 (no KeyUsage) the TC stays valid', async () => {
    const rig = makeRig({ server: tcWith('cbke-bad-key-usage-cert'), client: { credentials: credentials(DEV_EUI, [CRYPTO_SUITE_2]) } });
    expect(await rig.dev.client.startKeyEstablishment()).toMatchObject({ ok: false, reason: 'bad-key-usage', status: KeStatus.INVALID_CERTIFICATE, terminate: 'sent' });
    const v1 = makeRig({ server: tcWith('cbke-bad-key-usage-cert'), client: { credentials: credentials(DEV_EUI, [CRYPTO_SUITE_1]) } });
    expect(await v1.dev.client.startKeyEstablishment()).toMatchObject({ ok: true, suite: 1 });
  });

  it('joiner profile ignores-key-usage completes suite-2 CBKE with that certificate (what CB2-12 catches)', async () => {
    const rig = makeRig({ server: tcWith('cbke-bad-key-usage-cert'), client: { credentials: credentials(DEV_EUI, [CRYPTO_SUITE_2]), behaviour: joinerProfile('ignores-key-usage').behaviour } });
    expect(await rig.dev.client.startKeyEstablishment()).toMatchObject({ ok: true, suite: 2 });
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
  });

  it('cbke-out-of-sequence: Ephemeral Data Response before the Initiate Response → the device sends BAD_MESSAGE, the TC ends its side', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-out-of-sequence').behaviour.cbke } });
    const out = await rig.dev.client.startKeyEstablishment();
    await rig.clock.sleep(1000);
    expect(out).toMatchObject({ ok: false, reason: 'unexpected-message', status: KeStatus.BAD_MESSAGE, terminate: 'sent', step: 'initiate' });
    const fromTc = names(airOf(rig.net, KEY_ESTABLISHMENT_CLUSTER)).filter((l) => l.startsWith('tc: ') && !l.includes('Read Attributes'));
    expect(fromTc.slice(0, 2)).toEqual(['tc: Ephemeral Data Response', 'tc: Initiate Key Establishment Response']);
    expect(terminatesOnAir(rig, 'dev')).toEqual(['BAD_MESSAGE/30']);
    expect(rig.server.busy).toBe(false);
    keysUntouched(rig);
  });

  it('joiner profile ignores-out-of-sequence drops the stray response and completes CBKE', async () => {
    const rig = makeRig({ server: { behaviour: tcProfile('cbke-out-of-sequence').behaviour.cbke }, client: { behaviour: joinerProfile('ignores-out-of-sequence').behaviour } });
    expect(await rig.dev.client.startKeyEstablishment()).toMatchObject({ ok: true });
    expect(terminatesOnAir(rig, 'dev')).toEqual([]);
  });
});
