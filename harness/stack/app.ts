// The boundary between the simulated node's core (MAC/NWK/APS) and the applications that run on
// its endpoints (ZDO handlers, ZCL clusters such as Key Establishment 0x0800 and Keep-Alive
// 0x0025). Applications see only this: they can be tested against an in-memory pair of
// ApsService objects and then plugged into a real node unchanged.
import type { Clock } from '../sim/clock.ts';
import type { Eui64 } from '../zigbee/codec.ts';

/** An APS data frame delivered to an endpoint, with how it was protected on the air. */
export interface ApsDataIndication {
  srcShort: number;
  /** Known from the NWK header, the address map or the key table; undefined if not known. */
  srcEui64?: Eui64;
  srcEndpoint: number;
  dstEndpoint: number;
  clusterId: number;
  profileId: number;
  payload: Uint8Array;
  /** True when the APS layer was secured with a link key (then `apsKeyLabel` says which). */
  apsSecured: boolean;
  apsKeyLabel?: string;
  nwkSecured: boolean;
  broadcast: boolean;
}

export type ApsDestination = { short: number } | { eui64: Eui64 };

export interface ApsDataRequest {
  dst: ApsDestination;
  dstEndpoint: number;
  srcEndpoint: number;
  clusterId: number;
  profileId: number;
  payload: Uint8Array;
  /** Secure the APS layer with the link key shared with the destination. */
  apsSecurity: boolean;
  /** Ask for an APS ack and retry (apscMaxFrameRetries); default true for unicast. */
  ackRequest?: boolean;
}

export type ApsSendResult = { ok: true } | { ok: false; reason: 'no-ack' | 'no-route' | 'no-key' | 'not-joined' };

/** Where a link key came from, reported in transcripts and diagnoses. */
export type LinkKeyOrigin = 'install-code' | 'preconfigured' | 'well-known' | 'tclk-exchange' | 'cbke' | 'transport-key';

export interface ApsService {
  readonly clock: Clock;
  readonly eui64: Eui64;
  /** Current NWK short address (0x0000 on the coordinator / TC). */
  readonly shortAddress: number;
  send(req: ApsDataRequest): Promise<ApsSendResult>;
  /** The link key shared with `partner` (the TC link key on a joiner; a device's key on the TC). */
  getLinkKey(partner: Eui64): { key: Uint8Array; origin: LinkKeyOrigin } | undefined;
  setLinkKey(partner: Eui64, key: Uint8Array, origin: LinkKeyOrigin): void;
  /** EUI-64 of a node by short address, when known (address map). */
  lookupEui64(short: number): Eui64 | undefined;
  /** Structured event for the device transcript (never key bytes). */
  trace(event: string, detail?: Record<string, unknown>): void;
}

/** What a joiner application may ask of its node (Keep-Alive's Trust Center Swap-Out). */
export interface JoinerControl {
  /** Secured (NWK key) or Trust Center (unsecured) rejoin; resolves with the outcome. */
  rejoin(opts: { secured: boolean }): Promise<{ joined: boolean; reason?: string }>;
  readonly trustCenterEui64: Eui64 | undefined;
}

/** An application bound to one endpoint. */
export interface ApsApplication {
  readonly endpoint: number;
  readonly profileId: number;
  /** Cluster ids this endpoint serves (in) and uses (out), as its simple descriptor lists them. */
  readonly inClusters: readonly number[];
  readonly outClusters: readonly number[];
  onData(ind: ApsDataIndication, aps: ApsService): void;
}
