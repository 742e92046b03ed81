// What the Key Establishment server (ke-server.ts) and client (ke-client.ts) share: credentials,
// EMBER timing constants, the outcome and event-log shapes, and the glue between the cluster
// codec (zigbee/clusters/key-establishment.ts) and the CBKE state machine (crypto/cbke.ts).
import type { ApsService } from '../app.ts';
import { hexToBytes } from '../../crypto/bytes.ts';
import type { CryptoSuite, RandomSource, SuiteId } from '../../crypto/cbke-suites.ts';
import { KeStatus, keStatusName } from '../../crypto/cbke-suites.ts';
import type { CbkeFailureReason, CbkeMessage, TrustedCa } from '../../crypto/cbke.ts';
import { DecodeError, type Eui64 } from '../../zigbee/codec.ts';
import {
  KEY_ESTABLISHMENT_CLUSTER, type KeyEstablishmentCommand, decodeKeyEstablishmentCommand, encodeKeyEstablishmentCommand,
  keyEstablishmentCommandId, keyEstablishmentCommandName,
} from '../../zigbee/clusters/key-establishment.ts';
import { ZclDataType, type ZclDirection } from '../../zigbee/zcl.ts';
import type { ZclAttribute, ZclEndpoint } from './zcl-endpoint.ts';

/**
 * Timing of Silicon Labs EmberZNet key-establishment.c (protocol.md §6.2, crypto.md §4.7):
 * advertised EphemeralDataGenerateTime 10 + APS_ACK_TIMEOUT_SECONDS(1) = 11 s, ConfirmKeyGenerateTime
 * 15 + 1 = 16 s; each wait = KEY_ESTABLISHMENT_TIMEOUT_BASE_SECONDS 10 + the partner's advertised
 * time (ST guide §6.3: "timeout slack value (10 s) + partner timeout value indication");
 * BACK_OFF_TIME_REPORTED_TO_PARTNER 30 s in every Terminate we send.
 */
export const KE_TIMING = Object.freeze({
  slackS: 10,
  ephemeralDataGenerateTimeS: 11,
  confirmKeyGenerateTimeS: 16,
  terminateWaitTimeS: 30,
});

/** One suite's identity: certificate, static private key and the CAs trusted for that suite. */
export interface KeCredential {
  suite: CryptoSuite;
  certificate: Uint8Array;
  /** d (Certicom "private key reconstruction data"), bigint or scalarBytes octets. */
  privateKey: bigint | Uint8Array;
  trustedCas: readonly TrustedCa[];
}

/** Options both sides take. */
export interface KeCommonOptions {
  /** One credential per supported suite. */
  credentials: readonly KeCredential[];
  /** Suites offered (KeyEstablishmentSuite bitmap); default: every suite with a credential. */
  suites?: number;
  /** Advertised in Initiate; default 11 / 16 s (EMBER). */
  ephemeralDataGenerateTimeS?: number;
  confirmKeyGenerateTimeS?: number;
  /** Added to the partner's advertised times; default 10 s. */
  slackS?: number;
  /** WaitTime in the Terminates we send; default 30 s. */
  terminateWaitTimeS?: number;
  /** Ephemeral keys are drawn from here (seeded in tests, so runs repeat). */
  random?: RandomSource;
  /** Unix seconds for suite-2 certificate validity; returns undefined = validity not judged. */
  unixTime?: () => number | undefined;
}

/** Where an exchange stood: the step whose message was awaited or being handled. */
export type KeStep = 'read-suite' | 'initiate' | 'ephemeral' | 'confirm' | 'after-confirm';

export type KeFailureReason =
  | CbkeFailureReason
  | 'timeout' | 'no-ack' | 'read-suite-failed' | 'no-common-suite' | 'unsupported-suite' | 'wrong-suite'
  | 'busy' | 'default-response-error' | 'no-credential';

export type KeRole = 'initiator' | 'responder';

export type KeOutcome =
  | {
    ok: true;
    role: KeRole;
    partner: Eui64 | undefined;
    partnerShort: number;
    suite: SuiteId;
    /** The new link key (this is a test kit: the kit's Keyring needs it). Never traced. */
    key: Uint8Array;
    /** `cbke@<EUI-64 of the non-TC end>`, the label the kit's Keyring files it under. */
    keyLabel: string;
    startedAt: number;
    endedAt: number;
  }
  | {
    ok: false;
    role: KeRole;
    partner: Eui64 | undefined;
    partnerShort: number;
    suite?: SuiteId;
    step: KeStep;
    reason: KeFailureReason;
    /** Terminate status sent or received (undefined for timeouts, missing acks, read failures). */
    status?: number;
    statusName?: string;
    /** Whether a Terminate went out, came in, or neither. */
    terminate: 'sent' | 'received' | 'none';
    /** WaitTime of a received Terminate (s). */
    waitTimeS?: number;
    message: string;
    startedAt: number;
    endedAt: number;
  };

/** One line of a side's event log (also passed to aps.trace as `ke.<type>`). */
export interface KeEvent {
  at: number;
  type: 'tx' | 'rx' | 'ignored' | 'timer' | 'outcome' | 'key';
  partnerShort?: number;
  command?: string;
  detail?: Record<string, unknown>;
}

export const keyLabelFor = (deviceEui64: Eui64 | undefined) => `cbke@${deviceEui64 ?? 'unknown'}`;

/** The KeyEstablishmentSuite attribute (0x0000, enum16), on both sides. @spec SE 1.4 Annex C.3.1 (protocol.md §6.2) */
export function suiteAttribute(bitmap: () => number): ZclAttribute {
  return { id: 0x0000, dataType: ZclDataType.ENUM16, value: bitmap };
}

export function offeredSuites(o: KeCommonOptions): number {
  const have = o.credentials.reduce((m, c) => m | c.suite.bit, 0);
  return o.suites === undefined ? have : o.suites & have;
}

export function credentialFor(o: KeCommonOptions, suite: CryptoSuite): KeCredential | undefined {
  return o.credentials.find((c) => c.suite.id === suite.id);
}

/** EUI-64 (printed order) → the big-endian bytes a certificate subject holds. */
export const subjectBytes = (e: Eui64): Uint8Array => hexToBytes(e);

/** Cluster command → the CBKE state machine's message (undefined for unknown commands). */
export function toCbkeMessage(c: KeyEstablishmentCommand): CbkeMessage | undefined {
  switch (c.type) {
    case 'initiateKeyEstablishment': return { type: 'certificate', certificate: c.identity.slice() };
    case 'ephemeralData': return { type: 'ephemeral', publicKey: c.point.slice() };
    case 'confirmKeyData': return { type: 'confirm', mac: c.mac.slice() };
    case 'terminateKeyEstablishment': return { type: 'terminate', status: c.status };
    default: return undefined;
  }
}

export type DecodedKe = { ok: true; cmd: KeyEstablishmentCommand } | { ok: false; message: string };

/**
 * Decodes a KE payload strictly: truncated or over-long payloads are "wrong length" (EMBER
 * INVALID_PARTNER_MESSAGE → Terminate BAD_MESSAGE; protocol.md §6.2).
 */
export function decodeKe(commandId: number, raw: Uint8Array, suiteBit?: number): DecodedKe {
  try {
    const cmd = decodeKeyEstablishmentCommand(commandId, raw, 0, 0, { suite: suiteBit }).value;
    if (cmd.type !== 'unknown' && cmd.trailing) return { ok: false, message: `${cmd.type}: ${cmd.trailing.length} bytes too many` };
    return { ok: true, cmd };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, message: e.message };
    throw e;
  }
}

/** Shared sending and logging of one side. */
export class KeLink {
  readonly events: KeEvent[] = [];
  endpoint: ZclEndpoint | undefined;
  aps: ApsService | undefined;
  constructor(readonly role: KeRole) {}

  get clock() {
    return this.need().clock;
  }

  need(): ApsService {
    if (!this.aps) throw new Error(`Key Establishment ${this.role}: not attached to a node (host its ZclEndpoint and attach(aps))`);
    return this.aps;
  }

  log(type: KeEvent['type'], partnerShort: number | undefined, command: string | undefined, detail?: Record<string, unknown>): void {
    const ev: KeEvent = { at: this.aps?.clock.now() ?? 0, type, partnerShort, command, detail };
    this.events.push(ev);
    this.aps?.trace(`ke.${this.role}.${type}`, { partnerShort, command, ...detail });
  }

  /**
   * Sends a KE command: unicast, APS ack + retries, NWK security only — KE is absent from the
   * SE APS-encryption list (protocol.md §6.2, §7.1; EMBER sends with RETRY and without ENCRYPTION).
   */
  send(dst: { short: number; endpoint: number }, direction: ZclDirection, tsn: number | undefined, cmd: KeyEstablishmentCommand) {
    const ep = this.endpoint;
    if (!ep) throw new Error(`Key Establishment ${this.role}: not hosted on a ZclEndpoint`);
    const commandId = keyEstablishmentCommandId(cmd);
    const name = keyEstablishmentCommandName(commandId, direction);
    this.log('tx', dst.short, name, cmd.type === 'terminateKeyEstablishment' ? { status: cmd.status, statusName: keStatusName(cmd.status), waitTime: cmd.waitTime } : undefined);
    return ep.send({
      dst: { short: dst.short }, dstEndpoint: dst.endpoint, clusterId: KEY_ESTABLISHMENT_CLUSTER, direction, tsn, commandId,
      command: { type: 'raw', raw: encodeKeyEstablishmentCommand(cmd) }, apsSecurity: false,
    });
  }
}

export function terminateCommand(status: number, waitTime: number, suiteBits: number): KeyEstablishmentCommand {
  return { type: 'terminateKeyEstablishment', status, waitTime, suite: suiteBits };
}

export type KeFailure = Extract<KeOutcome, { ok: false }>;

export interface FailureFields {
  peer: { short: number; eui64: Eui64 | undefined };
  step: KeStep;
  reason: KeFailureReason;
  status?: number;
  terminate: 'sent' | 'received' | 'none';
  message: string;
  startedAt: number;
  endedAt: number;
  suite?: CryptoSuite;
  waitTimeS?: number;
}

export function failure(role: KeRole, f: FailureFields): KeFailure {
  return {
    ok: false, role, partner: f.peer.eui64, partnerShort: f.peer.short, suite: f.suite?.id, step: f.step, reason: f.reason,
    status: f.status, statusName: f.status === undefined ? undefined : keStatusName(f.status), terminate: f.terminate,
    waitTimeS: f.waitTimeS, message: f.message, startedAt: f.startedAt, endedAt: f.endedAt,
  };
}

export { KeStatus, keStatusName };
