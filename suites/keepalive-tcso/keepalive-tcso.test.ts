// Trust Center Keep-Alive (cluster 0x0025) and Trust Center Swap-Out, judged from the air: when
// the DUT reads the TC's TC Keep-Alive Base / Jitter, how far apart its reads are (capture
// timestamps, against [base, base + jitter]), how many unanswered reads it takes before it
// searches for the TC, how long it cools down after a failed search, and how it comes back.
// Every wait is on the rig's clock: in virtual time on the simulated rig (hours in milliseconds),
// in real time on a real one. Catalog: suites/catalog.ts (KA-*). Timing rules and tolerances:
// keepalive-air.ts (ST guide §6.2; protocol.md §6.3).
import * as allure from 'allure-js-commons';
import { expect } from 'vitest';
import { conformance, type ConformanceContext } from '../../harness/run/fixture.ts';
import { apsSecurityOf, isRejoinRequest } from '../../harness/run/match.ts';
import { TC_KEEP_ALIVE_BASE, TC_KEEP_ALIVE_JITTER } from '../../harness/zigbee/clusters/keep-alive.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import {
  INTERVAL_TOLERANCE_MS, KA_RULES, type KaParams, type KaRead, TCSO_SLACK_MS, type TcsoAttempt, allowedIntervalMs, frameMs,
  isKeepAliveAnswer, isKeepAliveRead, isTcsoAttempt, keepAlivePlot, keepAliveReads, readsBaseAndJitter, rejoinResponses, tcsoAttempts,
} from './keepalive-air.ts';

/** The ST guide's debug example (§6.2): base 1 min, jitter 5 s → a TCSO notification about every 8 min. */
const FAST: KaParams = { baseMinutes: 1, jitterSeconds: 5 };
const DEFAULTS: KaParams = { baseMinutes: KA_RULES.defaultBaseMinutes, jitterSeconds: KA_RULES.defaultJitterSeconds };
/** Real rigs wait in real time: up to ~20 min before the first read (defaults), then minutes per read. */
const CASE_TIMEOUT_MS = 2 * 3600_000;
const sec = (ms: number) => Math.round(ms) / 1000;
const maxIntervalMs = (p: KaParams) => allowedIntervalMs(p).max;

interface Session {
  params: KaParams;
  /** Frame index from which the DUT's reads are collected. */
  from: number;
  first: KaRead;
  dut: string;
}

/** What the plot shows; filled as the case goes, attached even when the case fails. */
interface PlotState {
  title: string;
  params: KaParams;
  from: number;
  offAir: { fromMs: number; toMs?: number }[];
  notes: string[];
}

async function attachPlot(ctx: ConformanceContext, s: PlotState): Promise<void> {
  const { air } = ctx;
  await air.refreshKeys().catch(() => {});
  const reads = keepAliveReads(air.frames, s.from);
  const attempts = tcsoAttempts(air.frames, ctx.rig.dutIdentity.eui64, s.from);
  const lastMs = air.frames.length ? frameMs(air.frames[air.frames.length - 1]) : 0;
  const svg = keepAlivePlot({
    title: s.title, reads, attempts, params: s.params,
    offAir: s.offAir.map((o) => ({ fromMs: o.fromMs, toMs: o.toMs ?? lastMs })),
    cooldowns: attempts.map((a) => ({ fromMs: a.atMs, toMs: a.atMs + KA_RULES.cooldownMs })),
    footnotes: s.notes,
  });
  await allure.attachment('keep-alive intervals', svg, { contentType: 'image/svg+xml', fileExtension: 'svg' });
}

/** Runs `body` and attaches the interval plot afterwards, pass or fail. */
async function withPlot(ctx: ConformanceContext, title: string, body: (plot: PlotState) => Promise<void>): Promise<void> {
  const plot: PlotState = { title: `${ctx.caseInfo.id}: ${title}`, params: FAST, from: 0, offAir: [], notes: [] };
  try {
    await body(plot);
  } finally {
    await attachPlot(ctx, plot);
  }
}

/**
 * TC forms (serving `params` when it can be told to), the DUT joins as an SE device (CBKE on join
 * when it declares CBKE), and its first keep-alive read comes — within the default interval,
 * 10 min + 300 s, since until its first successful read a client uses the defaults (ST §6.2).
 */
async function joinAndFirstRead(ctx: ConformanceContext, plot: PlotState, params: KaParams | undefined): Promise<Session> {
  const { rig, air, step, within } = ctx;
  await step('TC forms the network', () => rig.tc.form({ channel: rig.channel, panId: rig.panId }));
  if (params) {
    if (rig.tc.setKeepAlive) {
      await step(`TC serves TC Keep-Alive Base ${params.baseMinutes} min, Jitter ${params.jitterSeconds} s (the ST guide's debug example)`,
        () => rig.tc.setKeepAlive!(params));
    } else {
      plot.notes.push('the TC driver cannot set Keep-Alive values (setKeepAlive): the TC\'s own values are used');
    }
  }
  if (rig.dutIdentity.installCode) await step('TC is given the DUT\'s install code', () => rig.tc.addInstallCode(rig.dutIdentity.eui64, rig.dutIdentity.installCode!));
  await step('TC permits joining for 180 s', () => rig.tc.permitJoin(180));
  const se = rig.dut.capabilities.has('cbke-v1') || rig.dut.capabilities.has('cbke-v2');
  const from = air.mark();
  plot.from = from;
  const r = await step(se ? 'DUT joins as an SE device and runs CBKE with the TC' : 'DUT joins', () =>
    within('dut', 'join result', 300_000, rig.dut.join({ channel: rig.channel, panId: rig.panId, ...(se ? { keyEstablishment: 'on-join' as const } : {}) })));
  expect(r.joined, `DUT did not join: ${r.reason}`).toBe(true);
  await air.refreshKeys(); // the link key the reads go under (the CBKE key) is in the TC's table now
  const joinedMs = air.frames.length ? frameMs(air.frames[air.frames.length - 1]) : 0;
  const firstWithin = maxIntervalMs(DEFAULTS) + TCSO_SLACK_MS;
  const f = await step(`the DUT reads the TC's Keep-Alive attributes within ${sec(firstWithin)} s of joining (defaults 10 min + 300 s until the first read)`, () =>
    air.expect('Read Attributes of cluster 0x0025 from the DUT', isKeepAliveRead, { withinMs: firstWithin, from }));
  ctx.measure('first keep-alive read after joining', sec(frameMs(f) - joinedMs), { min: 0, max: sec(firstWithin), unit: 's' });
  await answerOf(ctx, f);
  const first = readAt(ctx, from, f);
  await step('it asks for TC Keep-Alive Base (0x0000) and TC Keep-Alive Jitter (0x0001)', () => {
    expect(readsBaseAndJitter(first), `frame ${f.index}: the read asks for attributes ${first.attributeIds.map((a) => `0x${a.toString(16).padStart(4, '0')}`).join(', ')}`).toBe(true);
  });
  await step('the TC answers with both values (Read Attributes Response, status SUCCESS, in range)', () => {
    expect(first.ok, `frame ${f.index}: ${first.why ?? 'not answered'}`).toBe(true);
  });
  const served = first.values!;
  if (params && rig.tc.setKeepAlive) {
    expect(served, `the TC was set to ${params.baseMinutes} min / ${params.jitterSeconds} s but serves other values`).toEqual(params);
  }
  plot.params = served;
  return { params: served, from, first, dut: rig.dutIdentity.eui64 };
}

/** Waits for the answer to `read` (or the end of the answer wait). */
async function answerOf(ctx: ConformanceContext, read: DissectedFrame): Promise<DissectedFrame | undefined> {
  const tsn = read.zcl!.header.tsn;
  return ctx.air.expect('the TC\'s answer', (f) => isKeepAliveAnswer(f) && f.zcl!.header.tsn === tsn,
    { withinMs: KA_RULES.responseWaitMs + INTERVAL_TOLERANCE_MS, from: read.index }).catch(() => undefined);
}

function readAt(ctx: ConformanceContext, from: number, f: DissectedFrame): KaRead {
  const r = keepAliveReads(ctx.air.frames, from).find((x) => x.frame.index === f.index);
  if (!r) throw new Error(`frame ${f.index} is not a keep-alive read`);
  return r;
}

/** The DUT's next read after `prev` (a new TSN), waited for as long as a DUT on the default interval would take, and its answer. */
async function nextRead(ctx: ConformanceContext, s: Session, prev: KaRead, label: string): Promise<KaRead> {
  const withinMs = Math.max(maxIntervalMs(s.params), maxIntervalMs(DEFAULTS)) + TCSO_SLACK_MS;
  const f = await ctx.step(label, () => ctx.air.expect(`keep-alive read after frame ${prev.frame.index}`,
    (x) => isKeepAliveRead(x) && x.zcl!.header.tsn !== prev.tsn, { withinMs, from: prev.frame.index }));
  await answerOf(ctx, f);
  return readAt(ctx, s.from, f);
}

/** Measures each interval against [base, base + jitter] ± tolerance; returns the ones outside. */
function judgeIntervals(ctx: ConformanceContext, p: KaParams, reads: readonly KaRead[], label: string): string[] {
  const w = allowedIntervalMs(p);
  const outside: string[] = [];
  for (let i = 1; i < reads.length; i++) {
    const dt = reads[i].atMs - reads[i - 1].atMs;
    const ok = ctx.measure(`${label} interval ${i} (frames ${reads[i - 1].frame.index} → ${reads[i].frame.index})`, sec(dt), { min: sec(w.min), max: sec(w.max), unit: 's' });
    if (!ok) outside.push(`frames ${reads[i - 1].frame.index} → ${reads[i].frame.index}: ${sec(dt)} s, allowed ${sec(w.min)}..${sec(w.max)} s`);
  }
  return outside;
}

/** Reads until `count` more have come, each answered; the intervals judged. */
async function regularReads(ctx: ConformanceContext, s: Session, start: KaRead, count: number, label: string): Promise<KaRead[]> {
  const reads = [start];
  for (let k = 1; k <= count; k++) reads.push(await nextRead(ctx, s, reads[reads.length - 1], `${label}: read ${k + 1} of ${count + 1}`));
  const w = allowedIntervalMs(s.params);
  const outside = await ctx.step(`every interval within [base, base + jitter] = [${s.params.baseMinutes * 60}, ${s.params.baseMinutes * 60 + s.params.jitterSeconds}] s (± ${sec(INTERVAL_TOLERANCE_MS)} s: airtime, retries, drift)`,
    () => judgeIntervals(ctx, s.params, reads, label));
  expect(outside, `keep-alive reads outside ${sec(w.min)}..${sec(w.max)} s`).toEqual([]);
  const unanswered = reads.filter((r) => !r.ok).map((r) => `frame ${r.frame.index}: ${r.why}`);
  expect(unanswered, 'reads the TC did not answer with its values (the next interval is then not the regular one)').toEqual([]);
  return reads;
}

/** TC off the air right after an answered read; the DUT's first TCSO search, judged. */
async function loseTc(ctx: ConformanceContext, s: Session, plot: PlotState, lastOk: KaRead): Promise<{ attempt: TcsoAttempt; off: number }> {
  const { rig, air, step } = ctx;
  const setReachable = rig.tc.setReachable;
  if (!setReachable) throw new Error('tc: this case needs a TC that can go off the air and come back (setReachable, harness/rig/roles.ts)');
  await step('the TC goes off the air (state kept)', () => setReachable.call(rig.tc, false));
  const off = air.mark();
  plot.offAir.push({ fromMs: lastOk.answer ? frameMs(lastOk.answer) : lastOk.atMs });
  const p = s.params;
  const lo = 3 * p.baseMinutes * 60_000;
  const hi = 3 * maxIntervalMs(p) + KA_RULES.responseWaitMs + TCSO_SLACK_MS;
  const a = await step(`after ${KA_RULES.failureLimit} unanswered reads the DUT searches for the TC (Beacon Request / Rejoin Request) within ${sec(hi)} s of the last answered read`,
    () => air.expect('a TCSO search frame from the DUT', isTcsoAttempt(s.dut), { withinMs: hi, from: off })
      .catch((e: Error) => {
        const n = keepAliveReads(air.frames, s.from).filter((r) => r.frame.index > off).length;
        throw new Error(`${e.message}\n  (the DUT sent ${n} unanswered keep-alive reads since the TC went away and never searched for it: no Trust Center Swap-Out)`);
      }));
  await air.refreshKeys();
  // Reads are always collected from the join on: an APS retry of an earlier read is that read, not a new one.
  const failed = keepAliveReads(air.frames, s.from).filter((r) => r.frame.index > off && r.atMs < frameMs(a));
  const attempt = tcsoAttempts(air.frames, s.dut, off)[0];
  await step(`exactly ${KA_RULES.failureLimit} unanswered reads before the search, the search ${sec(lo)}..${sec(hi)} s after the last answered read`, () => {
    const okCount = ctx.measure('unanswered keep-alive reads before the TCSO search', failed.length, { min: KA_RULES.failureLimit, max: KA_RULES.failureLimit, unit: 'reads' });
    const okTime = ctx.measure('time to TCSO (last answered read → first search frame)', sec(attempt.atMs - lastOk.atMs), { min: sec(lo - INTERVAL_TOLERANCE_MS), max: sec(hi), unit: 's' });
    const third = failed[failed.length - 1];
    const okAfter = third ? ctx.measure(`third unanswered read (frame ${third.frame.index}) → search`, sec(attempt.atMs - third.atMs), { min: 0, max: sec(KA_RULES.responseWaitMs + TCSO_SLACK_MS), unit: 's' }) : false;
    expect(failed.filter((r) => r.ok).map((r) => r.frame.index), 'reads answered while the TC was off the air?').toEqual([]);
    expect(okCount, `the DUT searched after ${failed.length} unanswered reads (frames ${failed.map((r) => r.frame.index).join(', ')}), not after ${KA_RULES.failureLimit}`).toBe(true);
    expect(okTime, `TCSO ${sec(attempt.atMs - lastOk.atMs)} s after the last answered read, allowed ${sec(lo)}..${sec(hi)} s`).toBe(true);
    expect(okAfter, 'the search did not follow the third unanswered read').toBe(true);
  });
  return { attempt, off };
}

conformance('KA-01', async (ctx) => {
  await withPlot(ctx, 'keep-alive reads against [base, base + jitter]', async (plot) => {
    const s = await joinAndFirstRead(ctx, plot, FAST);
    await regularReads(ctx, s, s.first, 6, 'keep-alive');
  });
}, { timeoutMs: CASE_TIMEOUT_MS });

conformance('KA-02', async (ctx) => {
  const { air, step, rig } = ctx;
  await withPlot(ctx, 'TC unreachable: three failed reads → TCSO, cooldown, TCSO again', async (plot) => {
    try {
      const s = await joinAndFirstRead(ctx, plot, FAST);
      const [, lastOk] = await regularReads(ctx, s, s.first, 1, 'before the TC goes away');
      const { attempt } = await loseTc(ctx, s, plot, lastOk);
      // Cooldown, then the reads restart and fail again → the next search (ST §6.2: 3 × base + 5 min).
      const p = s.params;
      const lo = KA_RULES.cooldownMs + 3 * p.baseMinutes * 60_000;
      const hi = KA_RULES.cooldownMs + 3 * maxIntervalMs(p) + KA_RULES.responseWaitMs + 2 * TCSO_SLACK_MS;
      await step(`the DUT searches again after the cooldown: ${sec(lo)}..${sec(hi)} s after the first search (ST guide: 8 min = 3 × 1 min + 5 min)`, () =>
        air.expect('the next TCSO search frame', (f) => isTcsoAttempt(s.dut)(f) && frameMs(f) - attempt.atMs >= 30_000, { withinMs: hi, from: attempt.frames[attempt.frames.length - 1].index }));
      await air.refreshKeys();
      const [a1, a2] = tcsoAttempts(air.frames, s.dut, attempt.frames[0].index - 1);
      const between = keepAliveReads(air.frames, s.from).filter((r) => r.atMs > a1.atMs && r.atMs < a2.atMs);
      await step('a cooldown of at least 5 min before the reads restart, 3 unanswered reads, then the next search', () => {
        const firstAfter = between[0];
        const okCool = firstAfter
          ? ctx.measure('cooldown (first search → first read after it)', sec(firstAfter.atMs - a1.atMs), { min: sec(KA_RULES.cooldownMs), max: sec(KA_RULES.cooldownMs + maxIntervalMs(p) + TCSO_SLACK_MS), unit: 's' })
          : false;
        const okCount = ctx.measure('unanswered reads between the two searches', between.length, { min: KA_RULES.failureLimit, max: KA_RULES.failureLimit, unit: 'reads' });
        const okSpacing = ctx.measure('TCSO search spacing (first → second search)', sec(a2.atMs - a1.atMs), { min: sec(lo - INTERVAL_TOLERANCE_MS), max: sec(hi), unit: 's' });
        expect(okCool, firstAfter ? `the DUT read again ${sec(firstAfter.atMs - a1.atMs)} s after a failed search; the cooldown is 5 min (ST §6.2)` : 'no keep-alive read between the two searches').toBe(true);
        expect(okCount, `${between.length} reads between the searches (frames ${between.map((r) => r.frame.index).join(', ')}), not ${KA_RULES.failureLimit}`).toBe(true);
        expect(okSpacing, `searches ${sec(a2.atMs - a1.atMs)} s apart, allowed ${sec(lo)}..${sec(hi)} s`).toBe(true);
      });
    } finally {
      await rig.tc.setReachable?.(true);
    }
  });
}, { timeoutMs: CASE_TIMEOUT_MS });

conformance('KA-03', async (ctx) => {
  const { air, step, rig } = ctx;
  await withPlot(ctx, 'TC comes back: the DUT returns and keep-alive reads resume', async (plot) => {
    try {
      const s = await joinAndFirstRead(ctx, plot, FAST);
      const [, lastOk] = await regularReads(ctx, s, s.first, 1, 'before the TC goes away');
      const { attempt } = await loseTc(ctx, s, plot, lastOk);
      await step('the TC comes back on the air', () => rig.tc.setReachable!(true));
      const back = air.mark();
      plot.offAir[plot.offAir.length - 1].toMs = air.frames.length ? frameMs(air.frames[air.frames.length - 1]) : attempt.atMs;
      // Worst case: the rest of the cooldown, then one interval (a DUT that stayed on the network),
      // or three more failed reads and a search that now finds the TC (a DUT that left it).
      const withinMs = KA_RULES.cooldownMs + 3 * maxIntervalMs(s.params) + KA_RULES.responseWaitMs + 2 * TCSO_SLACK_MS;
      // A fresh read (first sent after the TC came back): a late answer to an APS retry of a read
      // the DUT already counted as failed is not the DUT coming back.
      const freshRead = (f: DissectedFrame) => keepAliveReads(air.frames, s.from).find((r) => r.tsn === f.zcl!.header.tsn && r.frame.index > back);
      const answer = await step(`the DUT is back: a keep-alive read sent after the TC came back, answered by it, within ${sec(withinMs)} s`, () =>
        air.expect('a fresh keep-alive read answered with base and jitter', (f) => isKeepAliveAnswer(f) && f.zcl!.command.type === 'readAttributesResponse'
          && (f.zcl!.keepAlive?.problems.length ?? 1) === 0 && freshRead(f) !== undefined, { withinMs, from: back }));
      await air.refreshKeys();
      const resumed = keepAliveReads(air.frames, s.from).find((r) => r.frame.index > back && r.answer?.index === answer.index);
      if (!resumed) throw new Error(`frame ${answer.index} answers no read heard after the TC came back`);
      ctx.measure('first TCSO search → first answered read after the TC came back', sec(resumed.atMs - attempt.atMs), { min: 0, max: sec(withinMs), unit: 's' });
      const rejoins = air.frames.slice(back, resumed.frame.index).filter(isRejoinRequest({ device: s.dut }));
      await step(rejoins.length
        ? `the DUT rejoined (Rejoin Request frame ${rejoins[0].index}) and the TC accepted it`
        : 'the DUT stayed on its network (search found nothing, cooldown) and resumed its reads there (EXEGIN NOT_FOUND)', () => {
        if (!rejoins.length) return;
        const rsp = rejoinResponses(air.frames, s.dut, rejoins[0].index);
        expect(rsp.map((r) => r.status), `no successful Rejoin Response to the DUT after frame ${rejoins[0].index}`).toContain(0);
      });
      plot.notes.push(`back in contact: frame ${resumed.frame.index}${rejoins.length ? ` after a rejoin (frame ${rejoins[0].index})` : ''}`);
      await regularReads(ctx, s, resumed, 3, 'after recovery');
      await step('no further TCSO search once the TC answers again', () => {
        const later = tcsoAttempts(air.frames, s.dut, resumed.frame.index);
        expect(later.map((a) => `frame ${a.frames[0].index}`), 'TCSO searches while the TC answers').toEqual([]);
      });
    } finally {
      await rig.tc.setReachable?.(true);
    }
  });
}, { timeoutMs: CASE_TIMEOUT_MS });

conformance('KA-04', async (ctx) => {
  const { step } = ctx;
  await withPlot(ctx, 'the TC\'s Keep-Alive attributes', async (plot) => {
    plot.params = DEFAULTS;
    const s = await joinAndFirstRead(ctx, plot, undefined); // the TC's own values: not set by the kit
    const answer = s.first.answer!;
    await step(`TC Keep-Alive Base is uint8 minutes ${TC_KEEP_ALIVE_BASE.min}..${TC_KEEP_ALIVE_BASE.max}, Jitter uint16 seconds ${TC_KEEP_ALIVE_JITTER.min}..${TC_KEEP_ALIVE_JITTER.max}`, () => {
      const okB = ctx.measure('TC Keep-Alive Base', s.params.baseMinutes, { min: TC_KEEP_ALIVE_BASE.min, max: TC_KEEP_ALIVE_BASE.max, unit: 'min' });
      const okJ = ctx.measure('TC Keep-Alive Jitter', s.params.jitterSeconds, { min: TC_KEEP_ALIVE_JITTER.min, max: TC_KEEP_ALIVE_JITTER.max, unit: 's' });
      expect(okB && okJ).toBe(true);
      expect(answer.zcl!.keepAlive!.problems.map((p) => p.message)).toEqual([]);
    });
    await step('the answer is APS-secured under a link key (Keep-Alive is on the SE APS-encryption list)', () => {
      const sec = apsSecurityOf(answer);
      expect(sec, `frame ${answer.index}: the TC answered the keep-alive read without APS security`).toBeDefined();
      expect(sec!.ok, `frame ${answer.index}: no key the kit knows opened the answer`).toBe(true);
      expect(sec!.keyId, `frame ${answer.index}: APS key id ${sec!.keyId}, expected 0 (data / link key)`).toBe(0);
    });
  });
}, { timeoutMs: CASE_TIMEOUT_MS });
