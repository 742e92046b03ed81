// Key Establishment cluster 0x0800, server side = CBKE responder (the Trust Center's role).
// One exchange at a time, as EMBER: a second initiator gets Terminate NO_RESOURCES (wait 30 s).
// The TC behaviour switches of profiles.ts (TcBehaviour.cbke) act here: corruptMac, unknownIssuer,
// brokenCertificate, ephemeralBeforeInitiate, extraDelayS, suites.
// @spec SE 1.4 (07-5356) Annex C.3.1 (cluster behaviour), C.4.2 (CBKE); protocol.md §6.2;
//       crypto.md §4.7; ST guide §6.3 (timeouts); EMBER key-establishment.c (state machine).
import { bytesToHex } from '../../crypto/bytes.ts';
import { type CryptoSuite, KeStatus, keStatusName, suiteFromRequest } from '../../crypto/cbke-suites.ts';
import { type CbkeFailure, CbkeParty } from '../../crypto/cbke.ts';
import { V1_OFFSETS, V2_OFFSETS, parseCertificate } from '../../crypto/certificate.ts';
import { type BrokenKind, TestCa, UNTRUSTED_ISSUER } from '../../crypto/test-ca.ts';
import type { Eui64 } from '../../zigbee/codec.ts';
import { KEY_ESTABLISHMENT_CLUSTER, KeyEstablishmentCommandId, type KeyEstablishmentCommand } from '../../zigbee/clusters/key-establishment.ts';
import { ZclFrameType, ZclStatus } from '../../zigbee/zcl.ts';
import type { ApsService, LinkKeyOrigin } from '../app.ts';
import type { TcBehaviour } from '../profiles.ts';
import {
  type FailureFields, KE_TIMING, type KeCommonOptions, type KeCredential, type KeFailureReason, KeLink, type KeOutcome, type KeStep,
  credentialFor, decodeKe, failure, keyLabelFor, offeredSuites, subjectBytes, suiteAttribute, terminateCommand, toCbkeMessage,
} from './ke-common.ts';
import { DONE, RESPONDED, SILENT, type ZclAttribute, type ZclCluster, type ZclDisposition, type ZclEndpoint, type ZclIncoming } from './zcl-endpoint.ts';

export interface KeServerOptions extends KeCommonOptions {
  /** TcBehaviour.cbke of the TC profile (suites, corruptMac, unknownIssuer, brokenCertificate, ephemeralBeforeInitiate, extraDelayS). */
  behaviour?: Partial<TcBehaviour['cbke']>;
  /**
   * Presented instead of `credentials` when behaviour.unknownIssuer is set. Omitted: the server
   * makes one per suite from a throw-away CA with issuer "NOTTRUST" for its own subject.
   */
  untrustedCredentials?: readonly KeCredential[];
  /**
   * The CA that issued `credentials` (private key needed): behaviour.brokenCertificate has it issue
   * a broken certificate for our subject, so the partner's issuer check passes and the fault is
   * the only one. Not needed for 'corrupted-point' (our own certificate, one bit flipped).
   */
  issuingCa?: (suite: CryptoSuite) => TestCa | undefined;
  onOutcome?: (o: KeOutcome) => void;
}

interface Peer { short: number; endpoint: number; eui64: Eui64 | undefined }

interface Session {
  peer: Peer;
  suite: CryptoSuite;
  party: CbkeParty;
  /** The message we wait for (or are about to answer). */
  step: KeStep;
  tsn: number;
  partnerTimes: { ephemeralS: number; confirmS: number };
  startedAt: number;
  /** Pending wait or delayed answer. */
  cancel?: () => void;
  /** True while a delayed answer (extraDelayS) is pending. */
  generating: boolean;
  /** Messages sent in this exchange (to match an APS failure to the message still awaited). */
  sent: number;
}

/** After success we stay ready for a Terminate (e.g. BAD_KEY_CONFIRM on our MACV) to undo the key. */
interface Linger { peer: Peer; eui64: Eui64; previous?: { key: Uint8Array; origin: LinkKeyOrigin }; suite: CryptoSuite; cancel: () => void }

export class KeyEstablishmentServer implements ZclCluster {
  readonly clusterId = KEY_ESTABLISHMENT_CLUSTER;
  readonly side = 'server' as const;
  readonly attributes: readonly ZclAttribute[];
  readonly outcomes: KeOutcome[] = [];
  private readonly o: KeServerOptions;
  private readonly link = new KeLink('responder');
  private readonly suites: number;
  private session: Session | undefined;
  private linger: Linger | undefined;
  /** Partners whose exchange timed out: their late messages are ignored, never terminated. */
  private readonly timedOut = new Set<number>();
  private readonly untrusted = new Map<number, KeCredential>();
  private readonly broken = new Map<string, KeCredential>();

  constructor(opts: KeServerOptions) {
    this.o = opts;
    this.suites = offeredSuites({ ...opts, suites: opts.behaviour?.suites ?? opts.suites });
    this.attributes = [suiteAttribute(() => this.suites)];
  }

  get events() { return this.link.events; }
  get busy(): boolean { return this.session !== undefined; }
  get lastOutcome(): KeOutcome | undefined { return this.outcomes[this.outcomes.length - 1]; }
  get offeredSuites(): number { return this.suites; }

  attach(endpoint: ZclEndpoint, aps: ApsService): void {
    this.link.endpoint = endpoint;
    this.link.aps = aps;
  }

  handle(msg: ZclIncoming): ZclDisposition {
    const { ind, header, command } = msg;
    if (ind.broadcast) {
      // EMBER: "Ignoring Broadcast KE message" (protocol.md §6.2).
      this.link.log('ignored', ind.srcShort, undefined, { why: 'broadcast' });
      return SILENT;
    }
    if (header.frameType === ZclFrameType.GLOBAL) {
      if (command.type === 'defaultResponse') return this.onDefaultResponse(ind.srcShort, command.status);
      return command.type === 'readAttributesResponse' ? SILENT : { kind: 'error', status: ZclStatus.UNSUP_GENERAL_COMMAND };
    }
    if (header.commandId > KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT) return { kind: 'error', status: ZclStatus.UNSUP_CLUSTER_COMMAND };
    const raw = command.type === 'raw' ? command.raw : new Uint8Array(0);
    const peer: Peer = { short: ind.srcShort, endpoint: ind.srcEndpoint, eui64: ind.srcEui64 ?? this.link.aps?.lookupEui64(ind.srcShort) };
    const isTerminate = header.commandId === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT;
    this.link.log('rx', peer.short, commandName(header.commandId));

    if (isTerminate && this.linger && this.linger.peer.short === peer.short && this.session?.peer.short !== peer.short) {
      this.undoAfterTerminate(raw);
      return DONE;
    }
    const s = this.session;
    if (s && s.peer.short !== peer.short) {
      if (isTerminate) return DONE;
      return this.refuseBusy(peer, header.tsn);
    }
    if (!s) {
      if (header.commandId === KeyEstablishmentCommandId.INITIATE_KEY_ESTABLISHMENT) return this.begin(peer, header.tsn, raw);
      if (isTerminate) return DONE; // nothing to end; EMBER still answers Default Response SUCCESS
      if (this.timedOut.has(peer.short)) {
        this.link.log('ignored', peer.short, commandName(header.commandId), { why: 'late message from a partner whose exchange timed out' });
        return SILENT;
      }
      // A KE message out of sequence (no exchange running): EMBER INVALID_PARTNER_MESSAGE → BAD_MESSAGE.
      this.sendTerminate(peer, header.tsn, KeStatus.BAD_MESSAGE, this.suites);
      this.record(this.failure({ peer, step: 'initiate', reason: 'unexpected-message', status: KeStatus.BAD_MESSAGE, terminate: 'sent',
        message: `${commandName(header.commandId)} without an Initiate`, startedAt: this.now() }));
      return RESPONDED;
    }
    return this.step(s, header.commandId, header.tsn, raw);
  }

  // ---- exchange --------------------------------------------------------------------------------

  private begin(peer: Peer, tsn: number, raw: Uint8Array): ZclDisposition {
    const startedAt = this.now();
    this.timedOut.delete(peer.short);
    if (this.linger?.peer.short === peer.short) this.endLinger();
    const dec = decodeKe(KeyEstablishmentCommandId.INITIATE_KEY_ESTABLISHMENT, raw);
    if (!dec.ok || dec.cmd.type !== 'initiateKeyEstablishment') {
      return this.refuse(peer, tsn, KeStatus.BAD_MESSAGE, 'malformed-message', dec.ok ? 'not an Initiate' : dec.message, startedAt);
    }
    const req = dec.cmd;
    // Exactly one suite bit, one we offer. @spec SE C.3.1.2.3.1.2 via crypto.md §4.7
    const pick = suiteFromRequest(req.suite, this.suites);
    if (!pick.ok) {
      return this.refuse(peer, tsn, pick.status, pick.status === KeStatus.UNSUPPORTED_SUITE ? 'unsupported-suite' : 'malformed-message', pick.reason, startedAt);
    }
    const suite = pick.suite;
    const own = credentialFor(this.o, suite) as KeCredential;
    const brokenKind = this.o.behaviour?.brokenCertificate;
    const presented = this.o.behaviour?.unknownIssuer ? this.untrustedCredential(own) : brokenKind ? this.brokenCredential(own, brokenKind) : own;
    const party = new CbkeParty({
      suite, role: 'responder', certificate: presented.certificate, privateKey: presented.privateKey, trustedCas: own.trustedCas,
      partnerEui64: peer.eui64 ? subjectBytes(peer.eui64) : undefined, now: this.o.unixTime?.(), random: this.o.random,
    });
    const s: Session = {
      peer, suite, party, step: 'initiate', tsn, startedAt, generating: false, sent: 0,
      partnerTimes: { ephemeralS: req.ephemeralDataGenerateTime, confirmS: req.confirmKeyGenerateTime },
    };
    this.session = s;
    const reply = party.receive({ type: 'certificate', certificate: req.identity.slice() });
    if (!reply || reply.type === 'terminate') return this.failByParty(s);
    if (this.o.behaviour?.ephemeralBeforeInitiate) {
      // Known-bad TC (profile cbke-out-of-sequence): an Ephemeral Data Response ahead of the
      // Initiate Response. Its point is a valid one of the suite (our reconstruction data).
      const cert = parseCertificate(presented.certificate);
      this.link.log('tx', peer.short, undefined, { why: 'ephemeralBeforeInitiate: Ephemeral Data Response out of sequence' });
      this.transmit(s, { type: 'ephemeralData', point: cert.reconstructionData.slice() });
    }
    // Certificate checks and ECQV are quick: the Initiate Response goes out at once.
    this.transmit(s, {
      type: 'initiateKeyEstablishment', suite: suite.bit, identity: presented.certificate,
      ephemeralDataGenerateTime: this.ownEphemeralS, confirmKeyGenerateTime: this.ownConfirmS,
    });
    this.wait(s, 'ephemeral', s.partnerTimes.ephemeralS);
    return RESPONDED;
  }

  private step(s: Session, commandId: number, tsn: number, raw: Uint8Array): ZclDisposition {
    s.tsn = tsn;
    const dec = decodeKe(commandId, raw, s.suite.bit);
    if (commandId === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT) {
      const t = dec.ok && dec.cmd.type === 'terminateKeyEstablishment' ? dec.cmd : undefined;
      this.end(s, this.failure({ peer: s.peer, step: s.step, reason: 'partner-terminated', status: t?.status, terminate: 'received',
        message: `partner sent Terminate ${t ? keStatusName(t.status) : '(malformed)'}`, startedAt: s.startedAt, suite: s.suite, waitTimeS: t?.waitTime }));
      return DONE;
    }
    if (!dec.ok) return this.failWith(s, KeStatus.BAD_MESSAGE, 'malformed-message', dec.message);
    if (s.generating) return this.failWith(s, KeStatus.BAD_MESSAGE, 'unexpected-message', `${commandName(commandId)} while we are still generating our answer`);
    s.cancel?.();
    const reply = s.party.receive(toCbkeMessage(dec.cmd) ?? { type: 'terminate', status: KeStatus.BAD_MESSAGE });
    if (!reply || reply.type === 'terminate') return this.failByParty(s);
    const extra = this.o.behaviour?.extraDelayS ?? 0;
    if (reply.type === 'ephemeral') {
      s.step = 'ephemeral';
      this.answer(s, extra > 0 ? this.ownEphemeralS + extra : 0, () => {
        this.transmit(s, { type: 'ephemeralData', point: reply.publicKey });
        this.wait(s, 'confirm', s.partnerTimes.confirmS);
      });
    } else if (reply.type === 'confirm') {
      s.step = 'confirm';
      const mac = reply.mac.slice();
      // Known-bad TC: a MACV that is not HMAC-MMO(MacKey, 03‖IDV‖IDU‖QEV‖QEU) (profile cbke-bad-mac).
      if (this.o.behaviour?.corruptMac) mac[0] ^= 0x01;
      this.answer(s, extra > 0 ? this.ownConfirmS + extra : 0, () => {
        this.transmit(s, { type: 'confirmKeyData', mac });
        this.succeed(s);
      });
    }
    return RESPONDED;
  }

  /** Runs `send` now, or `delayS` later (the extraDelayS behaviour), unless the exchange ended meanwhile. */
  private answer(s: Session, delayS: number, send: () => void): void {
    if (delayS <= 0) return send();
    s.generating = true;
    this.link.log('timer', s.peer.short, undefined, { answerInS: delayS, why: 'extraDelayS' });
    s.cancel = this.link.clock.setTimer(delayS * 1000, () => {
      if (this.session !== s) return;
      s.generating = false;
      send();
    });
  }

  /** Waits for the partner's next message: slack + its advertised time (ST guide §6.3; EMBER). */
  private wait(s: Session, step: KeStep, partnerTimeS: number): void {
    s.step = step;
    const seconds = (this.o.slackS ?? KE_TIMING.slackS) + partnerTimeS;
    s.cancel = this.link.clock.setTimer(seconds * 1000, () => {
      if (this.session !== s) return;
      this.timedOut.add(s.peer.short);
      // SE C.3.1 (ST guide §6.3): no Terminate to a partner that timed out.
      this.end(s, this.failure({ peer: s.peer, step, reason: 'timeout', terminate: 'none', message: `no ${step} message within ${seconds} s`,
        startedAt: s.startedAt, suite: s.suite }));
    });
  }

  private succeed(s: Session): void {
    const aps = this.link.need();
    const result = s.party.result;
    if (!result) return;
    const eui64 = s.peer.eui64 ?? bytesToHex(result.partnerCertificate.subject);
    const prev = aps.getLinkKey(eui64);
    // The CBKE key replaces the install-code key in the TC's key table (protocol.md §7.2).
    aps.setLinkKey(eui64, result.keyData, 'cbke');
    this.link.log('key', s.peer.short, undefined, { partner: eui64, origin: 'cbke', replaced: prev?.origin ?? null });
    this.end(s, {
      ok: true, role: 'responder', partner: eui64, partnerShort: s.peer.short, suite: s.suite.id, key: result.keyData.slice(),
      keyLabel: keyLabelFor(eui64), startedAt: s.startedAt, endedAt: this.now(),
    });
    const seconds = this.o.slackS ?? KE_TIMING.slackS;
    const linger: Linger = {
      peer: s.peer, eui64, previous: prev && { key: prev.key.slice(), origin: prev.origin }, suite: s.suite,
      cancel: this.link.clock.setTimer(seconds * 1000, () => { if (this.linger === linger) this.linger = undefined; }),
    };
    this.linger = linger;
  }

  /** The initiator refused our MACV after we stored the key: put the previous key back. */
  private undoAfterTerminate(raw: Uint8Array): void {
    const l = this.linger as Linger;
    this.endLinger();
    const dec = decodeKe(KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT, raw);
    const t = dec.ok && dec.cmd.type === 'terminateKeyEstablishment' ? dec.cmd : undefined;
    if (l.previous) {
      this.link.need().setLinkKey(l.eui64, l.previous.key, l.previous.origin);
      this.link.log('key', l.peer.short, undefined, { partner: l.eui64, restored: l.previous.origin });
    }
    const now = this.now();
    this.record(this.failure({ peer: l.peer, step: 'after-confirm', reason: 'partner-terminated', status: t?.status, terminate: 'received',
      message: `partner sent Terminate ${t ? keStatusName(t.status) : '(malformed)'} after our Confirm Key Response`, startedAt: now, suite: l.suite, waitTimeS: t?.waitTime }));
  }

  private endLinger(): void {
    this.linger?.cancel();
    this.linger = undefined;
  }

  // ---- failures --------------------------------------------------------------------------------

  private onDefaultResponse(short: number, status: number): ZclDisposition {
    const s = this.session;
    if (s && s.peer.short === short && status !== ZclStatus.SUCCESS) {
      // EMBER PARTNER_SENT_DEFAULT_RESPONSE_ERROR: a transient failure, no Terminate.
      this.end(s, this.failure({ peer: s.peer, step: s.step, reason: 'default-response-error', terminate: 'none',
        message: `partner sent Default Response 0x${status.toString(16)}`, startedAt: s.startedAt, suite: s.suite }));
    }
    return SILENT;
  }

  /** A second initiator while busy: Terminate NO_RESOURCES, wait 30 s (EMBER; protocol.md §6.2). */
  private refuseBusy(peer: Peer, tsn: number): ZclDisposition {
    this.sendTerminate(peer, tsn, KeStatus.NO_RESOURCES, this.session?.suite.bit ?? this.suites);
    this.record(this.failure({ peer, step: 'initiate', reason: 'busy', status: KeStatus.NO_RESOURCES, terminate: 'sent',
      message: `busy with 0x${this.session?.peer.short.toString(16)}`, startedAt: this.now() }));
    return RESPONDED;
  }

  private refuse(peer: Peer, tsn: number, status: number, reason: KeFailureReason, message: string, startedAt: number): ZclDisposition {
    this.sendTerminate(peer, tsn, status, this.suites);
    this.record(this.failure({ peer, step: 'initiate', reason, status, terminate: 'sent', message, startedAt }));
    return RESPONDED;
  }

  private failByParty(s: Session): ZclDisposition {
    const f = s.party.failure as CbkeFailure;
    return this.failWith(s, f.status, f.reason, f.message);
  }

  private failWith(s: Session, status: number, reason: KeFailureReason, message: string): ZclDisposition {
    this.sendTerminate(s.peer, s.tsn, status, s.suite.bit);
    this.end(s, this.failure({ peer: s.peer, step: s.step, reason, status, terminate: 'sent', message, startedAt: s.startedAt, suite: s.suite }));
    return RESPONDED;
  }

  private sendTerminate(peer: Peer, tsn: number, status: number, suiteBits: number): void {
    // EMBER writes the suite in use (emAfCurrentCbkeSuite), or our bitmap before one is chosen.
    void this.link.send(peer, 'server-to-client', tsn, terminateCommand(status, this.o.terminateWaitTimeS ?? KE_TIMING.terminateWaitTimeS, suiteBits));
  }

  private transmit(s: Session, cmd: KeyEstablishmentCommand): void {
    const n = ++s.sent;
    void this.link.send(s.peer, 'server-to-client', s.tsn, cmd).then((r) => {
      // A missing APS ack ends the exchange, without Terminate (protocol.md §6.2). `sent` tells
      // whether the exchange is still waiting on the answer to this very message.
      if (!r.ok && this.session === s && s.sent === n) {
        this.end(s, this.failure({ peer: s.peer, step: s.step, reason: 'no-ack', terminate: 'none', message: `no APS ack (${r.reason})`,
          startedAt: s.startedAt, suite: s.suite }));
      } else if (!r.ok) {
        this.link.log('ignored', s.peer.short, undefined, { why: `send failed after the exchange moved on: ${r.reason}` });
      }
    });
  }

  private end(s: Session, outcome: KeOutcome): void {
    s.cancel?.();
    if (this.session === s) this.session = undefined;
    this.record(outcome);
  }

  private record(outcome: KeOutcome): void {
    this.outcomes.push(outcome);
    this.link.log('outcome', outcome.partnerShort, undefined, outcome.ok
      ? { ok: true, suite: outcome.suite, keyLabel: outcome.keyLabel }
      : { ok: false, step: outcome.step, reason: outcome.reason, status: outcome.statusName, terminate: outcome.terminate });
    this.o.onOutcome?.(outcome);
  }

  private untrustedCredential(own: KeCredential): KeCredential {
    const given = this.o.untrustedCredentials?.find((c) => c.suite.id === own.suite.id);
    if (given) return given;
    let made = this.untrusted.get(own.suite.id);
    if (!made) {
      const ca = new TestCa({ suite: own.suite, issuer: UNTRUSTED_ISSUER, random: this.o.random });
      const issued = ca.issue({ subject: parseCertificate(own.certificate).subject });
      made = { suite: own.suite, certificate: issued.certificate, privateKey: issued.privateKey, trustedCas: own.trustedCas };
      this.untrusted.set(own.suite.id, made);
    }
    return made;
  }

  /** Our certificate, broken as `kind` (behaviour.brokenCertificate); issued by our own CA where the fault needs one. */
  private brokenCredential(own: KeCredential, kind: Extract<BrokenKind, 'wrong-subject' | 'corrupted-point' | 'bad-key-usage-signature'>): KeCredential {
    const key = `${own.suite.id}/${kind}`;
    let made = this.broken.get(key);
    if (made) return made;
    if (kind === 'corrupted-point') {
      made = { ...own, certificate: flipPointOffCurve(own) };
    } else {
      if (kind === 'bad-key-usage-signature' && own.suite.id !== 2) {
        // Suite-1 certificates have no KeyUsage field: this fault does not exist there.
        this.link.log('ignored', undefined, undefined, { why: 'brokenCertificate bad-key-usage-signature: no KeyUsage in suite-1 certificates' });
        return own;
      }
      const issuing = this.o.issuingCa?.(own.suite);
      if (!issuing) throw new Error(`Key Establishment responder: brokenCertificate "${kind}" needs the CA that issued our certificate (issuingCa)`);
      // Same CA key and issuer, its own random source: the shared CA's next certificates stay as they were.
      const ca = new TestCa({ suite: own.suite, issuer: issuing.issuer, privateKey: issuing.privateKey, random: this.o.random });
      const b = ca.issueBroken(kind, { subject: parseCertificate(own.certificate).subject });
      made = { suite: own.suite, certificate: b.certificate, privateKey: b.privateKey, trustedCas: own.trustedCas };
    }
    this.broken.set(key, made);
    return made;
  }

  private failure(f: Omit<FailureFields, 'endedAt'>): KeOutcome {
    return failure('responder', { ...f, endedAt: this.now() });
  }

  private get ownEphemeralS(): number { return this.o.ephemeralDataGenerateTimeS ?? KE_TIMING.ephemeralDataGenerateTimeS; }
  private get ownConfirmS(): number { return this.o.confirmKeyGenerateTimeS ?? KE_TIMING.confirmKeyGenerateTimeS; }
  private now(): number { return this.link.aps?.clock.now() ?? 0; }
}

/** Our certificate with one bit of the reconstruction point's x flipped so that it no longer decompresses. */
function flipPointOffCurve(own: KeCredential): Uint8Array {
  const { suite } = own;
  const base = suite.id === 1 ? V1_OFFSETS.reconstructionData : V2_OFFSETS.reconstructionData;
  for (let i = 0; i < 8 * 16; i++) {
    const certificate = own.certificate.slice();
    certificate[base + suite.pointBytes - 1 - (i >> 3)] ^= 1 << (i & 7);
    try {
      suite.curve.decompress(certificate.subarray(base, base + suite.pointBytes));
    } catch {
      return certificate;
    }
  }
  throw new Error('no single-bit flip of the reconstruction point left the curve');
}

function commandName(id: number): string {
  return ['Initiate Key Establishment Request', 'Ephemeral Data Request', 'Confirm Key Data Request', 'Terminate Key Establishment'][id] ?? `command 0x${id.toString(16)}`;
}
