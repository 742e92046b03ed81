// Keep-Alive server and client over the in-memory APS network on virtual time: read intervals
// against [base, base + jitter], failures → Trust Center Swap-Out, the 5-minute cooldown, the ST
// guide's 8-minute TCSO period, recovery, and the known-bad no-tcso / no-keepalive profiles.
import { describe, expect, it } from 'vitest';
import { deterministicRandom } from '../../../harness/crypto/test-ca.ts';
import {
  KEEP_ALIVE_CLUSTER, KeepAliveClient, type KeepAliveClientOptions, type KeepAliveParams, KeepAliveServer, keepAliveIntervals, keepAliveServerFor,
} from '../../../harness/stack/apps/keep-alive.ts';
import { joinerProfile, tcProfile } from '../../../harness/stack/profiles.ts';
import { inject } from './aps-pair.ts';
import { airOf } from './air.ts';
import { DEV_EUI, SE_ENDPOINT, TC_EUI, makeRig } from './fixtures.ts';

const MIN = 60_000;

function kaRig(o: { tc?: KeepAliveParams | null; client?: Partial<KeepAliveClientOptions> } = {}) {
  const server = o.tc === null ? undefined : new KeepAliveServer(o.tc ?? { baseMinutes: 1, jitterSeconds: 5 });
  let client!: KeepAliveClient;
  const rig = makeRig({
    tcClusters: server ? [server] : [],
    devClusters: (control) => [client = new KeepAliveClient({
      control, random: deterministicRandom('keep-alive-jitter'), server: { endpoint: SE_ENDPOINT }, firstReadDelayMs: 3000, ...o.client,
    })],
  });
  return { ...rig, ka: server, kac: client };
}

const at = (events: KeepAliveClient['events'], type: string) => events.filter((e) => e.type === type).map((e) => e.at);

describe('Keep-Alive reads', () => {
  it('base 1 min / jitter 5 s: over 6 virtual hours every read-to-read interval is in [60 s, 65 s], in well under a few seconds', async () => {
    const r = kaRig();
    const wall = performance.now();
    r.kac.start();
    await r.clock.sleep(6 * 3600_000);
    r.kac.stop();
    const wallMs = performance.now() - wall;

    const polls = r.kac.polls;
    expect(polls.every((p) => p.result === 'success')).toBe(true);
    expect(r.kac.parameters).toEqual({ baseMinutes: 1, jitterSeconds: 5 });
    const iv = keepAliveIntervals(polls);
    expect(iv.length).toBeGreaterThan(330);
    expect(iv.every((i) => i.within && i.min === 60_000 && i.max === 65_000)).toBe(true);
    const ms = iv.map((i) => i.ms);
    expect(Math.min(...ms)).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...ms)).toBeLessThanOrEqual(65_000);
    expect(Math.max(...ms) - Math.min(...ms)).toBeGreaterThan(4_000); // the jitter is really drawn
    // Reads and answers are APS-encrypted (protocol.md §6.3, §7.1).
    const air = airOf(r.net, KEEP_ALIVE_CLUSTER);
    expect(air.every((l) => l.apsSecured && !l.broadcast)).toBe(true);
    expect(air.filter((l) => l.name === 'Read Attributes')).toHaveLength(polls.length);
    expect(wallMs).toBeLessThan(3_000);
  });

  it('uses the defaults 10 min / 300 s until the first read, then the server\'s values', async () => {
    const r = kaRig({ client: { firstReadDelayMs: undefined } });
    expect(r.kac.parameters).toEqual({ baseMinutes: 10, jitterSeconds: 300 });
    r.kac.start();
    await r.clock.sleep(40 * MIN);
    r.kac.stop();
    const [first, ...rest] = r.kac.polls;
    expect(first.sentAt).toBeGreaterThanOrEqual(10 * MIN);
    expect(first.sentAt).toBeLessThanOrEqual(15 * MIN);
    expect(first.regular).toBe(false);
    expect(rest.length).toBeGreaterThan(20);
    expect(keepAliveIntervals(r.kac.polls).every((i) => i.within && i.max === 65_000)).toBe(true);
    expect(at(r.kac.events, 'parameters')).toEqual([first.sentAt + r.net.delayMs * 2]);
  });

  it('adopts new values when the server changes them', async () => {
    const r = kaRig();
    r.kac.start();
    await r.clock.sleep(10 * MIN);
    r.ka?.setParameters({ baseMinutes: 2, jitterSeconds: 10 });
    await r.clock.sleep(60 * MIN);
    r.kac.stop();
    const late = keepAliveIntervals(r.kac.polls).filter((i) => i.from > 12 * MIN);
    expect(late.length).toBeGreaterThan(20);
    expect(late.every((i) => i.within && i.min === 120_000 && i.max === 130_000)).toBe(true);
  });

  it('the server refuses an unencrypted read with NOT_AUTHORIZED', async () => {
    const r = kaRig();
    await inject(r.dev.node, {
      dst: { short: 0x0000 }, dstEndpoint: SE_ENDPOINT, srcEndpoint: SE_ENDPOINT, clusterId: KEEP_ALIVE_CLUSTER, profileId: 0x0109,
      payload: Uint8Array.of(0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00),
    });
    await r.clock.sleep(100);
    expect(airOf(r.net, KEEP_ALIVE_CLUSTER).map((l) => `${l.from}: ${l.name}`)).toEqual(['dev: Read Attributes', 'tc: Default Response NOT_AUTHORIZED']);
  });

  it('reads Base as uint8 and Jitter as uint16 (protocol.md §6.3 example bytes)', async () => {
    const r = kaRig({ tc: { baseMinutes: 10, jitterSeconds: 300 } });
    r.kac.start();
    await r.clock.sleep(4000);
    r.kac.stop();
    const rsp = r.net.framesOf(KEEP_ALIVE_CLUSTER).find((f) => f.from === 'tc');
    expect([...(rsp?.payload ?? new Uint8Array(0)).subarray(3)]).toEqual([0x00, 0x00, 0x00, 0x20, 0x0a, 0x01, 0x00, 0x00, 0x21, 0x2c, 0x01]);
    expect(rsp?.payload[0]).toBe(0x18);
  });
});

describe('Trust Center Swap-Out', () => {
  it('TC gone: 3 failed reads → TC rejoin; not found → 5 min cooldown; the notice repeats every 8 min (ST guide §6.2)', async () => {
    const r = kaRig();
    r.kac.start();
    await r.clock.sleep(30 * MIN);
    r.tc.online = false;
    await r.clock.sleep(70 * MIN);
    r.kac.stop();

    const polls = r.kac.polls;
    const lastSuccess = polls.filter((p) => p.result === 'success').at(-1);
    const starts = at(r.kac.events, 'tcso-start');
    expect(starts.length).toBeGreaterThanOrEqual(7);
    // First notice: three reads one interval apart, the third timing out after 5 s:
    // 3 × (60 … 65 s) + 5 s after the last successful read.
    const first = starts[0] - (lastSuccess?.sentAt ?? NaN);
    expect(first).toBeGreaterThanOrEqual(3 * 60_000 + 5_000);
    expect(first).toBeLessThanOrEqual(3 * 65_000 + 5_000);
    const failedBefore = polls.filter((p) => p.sentAt > (lastSuccess?.sentAt ?? 0) && p.sentAt < starts[0]);
    expect(failedBefore.map((p) => `${p.result}/${p.consecutiveFailures}`)).toEqual(['timeout/1', 'timeout/2', 'timeout/3']);
    // Every search is one TC (unsecured) rejoin (EMBER emberFindAndRejoinNetworkWithReason(false, …)).
    expect(r.dev.control.rejoins.length).toBe(starts.length);
    expect(r.dev.control.rejoins.every((x) => !x.secured && !x.joined)).toBe(true);
    // The cooldown is 5 min; keep-alive then restarts with the first read one interval later.
    const cs = at(r.kac.events, 'cooldown-start');
    const ce = at(r.kac.events, 'cooldown-end');
    ce.forEach((end, i) => expect(end - cs[i]).toBe(5 * MIN));
    for (const end of ce) {
      const next = polls.find((p) => p.sentAt > end);
      if (next) expect(next.sentAt - end).toBeGreaterThanOrEqual(60_000);
      if (next) expect(next.sentAt - end).toBeLessThanOrEqual(65_000);
    }
    // "TCSO callback notification every eight minutes; 8 minutes = (3 * (1 minutes)) + 5 minutes":
    // period = rejoin (1 s here) + 5 min + 3 × (1 min + jitter ≤ 5 s) + 5 s timeout.
    for (let i = 1; i < starts.length; i++) {
      const period = starts[i] - starts[i - 1];
      expect(period).toBeGreaterThanOrEqual(8 * MIN + r.dev.control.durationMs + 5_000);
      expect(period).toBeLessThanOrEqual(8 * MIN + r.dev.control.durationMs + 5_000 + 3 * 5_000);
    }
    expect(r.kac.events.slice(0, 8).map((e) => e.type)).toEqual([
      'started', 'parameters', 'tcso-start', 'tcso-rejoin', 'tcso-rejoin-result', 'tcso-not-found', 'cooldown-start', 'cooldown-end',
    ]);
  });

  it('TC back during the cooldown: the next read succeeds and normal reads resume', async () => {
    const r = kaRig();
    r.kac.start();
    await r.clock.sleep(10 * MIN);
    r.tc.online = false;
    while (r.kac.state !== 'cooldown') await r.clock.sleep(1000);
    r.tc.online = true;
    await r.clock.sleep(30 * MIN);
    r.kac.stop();
    const end = at(r.kac.events, 'cooldown-end')[0];
    const after = r.kac.polls.filter((p) => p.sentAt > end);
    expect(after.length).toBeGreaterThan(20);
    expect(after.every((p) => p.result === 'success')).toBe(true);
    expect(at(r.kac.events, 'recovered')).toHaveLength(1);
    expect(at(r.kac.events, 'tcso-start')).toHaveLength(1);
    expect(keepAliveIntervals(after).every((i) => i.within)).toBe(true);
  });

  it('TC back after two failures: the success resets the count, no TCSO', async () => {
    const r = kaRig();
    r.kac.start();
    await r.clock.sleep(10 * MIN);
    r.tc.online = false;
    while (r.kac.consecutiveFailures < 2) await r.clock.sleep(1000);
    r.tc.online = true;
    await r.clock.sleep(20 * MIN);
    r.kac.stop();
    expect(at(r.kac.events, 'tcso-start')).toEqual([]);
    expect(r.kac.consecutiveFailures).toBe(0);
    expect(r.kac.events.find((e) => e.type === 'recovered')?.detail).toEqual({ afterFailures: 2, afterTcso: false });
  });

  it('the rejoin finds the TC: reads resume without a cooldown', async () => {
    const r = kaRig();
    r.kac.start();
    await r.clock.sleep(10 * MIN);
    // The TC stays on the network but its Keep-Alive answers are lost for a while.
    r.net.dropIf = (f) => f.clusterId === KEEP_ALIVE_CLUSTER && f.from === 'tc';
    while (at(r.kac.events, 'tcso-found').length === 0) await r.clock.sleep(1000);
    r.net.dropIf = undefined;
    const found = at(r.kac.events, 'tcso-found')[0];
    await r.clock.sleep(10 * MIN);
    r.kac.stop();
    expect(r.dev.control.rejoins).toEqual([expect.objectContaining({ secured: false, joined: true })]);
    expect(at(r.kac.events, 'cooldown-start')).toEqual([]);
    const next = r.kac.polls.find((p) => p.sentAt > found);
    expect(next?.result).toBe('success');
    expect((next?.sentAt ?? 0) - found).toBeGreaterThanOrEqual(60_000);
  });

  it('joiner profile no-tcso never rejoins, however long the TC is gone', async () => {
    const r = kaRig({ client: { behaviour: joinerProfile('no-tcso').behaviour } });
    r.kac.start();
    await r.clock.sleep(5 * MIN);
    r.tc.online = false;
    await r.clock.sleep(2 * 3600_000);
    r.kac.stop();
    expect(r.dev.control.rejoins).toEqual([]);
    expect(at(r.kac.events, 'tcso-start')).toEqual([]);
    expect(at(r.kac.events, 'tcso-skipped')).toHaveLength(1);
    expect(r.kac.consecutiveFailures).toBeGreaterThan(100);
    expect(keepAliveIntervals(r.kac.polls).every((i) => i.within)).toBe(true);
  });

  it('joiner profile keepalive-own-interval reads the server\'s values but stays on the 10 min / 300 s defaults', async () => {
    const r = kaRig({ client: { behaviour: joinerProfile('keepalive-own-interval').behaviour } });
    r.kac.start();
    await r.clock.sleep(3 * 3600_000);
    r.kac.stop();
    expect(r.kac.polls.length).toBeGreaterThan(10);
    expect(r.kac.polls.every((p) => p.result === 'success' && p.received?.baseMinutes === 1)).toBe(true);
    expect(r.kac.parameters).toEqual({ baseMinutes: 10, jitterSeconds: 300 });
    expect(at(r.kac.events, 'parameters')).toEqual([]);
    const iv = keepAliveIntervals(r.kac.polls);
    expect(iv.every((i) => i.ms >= 10 * MIN && i.ms <= 15 * MIN)).toBe(true); // never the served [60 s, 65 s]
  });

  it('TC profile no-keepalive: every read fails (UNSUPPORTED_CLUSTER) and TCSO starts after the third', async () => {
    expect(keepAliveServerFor(tcProfile('no-keepalive').behaviour)).toBeUndefined();
    const r = kaRig({ tc: null });
    r.kac.start();
    // Never a successful read: the client keeps the default 10 min / 300 s between reads.
    await r.clock.sleep(3 * 3600_000);
    r.kac.stop();
    const [a, b, c] = r.kac.polls;
    expect([a, b, c].map((p) => `${p.result}/${p.zclStatus}`)).toEqual(['error-status/195', 'error-status/195', 'error-status/195']);
    const starts = at(r.kac.events, 'tcso-start');
    expect(starts[0]).toBe(c.completedAt);
    // The TC itself is there, so the rejoin finds it; the reads keep failing and TCSO repeats.
    expect(r.dev.control.rejoins[0]).toMatchObject({ secured: false, joined: true });
    expect(starts.length).toBeGreaterThan(2);
    expect(keepAliveIntervals(r.kac.polls).every((i) => i.within && i.min === 10 * MIN && i.max === 15 * MIN)).toBe(true);
  });

  it('the reads depend on the APS link key: a TC that changed its key for the device causes TCSO', async () => {
    const r = kaRig();
    r.kac.start();
    await r.clock.sleep(5 * MIN);
    r.tc.setLinkKey(DEV_EUI, new Uint8Array(16).fill(7), 'transport-key');
    await r.clock.sleep(6 * MIN);
    r.kac.stop();
    expect(r.kac.polls.some((p) => p.result === 'timeout' && p.sendError === 'no-ack')).toBe(true);
    expect(r.net.frames.some((f) => f.fate === 'undecryptable')).toBe(true);
    // The rejoin finds the TC (it is there), so the failures and searches go on.
    expect(at(r.kac.events, 'tcso-start').length).toBeGreaterThanOrEqual(1);
    expect(r.dev.control.rejoins[0]).toMatchObject({ joined: true });
  });
});

describe('Smart Energy sequence', () => {
  it('CBKE, then keep-alive reads run under the new CBKE link key', async () => {
    const r = kaRig();
    const out = await r.dev.client.startKeyEstablishment();
    expect(out.ok).toBe(true);
    expect(r.dev.node.getLinkKey(TC_EUI)?.origin).toBe('cbke');
    r.kac.start();
    await r.clock.sleep(30 * MIN);
    r.kac.stop();
    expect(r.kac.polls.length).toBeGreaterThan(25);
    expect(r.kac.polls.every((p) => p.result === 'success')).toBe(true);
  });

  it('endpoint discovery hook instead of a configured endpoint; no answer counts as a failure', async () => {
    let asked = 0;
    const r = kaRig({ client: { initial: { baseMinutes: 1, jitterSeconds: 5 }, server: {}, discoverEndpoint: async () => { asked++; return asked === 1 ? undefined : SE_ENDPOINT; } } });
    r.kac.start();
    await r.clock.sleep(5 * MIN);
    r.kac.stop();
    expect(r.kac.polls[0].result).toBe('no-endpoint');
    expect(r.kac.polls.slice(1).every((p) => p.result === 'success')).toBe(true);
    expect(asked).toBe(2);
    expect(() => new KeepAliveClient({ control: r.dev.control, random: deterministicRandom('x') })).toThrow(/server.endpoint/);
  });
});
