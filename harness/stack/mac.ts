// IEEE 802.15.4 MAC of a simulated node, as Zigbee uses it (non-beacon PAN, 2003 frames):
// FCS, acknowledgements and retries, duplicate rejection, beacon request → beacon, association,
// data-request polling, and on parents the indirect queue for children whose receiver is off.
// Frames are built with harness/zigbee/ieee802154.ts, so every PSDU on the air is exact.
import { airtimeUs, type AirFrame, type Radio, type Air } from '../sim/air.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import {
  crc16Kermit, decodeMacFrame, encodeMacFrame, MacAddrMode, MacFrameType,
  type Capability, type MacBody, type MacHeader, type ZigbeeBeacon,
} from '../zigbee/ieee802154.ts';
import type { NodeContext } from './context.ts';
import { IndirectQueue } from './mac-indirect.ts';
import { Signal } from './signal.ts';

/** MAC constants at 2.4 GHz O-QPSK (16 µs per symbol). @spec IEEE 802.15.4-2006 §7.4.1–7.4.2 */
export const MacTiming = {
  /** aTurnaroundTime, 12 symbols: reception end → ack transmission. */
  turnaroundMs: 0.192,
  /** macAckWaitDuration, 54 symbols (aUnitBackoffPeriod + aTurnaroundTime + SHR + 6 octets). */
  ackWaitMs: 0.864,
  /** macMaxFrameRetries default. */
  maxFrameRetries: 3,
  /** macResponseWaitTime = 32 × aBaseSuperframeDuration (960 symbols). */
  responseWaitMs: 491.52,
  /** macTransactionPersistenceTime 0x01F4 × aBaseSuperframeDuration (BO = 15); protocol.md §1.2 (7680 ms). */
  transactionPersistenceMs: 7680,
  /** macMaxFrameTotalWaitTime with the 2.4 GHz defaults (1220 symbols). */
  maxFrameTotalWaitMs: 19.52,
  /** Active scan duration 3: aBaseSuperframeDuration × (2^3 + 1) symbols. */
  scanDurationMs: 138.24,
} as const;

const BROADCAST = 0xffff;
/** aMaxPHYPacketSize. @spec IEEE 802.15.4-2006 §6.4.1 */
const MAX_PSDU = 127;

/** 'too-long': the PSDU would exceed aMaxPHYPacketSize (127 bytes). */
export type MacTxStatus = 'success' | 'no-ack' | 'expired' | 'stopped' | 'too-long';

export type MacDst = { pan: number; short: number } | { pan: number; ext: Eui64 };

/** A frame to send; the MAC fills sequence number, PAN-ID compression and the source address. */
export interface MacOut {
  frameType: number;
  dst?: MacDst;
  src: 'short' | 'ext' | 'none';
  /** Source PAN when it is not compressed (association request: 0xFFFF). */
  srcPan?: number;
  ackRequest: boolean;
  framePending?: boolean;
  body: MacBody;
}

export interface MacRx {
  header: MacHeader;
  payload: Uint8Array;
  lqi: number;
}

export interface BeaconInfo {
  channel: number;
  panId: number;
  coordShort: number;
  permitJoin: boolean;
  panCoordinator: boolean;
  zigbee: ZigbeeBeacon;
  lqi: number;
}

/** What a parent (coordinator or router) decides at the MAC boundary. */
export interface MacCoordinator {
  /** Beacon content, or undefined to stay silent. */
  beaconContent(): { permitJoin: boolean; panCoordinator: boolean; zigbee: ZigbeeBeacon } | undefined;
  associationRequest(src64: Eui64, capability: Capability): { status: number; short: number };
  /** The association response left the indirect queue (or expired). */
  associationDelivered(src64: Eui64, short: number, capability: Capability, accepted: boolean, tx: MacTxStatus): void;
  /** A child's EUI-64 from its short address (joined children poll with their short address). */
  childEui64(short: number): Eui64 | undefined;
}

export class Mac {
  panId = BROADCAST;
  shortAddress = BROADCAST;
  coordinator: MacCoordinator | undefined;
  onData: (rx: MacRx) => void = () => {};
  readonly associationResponses = new Signal<{ short: number; status: number }>();
  private readonly radio: Radio;
  private seq: number;
  private txTail: Promise<unknown> = Promise.resolve();
  private awaitingAck: { seq: number; done: (framePending: boolean | undefined) => void } | undefined;
  private rxWindowUntil = -1;
  private scanResults: BeaconInfo[] | undefined;
  private readonly lastSeq = new Map<number | string, number>();
  private readonly indirect: IndirectQueue;
  private stopped = false;
  /** Sleepy devices: poll the parent (set by the node; called when a frame says more is pending). */
  onMorePending: () => void = () => {};

  constructor(private readonly ctx: NodeContext, air: Air, channel: number, public rxOnWhenIdle: boolean) {
    this.seq = ctx.random.int(256);
    this.radio = air.attach(ctx.name, channel, (f) => this.onAir(f));
    this.indirect = new IndirectQueue(ctx.clock, MacTiming.transactionPersistenceMs);
  }

  get channel(): number {
    return this.radio.channel;
  }
  set channel(c: number) {
    this.radio.channel = c;
  }

  stop(): void {
    this.stopped = true;
    this.indirect.clear();
    this.awaitingAck?.done(undefined);
    this.radio.detach();
  }

  /**
   * Forgets the duplicate-rejection state (the last sequence number taken from each sender). Off
   * the network no later frame can be the retransmission of one taken before; kept, a partner
   * whose sequence numbers happen to repeat (a coordinator re-formed as a fresh node) would have
   * its next frame dropped as a duplicate.
   */
  forgetSenders(): void {
    this.lastSeq.clear();
  }

  /** Frames waiting in the indirect queue for `child`. */
  pendingFor(child: Eui64): number {
    return this.indirect.count(child);
  }

  // ---------------------------------------------------------------------------------------------
  // Transmit

  /** Sends one frame now (serialised with this node's other transmissions), retrying unacked unicasts. */
  transmit(out: MacOut): Promise<{ status: MacTxStatus; framePending: boolean }> {
    const run = this.txTail.then(() => this.transmitNow(out));
    this.txTail = run.catch(() => {});
    return run;
  }

  /** Holds the frame until `child` polls (rx-off-when-idle children). @spec IEEE 802.15.4-2006 §7.5.6.3 */
  queueIndirect(child: Eui64, out: MacOut): Promise<MacTxStatus> {
    if (this.stopped) return Promise.resolve('stopped');
    return this.indirect.add(child, out);
  }

  private async transmitNow(out: MacOut): Promise<{ status: MacTxStatus; framePending: boolean }> {
    const header = this.header(out);
    const psdu = encodeMacFrame({ header, body: out.body });
    if (psdu.length > MAX_PSDU) {
      this.ctx.trace('mac.frame-too-long', { length: psdu.length });
      return { status: 'too-long', framePending: false };
    }
    const attempts = out.ackRequest ? 1 + MacTiming.maxFrameRetries : 1;
    for (let i = 0; i < attempts; i++) {
      if (this.stopped) return { status: 'stopped', framePending: false };
      const ack = out.ackRequest ? this.expectAck(header.seq!, psdu.length) : undefined;
      await this.radio.transmit(psdu);
      if (!ack) return { status: 'success', framePending: false };
      const pending = await ack;
      if (pending !== undefined) return { status: 'success', framePending: pending };
    }
    this.ctx.trace('mac.no-ack', { macDst: out.dst && 'short' in out.dst ? out.dst.short : undefined, to: out.dst && 'ext' in out.dst ? out.dst.ext : undefined });
    return { status: 'no-ack', framePending: false };
  }

  private expectAck(seq: number, psduLength: number): Promise<boolean | undefined> {
    return new Promise((resolve) => {
      let cancel = () => {};
      const done = (p: boolean | undefined) => {
        if (this.awaitingAck?.seq === seq) this.awaitingAck = undefined;
        cancel();
        resolve(p);
      };
      this.awaitingAck = { seq, done };
      // The wait starts when the frame has left the antenna: airtime + macAckWaitDuration.
      cancel = this.ctx.clock.setTimer(airtimeUs(psduLength) / 1000 + MacTiming.ackWaitMs, () => done(undefined));
    });
  }

  private header(out: MacOut): MacHeader {
    const dstMode = out.dst === undefined ? MacAddrMode.none : 'short' in out.dst ? MacAddrMode.short : MacAddrMode.extended;
    const srcMode = out.src === 'none' ? MacAddrMode.none : out.src === 'short' ? MacAddrMode.short : MacAddrMode.extended;
    const compression = dstMode !== 0 && srcMode !== 0 && out.srcPan === undefined;
    const h: MacHeader = {
      frameType: out.frameType, securityEnabled: false, framePending: out.framePending ?? false, ackRequest: out.ackRequest,
      panIdCompression: compression, dstAddrMode: dstMode, frameVersion: 0, srcAddrMode: srcMode, seq: this.nextSeq(),
    };
    if (out.dst) {
      h.dstPan = out.dst.pan;
      h.dst = 'short' in out.dst ? out.dst.short : out.dst.ext;
    }
    if (srcMode !== 0) {
      if (!compression) h.srcPan = out.srcPan ?? this.panId;
      h.src = srcMode === MacAddrMode.short ? this.shortAddress : this.ctx.eui64;
    }
    return h;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0xff;
    return this.seq;
  }

  private async sendAck(seq: number, framePending: boolean): Promise<void> {
    const psdu = encodeMacFrame({
      header: { frameType: MacFrameType.ack, securityEnabled: false, framePending, ackRequest: false, panIdCompression: false, dstAddrMode: 0, frameVersion: 0, srcAddrMode: 0, seq },
      body: { kind: 'ack' },
    });
    await this.ctx.clock.sleep(MacTiming.turnaroundMs);
    if (!this.stopped) await this.radio.transmit(psdu);
  }

  // ---------------------------------------------------------------------------------------------
  // Receive

  private receiverOn(): boolean {
    return this.rxOnWhenIdle || this.awaitingAck !== undefined || this.scanResults !== undefined || this.ctx.clock.now() <= this.rxWindowUntil;
  }

  /** Keeps a sleepy device's receiver on for `ms` (waiting for an association response, after a poll). */
  openRxWindow(ms: number): void {
    this.rxWindowUntil = Math.max(this.rxWindowUntil, this.ctx.clock.now() + ms);
  }

  private onAir(f: AirFrame): void {
    if (this.stopped || !this.receiverOn()) return;
    const p = f.psdu;
    const n = p.length - 2;
    if (n < 3) return;
    const fcf = p[0] | (p[1] << 8);
    const type = fcf & 7;
    if (type === MacFrameType.ack) {
      const a = this.awaitingAck;
      if (a && n === 3 && p[2] === a.seq && crc16Kermit(p, 0, n) === (p[n] | (p[n + 1] << 8))) a.done((fcf & 0x10) !== 0);
      return;
    }
    if (!this.addressedToMe(p, fcf, type)) return; // cheap filter on raw bytes before any decoding
    if (crc16Kermit(p, 0, n) !== (p[n] | (p[n + 1] << 8))) return; // bad FCS: as if not heard
    let header: MacHeader;
    let body: MacBody;
    let payloadOffset: number;
    try {
      const d = decodeMacFrame(p, { hasFcs: true });
      header = d.value.header;
      body = d.value.body;
      payloadOffset = d.payloadOffset;
    } catch {
      this.ctx.trace('mac.malformed', { from: f.sender });
      return;
    }
    const unicastToMe = header.ackRequest && header.dst !== undefined && header.dst !== BROADCAST;
    if (unicastToMe) {
      const isPoll = body.kind === 'command' && body.command.kind === 'dataRequest';
      const child = isPoll ? this.childOf(header.src) : undefined;
      const pendingForSrc = child !== undefined && this.indirect.count(child) > 0;
      const acked = this.sendAck(header.seq!, pendingForSrc);
      // Retransmission of a frame already taken (its ack was lost): ack again, deliver once.
      const key = header.src ?? -1;
      if (this.lastSeq.get(key) === header.seq) return;
      this.lastSeq.set(key, header.seq!);
      if (isPoll) {
        if (child !== undefined && pendingForSrc) void acked.then(() => this.deliverIndirect(child));
        return;
      }
      // The upper layers see the frame once its ack is out: the radio does one thing at a time,
      // so an answer can never start before the ack has left the antenna.
      void acked.then(() => this.dispatch(f, header, body, payloadOffset));
      return;
    }
    this.dispatch(f, header, body, payloadOffset);
  }

  private dispatch(f: AirFrame, header: MacHeader, body: MacBody, payloadOffset: number): void {
    if (this.stopped) return;
    const p = f.psdu;
    const n = p.length - 2;
    if (!this.rxOnWhenIdle && header.framePending) this.onMorePending();
    switch (body.kind) {
      case 'data':
        this.onData({ header, payload: p.subarray(payloadOffset, n), lqi: f.lqi });
        return;
      case 'beacon':
        if (this.scanResults && body.zigbee && typeof header.src === 'number') {
          this.scanResults.push({
            channel: f.channel, panId: header.srcPan ?? BROADCAST, coordShort: header.src, permitJoin: body.superframe.associationPermit,
            panCoordinator: body.superframe.panCoordinator, zigbee: body.zigbee, lqi: f.lqi,
          });
        }
        return;
      case 'command':
        this.onCommand(header, body.command);
        return;
      default:
        return;
    }
  }

  private addressedToMe(p: Uint8Array, fcf: number, type: number): boolean {
    const dstMode = (fcf >> 10) & 3;
    if (dstMode === MacAddrMode.none) return type === MacFrameType.beacon && this.scanResults !== undefined;
    if (p.length < 7) return false;
    const dstPan = p[3] | (p[4] << 8);
    if (dstPan !== BROADCAST && dstPan !== this.panId) return false;
    if (dstMode === MacAddrMode.short) {
      const d = p[5] | (p[6] << 8);
      return d === BROADCAST || d === this.shortAddress;
    }
    if (dstMode !== MacAddrMode.extended || p.length < 13) return false;
    const me = this.ctx.eui64Air;
    for (let i = 0; i < 8; i++) if (p[5 + i] !== me[i]) return false;
    return true;
  }

  private childOf(src: number | Eui64 | undefined): Eui64 | undefined {
    if (typeof src === 'string') return src;
    if (typeof src === 'number') return this.coordinator?.childEui64(src);
    return undefined;
  }

  private deliverIndirect(child: Eui64): void {
    const next = this.indirect.take(child);
    if (!next) return;
    const more = this.indirect.count(child) > 0;
    void this.transmit({ ...next.out, framePending: more }).then((r) => next.done(r.status));
  }

  private onCommand(header: MacHeader, cmd: Extract<MacBody, { kind: 'command' }>['command']): void {
    const coord = this.coordinator;
    switch (cmd.kind) {
      case 'beaconRequest': {
        const content = coord?.beaconContent();
        if (!content) return;
        const sf = { beaconOrder: 15, superframeOrder: 15, finalCapSlot: 15, batteryLifeExtension: false, panCoordinator: content.panCoordinator, associationPermit: content.permitJoin };
        void this.transmit({
          frameType: MacFrameType.beacon, src: 'short', srcPan: this.panId, ackRequest: false,
          body: { kind: 'beacon', superframe: sf, gts: { permit: false, descriptors: [] }, pending: { short: [], extended: [] }, zigbee: content.zigbee },
        });
        return;
      }
      case 'associationRequest': {
        if (!coord || typeof header.src !== 'string') return;
        const src64 = header.src;
        const d = coord.associationRequest(src64, cmd.capability);
        const accepted = d.status === 0;
        void this.queueIndirect(src64, {
          frameType: MacFrameType.command, dst: { pan: this.panId, ext: src64 }, src: 'ext', ackRequest: true,
          body: { kind: 'command', command: { kind: 'associationResponse', shortAddress: accepted ? d.short : 0xffff, status: d.status } },
        }).then((tx) => coord.associationDelivered(src64, d.short, cmd.capability, accepted, tx));
        return;
      }
      case 'associationResponse':
        this.associationResponses.emit({ short: cmd.shortAddress, status: cmd.status });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Device side: scan, associate, poll

  /** Active scan on `channel`: beacon request, then every beacon heard for the scan duration. @spec IEEE 802.15.4-2006 §7.5.2.1.2 */
  async scan(channel: number, durationMs: number = MacTiming.scanDurationMs): Promise<BeaconInfo[]> {
    this.channel = channel;
    const results: BeaconInfo[] = [];
    this.scanResults = results;
    try {
      await this.transmit({
        frameType: MacFrameType.command, dst: { pan: BROADCAST, short: BROADCAST }, src: 'none', ackRequest: false,
        body: { kind: 'command', command: { kind: 'beaconRequest' } },
      });
      await this.ctx.clock.sleep(durationMs);
    } finally {
      this.scanResults = undefined;
    }
    return results;
  }

  /**
   * Association with a coordinator: request (ack), macResponseWaitTime, data request, response.
   * @spec IEEE 802.15.4-2006 §7.5.3.1; protocol.md §1.2 (flow)
   */
  async associate(target: { panId: number; coordShort: number }, capability: Capability): Promise<{ status: number; short: number } | { failure: string }> {
    this.panId = target.panId;
    this.shortAddress = BROADCAST;
    const req = await this.transmit({
      frameType: MacFrameType.command, dst: { pan: target.panId, short: target.coordShort }, src: 'ext', srcPan: BROADCAST, ackRequest: true,
      body: { kind: 'command', command: { kind: 'associationRequest', capability } },
    });
    if (req.status !== 'success') return { failure: 'association request not acknowledged' };
    await this.ctx.clock.sleep(MacTiming.responseWaitMs);
    const rsp = this.associationResponses.wait(this.ctx.clock, MacTiming.responseWaitMs, (r) => r);
    this.openRxWindow(MacTiming.responseWaitMs);
    const poll = await this.poll(target.coordShort, 'ext');
    if (poll === 'no-ack') {
      rsp.cancel();
      return { failure: 'data request for the association response not acknowledged' };
    }
    const r = await rsp.promise;
    this.rxWindowUntil = -1;
    if (!r) return { failure: `no association response within ${MacTiming.responseWaitMs} ms of the poll` };
    if (r.status === 0) this.shortAddress = r.short;
    return r;
  }

  /** Data request to the parent; the receiver stays on for macMaxFrameTotalWaitTime if data is pending. */
  async poll(parentShort: number, src: 'short' | 'ext' = 'short'): Promise<'data' | 'no-data' | 'no-ack'> {
    const r = await this.transmit({
      frameType: MacFrameType.command, dst: { pan: this.panId, short: parentShort }, src, ackRequest: true,
      body: { kind: 'command', command: { kind: 'dataRequest' } },
    });
    if (r.status !== 'success') return 'no-ack';
    if (!r.framePending) return 'no-data';
    this.openRxWindow(MacTiming.maxFrameTotalWaitMs);
    return 'data';
  }
}
