// ZDO on endpoint 0: the server side every node runs (Device_annce, Node_Desc, Active_EP,
// Simple_Desc, Match_Desc over the registered applications, Mgmt_Leave, Mgmt_Permit_Joining)
// and a client that correlates responses by transaction sequence number.
// @spec Zigbee 05-3474 §2.4 (ZDP); protocol.md §5
import type { ApsApplication, ApsDataIndication } from './app.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import { decodeZdp, encodeZdp, ZdpCluster, ZdpStatus, ZDP_RESPONSE_BIT, type NodeDescriptor, type ZdpCommand, type ZdpFrame } from '../zigbee/zdo.ts';
import type { AddressMap } from './address-map.ts';
import type { Aps } from './aps.ts';
import type { NetState, NodeContext } from './context.ts';
import { NwkBroadcast } from './nwk.ts';
import { Signal } from './signal.ts';

export const ZDO_ENDPOINT = 0;
export const ZDO_PROFILE = 0x0000;

export interface ZdoHooks {
  /** Mgmt_Leave_req for this node: the role decides; `after` runs once the response is on its way. */
  mgmtLeave(req: { rejoin: boolean; removeChildren: boolean }, fromShort: number): { status: number; after?: () => void };
  permitJoining(seconds: number, fromShort: number): void;
  deviceAnnounced(short: number, eui64: Eui64, capability: number): void;
}

export interface ZdoResponse {
  srcShort: number;
  frame: ZdpFrame;
}

export class Zdo {
  readonly responses = new Signal<ZdoResponse>();
  private tsn: number;

  constructor(
    private readonly ctx: NodeContext,
    private readonly aps: Aps,
    private readonly net: NetState,
    private readonly addresses: AddressMap,
    private readonly apps: ReadonlyMap<number, ApsApplication>,
    private readonly descriptor: () => NodeDescriptor,
    private readonly hooks: ZdoHooks,
  ) {
    this.tsn = ctx.random.int(256);
  }

  private nextTsn(): number {
    this.tsn = (this.tsn + 1) & 0xff;
    return this.tsn;
  }

  /** Sends a ZDP frame (NWK security only: ZDP is not APS-secured, TP_R21_BV-10). */
  send(dst16: number, clusterId: number, command: ZdpCommand, tsn = this.nextTsn()): Promise<unknown> {
    return this.aps.sendData({
      dst: { short: dst16 }, dstEndpoint: ZDO_ENDPOINT, srcEndpoint: ZDO_ENDPOINT, clusterId, profileId: ZDO_PROFILE,
      payload: encodeZdp({ clusterId, tsn, command }), apsSecurity: false,
    });
  }

  /** Sends a request and waits for the response with the same TSN from `dst16`, or undefined at the deadline. */
  async request(dst16: number, clusterId: number, command: ZdpCommand, timeoutMs: number): Promise<ZdpFrame | undefined> {
    const tsn = this.nextTsn();
    const rspCluster = clusterId | ZDP_RESPONSE_BIT;
    const w = this.responses.wait(this.ctx.clock, timeoutMs, (r) => (r.frame.tsn === tsn && r.frame.clusterId === rspCluster && (r.srcShort === dst16 || dst16 >= 0xfff8) ? r.frame : undefined));
    const sent = await this.send(dst16, clusterId, command, tsn);
    if (sent && typeof sent === 'object' && 'ok' in sent && !sent.ok) w.cancel();
    return w.promise;
  }

  /** Device_annce, broadcast to rx-on-when-idle devices. @spec Zigbee 05-3474 §2.4.3.1.11 */
  announce(capability: number): Promise<unknown> {
    return this.send(NwkBroadcast.RX_ON_WHEN_IDLE, ZdpCluster.DEVICE_ANNCE, { type: 'Device_annce', nwkAddress: this.net.short, ieeeAddress: this.ctx.eui64, capability });
  }

  onData(ind: ApsDataIndication): void {
    let f: ZdpFrame;
    try {
      f = decodeZdp(ind.clusterId, ind.payload).value;
    } catch {
      this.ctx.trace('zdo.drop', { reason: 'malformed', src16: ind.srcShort, cluster: ind.clusterId });
      return;
    }
    if (ind.clusterId & ZDP_RESPONSE_BIT) {
      this.responses.emit({ srcShort: ind.srcShort, frame: f });
      return;
    }
    const c = f.command;
    const reply = (cluster: number, command: ZdpCommand) => void this.send(ind.srcShort, cluster, command, f.tsn);
    switch (c.type) {
      case 'Device_annce':
        this.addresses.set(c.nwkAddress, c.ieeeAddress);
        this.addresses.setRxOnWhenIdle(c.ieeeAddress, (c.capability & 0x08) !== 0);
        this.hooks.deviceAnnounced(c.nwkAddress, c.ieeeAddress, c.capability);
        return;
      case 'Node_Desc_req':
        if (c.nwkAddrOfInterest !== this.net.short) return reply(ZdpCluster.NODE_DESC_RSP, { type: 'Node_Desc_rsp', status: ZdpStatus.DEVICE_NOT_FOUND, nwkAddrOfInterest: c.nwkAddrOfInterest });
        this.ctx.trace('zdo.node-desc-req', { src16: ind.srcShort, revision: this.descriptor().serverMask.stackComplianceRevision });
        return reply(ZdpCluster.NODE_DESC_RSP, { type: 'Node_Desc_rsp', status: ZdpStatus.SUCCESS, nwkAddrOfInterest: this.net.short, nodeDescriptor: this.descriptor() });
      case 'Active_EP_req':
        return reply(ZdpCluster.ACTIVE_EP_RSP, { type: 'Active_EP_rsp', status: ZdpStatus.SUCCESS, nwkAddrOfInterest: this.net.short, endpoints: [...this.apps.keys()].sort((a, b) => a - b) });
      case 'Simple_Desc_req': {
        const app = this.apps.get(c.endpoint);
        if (!app) return reply(ZdpCluster.SIMPLE_DESC_RSP, { type: 'Simple_Desc_rsp', status: c.endpoint >= 1 && c.endpoint <= 240 ? ZdpStatus.NOT_ACTIVE : ZdpStatus.INVALID_EP, nwkAddrOfInterest: this.net.short });
        return reply(ZdpCluster.SIMPLE_DESC_RSP, {
          type: 'Simple_Desc_rsp', status: ZdpStatus.SUCCESS, nwkAddrOfInterest: this.net.short,
          simpleDescriptor: { endpoint: app.endpoint, profileId: app.profileId, deviceId: 0, deviceVersion: 0, reserved: 0, inClusters: [...app.inClusters], outClusters: [...app.outClusters] },
        });
      }
      case 'Match_Desc_req': {
        const matches = [...this.apps.values()].filter((a) => matchesDescriptor(a, c.profileId, c.inClusters, c.outClusters)).map((a) => a.endpoint);
        if (matches.length === 0 && ind.broadcast) return; // broadcast requests are answered only on a match
        return reply(ZdpCluster.MATCH_DESC_RSP, { type: 'Match_Desc_rsp', status: ZdpStatus.SUCCESS, nwkAddrOfInterest: this.net.short, matchList: matches });
      }
      case 'Mgmt_Leave_req': {
        const forMe = c.deviceAddress === this.ctx.eui64 || c.deviceAddress === '0000000000000000';
        const d = forMe ? this.hooks.mgmtLeave({ rejoin: c.rejoin, removeChildren: c.removeChildren }, ind.srcShort) : { status: ZdpStatus.NOT_SUPPORTED };
        this.ctx.trace('zdo.mgmt-leave-req', { src16: ind.srcShort, forMe, rejoin: c.rejoin, status: d.status });
        void this.send(ind.srcShort, ZdpCluster.MGMT_LEAVE_RSP, { type: 'Mgmt_Leave_rsp', status: d.status }, f.tsn).then(() => d.after?.());
        return;
      }
      case 'Mgmt_Permit_Joining_req':
        this.hooks.permitJoining(c.permitDuration, ind.srcShort);
        return;
      default:
        if (!ind.broadcast) reply(ind.clusterId | ZDP_RESPONSE_BIT, { type: 'unknown', raw: Uint8Array.of(ZdpStatus.NOT_SUPPORTED) });
    }
  }
}

/** Profile match (0xFFFF = wildcard) and one requested cluster in the matching list. @spec Zigbee 05-3474 §2.4.4.2.7 */
export function matchesDescriptor(app: ApsApplication, profileId: number, inClusters: readonly number[], outClusters: readonly number[]): boolean {
  if (profileId !== 0xffff && profileId !== app.profileId) return false;
  return inClusters.some((c) => app.inClusters.includes(c)) || outClusters.some((c) => app.outClusters.includes(c));
}
