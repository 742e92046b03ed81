// NWK layer of a simulated node: frames to and from the MAC, network-key security (hop by hop:
// a relay opens the frame and secures it again with its own counter and address, as the aux
// source and the per-neighbour incoming counters of Zigbee PRO require), broadcasts with the
// broadcast transaction table, and the relay of one router hop.
// @spec Zigbee 05-3474 §3.3 (frames), §3.6.5 (broadcast), §3.6.3 (routing), §4.3.1 (security)
import type { Eui64 } from '../zigbee/codec.ts';
import { MacFrameType } from '../zigbee/ieee802154.ts';
import { decodeNwkCommand, decodeNwkFrame, encodeNwkCommand, encodeNwkHeader, NwkCommandId, NwkFrameType, NwkStatusCode, type NwkCommand, type NwkHeader } from '../zigbee/nwk.ts';
import type { NetState, NodeContext } from './context.ts';
import type { Mac, MacOut, MacRx, MacTxStatus } from './mac.ts';
import type { NwkSecurity } from './nwk-security.ts';

/** Default radius (2 × nwkMaxDepth; captures show 0x1E). protocol.md §2.2 */
export const DEFAULT_RADIUS = 30;
/** nwkNetworkBroadcastDeliveryTime: how long a broadcast is remembered in the BTT. @spec Zigbee 05-3474 §3.5.2 */
const BTT_HOLD_MS = 9_000;

export const NwkBroadcast = { ALL: 0xffff, RX_ON_WHEN_IDLE: 0xfffd, ROUTERS: 0xfffc, LOW_POWER_ROUTERS: 0xfffb } as const;

export function isBroadcast(dst16: number): boolean {
  return dst16 >= 0xfff8;
}

export interface NwkIndication {
  header: NwkHeader;
  /** APS frame (data frames) or the NWK command, id byte first (command frames). */
  payload: Uint8Array;
  secured: boolean;
  /** Aux source of a secured frame: the last hop. */
  hopSender?: Eui64;
  macSrc: number | Eui64 | undefined;
  broadcast: boolean;
}

export interface NwkHop {
  short: number;
  /** The next hop is a child with its receiver off: hold the frame for its poll. */
  indirectFor?: Eui64;
}

/** What the NWK layer asks of the node's topology (child table, routes, parent). */
export interface NwkRouting {
  /** Relays unicasts not addressed to it (coordinator, routers). */
  readonly relays: boolean;
  /** Re-broadcasts broadcasts (routers: in the virtual air every node hears the coordinator, so its relay would add nothing). */
  readonly relaysBroadcasts: boolean;
  nextHop(dst16: number): NwkHop | undefined;
  /** Children whose receiver is off (they get 0xFFFF broadcasts through the indirect queue). */
  sleepyChildren(): { eui64: Eui64; short: number }[];
  /** Address and route learning from a received frame. */
  learn(src16: number, src64: Eui64 | undefined, macSrc: number | Eui64 | undefined): void;
}

export interface NwkSendRequest {
  dst16: number;
  frameType: 'data' | 'command';
  payload: Uint8Array;
  security: boolean;
  radius?: number;
  dst64?: Eui64;
  /** Carry our EUI-64 in the NWK header (commands of joining and leaving, protocol.md §2.5). */
  withSrc64?: boolean;
  /** Next hop when the routing view does not know the destination yet (a child being joined). */
  via?: NwkHop;
}

export type NwkTxStatus = MacTxStatus | 'no-route' | 'no-key';

export class Nwk {
  /** Set by the joiner while it waits for the network key (join, Trust Center rejoin). */
  acceptUnsecuredFromParent = false;
  /**
   * Answer a replayed frame with Network Status 0x11 BAD_FRAME_COUNTER to the hop that sent it
   * (ZBOSS nwk_secur.c does; the spec makes it optional — protocol.md §2.5, §7.5). Off by default.
   */
  reportBadFrameCounter = false;
  onCommand: (cmd: NwkCommand, ind: NwkIndication) => void = () => {};
  onData: (ind: NwkIndication) => void = () => {};
  /** Called after every frame this node originates (a sleepy node then polls fast for the answer). */
  afterSend: () => void = () => {};
  private seq: number;
  private readonly btt = new Map<number, number>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly mac: Mac,
    private readonly sec: NwkSecurity,
    private readonly net: NetState,
    private readonly routing: NwkRouting,
  ) {
    this.seq = ctx.random.int(256);
    mac.onData = (rx) => this.onMacData(rx);
  }

  send(req: NwkSendRequest): Promise<NwkTxStatus> {
    this.seq = (this.seq + 1) & 0xff;
    const header: NwkHeader = {
      frameType: req.frameType === 'data' ? NwkFrameType.data : NwkFrameType.command,
      protocolVersion: 2,
      discoverRoute: req.frameType === 'data' && !isBroadcast(req.dst16) ? 1 : 0,
      multicast: false, security: req.security, sourceRoute: false,
      extendedDestination: req.dst64 !== undefined, extendedSource: req.withSrc64 === true, endDeviceInitiator: false,
      dst16: req.dst16, src16: this.net.short, radius: req.radius ?? DEFAULT_RADIUS, seq: this.seq,
    };
    if (req.dst64 !== undefined) header.dst64 = req.dst64;
    if (req.withSrc64) header.src64 = this.ctx.eui64;
    if (isBroadcast(req.dst16)) this.remember(header);
    const r = this.sendFrame(header, req.payload, req.via);
    this.afterSend();
    return r;
  }

  /** A NWK command (id byte first in the encoding). */
  sendCommand(cmd: NwkCommand, req: Omit<NwkSendRequest, 'frameType' | 'payload'>): Promise<NwkTxStatus> {
    return this.send({ ...req, frameType: 'command', payload: encodeNwkCommand(cmd) });
  }

  private sendFrame(header: NwkHeader, payload: Uint8Array, via?: NwkHop): Promise<NwkTxStatus> {
    if (header.security && !this.sec.active) return Promise.resolve('no-key');
    const hb = encodeNwkHeader(header);
    const tail = header.security ? this.sec.secure(hb, payload) : payload;
    const frame = new Uint8Array(hb.length + tail.length);
    frame.set(hb);
    frame.set(tail, hb.length);
    const out = (short: number): MacOut => ({
      frameType: MacFrameType.data, dst: { pan: this.net.panId, short }, src: 'short', ackRequest: short !== 0xffff,
      body: { kind: 'data', payload: frame },
    });
    const dst16 = header.dst16!;
    if (isBroadcast(dst16)) {
      if (dst16 === NwkBroadcast.ALL) for (const c of this.routing.sleepyChildren()) void this.mac.queueIndirect(c.eui64, out(c.short));
      return this.mac.transmit(out(0xffff)).then((r) => r.status);
    }
    const hop = via ?? this.routing.nextHop(dst16);
    if (!hop) {
      this.ctx.trace('nwk.no-route', { dst16 });
      return Promise.resolve('no-route');
    }
    if (hop.indirectFor !== undefined) return this.mac.queueIndirect(hop.indirectFor, out(hop.short));
    return this.mac.transmit(out(hop.short)).then((r) => r.status);
  }

  private onMacData(rx: MacRx): void {
    let d: ReturnType<typeof decodeNwkFrame>;
    try {
      d = decodeNwkFrame(rx.payload);
    } catch {
      this.ctx.trace('nwk.drop', { reason: 'malformed' });
      return;
    }
    const f = d.value;
    if (f.kind !== 'nwk' || f.header.frameType === NwkFrameType.interPan) return;
    const { header, body } = f;
    let payload: Uint8Array;
    let hopSender: Eui64 | undefined;
    if (body.kind === 'secured') {
      const r = this.sec.open(rx.payload.subarray(0, d.headerEnd), rx.payload.subarray(d.headerEnd, d.payloadOffset), body.aux, body.encrypted);
      if (!r.ok) {
        this.ctx.trace('nwk.drop', { reason: r.reason, from: r.sender, src16: header.src16, counter: r.counter, lastAccepted: r.lastAccepted, keySeq: r.keySeq });
        const hop = typeof rx.header.src === 'number' ? rx.header.src : header.src16!;
        if (r.reason === 'replay' && this.reportBadFrameCounter && !isBroadcast(header.dst16!)) {
          void this.sendCommand({ kind: 'networkStatus', status: NwkStatusCode.badFrameCounter, destination: header.dst16! }, { dst16: hop, security: true });
        }
        return;
      }
      payload = r.plaintext;
      hopSender = r.sender;
    } else {
      payload = rx.payload.subarray(d.headerEnd);
      if (!this.acceptUnsecured(header, payload)) {
        this.ctx.trace('nwk.drop', { reason: 'unsecured', src16: header.src16, frameType: header.frameType });
        return;
      }
    }
    this.routing.learn(header.src16!, header.src64, rx.header.src);
    const ind: NwkIndication = { header, payload, secured: body.kind === 'secured', hopSender, macSrc: rx.header.src, broadcast: isBroadcast(header.dst16!) };
    if (ind.broadcast) {
      if (!this.remember(header)) return; // heard it already (from the originator or another relay)
      if (this.routing.relaysBroadcasts && header.radius! > 1) void this.sendFrame({ ...header, radius: header.radius! - 1 }, payload);
      if (this.broadcastIncludesMe(header.dst16!)) this.deliver(ind);
      return;
    }
    if (header.dst16 === this.net.short) {
      this.deliver(ind);
    } else if (this.routing.relays && header.radius! > 1 && ind.secured) {
      void this.sendFrame({ ...header, radius: header.radius! - 1 }, payload);
    } else {
      this.ctx.trace('nwk.drop', { reason: 'not for me', dst16: header.dst16, src16: header.src16 });
    }
  }

  private deliver(ind: NwkIndication): void {
    if (ind.header.frameType === NwkFrameType.command) {
      let cmd: NwkCommand;
      try {
        cmd = decodeNwkCommand(ind.payload).value;
      } catch {
        this.ctx.trace('nwk.drop', { reason: 'malformed command', src16: ind.header.src16 });
        return;
      }
      this.onCommand(cmd, ind);
    } else if (ind.header.frameType === NwkFrameType.data) {
      this.onData(ind);
    }
  }

  /**
   * Unsecured NWK frames are taken only where the spec has them: a device that has no network key
   * yet (its Transport Key, a Trust Center rejoin), and Rejoin Requests at a parent (TC rejoin).
   * @spec Zigbee 05-3474 §4.3.1.2; protocol.md §7.4
   */
  private acceptUnsecured(header: NwkHeader, payload: Uint8Array): boolean {
    if (!this.net.authenticated || this.acceptUnsecuredFromParent) return true;
    return header.frameType === NwkFrameType.command && payload[0] === NwkCommandId.rejoinRequest && this.routing.relays;
  }

  private broadcastIncludesMe(dst16: number): boolean {
    if (dst16 === NwkBroadcast.ALL) return true;
    if (dst16 === NwkBroadcast.RX_ON_WHEN_IDLE) return this.net.rxOnWhenIdle;
    return this.net.role !== 'end-device';
  }

  /** Broadcast transaction table: false when (src16, seq) was seen within the hold time. */
  private remember(header: NwkHeader): boolean {
    const now = this.ctx.clock.now();
    const key = (header.src16! << 8) | header.seq!;
    const seen = this.btt.get(key);
    if (seen !== undefined && now - seen < BTT_HOLD_MS) return false;
    if (this.btt.size > 512) for (const [k, t] of this.btt) if (now - t >= BTT_HOLD_MS) this.btt.delete(k);
    this.btt.set(key, now);
    return true;
  }
}
