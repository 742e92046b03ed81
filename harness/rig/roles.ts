// The roles a rig provides to the suites. Drivers (devices/<driver>) implement them; tests ask
// for roles and capabilities, never for ports (OpenHTF/labgrid: the rig is data).
import type { Eui64 } from '../zigbee/codec.ts';
import type { Capability } from './capabilities.ts';

/** A frame heard by a sniffer. `psdu` excludes the FCS unless `fcsIncluded`. */
export interface RadioFrame {
  psdu: Uint8Array;
  fcsIncluded: boolean;
  channel: number;
  rssi?: number;
  lqi?: number;
  /** Start of the frame on the run's clock, µs. */
  timestampUs: bigint;
  /** Which sniffer heard it. */
  heardBy: string;
}

/** What every driver answers when probed (`sehil rig check`). */
export interface DeviceInfo {
  driver: string;
  /** Port, endpoint or "sim". */
  location: string;
  firmware?: string;
  eui64?: Eui64;
  channel?: number;
  notes?: string[];
}

export interface RoleBase {
  readonly role: 'tc' | 'dut' | 'sniffer';
  readonly capabilities: ReadonlySet<Capability>;
  /** Opens the device and checks it answers; throws RigUnavailableError when it does not. */
  open(): Promise<void>;
  probe(): Promise<DeviceInfo>;
  close(): Promise<void>;
  /** Lines exchanged with the device (serial transcript, sim event log) since the last call. */
  takeTranscript(): string[];
}

export interface Sniffer extends RoleBase {
  readonly role: 'sniffer';
  start(channel: number): Promise<void>;
  stop(): Promise<void>;
  /** Frames as they are heard; ends when stop() is called or the device goes away. */
  frames(): AsyncIterable<RadioFrame>;
}

export interface NetworkParams {
  channel: number;
  panId: number;
  /** Printed-order hex, as EUI-64s are written (default: the TC's EUI-64). */
  extendedPanId?: Eui64;
  networkKey?: Uint8Array;
}

export interface TrustCenter extends RoleBase {
  readonly role: 'tc';
  readonly eui64: Eui64;
  form(net: NetworkParams): Promise<void>;
  /** Opens the network for joining for `seconds` (0 closes it). */
  permitJoin(seconds: number): Promise<void>;
  addInstallCode(eui64: Eui64, installCode: string): Promise<void>;
  deleteLinkKey(eui64: Eui64): Promise<void>;
  /** The TC's view of its key table, for diagnosis (labels and key bytes). */
  keyTable(): Promise<{ eui64: Eui64; key: Uint8Array; kind: string }[]>;
  networkKey(): Promise<{ key: Uint8Array; seq: number }>;
}

export interface JoinOptions {
  channel?: number;
  panId?: number;
  /** Deadline for the whole join on the rig's clock, ms. */
  timeoutMs?: number;
}

export interface JoinResult {
  joined: boolean;
  shortAddress?: number;
  /** Why it did not join, in the device's own words where it has them. */
  reason?: string;
}

export interface RejoinOptions extends JoinOptions {
  /** Secured rejoin (NWK key) or Trust Center rejoin (unsecured). */
  secured: boolean;
}

export interface Joiner extends RoleBase {
  readonly role: 'dut';
  readonly eui64: Eui64;
  reset(): Promise<void>;
  join(opts?: JoinOptions): Promise<JoinResult>;
  leave(opts?: { rejoin?: boolean }): Promise<void>;
  rejoin(opts: RejoinOptions): Promise<JoinResult>;
}

/** The rig or one of its devices cannot be used: exit code 3 territory. */
export class RigUnavailableError extends Error {
  override name = 'RigUnavailableError';
  constructor(readonly role: string, readonly location: string, reason: string) {
    super(`${role} (${location}): ${reason}`);
  }
}

/** A device did not answer in time. Names the role, the step and what was awaited. */
export class DeviceTimeoutError extends Error {
  override name = 'DeviceTimeoutError';
  constructor(readonly role: string, readonly step: string, readonly awaited: string, readonly deadlineMs: number) {
    super(`${role}: ${step}: no ${awaited} within ${deadlineMs} ms`);
  }
}
