// The small shared records the layers of one node are built with. No layer holds the node:
// each gets the context (identity, clock, tracer, randomness) and the network state it reads.
import type { Clock } from '../sim/clock.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import type { RandomSource, KeyRandom } from './random.ts';
import type { Tracer } from './transcript.ts';

export interface NodeContext {
  readonly name: string;
  readonly clock: Clock;
  readonly eui64: Eui64;
  /** The EUI-64 in on-air (little-endian) order, for nonces and address filters. */
  readonly eui64Air: Uint8Array;
  readonly trace: Tracer;
  readonly random: RandomSource;
  readonly keyRandom: KeyRandom;
}

export type LogicalRole = 'coordinator' | 'router' | 'end-device';

/** The node's view of the network it is on; cleared by leave / reset. */
export interface NetState {
  readonly role: LogicalRole;
  /** Receiver on when idle (coordinator, routers, rx-on end devices); sleepy devices poll. */
  readonly rxOnWhenIdle: boolean;
  /** Has a NWK address on a PAN (formed, associated or rejoined). */
  onNetwork: boolean;
  /** Holds the active network key (a joiner: after the Transport Key). */
  authenticated: boolean;
  channel: number;
  panId: number;
  extendedPanId: Eui64;
  short: number;
  parentShort: number | undefined;
  parentEui64: Eui64 | undefined;
  depth: number;
  updateId: number;
  /** The Trust Center's EUI-64, learned from the Transport Key (the TC itself: its own). */
  tcEui64: Eui64 | undefined;
}

export function newNetState(role: LogicalRole, rxOnWhenIdle: boolean, channel: number): NetState {
  return {
    role, rxOnWhenIdle, onNetwork: false, authenticated: false, channel, panId: 0xffff,
    extendedPanId: '0000000000000000', short: 0xffff, parentShort: undefined, parentEui64: undefined,
    depth: 0, updateId: 0, tcEui64: undefined,
  };
}

/** Forgets the network (leave without rejoin, reset): keeps role, receiver mode and channel. */
export function clearNetState(s: NetState): void {
  Object.assign(s, newNetState(s.role, s.rxOnWhenIdle, s.channel));
}

/** What survives reset(): the outgoing frame counters (protocol.md §7.5, TP_R21_BV-12). */
export interface Nvm {
  nwkFrameCounter: number;
  apsFrameCounter: number;
}
