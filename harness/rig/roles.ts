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
  /**
   * Smart Energy (capabilities cbke-v1 / cbke-v2): the crypto suites the TC's Key Establishment
   * server offers from now on (its KeyEstablishmentSuite attribute); default every suite it has a
   * certificate for.
   */
  offerKeyEstablishmentSuites?(suites: readonly CbkeSuite[]): Promise<void>;
  /** Smart Energy: every Key Establishment exchange the TC took part in (responder side), in order. */
  keyEstablishmentResults?(): Promise<KeyEstablishmentResult[]>;
  /**
   * Smart Energy (capability keepalive-server): the TC Keep-Alive Base (minutes, 1..255) and
   * Jitter (seconds, 0..512) the TC's Keep-Alive server (cluster 0x0025) serves from now on.
   */
  setKeepAlive?(p: { baseMinutes: number; jitterSeconds: number }): Promise<void>;
  /**
   * Off the air (false) and back (true) with its state kept — network key, key table, address —
   * as a TC that is powered down or out of range and comes back (keep-alive / TCSO suites).
   */
  setReachable?(on: boolean): Promise<void>;
}

/** A CBKE crypto suite: 1 = sect163k1, 48-byte certificates; 2 = sect283k1, 74-byte certificates. */
export type CbkeSuite = 1 | 2;

/**
 * The outcome of one Key Establishment (cluster 0x0800) exchange, as one end reports it. Verdicts
 * come from the air; this is the device's word, for diagnosis.
 * @spec SE 1.x 07-5356 Annex C.3.1 (Terminate status), C.4.2
 */
export interface KeyEstablishmentResult {
  ok: boolean;
  /** The suite the exchange ran on (absent when it never got to one). */
  suite?: CbkeSuite;
  /** Terminate status sent or received (1 UNKNOWN_ISSUER, 2 BAD_KEY_CONFIRM, 3 BAD_MESSAGE, …). */
  status?: number;
  statusName?: string;
  /** Whether a Terminate went out, came in, or neither (timeouts: neither). */
  terminate?: 'sent' | 'received' | 'none';
  /** Why it failed, in the device's words ('timeout', 'unknown-issuer', 'bad-key-confirm', …). */
  reason?: string;
  /** The partner's EUI-64, when known. */
  partner?: Eui64;
}

export interface JoinOptions {
  channel?: number;
  panId?: number;
  /** Deadline for the whole join on the rig's clock, ms. */
  timeoutMs?: number;
  /**
   * Smart Energy join (capability cbke-v1/v2): the device keeps its install-code key as TC link key
   * (no Zigbee 3.0 Request Key) and runs Key Establishment with the TC right after joining
   * ('on-join'), or only when startKeyEstablishment() asks ('deferred', capability cbke-dynamic).
   * Omitted: the device's own default.
   */
  keyEstablishment?: 'on-join' | 'deferred';
}

export interface JoinResult {
  joined: boolean;
  shortAddress?: number;
  /** Why it did not join, in the device's own words where it has them. */
  reason?: string;
  /** The Key Establishment outcome of an SE join (`keyEstablishment: 'on-join'`). */
  keyEstablishment?: KeyEstablishmentResult;
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
  /**
   * Smart Energy (capabilities cbke-v1 / cbke-v2; any time after joining: cbke-dynamic): CBKE with
   * the TC now, as initiator; `suite` restricts the suites the device offers to that one. Resolves
   * with the outcome (never rejects for a protocol failure).
   */
  startKeyEstablishment?(opts?: { suite?: CbkeSuite }): Promise<KeyEstablishmentResult>;
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
