// Key Establishment cluster 0x0800, client side = CBKE initiator (the device's role). Reads the
// server's KeyEstablishmentSuite, picks the highest common suite, then Initiate → Ephemeral Data →
// Confirm Key; on success the CBKE key replaces the TC link key. Started on demand at any time
// after join (dynamic CBKE activation, ST guide §6.4) or automatically on network up.
// The joiner behaviour switches of profiles.ts act here: checkIssuer, checkSubject, checkSequence, checkKeyConfirm, checkKeyUsage,
// terminateAfterTimeout, cbkeSuites.
// @spec SE 1.4 (07-5356) Annex C.3.1, C.4.2; protocol.md §6.2, §7.2; ST guide §6.3, §6.4;
//       EMBER key-establishment.c (CHECK_SUPPORTED_CURVES, one TSN per exchange, Default Response
//       SUCCESS to the final Confirm Key Data Response).
import { bytesToHex, equalBytes } from '../../crypto/bytes.ts';
import { type CryptoSuite, KeStatus, keStatusName, negotiateSuite, suitesInBitmap } from '../../crypto/cbke-suites.ts';
import { type CbkeFailure, CbkeParty, type TrustedCa } from '../../crypto/cbke.ts';
import { parseCertificate } from '../../crypto/certificate.ts';
import type { Eui64 } from '../../zigbee/codec.ts';
import {
  KEY_ESTABLISHMENT_CLUSTER, type KeyEstablishmentCommand, KeyEstablishmentCommandId,
} from '../../zigbee/clusters/key-establishment.ts';
import { type ZclReadRecord, ZclDataType, ZclFrameType, ZclGlobalCommand, ZclStatus } from '../../zigbee/zcl.ts';
import type { ApsService, JoinerControl } from '../app.ts';
import type { JoinerBehaviour } from '../profiles.ts';
import {
  type FailureFields, KE_TIMING, type KeCommonOptions, type KeCredential, type KeFailureReason, KeLink, type KeOutcome, type KeStep,
  credentialFor, decodeKe, failure, keyLabelFor, offeredSuites, subjectBytes, suiteAttribute, terminateCommand, toCbkeMessage,
} from './ke-common.ts';
import { DONE, RESPONDED, SILENT, type ZclAttribute, type ZclCluster, type ZclDisposition, type ZclEndpoint, type ZclIncoming } from './zcl-endpoint.ts';

export interface KeClientOptions extends KeCommonOptions {
  /** JoinerBehaviour of the joiner profile: checkIssuer, checkSubject, checkSequence, terminateAfterTimeout, cbkeSuites. */
  behaviour?: Partial<Pick<JoinerBehaviour, 'checkIssuer' | 'checkSubject' | 'checkSequence' | 'checkKeyConfirm' | 'checkKeyUsage' | 'terminateAfterTimeout' | 'cbkeSuites'>>;
  /** The KE server: the TC (short 0x0000) on our own endpoint number unless told otherwise. */
  server?: { short?: number; endpoint?: number; eui64?: Eui64 };
  /** Gives the TC's EUI-64 (its certificate subject must match it). */
  control?: JoinerControl;
  /** Read the server's KeyEstablishmentSuite first (EMBER CHECK_SUPPORTED_CURVES); default true. */
  readServerSuites?: boolean;
  /** Start on onNetworkUp() (after join / TC change); default false = on demand only. */
  autoStart?: boolean;
  autoStartDelayMs?: number;
  /** Wait for the suite read and for the Initiate Response; default the slack (10 s), EMBER's base. */
  readSuiteTimeoutS?: number;
  initiateResponseTimeoutS?: number;
  /** Status of the Terminate a terminateAfterTimeout (known-bad) device sends; default BAD_MESSAGE. */
  timeoutTerminateStatus?: number;
  onOutcome?: (o: KeOutcome) => void;
}

interface Peer { short: number; endpoint: number; eui64: Eui64 | undefined }

interface Session {
  peer: Peer;
  startedAt: number;
  step: KeStep;
  /** One TSN for the whole exchange; the responder echoes it (EMBER keyEstPartner.sequenceNumber). */
  tsn: number;
  readTsn?: number;
  suite?: CryptoSuite;
  credential?: KeCredential;
  party?: CbkeParty;
  partnerTimes?: { ephemeralS: number; confirmS: number };
  cancel?: () => void;
  sent: number;
  promise: Promise<KeOutcome>;
  resolve: (o: KeOutcome) => void;
}

const EXPECTED: Partial<Record<KeStep, number>> = {
  initiate: KeyEstablishmentCommandId.INITIATE_KEY_ESTABLISHMENT,
  ephemeral: KeyEstablishmentCommandId.EPHEMERAL_DATA,
  confirm: KeyEstablishmentCommandId.CONFIRM_KEY_DATA,
};

export class KeyEstablishmentClient implements ZclCluster {
  readonly clusterId = KEY_ESTABLISHMENT_CLUSTER;
  readonly side = 'client' as const;
  readonly attributes: readonly ZclAttribute[];
  readonly outcomes: KeOutcome[] = [];
  private readonly o: KeClientOptions;
  private readonly link = new KeLink('initiator');
  private readonly suites: number;
  private session: Session | undefined;
  private establishedWith: Eui64 | undefined;

  constructor(opts: KeClientOptions) {
    this.o = opts;
    this.suites = offeredSuites({ ...opts, suites: opts.behaviour?.cbkeSuites ?? opts.suites });
    this.attributes = [suiteAttribute(() => this.suites)];
  }

  get events() { return this.link.events; }
  get running(): boolean { return this.session !== undefined; }
  get lastOutcome(): KeOutcome | undefined { return this.outcomes[this.outcomes.length - 1]; }
  get offeredSuites(): number { return this.suites; }

  attach(endpoint: ZclEndpoint, aps: ApsService): void {
    this.link.endpoint = endpoint;
    this.link.aps = aps;
  }

  /** The node joined, rejoined or learned a new TC: auto-start if configured and no CBKE key with this TC yet. */
  onNetworkUp(): void {
    if (!this.o.autoStart || this.session) return;
    const tc = this.peer().eui64;
    if (this.establishedWith !== undefined && this.establishedWith === tc) return;
    this.link.clock.setTimer(this.o.autoStartDelayMs ?? 0, () => { void this.startKeyEstablishment(); });
  }

  /**
   * Dynamic CBKE activation: runs one exchange with the server now; resolves with its outcome
   * (never rejects for protocol failures). A call while one runs returns the running one.
   */
  startKeyEstablishment(): Promise<KeOutcome> {
    if (this.session) return this.session.promise;
    const ep = this.link.endpoint;
    this.link.need();
    if (!ep) throw new Error('Key Establishment initiator: not hosted on a ZclEndpoint');
    let resolve!: (o: KeOutcome) => void;
    const promise = new Promise<KeOutcome>((r) => { resolve = r; });
    const s: Session = { peer: this.peer(), startedAt: this.now(), step: 'read-suite', tsn: ep.nextTsn(), sent: 0, promise, resolve };
    this.session = s;
    if (this.suites === 0) {
      this.finish(s, this.failure(s, { reason: 'no-credential', terminate: 'none', message: 'no crypto suite to offer', status: KeStatus.UNSUPPORTED_SUITE }));
    } else if (this.o.readServerSuites === false) {
      this.initiate(s, suitesInBitmap(this.suites).at(-1) as CryptoSuite);
    } else {
      this.readSuites(s, ep);
    }
    return promise;
  }

  handle(msg: ZclIncoming): ZclDisposition {
    const { ind, header, command } = msg;
    if (ind.broadcast) {
      this.link.log('ignored', ind.srcShort, undefined, { why: 'broadcast' }); // EMBER ignores broadcast KE frames
      return SILENT;
    }
    const s = this.session;
    const fromPeer = s !== undefined && s.peer.short === ind.srcShort;
    if (header.frameType === ZclFrameType.GLOBAL) {
      if (command.type === 'readAttributesResponse') {
        if (s && fromPeer && s.step === 'read-suite' && header.tsn === s.readTsn) this.onSuites(s, command.records);
        return SILENT;
      }
      if (command.type === 'defaultResponse') {
        if (s && fromPeer && command.status !== ZclStatus.SUCCESS) {
          // EMBER PARTNER_SENT_DEFAULT_RESPONSE_ERROR: transient failure, no Terminate.
          this.finish(s, this.failure(s, {
            reason: s.step === 'read-suite' ? 'read-suite-failed' : 'default-response-error', terminate: 'none',
            message: `server answered with Default Response 0x${command.status.toString(16).padStart(2, '0')}`,
          }));
        }
        return SILENT;
      }
      return { kind: 'error', status: ZclStatus.UNSUP_GENERAL_COMMAND };
    }
    const id = header.commandId;
    if (id > KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT) return { kind: 'error', status: ZclStatus.UNSUP_CLUSTER_COMMAND };
    const raw = command.type === 'raw' ? command.raw : new Uint8Array(0);
    this.link.log('rx', ind.srcShort, responseName(id));
    if (!s || !fromPeer || s.step === 'read-suite') {
      if (id === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT) {
        if (s && fromPeer) this.onTerminate(s, raw);
        return DONE;
      }
      // A late or unsolicited response: answering it with a Terminate would send one to a partner
      // we timed out (SE C.3.1, ST guide §6.3), so it is only logged.
      this.link.log('ignored', ind.srcShort, responseName(id), { why: s ? 'not from our partner / before Initiate' : 'no exchange running' });
      return SILENT;
    }
    if (id === KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT) {
      this.onTerminate(s, raw);
      return DONE;
    }
    const dec = decodeKe(id, raw, s.suite?.bit);
    if (!dec.ok) return this.terminate(s, KeStatus.BAD_MESSAGE, 'malformed-message', dec.message);
    if (id !== EXPECTED[s.step]) {
      if (this.o.behaviour?.checkSequence === false) {
        // Known-bad (profile ignores-out-of-sequence): drops the message and keeps waiting.
        this.link.log('ignored', ind.srcShort, responseName(id), { why: `out of sequence while waiting for the ${s.step} response (checkSequence: false)` });
        return SILENT;
      }
      return this.terminate(s, KeStatus.BAD_MESSAGE, 'unexpected-message', `${responseName(id)} while waiting for the ${s.step} response`);
    }
    s.cancel?.();
    if (dec.cmd.type === 'initiateKeyEstablishment') return this.onInitiateResponse(s, dec.cmd);
    return this.onPartyMessage(s, dec.cmd);
  }

  // ---- steps -----------------------------------------------------------------------------------

  private readSuites(s: Session, ep: ZclEndpoint): void {
    s.readTsn = ep.nextTsn();
    this.link.log('tx', s.peer.short, 'Read Attributes (KeyEstablishmentSuite)');
    void ep.send({
      dst: { short: s.peer.short }, dstEndpoint: s.peer.endpoint, clusterId: KEY_ESTABLISHMENT_CLUSTER, direction: 'client-to-server',
      frameType: ZclFrameType.GLOBAL, commandId: ZclGlobalCommand.READ_ATTRIBUTES, tsn: s.readTsn,
      command: { type: 'readAttributes', attributeIds: [0x0000] }, apsSecurity: false,
    }).then((r) => {
      if (!r.ok && this.session === s && s.step === 'read-suite') {
        this.finish(s, this.failure(s, { reason: 'read-suite-failed', terminate: 'none', message: `Read Attributes not delivered (${r.reason})` }));
      }
    });
    this.wait(s, 'read-suite', this.o.readSuiteTimeoutS ?? this.slackS);
  }

  /** Highest common suite (SE C.3.1.2.3 via crypto.md §4.7; EMBER emberAfPluginKeyEstablishmentReadAttributesCallback). */
  private onSuites(s: Session, records: readonly ZclReadRecord[]): void {
    s.cancel?.();
    const rec = records.find((r) => r.attributeId === 0x0000);
    if (!rec || rec.status !== ZclStatus.SUCCESS || typeof rec.value !== 'number' || rec.dataType !== ZclDataType.ENUM16) {
      this.finish(s, this.failure(s, { reason: 'read-suite-failed', terminate: 'none', message: `KeyEstablishmentSuite not readable (${rec ? `status 0x${rec.status.toString(16)}` : 'missing'})` }));
      return;
    }
    this.link.log('rx', s.peer.short, 'Read Attributes Response', { serverSuites: rec.value });
    const suite = negotiateSuite(this.suites, rec.value);
    if (!suite) {
      // Nothing to terminate: no KE command was exchanged yet (EMBER BAD_KEY_ESTABLISHMENT_SUITE
      // "we don't want to send a Terminate … in response to a read attributes response").
      this.finish(s, this.failure(s, {
        reason: 'no-common-suite', status: KeStatus.UNSUPPORTED_SUITE, terminate: 'none',
        message: `no common suite: ours 0x${hex4(this.suites)}, server 0x${hex4(rec.value)}`,
      }));
      return;
    }
    this.initiate(s, suite);
  }

  private initiate(s: Session, suite: CryptoSuite): void {
    s.suite = suite;
    s.credential = credentialFor(this.o, suite) as KeCredential;
    this.transmit(s, {
      type: 'initiateKeyEstablishment', suite: suite.bit, identity: s.credential.certificate,
      ephemeralDataGenerateTime: this.o.ephemeralDataGenerateTimeS ?? KE_TIMING.ephemeralDataGenerateTimeS,
      confirmKeyGenerateTime: this.o.confirmKeyGenerateTimeS ?? KE_TIMING.confirmKeyGenerateTimeS,
    });
    // No partner time is known yet: EMBER waits its base (10 s) for the Initiate Response.
    this.wait(s, 'initiate', this.o.initiateResponseTimeoutS ?? this.slackS);
  }

  private onInitiateResponse(s: Session, rsp: Extract<KeyEstablishmentCommand, { type: 'initiateKeyEstablishment' }>): ZclDisposition {
    const suite = s.suite as CryptoSuite;
    const cred = s.credential as KeCredential;
    if (rsp.suite !== suite.bit) {
      return this.terminate(s, KeStatus.BAD_MESSAGE, 'wrong-suite', `response names suite 0x${hex4(rsp.suite)}, we asked for 0x${hex4(suite.bit)}`);
    }
    s.partnerTimes = { ephemeralS: rsp.ephemeralDataGenerateTime, confirmS: rsp.confirmKeyGenerateTime };
    const party = new CbkeParty({
      suite, role: 'initiator', certificate: cred.certificate, privateKey: cred.privateKey, trustedCas: this.trustFor(cred, rsp.identity),
      // Known-bad (profile accepts-subject-mismatch): no subject check against the TC's EUI-64.
      partnerEui64: s.peer.eui64 && this.o.behaviour?.checkSubject !== false ? subjectBytes(s.peer.eui64) : undefined,
      requireKeyAgreement: this.o.behaviour?.checkKeyUsage !== false,
      now: this.o.unixTime?.(), random: this.o.random,
    });
    party.start();
    s.party = party;
    const reply = party.receive({ type: 'certificate', certificate: rsp.identity.slice() });
    if (!reply || reply.type === 'terminate') return this.terminateByParty(s);
    this.transmit(s, { type: 'ephemeralData', point: reply.type === 'ephemeral' ? reply.publicKey : new Uint8Array(0) });
    this.wait(s, 'ephemeral', this.slackS + s.partnerTimes.ephemeralS);
    return RESPONDED;
  }

  private onPartyMessage(s: Session, cmd: KeyEstablishmentCommand): ZclDisposition {
    const party = s.party as CbkeParty;
    const computed = party.result; // the known-bad device below installs it even when the MACV fails
    const reply = party.receive(toCbkeMessage(cmd) ?? { type: 'terminate', status: KeStatus.BAD_MESSAGE });
    if (reply?.type === 'terminate') {
      if (this.o.behaviour?.checkKeyConfirm === false && party.failure?.reason === 'bad-key-confirm' && computed) {
        this.link.log('ignored', s.peer.short, undefined, { why: 'MACV does not verify, key installed anyway (checkKeyConfirm: false)' });
        this.succeed(s, computed);
        return DONE;
      }
      return this.terminateByParty(s);
    }
    if (reply?.type === 'confirm') {
      this.transmit(s, { type: 'confirmKeyData', mac: reply.mac });
      this.wait(s, 'confirm', this.slackS + (s.partnerTimes as { confirmS: number }).confirmS);
      return RESPONDED;
    }
    if (party.state === 'done') {
      this.succeed(s);
      return DONE; // EMBER emberAfSendImmediateDefaultResponse(SUCCESS) on the initiator's success
    }
    return this.terminate(s, KeStatus.BAD_MESSAGE, 'unexpected-message', `state machine in ${party.state} after ${cmd.type}`);
  }

  private succeed(s: Session, result = (s.party as CbkeParty).result): void {
    const aps = this.link.need();
    if (!result) return;
    const tc = s.peer.eui64 ?? bytesToHex(result.partnerCertificate.subject);
    const prev = aps.getLinkKey(tc);
    // The CBKE key becomes the TC link key, replacing the install-code key (protocol.md §7.2).
    aps.setLinkKey(tc, result.keyData, 'cbke');
    this.link.log('key', s.peer.short, undefined, { partner: tc, origin: 'cbke', replaced: prev?.origin ?? null });
    this.establishedWith = tc;
    this.finish(s, {
      ok: true, role: 'initiator', partner: tc, partnerShort: s.peer.short, suite: (s.suite as CryptoSuite).id, key: result.keyData.slice(),
      keyLabel: keyLabelFor(aps.eui64), startedAt: s.startedAt, endedAt: this.now(),
    });
  }

  private onTerminate(s: Session, raw: Uint8Array): void {
    const dec = decodeKe(KeyEstablishmentCommandId.TERMINATE_KEY_ESTABLISHMENT, raw);
    const t = dec.ok && dec.cmd.type === 'terminateKeyEstablishment' ? dec.cmd : undefined;
    this.finish(s, this.failure(s, {
      reason: 'partner-terminated', status: t?.status, terminate: 'received', waitTimeS: t?.waitTime,
      message: `server sent Terminate ${t ? keStatusName(t.status) : '(malformed)'}${t ? `, wait ${t.waitTime} s` : ''}`,
    }));
  }

  /**
   * A device that does not check the issuer (profile accepts-unknown-issuer) reconstructs the
   * partner's key with the CA key it has, whatever the certificate's issuer field says.
   */
  private trustFor(cred: KeCredential, certificate: Uint8Array): readonly TrustedCa[] {
    if (this.o.behaviour?.checkIssuer !== false || cred.trustedCas.length === 0) return cred.trustedCas;
    const issuer = parseCertificate(certificate).issuer;
    if (cred.trustedCas.some((c) => equalBytes(c.issuer, issuer))) return cred.trustedCas;
    this.link.log('ignored', undefined, undefined, { why: 'issuer not trusted, accepted anyway (checkIssuer: false)' });
    return [...cred.trustedCas, { ...cred.trustedCas[0], issuer, label: 'accepted without issuer check' }];
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private wait(s: Session, step: KeStep, seconds: number): void {
    s.step = step;
    s.cancel = this.link.clock.setTimer(seconds * 1000, () => {
      if (this.session !== s) return;
      this.link.log('timer', s.peer.short, undefined, { step, expiredAfterS: seconds });
      const f: Omit<FailureFields, 'peer' | 'step' | 'startedAt' | 'endedAt' | 'suite'> = step === 'read-suite'
        ? { reason: 'read-suite-failed', terminate: 'none', message: `no Read Attributes Response within ${seconds} s` }
        : { reason: 'timeout', terminate: 'none', message: `no ${step} response within ${seconds} s` };
      if (step !== 'read-suite' && this.o.behaviour?.terminateAfterTimeout) {
        // Known-bad (profile terminates-after-timeout): SE C.3.1 says no Terminate to a partner that timed out.
        const status = this.o.timeoutTerminateStatus ?? KeStatus.BAD_MESSAGE;
        this.sendTerminate(s, status);
        Object.assign(f, { terminate: 'sent', status });
      }
      this.finish(s, this.failure(s, f));
    });
  }

  private terminateByParty(s: Session): ZclDisposition {
    const f = (s.party as CbkeParty).failure as CbkeFailure;
    return this.terminate(s, f.status, f.reason, f.message);
  }

  private terminate(s: Session, status: number, reason: KeFailureReason, message: string): ZclDisposition {
    this.sendTerminate(s, status);
    this.finish(s, this.failure(s, { reason, status, terminate: 'sent', message }));
    return RESPONDED;
  }

  private sendTerminate(s: Session, status: number): void {
    const wait = this.o.terminateWaitTimeS ?? KE_TIMING.terminateWaitTimeS;
    void this.link.send(s.peer, 'client-to-server', s.tsn, terminateCommand(status, wait, s.suite?.bit ?? this.suites));
  }

  private transmit(s: Session, cmd: KeyEstablishmentCommand): void {
    const n = ++s.sent;
    void this.link.send(s.peer, 'client-to-server', s.tsn, cmd).then((r) => {
      // A missing APS ack ends the exchange, without Terminate (protocol.md §6.2).
      if (!r.ok && this.session === s && s.sent === n) {
        this.finish(s, this.failure(s, { reason: 'no-ack', terminate: 'none', message: `no APS ack (${r.reason})` }));
      }
    });
  }

  private finish(s: Session, outcome: KeOutcome): void {
    s.cancel?.();
    if (this.session !== s) return;
    this.session = undefined;
    this.outcomes.push(outcome);
    this.link.log('outcome', outcome.partnerShort, undefined, outcome.ok
      ? { ok: true, suite: outcome.suite, keyLabel: outcome.keyLabel }
      : { ok: false, step: outcome.step, reason: outcome.reason, status: outcome.statusName, terminate: outcome.terminate });
    this.o.onOutcome?.(outcome);
    s.resolve(outcome);
  }

  private failure(s: Session, f: Omit<FailureFields, 'peer' | 'step' | 'startedAt' | 'endedAt' | 'suite'>): KeOutcome {
    return failure('initiator', { ...f, peer: s.peer, step: s.step, startedAt: s.startedAt, endedAt: this.now(), suite: s.suite });
  }

  private peer(): Peer {
    const short = this.o.server?.short ?? 0x0000;
    const aps = this.link.aps;
    return {
      short, endpoint: this.o.server?.endpoint ?? this.link.endpoint?.endpoint ?? 1,
      eui64: this.o.server?.eui64 ?? (short === 0x0000 ? this.o.control?.trustCenterEui64 : undefined) ?? aps?.lookupEui64(short),
    };
  }

  private get slackS(): number { return this.o.slackS ?? KE_TIMING.slackS; }
  private now(): number { return this.link.aps?.clock.now() ?? 0; }
}

function responseName(id: number): string {
  return ['Initiate Key Establishment Response', 'Ephemeral Data Response', 'Confirm Key Data Response', 'Terminate Key Establishment'][id] ?? `command 0x${id.toString(16)}`;
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');
