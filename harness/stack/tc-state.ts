// What the Trust Center logic knows, shared by its modules (join decisions, key transport, the
// Zigbee 3.0 link-key exchange): its node, its behaviour profile (read at each decision), the
// install-code table and one record per device it admitted.
import type { Eui64 } from '../zigbee/codec.ts';
import type { TcBehaviour } from './profiles.ts';
import type { KeyMaterial } from './keys.ts';
import type { ZigbeeNode } from './node.ts';

export type TclkState = 'provisional' | 'unverified' | 'verified';

export interface TcDevice {
  eui64: Eui64;
  short: number;
  /** 0x0000 for the TC's own children, else the router it sits behind. */
  parentShort: number;
  /** Label of the link key the network key went out under at the last (re)join. */
  joinKey: string;
  tclk: TclkState;
  /** A TC link key sent in answer to Request Key and not verified yet. */
  candidate?: KeyMaterial;
  /** Cancels the bdbTrustCenterNodeJoinTimeout alarm. */
  cancelJoinTimer?: () => void;
}

export interface TcOptions {
  /**
   * Admit devices without an install code under the well-known key ZigBeeAlliance09 (the
   * Zigbee 3.0 default). An SE Trust Center admits install-code devices only: set false.
   */
  acceptWellKnownKeyJoins: boolean;
  /** bdbTrustCenterRequireKeyExchange. @spec BDB 16-02828 §5.3; protocol.md §4.1–4.2 */
  requireKeyExchange: boolean;
  /** bdbTrustCenterNodeJoinTimeout, ms (BDB: 0x0F s). */
  nodeJoinTimeoutMs: number;
}

export interface TcState {
  readonly node: ZigbeeNode;
  /** Read at every decision: swapping the profile mid-run takes effect at the next one. */
  behaviour: TcBehaviour;
  readonly options: TcOptions;
  readonly installCodes: Map<Eui64, KeyMaterial>;
  readonly devices: Map<Eui64, TcDevice>;
  readonly wellKnown: KeyMaterial;
}
