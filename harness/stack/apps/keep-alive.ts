// Keep-Alive cluster 0x0025 as node applications. The server (Trust Center) serves TC Keep-Alive
// Base / Jitter to APS-secured Read Attributes; the client (device, keep-alive-client.ts) reads
// them every base·60 s + random(0…jitter) s and starts Trust Center Swap-Out after three
// consecutive failures. Both are ZCL clusters hosted on a ZclEndpoint (zcl-endpoint.ts):
//
//   const kas = keepAliveServerFor(tcProfile.behaviour);        // undefined for the no-keepalive TC
//   new ZclEndpoint({ endpoint: 1, clusters: [keServer, ...(kas ? [kas] : [])] });
//
//   const kac = new KeepAliveClient({ control, random, server: { endpoint: 1 }, behaviour: joinerProfile.behaviour });
//   new ZclEndpoint({ endpoint: 1, clusters: [keClient, kac] }); kac.start();
//   kac.polls / kac.events / keepAliveIntervals(kac.polls)
//
// @spec SE 1.4 §5.4.2.2.3.4 (Keep-Alive method; clause text not available to us) via protocol.md §6.3
//       (EMBER trust-center-keepalive.c, EXEGIN keep-alive client) and ST guide §6.2.
import { KEEP_ALIVE_CLUSTER, TC_KEEP_ALIVE_BASE, TC_KEEP_ALIVE_JITTER } from '../../zigbee/clusters/keep-alive.ts';
import type { TcBehaviour } from '../profiles.ts';
import { type KeepAliveParams, checkKeepAliveParams } from './keep-alive-params.ts';
import type { ZclAttribute, ZclCluster } from './zcl-endpoint.ts';

export { KEEP_ALIVE_CLUSTER } from '../../zigbee/clusters/keep-alive.ts';
export { KEEP_ALIVE_DEFAULTS, type KeepAliveParams, checkKeepAliveParams } from './keep-alive-params.ts';
export {
  KeepAliveClient, type KeepAliveClientOptions, type KeepAliveEvent, type KeepAliveEventType, type KeepAliveInterval,
  type KeepAlivePoll, type KeepAlivePollResult, type KeepAliveState, keepAliveIntervals,
} from './keep-alive-client.ts';

/**
 * The TC's Keep-Alive server: attributes only. Reads must come APS-secured (Keep-Alive is on the
 * SE APS-encryption list, protocol.md §7.1): an unsecured read gets Default Response NOT_AUTHORIZED,
 * and the answer to a secured read goes back secured (ZclEndpoint mirrors the request's security).
 */
export class KeepAliveServer implements ZclCluster {
  readonly clusterId = KEEP_ALIVE_CLUSTER;
  readonly side = 'server' as const;
  readonly requireApsSecurity = true;
  readonly attributes: readonly ZclAttribute[];
  private params: KeepAliveParams;

  constructor(params: KeepAliveParams) {
    this.params = checkKeepAliveParams(params, 'Keep-Alive server');
    this.attributes = [
      { id: TC_KEEP_ALIVE_BASE.id, dataType: TC_KEEP_ALIVE_BASE.dataType, value: () => this.params.baseMinutes },
      { id: TC_KEEP_ALIVE_JITTER.id, dataType: TC_KEEP_ALIVE_JITTER.dataType, value: () => this.params.jitterSeconds },
    ];
  }

  get parameters(): KeepAliveParams {
    return { ...this.params };
  }

  setParameters(p: KeepAliveParams): void {
    this.params = checkKeepAliveParams(p, 'Keep-Alive server');
  }
}

/** The server a TC profile asks for; undefined when `keepAlive` is null (profile no-keepalive). */
export function keepAliveServerFor(tc: Pick<TcBehaviour, 'keepAlive'>): KeepAliveServer | undefined {
  return tc.keepAlive ? new KeepAliveServer(tc.keepAlive) : undefined;
}
