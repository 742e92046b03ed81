// One ZCL endpoint hosting several clusters (e.g. the Smart Energy endpoint of a TC with the Key
// Establishment server and the Keep-Alive server): decodes the ZCL header, routes the frame to the
// cluster side its direction bit names, answers Read Attributes from the cluster's attribute
// table, enforces the APS-security rule of the cluster and derives the Default Response.
// The clusters themselves (key-establishment.ts, keep-alive.ts) only see decoded frames.
import type { ApsApplication, ApsDataIndication, ApsDestination, ApsSendResult, ApsService } from '../app.ts';
import { DecodeError } from '../../zigbee/codec.ts';
import {
  type ZclCommand, type ZclDirection, type ZclFrame, type ZclHeader, type ZclReadRecord, type ZclValue,
  ZclFrameType, ZclGlobalCommand, ZclStatus, decodeZclFrame, decodeZclHeader, encodeZclFrame,
} from '../../zigbee/zcl.ts';

/** The side of a cluster an endpoint implements (ZCL 07-5123 §2.2.2 client/server model). */
export type ZclSide = 'server' | 'client';

/** An attribute the endpoint answers Read Attributes for. `value()` is read at each request. */
export interface ZclAttribute {
  readonly id: number;
  readonly dataType: number;
  value(): ZclValue;
}

/** A frame routed to a cluster, already past the endpoint's checks. */
export interface ZclIncoming {
  readonly ind: ApsDataIndication;
  readonly aps: ApsService;
  readonly header: ZclHeader;
  /** Global commands 0x00/0x01/0x0B decoded; cluster-specific payloads as `raw`. */
  readonly command: ZclCommand;
}

/**
 * What a cluster did with a frame; the endpoint turns it into a Default Response (or not).
 * - `responded`: a response command with the frame's TSN was (or will be) sent: no Default Response.
 * - `done`: handled, no response command: Default Response SUCCESS unless the sender disabled it.
 * - `error`: Default Response with `status` (sent even when the sender disabled default responses).
 * - `silent`: drop without an answer (responses, frames a cluster deliberately ignores).
 * @spec ZCL 07-5123 §2.5.12.2 (when a Default Response is generated)
 */
export type ZclDisposition =
  | { kind: 'responded' }
  | { kind: 'done' }
  | { kind: 'error'; status: number }
  | { kind: 'silent' };

export const RESPONDED: ZclDisposition = { kind: 'responded' };
export const DONE: ZclDisposition = { kind: 'done' };
export const SILENT: ZclDisposition = { kind: 'silent' };

export interface ZclCluster {
  readonly clusterId: number;
  readonly side: ZclSide;
  /** Attributes of this side, answered by the endpoint. */
  readonly attributes?: readonly ZclAttribute[];
  /**
   * Frames without APS (link-key) security are refused with NOT_AUTHORIZED: the SE clusters that
   * require APS encryption (SE 1.4 §5.4.6 list via EMBER; protocol.md §7.1, e.g. Keep-Alive 0x0025).
   */
  readonly requireApsSecurity?: boolean;
  /** Everything except Read Attributes aimed at `attributes`. Missing = Default Response UNSUP_*. */
  handle?(msg: ZclIncoming): ZclDisposition;
  /** Called once the endpoint knows the node it runs on. */
  attach?(endpoint: ZclEndpoint, aps: ApsService): void;
}

/** An application the hosting node must attach to its ApsService before anything arrives. */
export interface AttachableApplication extends ApsApplication {
  attach(aps: ApsService): void;
}

export interface ZclSendOptions {
  dst: ApsDestination;
  dstEndpoint: number;
  clusterId: number;
  direction: ZclDirection;
  /** Defaults to the endpoint's next TSN; pass the request's TSN for a response. */
  tsn?: number;
  disableDefaultResponse?: boolean;
  frameType?: number;
  commandId: number;
  command: ZclCommand;
  apsSecurity: boolean;
}

export interface ZclEndpointOptions {
  endpoint: number;
  /** Smart Energy 0x0109 by default (protocol.md §6.1). */
  profileId?: number;
  clusters: readonly ZclCluster[];
  /** First transaction sequence number (default 0). */
  firstTsn?: number;
}

/** Wildcard profile id: a frame addressed to it reaches any profile's endpoint. */
const PROFILE_WILDCARD = 0xffff;

export class ZclEndpoint implements AttachableApplication {
  readonly endpoint: number;
  readonly profileId: number;
  readonly inClusters: readonly number[];
  readonly outClusters: readonly number[];
  private readonly clusters: readonly ZclCluster[];
  private tsn: number;
  private service: ApsService | undefined;

  constructor(opts: ZclEndpointOptions) {
    if (!Number.isInteger(opts.endpoint) || opts.endpoint < 1 || opts.endpoint > 240) {
      throw new RangeError(`"endpoint" must be an application endpoint 1..240, got ${opts.endpoint}`);
    }
    this.endpoint = opts.endpoint;
    this.profileId = opts.profileId ?? 0x0109;
    this.clusters = opts.clusters;
    opts.clusters.forEach((c, i) => {
      if (opts.clusters.some((o, j) => j < i && o.clusterId === c.clusterId && o.side === c.side)) {
        throw new RangeError(`cluster 0x${hex4(c.clusterId)} ${c.side} is hosted twice on endpoint ${opts.endpoint}`);
      }
    });
    this.inClusters = unique(opts.clusters.filter((c) => c.side === 'server').map((c) => c.clusterId));
    this.outClusters = unique(opts.clusters.filter((c) => c.side === 'client').map((c) => c.clusterId));
    this.tsn = (opts.firstTsn ?? 0) & 0xff;
  }

  /** The node's ApsService; set by attach() or by the first frame delivered. */
  get aps(): ApsService | undefined {
    return this.service;
  }

  attach(aps: ApsService): void {
    if (this.service === aps) return;
    this.service = aps;
    for (const c of this.clusters) c.attach?.(this, aps);
  }

  nextTsn(): number {
    const t = this.tsn;
    this.tsn = (this.tsn + 1) & 0xff;
    return t;
  }

  /** Sends one ZCL frame from this endpoint. */
  send(o: ZclSendOptions): Promise<ApsSendResult> {
    const aps = this.service;
    if (!aps) return Promise.reject(new Error(`endpoint ${this.endpoint} is not attached to a node (call attach(aps) first)`));
    const header: ZclHeader = {
      frameType: o.frameType ?? ZclFrameType.CLUSTER, direction: o.direction, disableDefaultResponse: o.disableDefaultResponse ?? false,
      reserved: 0, tsn: o.tsn ?? this.nextTsn(), commandId: o.commandId,
    };
    return aps.send({
      dst: o.dst, dstEndpoint: o.dstEndpoint, srcEndpoint: this.endpoint, clusterId: o.clusterId, profileId: this.profileId,
      payload: encodeZclFrame({ header, command: o.command }), apsSecurity: o.apsSecurity, ackRequest: true,
    });
  }

  /** Sends a frame back to where `msg` came from, in the opposite direction, with its TSN. */
  reply(msg: ZclIncoming, o: Omit<ZclSendOptions, 'dst' | 'dstEndpoint' | 'clusterId' | 'direction'>): Promise<ApsSendResult> {
    return this.send({
      ...o, dst: { short: msg.ind.srcShort }, dstEndpoint: msg.ind.srcEndpoint, clusterId: msg.ind.clusterId,
      direction: opposite(msg.header.direction), tsn: o.tsn ?? msg.header.tsn,
    });
  }

  onData(ind: ApsDataIndication, aps: ApsService): void {
    this.attach(aps);
    if (ind.dstEndpoint !== this.endpoint && !ind.broadcast) return;
    if (ind.profileId !== this.profileId && ind.profileId !== PROFILE_WILDCARD) return;
    let header: ZclHeader;
    try {
      header = decodeZclHeader(ind.payload).value;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      aps.trace('zcl.undecodable', { endpoint: this.endpoint, clusterId: ind.clusterId, reason: e.message });
      return;
    }
    const msgBase = { ind, aps, header };
    let frame: ZclFrame;
    try {
      frame = decodeZclFrame(ind.payload).value;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.finish({ ...msgBase, command: { type: 'raw', raw: new Uint8Array(0) } }, { kind: 'error', status: ZclStatus.MALFORMED_COMMAND });
      return;
    }
    const msg: ZclIncoming = { ...msgBase, command: frame.command };
    this.finish(msg, this.route(msg));
  }

  private route(msg: ZclIncoming): ZclDisposition {
    const { header, ind } = msg;
    const global = header.frameType === ZclFrameType.GLOBAL;
    if (header.manufacturerCode !== undefined) {
      // No manufacturer-specific commands or attributes are implemented here.
      return { kind: 'error', status: global ? ZclStatus.UNSUP_MANUF_GENERAL_COMMAND : ZclStatus.UNSUP_MANUF_CLUSTER_COMMAND };
    }
    // Client→server frames are for our server side, server→client frames for our client side.
    const side: ZclSide = header.direction === 'client-to-server' ? 'server' : 'client';
    const cluster = this.clusters.find((c) => c.clusterId === ind.clusterId && c.side === side);
    if (!cluster) return { kind: 'error', status: ZclStatus.UNSUPPORTED_CLUSTER };
    if (cluster.requireApsSecurity && !ind.apsSecured) {
      msg.aps.trace('zcl.not-authorized', { endpoint: this.endpoint, clusterId: ind.clusterId, srcShort: ind.srcShort });
      return { kind: 'error', status: ZclStatus.NOT_AUTHORIZED };
    }
    if (global && msg.command.type === 'readAttributes' && cluster.attributes) {
      return this.readAttributes(msg, cluster.attributes, msg.command.attributeIds);
    }
    if (cluster.handle) return cluster.handle(msg);
    if (global) {
      return header.commandId === ZclGlobalCommand.READ_ATTRIBUTES_RESPONSE || header.commandId === ZclGlobalCommand.DEFAULT_RESPONSE
        ? SILENT : { kind: 'error', status: ZclStatus.UNSUP_GENERAL_COMMAND };
    }
    return { kind: 'error', status: ZclStatus.UNSUP_CLUSTER_COMMAND };
  }

  /** @spec ZCL 07-5123 §2.5.1.3 (effect on receipt of Read Attributes), §2.5.2 (response records) */
  private readAttributes(msg: ZclIncoming, table: readonly ZclAttribute[], ids: readonly number[]): ZclDisposition {
    if (msg.ind.broadcast) return SILENT;
    const records: ZclReadRecord[] = ids.map((id) => {
      const a = table.find((t) => t.id === id);
      return a ? { attributeId: id, status: ZclStatus.SUCCESS, dataType: a.dataType, value: a.value() }
        : { attributeId: id, status: ZclStatus.UNSUPPORTED_ATTRIBUTE };
    });
    // The answer goes back under the same protection as the question (an APS-secured read of an
    // APS-required cluster gets an APS-secured response).
    void this.reply(msg, {
      frameType: ZclFrameType.GLOBAL, commandId: ZclGlobalCommand.READ_ATTRIBUTES_RESPONSE, disableDefaultResponse: true,
      command: { type: 'readAttributesResponse', records }, apsSecurity: msg.ind.apsSecured,
    });
    return RESPONDED;
  }

  /**
   * Default Response: only to unicast frames that are not themselves Default Responses; errors
   * always, SUCCESS only when the sender left "disable default response" clear.
   * @spec ZCL 07-5123 §2.5.12.2
   */
  private finish(msg: ZclIncoming, d: ZclDisposition): void {
    if (d.kind === 'responded' || d.kind === 'silent') return;
    const { header, ind } = msg;
    if (ind.broadcast) return;
    if (header.frameType === ZclFrameType.GLOBAL && header.commandId === ZclGlobalCommand.DEFAULT_RESPONSE) return;
    const status = d.kind === 'error' ? d.status : ZclStatus.SUCCESS;
    if (status === ZclStatus.SUCCESS && header.disableDefaultResponse) return;
    msg.aps.trace('zcl.default-response', { endpoint: this.endpoint, clusterId: ind.clusterId, commandId: header.commandId, status });
    void this.reply(msg, {
      frameType: ZclFrameType.GLOBAL, commandId: ZclGlobalCommand.DEFAULT_RESPONSE, disableDefaultResponse: true,
      command: { type: 'defaultResponse', commandId: header.commandId, status },
      // A refusal for missing APS security cannot itself use APS security (there may be no key).
      apsSecurity: ind.apsSecured,
    });
  }
}

export function opposite(d: ZclDirection): ZclDirection {
  return d === 'client-to-server' ? 'server-to-client' : 'client-to-server';
}

function unique(ids: number[]): number[] {
  return [...new Set(ids)];
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');
