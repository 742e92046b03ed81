// Scenario 2 of the issue: the nRF/ZBOSS router of shared/sources/nrf-zboss-router-vs-legacy-tc-thread.txt.
// A strict Zigbee 3.0 joiner that joined with ZigBeeAlliance09 asks a legacy TC for a TC link key
// and gets ZigBeeAlliance09 back: it drops the key ("received link key identical to provisional
// link key - drop packet and fail tclk exchange"), fails the exchange and leaves (the thread's
// second capture: "our product refuse this key and decide to leave the network"; protocol.md §4.4).
// The thread's first capture — a device that started the exchange and never completed it, expelled
// by the TC — is the TC's bdbTrustCenterNodeJoinTimeout, checked here as well.
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { ApsKeyType } from '../../harness/zigbee/aps.ts';
import { Joiner } from '../../harness/stack/joiner.ts';
import { COMPLIANT_TC, joinerProfile, tcProfile } from '../../harness/stack/profiles.ts';
import { TrustCenter } from '../../harness/stack/trust-center.ts';
import { apsCommandOf, CHANNEL, createSim, decodeAir, DUT_EUI, NETWORK_KEY, PAN_ID, TC_EUI, within, type Sim } from './helpers.ts';

const ZBA09 = { label: 'ZigBeeAlliance09', key: hexToBytes('5a6967426565416c6c69616e63653039') };
let sim: Sim;
afterEach(() => sim?.stopAll());

async function network(profile: string, opts: { requireKeyExchange?: boolean } = {}) {
  sim = createSim();
  const tc = sim.track(new TrustCenter({ air: sim.air, clock: sim.clock, eui64: TC_EUI, transcript: sim.transcript, profile: tcProfile(profile), ...opts }));
  await tc.form({ channel: CHANNEL, panId: PAN_ID, networkKey: NETWORK_KEY });
  await tc.permitJoin(180);
  return tc;
}

function nrfRouter(profile = 'compliant') {
  // No install code: the router joins with the well-known key, as in the thread's captures.
  return sim.track(new Joiner({ air: sim.air, clock: sim.clock, eui64: DUT_EUI, name: 'nrf', deviceType: 'router', profile: joinerProfile(profile), transcript: sim.transcript }));
}

describe('strict Zigbee 3.0 router vs a legacy TC that answers Request Key with ZigBeeAlliance09', () => {
  it('drops the Transport Key that repeats its provisional key, fails the exchange and leaves; the TC forgets it', async () => {
    const tc = await network('legacy-global-key');
    const nrf = nrfRouter();
    const r = await within(sim, 60_000, 'join result', nrf.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: false, code: 'tclk-exchange-failed', left: true });
    expect(r.reason).toMatch(/identical to provisional link key/);
    expect(nrf.joined).toBe(false);
    await sim.run(100);
    expect(tc.devices.has(DUT_EUI)).toBe(false);
    expect(sim.transcript.has('tc.device-left', (d) => d.device === DUT_EUI && d.announced === true)).toBe(true);

    // From the air: TK (TC link key) carrying ZigBeeAlliance09 under its own key-load key, no Verify Key, then the leave.
    const air = decodeAir(sim.sniffed, { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [ZBA09] });
    const tclk = air.find((x) => { const c = apsCommandOf(x); return c?.type === 'transportKey' && c.keyType === ApsKeyType.TC_LINK; });
    expect(tclk?.aps).toMatchObject({ openedWith: 'ZigBeeAlliance09', aux: { keyId: 3 } });
    const c = apsCommandOf(tclk!)!;
    expect(c.type === 'transportKey' && c.descriptor.layout === 'trustCenter' && Buffer.from(c.descriptor.key).equals(Buffer.from(ZBA09.key))).toBe(true);
    expect(air.some((x) => apsCommandOf(x)?.type === 'verifyKey')).toBe(false);
    const leave = air.find((x) => x.nwk?.command?.kind === 'leave' && x.nwk.header.src64 === DUT_EUI);
    expect(leave?.nwk).toMatchObject({ header: { dst16: 0xfffd, radius: 1, security: true }, command: { request: false, rejoin: false } });
    expect(leave!.i).toBeGreaterThan(tclk!.i);
  });

  it('the same joiner, reset, joins a compliant TC and verifies a unique key', async () => {
    const tc = await network('legacy-global-key');
    const nrf = nrfRouter();
    expect(await within(sim, 60_000, 'first join', nrf.join({ channel: CHANNEL }))).toMatchObject({ joined: false });
    tc.behaviour = COMPLIANT_TC; // the site replaces its coordinator
    await nrf.reset();
    await tc.permitJoin(180);
    const r = await within(sim, 60_000, 'second join', nrf.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: true, tclk: 'verified' });
    const key = (await tc.keyTable()).find((k) => k.eui64 === DUT_EUI);
    expect(key).toMatchObject({ kind: 'tclk-exchange', verified: true });
    expect(Buffer.from(key!.key).equals(Buffer.from(ZBA09.key))).toBe(false);
  });

  it('a compliant-legacy joiner keeps its joining key and stays on the legacy TC', async () => {
    const tc = await network('legacy-global-key');
    const dev = nrfRouter('compliant-legacy');
    expect(await within(sim, 60_000, 'join', dev.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'provisional' });
    await sim.run(120_000);
    expect(dev.joined).toBe(true);
    expect(tc.devices.get(DUT_EUI)).toMatchObject({ tclk: 'provisional' });
    const air = decodeAir(sim.sniffed, { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [ZBA09] });
    expect(air.some((x) => apsCommandOf(x)?.type === 'requestKey')).toBe(false);
    expect(air.some((x) => x.nwk?.command?.kind === 'leave')).toBe(false);
  });

  it('the known-bad joiner that accepts its provisional key as TC link key stays, "verified" with ZigBeeAlliance09', async () => {
    const tc = await network('legacy-global-key');
    const dev = nrfRouter('accepts-provisional-key-as-tclk');
    expect(await within(sim, 60_000, 'join', dev.join({ channel: CHANNEL }))).toMatchObject({ joined: true, tclk: 'verified' });
    const key = (await tc.keyTable()).find((k) => k.eui64 === DUT_EUI);
    expect(Buffer.from(key!.key).equals(Buffer.from(ZBA09.key))).toBe(true);
  });
});

describe('a Zigbee 3.0 TC that requires the key exchange (bdbTrustCenterRequireKeyExchange)', () => {
  it('expels a device that joined with the well-known key and never verified a unique key, after bdbTrustCenterNodeJoinTimeout (15 s)', async () => {
    const tc = await network('compliant');
    const dev = nrfRouter('compliant-legacy');
    expect(await within(sim, 60_000, 'join', dev.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    const joinedAt = sim.clock.now();
    await sim.run(20_000);
    expect(dev.joined).toBe(false);
    const timeout = sim.transcript.filter({ prefix: 'tc.key-exchange-timeout' });
    expect(timeout).toHaveLength(1);
    expect(timeout[0].t - joinedAt).toBeGreaterThan(14_000);
    expect(timeout[0].t - joinedAt).toBeLessThanOrEqual(15_000);
    const air = decodeAir(sim.sniffed, { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [ZBA09] });
    const request = air.find((x) => x.nwk?.command?.kind === 'leave' && x.nwk.command.request);
    expect(request?.nwk?.header).toMatchObject({ src16: 0x0000, dst64: DUT_EUI });
    expect(air.some((x) => x.nwk?.command?.kind === 'leave' && !x.nwk.command.request && x.nwk.header.src64 === DUT_EUI && x.i > request!.i)).toBe(true);
    expect(tc.devices.has(DUT_EUI)).toBe(false);
  });

  it('keeps such a device when it does not require the exchange', async () => {
    await network('compliant', { requireKeyExchange: false });
    const dev = nrfRouter('compliant-legacy');
    expect(await within(sim, 60_000, 'join', dev.join({ channel: CHANNEL }))).toMatchObject({ joined: true });
    await sim.run(20_000);
    expect(dev.joined).toBe(true);
  });

  it('a TC that ignores Request Key (pre-R21 behaviour with a revision-21 descriptor): the strict joiner gives up after 3 × 5 s and leaves', async () => {
    await network('legacy-no-key-update');
    const dev = nrfRouter();
    const t0 = sim.clock.now();
    const r = await within(sim, 60_000, 'join', dev.join({ channel: CHANNEL }));
    expect(r).toMatchObject({ joined: false, code: 'tclk-exchange-failed', left: true });
    expect(r.reason).toMatch(/after 3 Request Key attempts/);
    expect(sim.clock.now() - t0).toBeGreaterThanOrEqual(15_000);
    const air = decodeAir(sim.sniffed, { nwk: [{ label: 'nwk', key: NETWORK_KEY }], link: [ZBA09] });
    expect(air.filter((x) => apsCommandOf(x)?.type === 'requestKey')).toHaveLength(3);
  });

  it('the join deadline bounds the exchange too', async () => {
    await network('legacy-no-key-update');
    const dev = nrfRouter();
    const t0 = sim.clock.now();
    const r = await within(sim, 60_000, 'join', dev.join({ channel: CHANNEL, timeoutMs: 8_000 }));
    expect(r).toMatchObject({ joined: false, code: 'tclk-exchange-failed', left: true });
    expect(r.reason).toMatch(/join deadline passed while waiting for the Transport Key/);
    expect(sim.clock.now() - t0).toBeLessThan(8_100);
  });
});

