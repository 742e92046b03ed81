// The golden (and, by profile, the known-bad) joiner: a device that joins with its install-code
// (or preconfigured) key, takes the network key, announces itself, runs the TC link key
// procedure of its mode (Zigbee 3.0 exchange, legacy, or SE/CBKE left to the KE application),
// leaves, rejoins, and obeys — or, by profile, ignores — leave requests. Routers are joiners
// that take on parent duties once joined. Every decision reads `behaviour` (profiles.ts).
import { deriveInstallCodeLinkKey, installCodeFromBytes, parseInstallCode, type InstallCode } from '../crypto/install-code.ts';
import { abytes } from '../crypto/bytes.ts';
import type { Air } from '../sim/air.ts';
import type { Clock } from '../sim/clock.ts';
import { ApsKeyType } from '../zigbee/aps.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import { ZdpStatus } from '../zigbee/zdo.ts';
import { KeyId } from '../zigbee/security.ts';
import type { JoinerControl, LinkKeyOrigin } from './app.ts';
import type { ApsCommandIndication } from './aps.ts';
import { adoptParent, chooseParents, describeScan, takeNetworkKey, type ParentFilter } from './joiner-join.ts';
import { APS_SECURITY_TIMEOUT_MS, EmberStatus, expectNetworkKey } from './joiner-key.ts';
import { rejoin, type RejoinRequest } from './joiner-rejoin.ts';
import { runTclkExchange } from './joiner-tclk.ts';
import { KeyMaterial, wellKnownTcLinkKey } from './keys.ts';
import { fallbackEntry } from './link-keys.ts';
import { ZigbeeNode, type NwkCommandEvent } from './node.ts';
import { ParentDuties } from './parent.ts';
import { COMPLIANT_JOINER, type JoinerBehaviour, type Profile } from './profiles.ts';
import type { KeyRandom, RandomSource } from './random.ts';
import { RouterAuthority } from './router.ts';
import { Deadline, Signal } from './signal.ts';
import type { Transcript } from './transcript.ts';

export type JoinerDeviceType = 'router' | 'end-device' | 'sleepy-end-device';

export interface JoinerOptions {
  air: Air;
  clock: Clock;
  eui64: Eui64;
  name?: string;
  profile?: JoinerBehaviour | Profile<JoinerBehaviour>;
  /** The install code the device ships with (its preconfigured TC link key is derived from it). */
  installCode?: string | InstallCode | Uint8Array;
  /** A preconfigured link key instead; without either, the well-known key ZigBeeAlliance09. */
  preconfiguredKey?: Uint8Array;
  deviceType?: JoinerDeviceType;
  transcript?: Transcript;
  random?: RandomSource;
  keyRandom?: KeyRandom;
  /** Sleepy end devices: long poll interval, ms. */
  pollIntervalMs?: number;
  /** Stack compliance revision in this device's node descriptor (default 22). */
  stackRevision?: number;
}

export interface JoinRequest extends ParentFilter {
  channel: number;
  /** Deadline for the whole join on the clock, ms (default 60 s: enough for 3×5 s twice). */
  timeoutMs?: number;
}

export type JoinFailureCode =
  | 'busy' | 'no-network' | 'association-refused' | 'association-failed' | 'no-network-key' | 'network-key-in-the-clear'
  | 'tclk-exchange-failed' | 'timeout' | 'rejoin-failed' | 'not-joined';

/** 'cbke-pending': SE mode, joined with the install-code key until Key Establishment replaces it. */
export type TclkStatus = 'provisional' | 'verified' | 'legacy-tc' | 'cbke-pending' | 'cbke';

export interface StackJoinResult {
  joined: boolean;
  shortAddress?: number;
  reason?: string;
  code?: JoinFailureCode;
  /** The EmberZNet stack status this outcome corresponds to, where one does (protocol.md §7.3). */
  emberStatus?: number;
  tclk?: TclkStatus;
  /** The device associated, then left the network again (failed TC link key exchange). */
  left?: boolean;
}

export type JoinerEvent =
  | { kind: 'network-up'; short: number; tclk: TclkStatus }
  | { kind: 'network-down'; reason: string }
  | { kind: 'tclk'; tclk: TclkStatus };

export class Joiner implements JoinerControl {
  readonly node: ZigbeeNode;
  readonly events = new Signal<JoinerEvent>();
  readonly deviceType: JoinerDeviceType;
  private behaviourValue: JoinerBehaviour;
  private readonly preconfigured: { material: KeyMaterial; origin: LinkKeyOrigin };
  private busy = false;
  private tclkValue: TclkStatus | undefined;
  private router: { parent: ParentDuties; authority: RouterAuthority } | undefined;

  constructor(opts: JoinerOptions) {
    this.deviceType = opts.deviceType ?? 'end-device';
    this.node = new ZigbeeNode({
      name: opts.name ?? 'dut', eui64: opts.eui64, air: opts.air, clock: opts.clock, deviceType: this.deviceType,
      transcript: opts.transcript, random: opts.random, keyRandom: opts.keyRandom, pollIntervalMs: opts.pollIntervalMs, stackRevision: opts.stackRevision,
    });
    const b = opts.profile === undefined ? COMPLIANT_JOINER : 'behaviour' in opts.profile ? opts.profile.behaviour : opts.profile;
    this.behaviourValue = { ...b };
    if (opts.installCode !== undefined) {
      const c = opts.installCode;
      const ic = typeof c === 'string' ? parseInstallCode(c) : c instanceof Uint8Array ? installCodeFromBytes(c) : c;
      this.preconfigured = { material: new KeyMaterial(deriveInstallCodeLinkKey(ic), 'install-code'), origin: 'install-code' };
    } else if (opts.preconfiguredKey !== undefined) {
      this.preconfigured = { material: new KeyMaterial(abytes(opts.preconfiguredKey, 16, 'preconfiguredKey'), 'preconfigured'), origin: 'preconfigured' };
    } else {
      this.preconfigured = { material: wellKnownTcLinkKey(), origin: 'well-known' };
    }
    this.node.linkKeys.fallback = fallbackEntry(this.preconfigured.material, this.preconfigured.origin);
    this.node.aps.commands.on((ind) => this.onApsCommand(ind));
    this.node.nwkCommands.on((e) => this.onNwkCommand(e));
    this.node.linkKeySet.on(({ partner, origin }) => {
      if (partner === this.node.net.tcEui64 && origin === 'cbke') this.setTclk('cbke');
    });
    this.node.zdoHooks = {
      mgmtLeave: (r) => this.onLeaveRequest(r.rejoin, 'Mgmt_Leave_req'),
      permitJoining: (s) => this.router?.parent.permitJoin(Math.min(255, s)),
      deviceAnnounced: () => {},
    };
  }

  get eui64(): Eui64 {
    return this.node.eui64;
  }
  get behaviour(): JoinerBehaviour {
    return this.behaviourValue;
  }
  set behaviour(b: JoinerBehaviour) {
    this.behaviourValue = { ...b };
  }
  get joined(): boolean {
    return this.node.net.onNetwork && this.node.net.authenticated;
  }
  get shortAddress(): number | undefined {
    return this.joined ? this.node.net.short : undefined;
  }
  get trustCenterEui64(): Eui64 | undefined {
    return this.node.net.tcEui64;
  }
  get tclk(): TclkStatus | undefined {
    return this.tclkValue;
  }
  /** The router's parent duties once joined (routers only). */
  get parent(): ParentDuties | undefined {
    return this.router?.parent;
  }

  /**
   * Power-cycle to factory-new: forgets the network and learned keys. The outgoing NWK frame
   * counter survives (protocol.md §7.5, TP_R21_BV-12) unless the profile resets it.
   */
  async reset(): Promise<void> {
    this.dropRouterDuties();
    this.node.forgetNetwork();
    this.node.linkKeys.clear();
    this.node.linkKeys.fallback = fallbackEntry(this.preconfigured.material, this.preconfigured.origin);
    if (this.behaviourValue.resetFrameCounterOnReboot) this.node.nvm.nwkFrameCounter = 0;
    this.tclkValue = undefined;
    this.node.ctx.trace('join.reset', { frameCounter: this.behaviourValue.resetFrameCounterOnReboot ? 'restarted at 0' : 'kept' });
  }

  async join(req: JoinRequest): Promise<StackJoinResult> {
    if (this.busy) return this.fail('busy', 'a join or rejoin is already running');
    if (this.joined) return this.fail('busy', 'already on a network: leave or reset first');
    this.busy = true;
    try {
      return await this.joinOnce(req);
    } finally {
      this.busy = false;
    }
  }

  private async joinOnce(req: JoinRequest): Promise<StackJoinResult> {
    const { node } = this;
    const deadline = new Deadline(node.clock, req.timeoutMs ?? 60_000);
    node.net.channel = req.channel;
    node.ctx.trace('join.start', { channel: req.channel, panId: req.panId, key: this.preconfigured.material.label });
    const beacons = await node.mac.scan(req.channel);
    const parents = chooseParents(node, beacons, req);
    if (parents.length === 0) return this.fail('no-network', `no joinable network on channel ${req.channel}: ${describeScan(beacons)}`);
    const b = parents[0];
    const assoc = await node.mac.associate({ panId: b.panId, coordShort: b.coordShort }, node.capability);
    if ('failure' in assoc) return this.fail('association-failed', assoc.failure);
    if (assoc.status !== 0) {
      node.mac.panId = 0xffff;
      const name = assoc.status === 0x02 ? 'PAN access denied' : assoc.status === 0x01 ? 'PAN at capacity' : 'refused';
      return this.fail('association-refused', `association refused by 0x${b.coordShort.toString(16).padStart(4, '0')} with status 0x${assoc.status.toString(16).padStart(2, '0')} (${name})`, EmberStatus.JOIN_FAILED);
    }
    const keyWait = expectNetworkKey(node, deadline.cap(APS_SECURITY_TIMEOUT_MS));
    adoptParent(node, b, assoc.short);
    node.net.authenticated = false;
    node.nwk.acceptUnsecuredFromParent = true;
    node.fastPoll(APS_SECURITY_TIMEOUT_MS);
    node.ctx.trace('join.associated', { short: assoc.short, parent: b.coordShort, panId: b.panId });
    const key = await keyWait;
    node.nwk.acceptUnsecuredFromParent = false;
    if (!key.ok) {
      // No key: the device leaves silently, without a leave indication (ZBOSS-CERT TP_R21_BV-06).
      node.forgetNetwork();
      return this.fail(key.code, key.reason, key.emberStatus, key.triedKey);
    }
    takeNetworkKey(node, key);
    node.ctx.trace('join.network-key', { tc: key.tcEui64, seq: key.seq, under: `key-transport(${this.preconfigured.material.label})` });
    await node.zdo.announce(node.capabilityByte);
    if (this.deviceType === 'router') this.takeRouterDuties();
    return this.afterJoin(deadline);
  }

  /** The TC link key procedure of the profile's mode, then the outcome. */
  private async afterJoin(deadline: Deadline): Promise<StackJoinResult> {
    const { node } = this;
    const mode = this.behaviourValue.tclkMode;
    if (mode === 'legacy') return this.up('provisional');
    if (mode === 'cbke') return this.up('cbke-pending');
    const r = await runTclkExchange(node, this.behaviourValue, deadline);
    if (r.ok) return this.up(r.state);
    // bdb_update_tclk_failed → ZB_COMM_SIGNAL_TCLK_UPDATE_FAILED: leave the network (protocol.md §4.1 step 7).
    node.ctx.trace('join.tclk.failed', { reason: r.reason, timeLeftMs: Math.round(deadline.left) });
    await this.leave({ rejoin: false });
    return { ...this.fail('tclk-exchange-failed', `TC link key exchange failed: ${r.reason}; left the network`), left: true };
  }

  private up(tclk: TclkStatus): StackJoinResult {
    this.tclkValue = tclk;
    const short = this.node.net.short;
    this.node.ctx.trace('join.joined', { short, tclk });
    this.events.emit({ kind: 'network-up', short, tclk });
    return { joined: true, shortAddress: short, tclk, emberStatus: EmberStatus.NETWORK_UP };
  }

  private fail(code: JoinFailureCode, reason: string, emberStatus?: number, triedKey?: string): StackJoinResult {
    this.node.ctx.trace('join.failed', { code, reason, emberStatus, triedKey });
    return emberStatus === undefined ? { joined: false, code, reason } : { joined: false, code, reason, emberStatus };
  }

  private setTclk(t: TclkStatus): void {
    this.tclkValue = t;
    this.node.ctx.trace('join.tclk', { tclk: t });
    this.events.emit({ kind: 'tclk', tclk: t });
  }

  /**
   * Leave announcement (broadcast to 0xFFFD, radius 1, Src64, NWK-secured; protocol.md §2.5),
   * then off the network. With `rejoin` the device keeps its keys and address for rejoin().
   */
  async leave(opts: { rejoin?: boolean } = {}): Promise<void> {
    const { node } = this;
    if (!node.net.onNetwork) return;
    const rejoin = opts.rejoin ?? false;
    if (node.net.authenticated) {
      await node.nwk.sendCommand({ kind: 'leave', request: false, rejoin, removeChildren: false }, { dst16: 0xfffd, withSrc64: true, security: true, radius: 1 });
    }
    node.ctx.trace('join.left', { rejoin });
    this.dropRouterDuties();
    if (rejoin) {
      node.net.onNetwork = false;
      node.net.parentShort = undefined;
    } else {
      node.forgetNetwork();
      node.linkKeys.clear();
      node.linkKeys.fallback = fallbackEntry(this.preconfigured.material, this.preconfigured.origin);
      this.tclkValue = undefined;
    }
    this.events.emit({ kind: 'network-down', reason: rejoin ? 'left (to rejoin)' : 'left' });
  }

  /** Secured rejoin (NWK key) or Trust Center rejoin (unsecured, the TC resends the network key). */
  async rejoin(opts: RejoinRequest): Promise<StackJoinResult & { joined: boolean; reason?: string }> {
    if (this.busy) return this.fail('busy', 'a join or rejoin is already running');
    this.busy = true;
    try {
      const r = await rejoin(this.node, opts);
      if (!r.ok) return this.fail(r.code, r.reason, r.emberStatus);
      if (this.deviceType === 'router') this.takeRouterDuties();
      return this.up(this.tclkValue ?? 'provisional');
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    this.node.stop();
  }

  // ---------------------------------------------------------------------------------------------

  /** NWK Leave request or Mgmt_Leave_req for this device: obeyed unless the profile says otherwise. */
  private onLeaveRequest(rejoinAfter: boolean, how: string): { status: number; after?: () => void } {
    if (!this.behaviourValue.obeyLeave) {
      this.node.ctx.trace('join.leave-ignored', { how, rejoin: rejoinAfter });
      return { status: ZdpStatus.SUCCESS };
    }
    this.node.ctx.trace('join.leave-requested', { how, rejoin: rejoinAfter });
    return {
      status: ZdpStatus.SUCCESS,
      after: () => void this.leave({ rejoin: rejoinAfter }).then(() => {
        if (rejoinAfter) void this.rejoin({ secured: true });
      }),
    };
  }

  private onNwkCommand(e: NwkCommandEvent): void {
    this.router?.parent.onNwkCommand(e);
    const { cmd, ind } = e;
    const net = this.node.net;
    if (cmd.kind !== 'leave' || !cmd.request || !ind.secured || !net.onNetwork) return;
    if (ind.header.dst16 !== net.short || (ind.header.dst64 !== undefined && ind.header.dst64 !== this.node.eui64)) return;
    const d = this.onLeaveRequest(cmd.rejoin, 'NWK leave request');
    d.after?.();
  }

  /** After joining: network key update (Transport Key + Switch Key) and router duties. */
  private onApsCommand(ind: ApsCommandIndication): void {
    this.router?.authority.onApsCommand(ind);
    const { node } = this;
    const c = ind.command;
    if (!this.joined || ind.srcShort !== 0x0000) return;
    if (c.type === 'transportKey' && c.keyType === ApsKeyType.STANDARD_NETWORK && c.descriptor.layout === 'network') {
      // Accepted APS-secured (key-transport) or, once joined, NWK-secured as a broadcast (protocol.md §3.3).
      const ok = (ind.apsSecured && ind.keyId === KeyId.keyTransport) || (!ind.apsSecured && ind.nwkSecured && ind.broadcast);
      if (!ok) return;
      node.nwkSecurity.setAlternate(c.descriptor.key, c.descriptor.keySeq);
      node.ctx.trace('join.network-key-update', { seq: c.descriptor.keySeq });
    } else if (c.type === 'switchKey' && ind.nwkSecured) {
      const switched = node.nwkSecurity.switchTo(c.keySeq);
      node.ctx.trace('join.switch-key', { seq: c.keySeq, switched });
    }
  }

  private takeRouterDuties(): void {
    const { node } = this;
    if (this.router) return;
    let parentRef: ParentDuties | undefined;
    const authority = new RouterAuthority(node, () => parentRef!, () => void this.leave({ rejoin: false }));
    const parent = (parentRef = new ParentDuties(node.ctx, node.net, node.nwk, node.addresses, authority));
    node.parent = parent;
    node.mac.coordinator = parent;
    this.router = { parent, authority };
  }

  private dropRouterDuties(): void {
    if (!this.router) return;
    this.router.parent.stop();
    this.node.parent = undefined;
    this.node.mac.coordinator = undefined;
    this.router = undefined;
  }
}
