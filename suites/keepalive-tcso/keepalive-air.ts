// Keep-Alive (cluster 0x0025) and Trust Center Swap-Out as seen on the air: the DUT's reads
// (one per ZCL sequence number: MAC/APS retries of a read are the same read), the TC's answers,
// the rejoin attempts, their times from the capture's timestamps, and the time-line plot.
// Pure functions over dissected frames; the cases are in keepalive-tcso.test.ts.
import { renderTimelineSvg, type TimelineMark, type TimelineSpan } from '../../harness/run/timeline-svg.ts';
import { isRejoinRequest, isRejoinResponse } from '../../harness/run/match.ts';
import { KEEP_ALIVE_CLUSTER, KeepAliveAttribute } from '../../harness/zigbee/clusters/keep-alive.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';

/**
 * Timing rules (ST guide §6.2; protocol.md §6.3, EMBER trust-center-keepalive.c, EXEGIN client):
 * - next read `base·60 s + random(0 … jitter) s` after the previous one;
 * - until the first successful read the defaults 10 min / 300 s;
 * - three consecutive failed reads → TCSO (rejoin search);
 * - a failed search → cooldown of 5 min ("arbitrary", ST; EXEGIN "no sooner than 5 min") before
 *   the keep-alive reads restart, each again one interval apart: with base 1 min / jitter 5 s the
 *   guide's "TCSO callback notification every eight minutes, 8 min = 3 × 1 min + 5 min".
 */
export const KA_RULES = {
  failureLimit: 3,
  cooldownMs: 300_000,
  defaultBaseMinutes: 10,
  defaultJitterSeconds: 300,
  /** EMBER waits 5 s for the answer to a read before it counts a failure. */
  responseWaitMs: 5_000,
} as const;

/**
 * Tolerances (documented in the report):
 * - INTERVAL_TOLERANCE_MS on each read-to-read interval: CSMA back-off, airtime, up to 3 MAC
 *   retries (~ 4 × (4.3 ms frame + 0.9 ms ack wait + back-off) < 50 ms), a DUT that counts from
 *   the TC's answer instead of its request (EMBER: the answer is ms after the read on a direct
 *   link) and crystal drift (±100 ppm of 15 min = 90 ms). 1 s stays far below any real mistake
 *   (a missing jitter, the default 10 min, half the base).
 * - TCSO_SLACK_MS on TCSO timings: the DUT's own answer timeout beyond EMBER's 5 s and the time
 *   its rejoin scan takes (EMBER scans all 16 channels; on the sniffer's channel it shows as one
 *   Beacon Request somewhere in that scan).
 */
export const INTERVAL_TOLERANCE_MS = 1_000;
export const TCSO_SLACK_MS = 10_000;
/** Rejoin-attempt frames closer than this belong to one TCSO search. */
const ATTEMPT_GAP_MS = 30_000;

export interface KaParams { baseMinutes: number; jitterSeconds: number }

/** [base, base + jitter] in ms, widened by the tolerance. */
export function allowedIntervalMs(p: KaParams, tolerance = INTERVAL_TOLERANCE_MS): { min: number; max: number } {
  return { min: p.baseMinutes * 60_000 - tolerance, max: p.baseMinutes * 60_000 + p.jitterSeconds * 1000 + tolerance };
}

export const frameMs = (f: DissectedFrame): number => Number(f.timestampUs ?? 0n) / 1000;

/** A Read Attributes of cluster 0x0025 from a client (the DUT) — not from the TC (0x0000). */
export function isKeepAliveRead(f: DissectedFrame): boolean {
  return f.aps?.header.frameType === 0 && f.aps.header.clusterId === KEEP_ALIVE_CLUSTER
    && f.zcl?.header.direction === 'client-to-server' && f.zcl.command.type === 'readAttributes'
    && f.nwk?.header.src16 !== 0x0000;
}

/** The TC's answer on 0x0025 (Read Attributes Response or Default Response), server to client. */
export function isKeepAliveAnswer(f: DissectedFrame): boolean {
  return f.aps?.header.frameType === 0 && f.aps.header.clusterId === KEEP_ALIVE_CLUSTER
    && f.zcl?.header.direction === 'server-to-client'
    && (f.zcl.command.type === 'readAttributesResponse' || f.zcl.command.type === 'defaultResponse');
}

/** A cluster-0x0025 APS data frame no key opened (its ZCL is unreadable). */
export function isUnopenedKeepAlive(f: DissectedFrame): boolean {
  return f.aps?.header.frameType === 0 && f.aps.header.clusterId === KEEP_ALIVE_CLUSTER && f.zcl === undefined;
}

/** A TCSO search frame: Beacon Request (anonymous by 802.15.4: on a shielded rig only the DUT scans), the DUT's Rejoin or Association Request. */
export function isTcsoAttempt(dut: string): (f: DissectedFrame) => boolean {
  return (f) => (f.mac?.body.kind === 'command' && (f.mac.body.command.kind === 'beaconRequest'
    || (f.mac.body.command.kind === 'associationRequest' && f.mac.header.src === dut)))
    || isRejoinRequest({ device: dut })(f);
}

export interface KaRead {
  /** The first transmission of the read. */
  frame: DissectedFrame;
  atMs: number;
  tsn: number;
  attributeIds: number[];
  answer?: DissectedFrame;
  /** Answered with a Read Attributes Response carrying usable base and jitter. */
  ok: boolean;
  values?: KaParams;
  why?: string;
}

/** The DUT's reads from `from` on, retries folded, each with the TC's answer (same TSN, within the wait). */
export function keepAliveReads(frames: readonly DissectedFrame[], from = 0, responseWaitMs = KA_RULES.responseWaitMs + INTERVAL_TOLERANCE_MS): KaRead[] {
  const reads: KaRead[] = [];
  for (let i = from; i < frames.length; i++) {
    const f = frames[i];
    if (!isKeepAliveRead(f) || f.zcl?.command.type !== 'readAttributes') continue;
    const tsn = f.zcl.header.tsn;
    const prev = reads[reads.length - 1];
    if (prev && prev.tsn === tsn && frameMs(f) - prev.atMs < ATTEMPT_GAP_MS) continue; // a retry of the same read
    reads.push({ frame: f, atMs: frameMs(f), tsn, attributeIds: f.zcl.command.attributeIds, ok: false });
  }
  for (const r of reads) {
    const answer = frames.slice(r.frame.index).find((a) => isKeepAliveAnswer(a) && a.zcl?.header.tsn === r.tsn && frameMs(a) - r.atMs <= responseWaitMs);
    if (!answer) {
      r.why = `no answer within ${responseWaitMs / 1000} s`;
      continue;
    }
    r.answer = answer;
    const c = answer.zcl!.command;
    if (c.type === 'defaultResponse') {
      r.why = `Default Response status 0x${c.status.toString(16).padStart(2, '0')}`;
      continue;
    }
    const ka = answer.zcl!.keepAlive;
    if (!ka || ka.problems.length || ka.base === undefined || ka.jitter === undefined) {
      r.why = ka?.problems.map((p) => p.message).join('; ') || 'no keep-alive values';
      continue;
    }
    r.ok = true;
    r.values = { baseMinutes: ka.base, jitterSeconds: ka.jitter };
  }
  return reads;
}

/** Whether a read asks for both TC Keep-Alive Base and Jitter. */
export function readsBaseAndJitter(r: KaRead): boolean {
  return r.attributeIds.includes(KeepAliveAttribute.TC_KEEP_ALIVE_BASE) && r.attributeIds.includes(KeepAliveAttribute.TC_KEEP_ALIVE_JITTER);
}

export interface TcsoAttempt { frames: DissectedFrame[]; atMs: number }

/** TCSO searches from `from` on: attempt frames grouped (a scan is many frames, one search). */
export function tcsoAttempts(frames: readonly DissectedFrame[], dut: string, from = 0): TcsoAttempt[] {
  const out: TcsoAttempt[] = [];
  const m = isTcsoAttempt(dut);
  for (let i = from; i < frames.length; i++) {
    const f = frames[i];
    if (!m(f)) continue;
    const last = out[out.length - 1];
    if (last && frameMs(f) - frameMs(last.frames[last.frames.length - 1]) < ATTEMPT_GAP_MS) last.frames.push(f);
    else out.push({ frames: [f], atMs: frameMs(f) });
  }
  return out;
}

/** Rejoin Responses to the DUT (status 0 = success) from `from` on. */
export function rejoinResponses(frames: readonly DissectedFrame[], dut: string, from = 0): { frame: DissectedFrame; status: number }[] {
  return frames.slice(from).filter(isRejoinResponse({ device: dut })).map((f) => {
    const c = f.nwk?.command;
    return { frame: f, status: c?.kind === 'rejoinResponse' ? c.status : -1 };
  });
}

export interface PlotInput {
  title: string;
  reads: readonly KaRead[];
  attempts?: readonly TcsoAttempt[];
  recoveries?: readonly { atMs: number; title: string }[];
  params: KaParams;
  offAir?: readonly { fromMs: number; toMs: number }[];
  cooldowns?: readonly { fromMs: number; toMs: number }[];
  footnotes?: readonly string[];
}

/** The keep-alive interval plot: reads (answered / not), TCSO attempts, allowed windows after each read, TC off-air spans. */
export function keepAlivePlot(p: PlotInput): string {
  const marks: TimelineMark[] = [];
  const spans: TimelineSpan[] = [];
  const w = allowedIntervalMs(p.params, 0);
  p.reads.forEach((r, i) => {
    const prev = p.reads[i - 1];
    const dt = prev ? ` — ${((r.atMs - prev.atMs) / 1000).toFixed(3)} s after the previous read` : '';
    marks.push({ atMs: r.atMs, kind: r.ok ? 'read-ok' : 'read-failed', lane: 0, title: `frame ${r.frame.index}, TSN ${r.tsn}${dt}${r.ok ? '' : ` (${r.why})`}` });
    spans.push({ fromMs: r.atMs + w.min, toMs: r.atMs + w.max, kind: 'allowed', lane: 0, title: `next read allowed ${p.params.baseMinutes} min … ${p.params.baseMinutes} min + ${p.params.jitterSeconds} s after frame ${r.frame.index}` });
  });
  for (const a of p.attempts ?? []) {
    marks.push({ atMs: a.atMs, kind: 'tcso', lane: 1, title: a.frames.map((f) => `#${f.index} ${f.summary}`).join('; ') });
  }
  for (const r of p.recoveries ?? []) marks.push({ atMs: r.atMs, kind: 'rejoin', lane: 1, title: r.title });
  for (const o of p.offAir ?? []) spans.push({ ...o, kind: 'off', title: 'TC off the air' });
  for (const c of p.cooldowns ?? []) spans.push({ ...c, kind: 'cooldown', lane: 1, title: 'cooldown after a failed TCSO search (5 min)' });
  const times = [...marks.map((m) => m.atMs)];
  const start = times.length ? Math.min(...times) : 0;
  return renderTimelineSvg({
    title: p.title, lanes: ['keep-alive reads', 'TCSO / rejoin'], marks, spans,
    startMs: start - 5_000, endMs: (times.length ? Math.max(...times) : start) + w.max + 5_000,
    footnotes: [`TC Keep-Alive Base ${p.params.baseMinutes} min, Jitter ${p.params.jitterSeconds} s; time from the first mark, from the capture timestamps`, ...(p.footnotes ?? [])],
  });
}
