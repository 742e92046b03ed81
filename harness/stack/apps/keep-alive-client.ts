// Keep-Alive client (device side) with Trust Center Swap-Out. Every read, its result and every
// TCSO step is recorded with its virtual/real time, for suites that measure intervals against
// [base, base + jitter] and plot them.
//
// Timing model (decisions where the sources differ; see protocol.md §6.3, ST guide §6.2):
// - A read is due `base·60 s + random(0…jitter) s` after the previous read was SENT, so on-air
//   read-to-read intervals fall exactly in [base, base + jitter]. (EMBER counts from the response
//   or from its 5 s timeout: at most 5 s later on failures.)
// - No answer within 5 s (EMBER KEEPALIVE_WAIT_TIME_MS), an error status, a Default Response
//   error or a missing / mistyped / out-of-range attribute = one failure.
// - 3 consecutive failures (EMBER/EXEGIN …FAILURE_LIMIT 3) → TCSO: TC (unsecured) rejoin
//   (EMBER emberFindAndRejoinNetworkWithReason(false, all channels, TC_KEEPALIVE_FAILURE)).
//   Found → resume reads. Not found → 5 min cooldown (ST guide "TCSO cooldown value (arbitrary)"),
//   then keep-alive restarts: failure count 0, first read one interval later. With base 1 min /
//   jitter 5 s this gives the ST guide's "TCSO callback notification every eight minutes",
//   8 min = 3 × 1 min + 5 min (+ jitter, the 5 s timeout of the third read and the rejoin time).
// - Until the first successful read the client uses the defaults 10 min / 300 s (ST guide §6.2).
import type { RandomSource } from '../../crypto/cbke-suites.ts';
import { KEEP_ALIVE_CLUSTER, KEEP_ALIVE_FAILURE_LIMIT, KeepAliveAttribute, keepAliveIntervalBoundsMs, readKeepAliveParameters } from '../../zigbee/clusters/keep-alive.ts';
import { type ZclReadRecord, ZclFrameType, ZclGlobalCommand, ZclStatus } from '../../zigbee/zcl.ts';
import type { ApsService, JoinerControl } from '../app.ts';
import type { JoinerBehaviour } from '../profiles.ts';
import { KEEP_ALIVE_DEFAULTS, type KeepAliveParams, checkKeepAliveParams } from './keep-alive-params.ts';
import { SILENT, type ZclCluster, type ZclDisposition, type ZclEndpoint, type ZclIncoming } from './zcl-endpoint.ts';

export interface KeepAliveClientOptions {
  control: JoinerControl;
  /** Draws the jitter; pass a seeded source (test-ca deterministicRandom) for repeatable runs. */
  random: RandomSource;
  /**
   * The TC's Keep-Alive endpoint. Given: no Match_Desc is sent (discovery skipped). Otherwise
   * `discoverEndpoint` (the node's Match_Desc for 0x0025 to 0x0000) runs before the first read.
   */
  server?: { short?: number; endpoint?: number };
  discoverEndpoint?: () => Promise<number | undefined>;
  behaviour?: Partial<Pick<JoinerBehaviour, 'tcso' | 'adoptKeepAliveValues'>>;
  initial?: KeepAliveParams;
  /** Delay of the first read after start(); default one interval with the initial values (EMBER). */
  firstReadDelayMs?: number;
  responseTimeoutMs?: number;
  failureLimit?: number;
  cooldownMs?: number;
  /** Rejoins of one TCSO search, in order; default one TC (unsecured) rejoin as EMBER. */
  tcsoRejoins?: readonly { secured: boolean }[];
  /** start() on onNetworkUp(); default false. */
  autoStart?: boolean;
}

export type KeepAlivePollResult = 'pending' | 'success' | 'timeout' | 'error-status' | 'invalid-response' | 'no-endpoint' | 'aborted';

export interface KeepAlivePoll {
  index: number;
  sentAt: number;
  completedAt?: number;
  result: KeepAlivePollResult;
  /** True when this read was scheduled one interval after the previous read (measurable). */
  regular: boolean;
  /** The window the delay before this read was drawn from (ms). */
  window: { min: number; max: number };
  /** Values the server returned (success only). */
  received?: KeepAliveParams;
  zclStatus?: number;
  problems?: string[];
  sendError?: string;
  /** Consecutive failures after this read. */
  consecutiveFailures: number;
}

export type KeepAliveEventType =
  | 'started' | 'stopped' | 'parameters' | 'recovered' | 'tcso-start' | 'tcso-skipped' | 'tcso-rejoin' | 'tcso-rejoin-result'
  | 'tcso-found' | 'tcso-not-found' | 'cooldown-start' | 'cooldown-end';

export interface KeepAliveEvent { at: number; type: KeepAliveEventType; detail?: Record<string, unknown> }

export type KeepAliveState = 'stopped' | 'waiting' | 'reading' | 'tcso' | 'cooldown';

export interface KeepAliveInterval { from: number; to: number; ms: number; min: number; max: number; within: boolean }

/** Read-to-read intervals of regularly scheduled reads, each with the window it was drawn from. */
export function keepAliveIntervals(polls: readonly KeepAlivePoll[]): KeepAliveInterval[] {
  const out: KeepAliveInterval[] = [];
  for (let i = 1; i < polls.length; i++) {
    const p = polls[i];
    if (!p.regular) continue;
    const ms = p.sentAt - polls[i - 1].sentAt;
    out.push({ from: polls[i - 1].sentAt, to: p.sentAt, ms, ...p.window, within: ms >= p.window.min && ms <= p.window.max });
  }
  return out;
}

const READ_ATTRIBUTES = [KeepAliveAttribute.TC_KEEP_ALIVE_BASE, KeepAliveAttribute.TC_KEEP_ALIVE_JITTER];

export class KeepAliveClient implements ZclCluster {
  readonly clusterId = KEEP_ALIVE_CLUSTER;
  readonly side = 'client' as const;
  /** Answers must come APS-secured too (protocol.md §7.1); unsecured ones are refused and time out. */
  readonly requireApsSecurity = true;
  readonly polls: KeepAlivePoll[] = [];
  readonly events: KeepAliveEvent[] = [];
  private readonly o: KeepAliveClientOptions;
  private endpoint: ZclEndpoint | undefined;
  private aps: ApsService | undefined;
  private params: KeepAliveParams;
  private failures = 0;
  private lastSuccessAt: number | undefined;
  private st: KeepAliveState = 'stopped';
  /** Bumped by start/stop: callbacks of an older run do nothing. */
  private gen = 0;
  private cancelTimer: (() => void) | undefined;
  private pending: { poll: KeepAlivePoll; tsn: number } | undefined;
  private discovered: number | undefined;
  private skipReported = false;
  /** Set when TCSO starts; the next successful read reports the recovery. */
  private afterTcso = false;

  constructor(opts: KeepAliveClientOptions) {
    this.o = opts;
    this.params = checkKeepAliveParams(opts.initial ?? KEEP_ALIVE_DEFAULTS, 'Keep-Alive client "initial"');
    if (opts.server?.endpoint === undefined && !opts.discoverEndpoint) {
      throw new RangeError('Keep-Alive client: give "server.endpoint" (TC endpoint known) or "discoverEndpoint" (Match_Desc)');
    }
  }

  get state(): KeepAliveState { return this.st; }
  get parameters(): KeepAliveParams { return { ...this.params }; }
  get consecutiveFailures(): number { return this.failures; }

  attach(endpoint: ZclEndpoint, aps: ApsService): void {
    this.endpoint = endpoint;
    this.aps = aps;
  }

  onNetworkUp(): void {
    if (this.o.autoStart && this.st === 'stopped') this.start();
  }

  start(): void {
    if (this.st !== 'stopped') return;
    this.need();
    this.gen++;
    this.failures = 0;
    this.skipReported = false;
    this.afterTcso = false;
    this.st = 'waiting';
    this.event('started', { ...this.params });
    const first = this.o.firstReadDelayMs;
    this.schedule(this.now(), first === undefined ? undefined : { min: first, max: first }, false);
  }

  stop(): void {
    if (this.st === 'stopped') return;
    this.gen++;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.pending) {
      this.pending.poll.result = 'aborted';
      this.pending.poll.completedAt = this.now();
      this.pending = undefined;
    }
    this.st = 'stopped';
    this.event('stopped');
  }

  handle(msg: ZclIncoming): ZclDisposition {
    const { ind, header, command } = msg;
    const p = this.pending;
    if (!p || ind.broadcast || header.tsn !== p.tsn || ind.srcShort !== this.serverShort) return SILENT;
    if (command.type === 'readAttributesResponse') this.onResponse(p.poll, command.records);
    else if (command.type === 'defaultResponse' && command.status !== ZclStatus.SUCCESS) {
      this.complete(p.poll, 'error-status', { zclStatus: command.status, problems: [`Default Response 0x${command.status.toString(16).padStart(2, '0')}`] });
    }
    return SILENT;
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** Next read one interval after `anchor` (a read's send time), or after `fixed` when given. */
  private schedule(anchor: number, fixed: { min: number; max: number } | undefined, regular: boolean): void {
    const window = fixed ?? keepAliveIntervalBoundsMs(this.params.baseMinutes, this.params.jitterSeconds);
    const delay = fixed ? fixed.min : window.min + this.randomUpTo(window.max - window.min);
    const gen = this.gen;
    this.st = 'waiting';
    this.cancelTimer = this.clock.setTimer(Math.max(0, anchor + delay - this.now()), () => {
      if (gen === this.gen) void this.poll(regular, window);
    });
  }

  private async poll(regular: boolean, window: { min: number; max: number }): Promise<void> {
    const gen = this.gen;
    this.st = 'reading';
    const poll: KeepAlivePoll = { index: this.polls.length, sentAt: this.now(), result: 'pending', regular, window, consecutiveFailures: this.failures };
    this.polls.push(poll);
    const dstEndpoint = await this.serverEndpoint();
    if (gen !== this.gen) return;
    if (dstEndpoint === undefined) {
      // EMBER counts "no endpoint" / no discovery answer as a keep-alive failure.
      this.pending = { poll, tsn: -1 };
      this.complete(poll, 'no-endpoint', { problems: ['no Keep-Alive server endpoint found on the TC'] });
      return;
    }
    const ep = this.endpoint as ZclEndpoint;
    const tsn = ep.nextTsn();
    poll.sentAt = this.now();
    this.pending = { poll, tsn };
    this.cancelTimer = this.clock.setTimer(this.o.responseTimeoutMs ?? 5000, () => {
      if (gen === this.gen) this.complete(poll, 'timeout', {});
    });
    // APS-encrypted: "required by the spec for the keepalive" (EMBER; protocol.md §6.3, §7.1).
    void ep.send({
      dst: { short: this.serverShort }, dstEndpoint, clusterId: KEEP_ALIVE_CLUSTER, direction: 'client-to-server', tsn,
      frameType: ZclFrameType.GLOBAL, commandId: ZclGlobalCommand.READ_ATTRIBUTES,
      command: { type: 'readAttributes', attributeIds: READ_ATTRIBUTES }, apsSecurity: true,
    }).then((r) => {
      // The failure itself is counted by the 5 s timeout, as EMBER does; the reason is kept.
      if (!r.ok) poll.sendError = r.reason;
    });
  }

  private onResponse(poll: KeepAlivePoll, records: readonly ZclReadRecord[]): void {
    const got = readKeepAliveParameters(records);
    if (got.problems.length > 0 || got.base === undefined || got.jitter === undefined) {
      const status = records.find((r) => r.status !== ZclStatus.SUCCESS)?.status;
      this.complete(poll, status !== undefined ? 'error-status' : 'invalid-response', { zclStatus: status, problems: got.problems.map((x) => x.message) });
      return;
    }
    this.complete(poll, 'success', { received: { baseMinutes: got.base, jitterSeconds: got.jitter } });
  }

  private complete(poll: KeepAlivePoll, result: KeepAlivePollResult, extra: Partial<KeepAlivePoll>): void {
    if (this.pending?.poll !== poll) return;
    this.pending = undefined;
    this.cancelTimer?.();
    Object.assign(poll, extra, { result, completedAt: this.now() });
    if (result === 'success') {
      const received = poll.received as KeepAliveParams;
      if (this.failures > 0 || this.afterTcso) this.event('recovered', { afterFailures: this.failures, afterTcso: this.afterTcso });
      this.afterTcso = false;
      // Success resets the count and adopts the server's values (protocol.md §6.3 step 3) —
      // unless the device is the known-bad one that stays on its own interval.
      if (this.o.behaviour?.adoptKeepAliveValues !== false) {
        if (received.baseMinutes !== this.params.baseMinutes || received.jitterSeconds !== this.params.jitterSeconds) {
          this.event('parameters', { ...received, previous: { ...this.params } });
        }
        this.params = received;
      }
      this.failures = 0;
      this.skipReported = false;
      this.lastSuccessAt = poll.sentAt;
    } else {
      this.failures++;
    }
    poll.consecutiveFailures = this.failures;
    this.aps?.trace('keepalive.poll', { index: poll.index, result, consecutiveFailures: this.failures, ...(poll.zclStatus !== undefined ? { zclStatus: poll.zclStatus } : {}) });
    if (this.failures >= (this.o.failureLimit ?? KEEP_ALIVE_FAILURE_LIMIT)) this.onFailureLimit(poll);
    else this.schedule(poll.sentAt, undefined, true);
  }

  // ---- Trust Center Swap-Out -------------------------------------------------------------------

  private onFailureLimit(poll: KeepAlivePoll): void {
    if (this.o.behaviour?.tcso === false) {
      // Known-bad (profile no-tcso): keeps reading, never searches for the TC.
      if (!this.skipReported) this.event('tcso-skipped', { failures: this.failures, lastSuccessAt: this.lastSuccessAt ?? null });
      this.skipReported = true;
      this.schedule(poll.sentAt, undefined, true);
      return;
    }
    this.st = 'tcso';
    this.afterTcso = true;
    this.event('tcso-start', { failures: this.failures, lastSuccessAt: this.lastSuccessAt ?? null });
    void this.swapOut(this.gen);
  }

  private async swapOut(gen: number): Promise<void> {
    for (const attempt of this.o.tcsoRejoins ?? [{ secured: false }]) {
      this.event('tcso-rejoin', { secured: attempt.secured });
      let r: { joined: boolean; reason?: string };
      try {
        r = await this.o.control.rejoin(attempt);
      } catch (e) {
        r = { joined: false, reason: e instanceof Error ? e.message : String(e) };
      }
      if (gen !== this.gen) return;
      this.event('tcso-rejoin-result', { secured: attempt.secured, joined: r.joined, ...(r.reason ? { reason: r.reason } : {}) });
      if (r.joined) {
        // TC found (same or new): resume normal reads; a new TC's endpoint is discovered again.
        this.event('tcso-found', { trustCenter: this.o.control.trustCenterEui64 ?? null });
        this.discovered = undefined;
        this.failures = 0;
        this.schedule(this.now(), undefined, false);
        return;
      }
    }
    this.event('tcso-not-found');
    const cooldown = this.o.cooldownMs ?? 300_000;
    this.st = 'cooldown';
    this.event('cooldown-start', { ms: cooldown });
    this.cancelTimer = this.clock.setTimer(cooldown, () => {
      if (gen !== this.gen) return;
      this.event('cooldown-end');
      // Keep-alive restarts afresh after the cooldown (EXEGIN NOT_FOUND; ST guide §6.2).
      this.failures = 0;
      this.skipReported = false;
      this.schedule(this.now(), undefined, false);
    });
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private async serverEndpoint(): Promise<number | undefined> {
    if (this.o.server?.endpoint !== undefined) return this.o.server.endpoint;
    if (this.discovered !== undefined) return this.discovered;
    try {
      this.discovered = await (this.o.discoverEndpoint as () => Promise<number | undefined>)();
    } catch {
      this.discovered = undefined;
    }
    return this.discovered;
  }

  private event(type: KeepAliveEventType, detail?: Record<string, unknown>): void {
    this.events.push({ at: this.now(), type, detail });
    this.aps?.trace(`keepalive.${type}`, detail);
  }

  /** Uniform integer in [0, n] (n ≤ 512 000 ms, so the modulo bias of 32 random bits is negligible). */
  private randomUpTo(n: number): number {
    if (n <= 0) return 0;
    const b = this.o.random(4);
    const v = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
    return v % (n + 1);
  }

  private need(): ApsService {
    if (!this.aps || !this.endpoint) throw new Error('Keep-Alive client: not attached to a node (host its ZclEndpoint and attach(aps))');
    return this.aps;
  }

  private get serverShort(): number { return this.o.server?.short ?? 0x0000; }
  private get clock() { return this.need().clock; }
  private now(): number { return this.aps?.clock.now() ?? 0; }
}
