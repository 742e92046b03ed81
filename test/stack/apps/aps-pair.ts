// An in-memory APS network for testing applications without MAC/NWK: nodes implement ApsService
// (and the joiner side JoinerControl), frames travel through the clock with a small delay, APS
// acks come back one more delay later, and a test can take a node offline, drop or delay frames,
// or inject raw frames. APS security is modelled by keys only: a secured frame reaches its
// destination only when both ends hold the same link key for each other (otherwise it is dropped
// as undecryptable and the sender sees no ack).
import type {
  ApsApplication, ApsDataRequest, ApsSendResult, ApsService, JoinerControl, LinkKeyOrigin,
} from '../../../harness/stack/app.ts';
import type { VirtualClock } from '../../../harness/sim/clock.ts';
import type { Eui64 } from '../../../harness/zigbee/codec.ts';
import { equalBytes } from '../../../harness/crypto/bytes.ts';

export interface SimFrame {
  at: number;
  from: string;
  to: string;
  srcShort: number;
  dstShort: number;
  srcEndpoint: number;
  dstEndpoint: number;
  clusterId: number;
  profileId: number;
  payload: Uint8Array;
  apsSecured: boolean;
  broadcast: boolean;
  ackRequest: boolean;
  fate: 'delivered' | 'dropped' | 'offline' | 'undecryptable' | 'no-route' | 'no-key';
}

export interface TraceLine { at: number; node: string; event: string; detail?: Record<string, unknown> }

export class MemoryNetwork {
  readonly frames: SimFrame[] = [];
  readonly traces: TraceLine[] = [];
  readonly nodes: MemoryNode[] = [];
  /** One-way latency of a frame and of its APS ack. */
  delayMs = 5;
  /** Time until a sender gives up on an APS ack (apscMaxFrameRetries 3 × ack wait, roughly). */
  noAckAfterMs = 6000;
  /** Return true to drop a frame (it is logged with fate 'dropped'). */
  dropIf: ((f: SimFrame) => boolean) | undefined;
  /** Extra delay for some frames. */
  extraDelayMs: ((f: SimFrame) => number) | undefined;

  constructor(readonly clock: VirtualClock) {}

  addNode(opts: { name: string; eui64: Eui64; short: number; apps?: ApsApplication[] }): MemoryNode {
    const n = new MemoryNode(this, opts.name, opts.eui64, opts.short);
    for (const a of opts.apps ?? []) n.host(a);
    this.nodes.push(n);
    return n;
  }

  byShort(short: number): MemoryNode | undefined {
    return this.nodes.find((n) => n.shortAddress === short);
  }

  byEui(e: Eui64): MemoryNode | undefined {
    return this.nodes.find((n) => n.eui64 === e);
  }

  /** Delivers (or not) one frame; resolves with what the sender's APS reports. */
  transmit(from: MemoryNode, req: ApsDataRequest): Promise<ApsSendResult> {
    const at = this.clock.now();
    const broadcast = 'short' in req.dst && req.dst.short >= 0xfff8;
    const to = broadcast ? undefined : 'short' in req.dst ? this.byShort(req.dst.short) : this.byEui(req.dst.eui64);
    const ackRequest = !broadcast && (req.ackRequest ?? true);
    const frame: SimFrame = {
      at, from: from.name, to: broadcast ? 'broadcast' : to?.name ?? '?', srcShort: from.shortAddress, dstShort: to?.shortAddress ?? 0xffff,
      srcEndpoint: req.srcEndpoint, dstEndpoint: req.dstEndpoint, clusterId: req.clusterId, profileId: req.profileId,
      payload: req.payload.slice(), apsSecured: req.apsSecurity, broadcast, ackRequest, fate: 'delivered',
    };
    this.frames.push(frame);
    if (!from.online) return this.after(0, { ok: false, reason: 'not-joined' }, frame, 'offline');
    if (!broadcast && !to) return this.after(0, { ok: false, reason: 'no-route' }, frame, 'no-route');
    if (req.apsSecurity && !broadcast && !from.getLinkKey((to as MemoryNode).eui64)) return this.after(0, { ok: false, reason: 'no-key' }, frame, 'no-key');
    const targets = broadcast ? this.nodes.filter((n) => n !== from) : [to as MemoryNode];
    const delay = this.delayMs + (this.extraDelayMs?.(frame) ?? 0);
    let fate: SimFrame['fate'] = 'delivered';
    if (this.dropIf?.(frame)) fate = 'dropped';
    else if (!broadcast && !(to as MemoryNode).online) fate = 'offline';
    else if (req.apsSecurity && !broadcast && !sameKey(from, to as MemoryNode)) fate = 'undecryptable';
    frame.fate = fate;
    if (fate === 'delivered') {
      for (const t of targets) {
        if (!t.online) continue;
        this.clock.setTimer(delay, () => t.receive(from, req, broadcast));
      }
    }
    if (broadcast || !ackRequest) return this.after(delay, { ok: true });
    return fate === 'delivered' ? this.after(2 * delay, { ok: true }) : this.after(this.noAckAfterMs, { ok: false, reason: 'no-ack' });
  }

  private after(ms: number, r: ApsSendResult, frame?: SimFrame, fate?: SimFrame['fate']): Promise<ApsSendResult> {
    if (frame && fate) frame.fate = fate;
    return new Promise((resolve) => { this.clock.setTimer(ms, () => resolve(r)); });
  }

  /** KE / ZCL frames of one cluster as seen "on the air" (delivered or not). */
  framesOf(clusterId: number): SimFrame[] {
    return this.frames.filter((f) => f.clusterId === clusterId);
  }
}

function sameKey(a: MemoryNode, b: MemoryNode): boolean {
  const ka = a.getLinkKey(b.eui64);
  const kb = b.getLinkKey(a.eui64);
  return !!ka && !!kb && equalBytes(ka.key, kb.key);
}

export class MemoryNode implements ApsService {
  online = true;
  readonly apps = new Map<number, ApsApplication>();
  readonly keys = new Map<Eui64, { key: Uint8Array; origin: LinkKeyOrigin }>();
  readonly keyLog: { at: number; partner: Eui64; origin: LinkKeyOrigin }[] = [];
  shortAddress: number;

  constructor(readonly net: MemoryNetwork, readonly name: string, readonly eui64: Eui64, short: number) {
    this.shortAddress = short;
  }

  get clock(): VirtualClock {
    return this.net.clock;
  }

  host(app: ApsApplication): void {
    this.apps.set(app.endpoint, app);
    (app as { attach?: (aps: ApsService) => void }).attach?.(this);
  }

  send(req: ApsDataRequest): Promise<ApsSendResult> {
    return this.net.transmit(this, req);
  }

  getLinkKey(partner: Eui64) {
    return this.keys.get(partner);
  }

  setLinkKey(partner: Eui64, key: Uint8Array, origin: LinkKeyOrigin): void {
    this.keys.set(partner, { key: key.slice(), origin });
    this.keyLog.push({ at: this.clock.now(), partner, origin });
  }

  lookupEui64(short: number): Eui64 | undefined {
    return this.net.byShort(short)?.eui64;
  }

  trace(event: string, detail?: Record<string, unknown>): void {
    this.net.traces.push({ at: this.clock.now(), node: this.name, event, detail });
  }

  receive(from: MemoryNode, req: ApsDataRequest, broadcast: boolean): void {
    const targets = broadcast && req.dstEndpoint === 0xff ? [...this.apps.values()] : [this.apps.get(req.dstEndpoint)].filter((a) => a !== undefined);
    for (const app of targets) {
      app.onData({
        srcShort: from.shortAddress, srcEui64: from.eui64, srcEndpoint: req.srcEndpoint, dstEndpoint: app.endpoint, clusterId: req.clusterId,
        profileId: req.profileId, payload: req.payload.slice(), apsSecured: req.apsSecurity,
        apsKeyLabel: req.apsSecurity ? `link@${broadcast ? '' : this.eui64}` : undefined, nwkSecured: true, broadcast,
      }, this);
    }
  }
}

/** JoinerControl of a device: a rejoin takes `durationMs` and succeeds when its TC is online. */
export class MemoryJoinerControl implements JoinerControl {
  readonly rejoins: { at: number; secured: boolean; joined: boolean }[] = [];
  durationMs = 1000;
  constructor(private readonly device: MemoryNode, private readonly tc: MemoryNode) {}

  get trustCenterEui64(): Eui64 {
    return this.tc.eui64;
  }

  async rejoin(opts: { secured: boolean }): Promise<{ joined: boolean; reason?: string }> {
    await this.device.clock.sleep(this.durationMs);
    const joined = this.tc.online && this.device.online;
    this.rejoins.push({ at: this.device.clock.now(), secured: opts.secured, joined });
    return joined ? { joined } : { joined, reason: 'no network with our Trust Center answered (beacons / rejoin response)' };
  }
}

/** Sends a raw APS frame from `from` as if its application had (for malformed / out-of-sequence tests). */
export function inject(from: MemoryNode, req: Omit<ApsDataRequest, 'apsSecurity'> & { apsSecurity?: boolean }): Promise<ApsSendResult> {
  return from.send({ ...req, apsSecurity: req.apsSecurity ?? false });
}
