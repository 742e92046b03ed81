// The golden (and, by profile, the known-bad) Trust Center: forms the network, opens it for a
// bounded time, keeps the install-code table, admits joiners by sending the network key under
// the right key, runs the Zigbee 3.0 TC link key exchange, handles Update Device from routers,
// rejoins and leaves, removes devices and rotates the network key. Every decision reads
// `behaviour` (profiles.ts) at the moment it is taken.
import { parseInstallCode, deriveInstallCodeLinkKey, installCodeFromBytes, InstallCodeError, type InstallCode } from '../crypto/install-code.ts';
import { abytes, hexToBytes } from '../crypto/bytes.ts';
import type { Air } from '../sim/air.ts';
import type { Clock } from '../sim/clock.ts';
import { UpdateDeviceStatus } from '../zigbee/aps.ts';
import { parseEui64, type Eui64 } from '../zigbee/codec.ts';
import { ZdpCluster, ZdpStatus } from '../zigbee/zdo.ts';
import type { LinkKeyOrigin } from './app.ts';
import type { ApsCommandIndication } from './aps.ts';
import { KeyMaterial, wellKnownTcLinkKey } from './keys.ts';
import { ZigbeeNode } from './node.ts';
import { NwkBroadcast } from './nwk.ts';
import { ParentDuties, type ChildEntry, type ParentAuthority } from './parent.ts';
import { COMPLIANT_TC, type Profile, type TcBehaviour } from './profiles.ts';
import type { KeyRandom, RandomSource } from './random.ts';
import { armJoinTimer, markVerified, onRequestKey, onVerifyKey } from './tc-exchange.ts';
import type { TcDevice, TcOptions, TcState } from './tc-state.ts';
import { sendNetworkKey, updateNetworkKey } from './tc-transport.ts';
import type { Transcript } from './transcript.ts';

export interface TrustCenterOptions extends Partial<TcOptions> {
  air: Air;
  clock: Clock;
  eui64: Eui64;
  name?: string;
  profile?: TcBehaviour | Profile<TcBehaviour>;
  transcript?: Transcript;
  random?: RandomSource;
  keyRandom?: KeyRandom;
  /** Answer replayed NWK frames with Network Status 0x11 BAD_FRAME_COUNTER (optional; default off). */
  reportBadFrameCounter?: boolean;
}

export interface FormOptions {
  channel: number;
  panId: number;
  /** Default: the TC's EUI-64. */
  extendedPanId?: Eui64;
  /** Default: 16 random bytes (key sequence number 0). */
  networkKey?: Uint8Array;
}

export interface TcKeyTableEntry {
  eui64: Eui64;
  key: Uint8Array;
  /** 'install-code' for the install-code table; else the link key's origin. */
  kind: 'install-code' | LinkKeyOrigin;
  verified?: boolean;
}

/** nwkNetworkBroadcastDeliveryTime between Transport Key and Switch Key (Zigbee 05-3474 Table 3.44: 9 s). */
const KEY_UPDATE_DELIVERY_MS = 9_000;

export class TrustCenter implements ParentAuthority {
  readonly node: ZigbeeNode;
  private readonly state: TcState;
  private parentDuties: ParentDuties | undefined;

  constructor(opts: TrustCenterOptions) {
    this.node = new ZigbeeNode({
      name: opts.name ?? 'tc', eui64: opts.eui64, air: opts.air, clock: opts.clock, deviceType: 'coordinator',
      transcript: opts.transcript, random: opts.random, keyRandom: opts.keyRandom,
    });
    this.node.nwk.reportBadFrameCounter = opts.reportBadFrameCounter ?? false;
    const behaviour = opts.profile === undefined ? COMPLIANT_TC : 'behaviour' in opts.profile ? opts.profile.behaviour : opts.profile;
    const state: TcState = {
      node: this.node,
      behaviour: { ...behaviour },
      options: {
        acceptWellKnownKeyJoins: opts.acceptWellKnownKeyJoins ?? true,
        requireKeyExchange: opts.requireKeyExchange ?? true,
        nodeJoinTimeoutMs: opts.nodeJoinTimeoutMs ?? 15_000,
      },
      installCodes: new Map(),
      devices: new Map(),
      wellKnown: wellKnownTcLinkKey(),
    };
    this.state = state;
    this.node.aps.commands.on((ind) => this.onApsCommand(ind));
    this.node.nwkCommands.on((e) => this.parentDuties?.onNwkCommand(e));
    this.node.linkKeySet.on(({ partner, origin }) => {
      // A key installed by an application (Key Establishment) is verified by construction.
      const dev = state.devices.get(partner);
      if (dev && origin === 'cbke') markVerified(dev);
    });
    this.node.revisionSource = () => state.behaviour.stackRevision;
    this.node.zdoHooks = {
      mgmtLeave: () => ({ status: ZdpStatus.NOT_SUPPORTED }), // a ZC never acts on a leave for itself (protocol.md §5)
      permitJoining: (s) => this.parentDuties?.permitJoin(this.cap(s)),
      deviceAnnounced: (short, eui) => {
        const d = state.devices.get(eui);
        if (d) d.short = short;
      },
    };
  }

  get eui64(): Eui64 {
    return this.node.eui64;
  }

  /** The behaviour profile in force (mutable: decisions read it when they are taken). */
  get behaviour(): TcBehaviour {
    return this.state.behaviour;
  }
  set behaviour(b: TcBehaviour) {
    this.state.behaviour = { ...b };
  }

  get devices(): ReadonlyMap<Eui64, Readonly<TcDevice>> {
    return this.state.devices;
  }

  async form(net: FormOptions): Promise<void> {
    const { node } = this;
    node.forgetNetwork();
    Object.assign(node.net, {
      onNetwork: true, authenticated: true, channel: net.channel, panId: net.panId, short: 0x0000,
      extendedPanId: net.extendedPanId ? parseEui64(net.extendedPanId) : node.eui64, depth: 0, tcEui64: node.eui64,
    });
    node.mac.channel = net.channel;
    node.mac.panId = net.panId;
    node.mac.shortAddress = 0x0000;
    const key = net.networkKey ? abytes(net.networkKey, 16, 'networkKey') : node.ctx.keyRandom(16);
    node.nwkSecurity.setActive(new KeyMaterial(key, 'nwk#0'), 0);
    node.addresses.set(0x0000, node.eui64);
    this.parentDuties = new ParentDuties(node.ctx, node.net, node.nwk, node.addresses, this);
    node.parent = this.parentDuties;
    node.mac.coordinator = this.parentDuties;
    node.ctx.trace('tc.formed', { channel: net.channel, panId: net.panId, extendedPanId: node.net.extendedPanId, revision: this.state.behaviour.stackRevision });
  }

  /**
   * Takes the network down, the node kept (a coordinator's `network leave`): off the air as a
   * parent, network state and link keys gone (install codes stay provisioned), ready for a fresh
   * form() — its MAC sequence
   * numbers, APS counter and frame counters go on, as a firmware's do (a new node seeded from the
   * same EUI-64 would replay the last network's). The TC's list of that network's devices is kept,
   * overwritten as they join again.
   */
  dissolve(): void {
    const { node } = this;
    for (const d of this.state.devices.values()) d.cancelJoinTimer?.();
    node.forgetNetwork();
    node.parent = undefined;
    node.mac.coordinator = undefined;
    this.parentDuties = undefined;
    for (const [eui] of node.linkKeys.entries()) node.linkKeys.delete(eui);
    node.ctx.trace('tc.dissolved', {});
  }

  /**
   * Permit joining for `seconds`, capped at the profile's maxPermitJoinS (255 = no limit, the
   * long-permit-join fault), here and — Mgmt_Permit_Joining_req to 0xFFFC — on the routers.
   * @spec Zigbee 05-3474 §2.4.3.3.7; BDB 16-02828 §8.2 (network steering on a formed network)
   */
  async permitJoin(seconds: number, opts: { broadcast?: boolean } = {}): Promise<void> {
    const granted = this.cap(seconds);
    this.requireParent().permitJoin(granted);
    this.node.ctx.trace('tc.permit-join', { requested: seconds, granted: granted === 255 ? 'forever' : granted });
    if (opts.broadcast !== false) {
      await this.node.zdo.send(NwkBroadcast.ROUTERS, ZdpCluster.MGMT_PERMIT_JOINING_REQ, { type: 'Mgmt_Permit_Joining_req', permitDuration: granted, tcSignificance: 1 });
    }
  }

  private cap(seconds: number): number {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 255) throw new RangeError(`permit-join "seconds" expected 0..255, got ${seconds}`);
    const max = this.state.behaviour.maxPermitJoinS;
    return seconds === 255 && max >= 255 ? 255 : Math.min(seconds, max, 254);
  }

  /** Adds a device's install code (text as users paste it, a parsed code, or the raw code bytes). */
  async addInstallCode(eui64: Eui64, code: string | InstallCode | Uint8Array): Promise<void> {
    const eui = parseEui64(eui64);
    const ic = typeof code === 'string' ? this.parseInstallCodeText(code) : code instanceof Uint8Array ? installCodeFromBytes(code) : code;
    this.state.installCodes.set(eui, new KeyMaterial(deriveInstallCodeLinkKey(ic), 'install-code'));
    this.node.ctx.trace('tc.install-code-added', { device: eui });
  }

  /** BDB §10.1: a code whose CRC does not match is refused — except by the known-bad TC that skips the check and takes the code as typed. */
  private parseInstallCodeText(text: string): InstallCode {
    try {
      return parseInstallCode(text);
    } catch (e) {
      if (this.state.behaviour.checkInstallCodeCrc || !(e instanceof InstallCodeError) || e.kind !== 'crc') throw e;
      const bytes = hexToBytes(text.replace(/[\s:.,-]/g, '').replace(/^0x/i, ''));
      this.node.ctx.trace('tc.install-code-crc-ignored', { suppliedCrc: e.suppliedCrc, expectedCrc: e.expectedCrc });
      return installCodeFromBytes(bytes.subarray(0, bytes.length - 2), { crc: 'absent' });
    }
  }

  /** Installs a link key for a device directly (e.g. standing for the CBKE key of a previous session). */
  setLinkKey(eui64: Eui64, key: Uint8Array, origin: LinkKeyOrigin): void {
    const eui = parseEui64(eui64);
    this.node.linkKeys.set(eui, new KeyMaterial(key, origin), origin);
    this.node.ctx.trace('tc.link-key-set', { device: eui, origin });
  }

  /** Deletes the device's link key entry (the install code stays: a fresh join uses it again). */
  async deleteLinkKey(eui64: Eui64): Promise<void> {
    const eui = parseEui64(eui64);
    const had = this.node.linkKeys.delete(eui);
    this.node.ctx.trace('tc.link-key-deleted', { device: eui, had });
  }

  async keyTable(): Promise<TcKeyTableEntry[]> {
    const out: TcKeyTableEntry[] = [];
    for (const [eui64, k] of this.state.installCodes) out.push({ eui64, key: k.key.slice(), kind: 'install-code' });
    for (const [eui64, e] of this.node.linkKeys.entries()) {
      out.push({ eui64, key: e.material.key.slice(), kind: e.origin, verified: this.state.devices.get(eui64)?.tclk === 'verified' });
    }
    return out;
  }

  async networkKey(): Promise<{ key: Uint8Array; seq: number }> {
    const a = this.node.nwkSecurity.active;
    if (!a) throw new Error(`${this.node.name}: no network formed`);
    return { key: a.material.key.slice(), seq: a.seq };
  }

  /** Network key rotation: Transport Key broadcast, then Switch Key after the delivery time. */
  updateNetworkKey(key?: Uint8Array, deliveryMs = KEY_UPDATE_DELIVERY_MS): Promise<{ seq: number }> {
    return updateNetworkKey(this.state, key ? abytes(key, 16, 'key') : this.node.ctx.keyRandom(16), deliveryMs);
  }

  /**
   * Asks a device to leave: NWK Leave request to a direct child, APS Remove Device to the router
   * of a child behind it (protocol.md §3.3), or Mgmt_Leave_req (`method: 'zdo'`). The device is
   * forgotten when its leave announcement (or the router's Update Device 'device left') arrives.
   */
  async requestLeave(eui64: Eui64, opts: { rejoin?: boolean; method?: 'nwk' | 'zdo' } = {}): Promise<void> {
    const eui = parseEui64(eui64);
    const dev = this.state.devices.get(eui);
    if (!dev) throw new RangeError(`${this.node.name}: ${eui} is not a device of this network`);
    const { node } = this;
    if (opts.method === 'zdo') {
      node.ctx.trace('tc.mgmt-leave-req', { device: eui, short: dev.short, rejoin: opts.rejoin ?? false });
      await node.zdo.send(dev.short, ZdpCluster.MGMT_LEAVE_REQ, { type: 'Mgmt_Leave_req', deviceAddress: eui, rejoin: opts.rejoin ?? false, removeChildren: false, reserved: 0 });
      return;
    }
    const child = this.requireParent().child(eui);
    if (child) {
      await this.requireParent().sendLeaveRequest(child, opts.rejoin ?? false);
      return;
    }
    const routerEui = node.addresses.eui64(dev.parentShort);
    const routerKey = routerEui !== undefined ? node.linkKeys.get(routerEui) : undefined;
    if (!routerKey) throw new Error(`${node.name}: no link key for the parent ${dev.parentShort.toString(16)} of ${eui}`);
    node.ctx.trace('tc.remove-device', { device: eui, router: dev.parentShort });
    await node.aps.sendCommand({ dst16: dev.parentShort, nwkSecurity: true, security: { keyId: 0, key: routerKey.material }, command: { type: 'removeDevice', target64: eui } });
  }

  /** Removes a device: asks it to leave and forgets it now (whether or not it obeys). */
  async removeDevice(eui64: Eui64, why = 'removed by the operator'): Promise<void> {
    const eui = parseEui64(eui64);
    if (!this.state.devices.has(eui)) return;
    this.node.ctx.trace('tc.removing-device', { device: eui, why });
    await this.requestLeave(eui).catch(() => {});
    this.forget(eui, false);
  }

  stop(): void {
    for (const d of this.state.devices.values()) d.cancelJoinTimer?.();
    this.node.stop();
  }

  // ---------------------------------------------------------------------------------------------
  // Joins, rejoins, leaves (ParentAuthority for the TC's own children; Update Device for others)

  childJoined(child: ChildEntry): void {
    this.deviceJoined(child.eui64, child.short, this.node.net.short);
  }

  childRejoined(child: ChildEntry, secured: boolean): void {
    this.deviceRejoined(child.eui64, child.short, this.node.net.short, secured);
  }

  childLeft(child: ChildEntry, rejoin: boolean): void {
    if (!rejoin) this.forget(child.eui64, true);
  }

  /**
   * A device joined afresh (unsecured join): choose the key per `freshJoinKey`, send the network
   * key under its key-transport key, and arm the key-exchange alarm where it applies.
   * @spec Zigbee 05-3474 §4.6.3.2 (authentication); protocol.md §7.2, §7.3, §4.2
   */
  private deviceJoined(eui64: Eui64, short: number, parentShort: number): void {
    const { node, state } = this;
    const chosen = this.joinKey(eui64);
    if (!chosen) {
      node.ctx.trace('tc.join-refused', { device: eui64, short, reason: 'no install code, and well-known key joins are not accepted' });
      return;
    }
    state.devices.get(eui64)?.cancelJoinTimer?.();
    node.linkKeys.set(eui64, chosen.material, chosen.origin); // incoming APS counter starts afresh
    const dev: TcDevice = { eui64, short, parentShort, joinKey: chosen.material.label, tclk: 'provisional' };
    state.devices.set(eui64, dev);
    node.addresses.set(short, eui64);
    if (parentShort !== node.net.short) node.routes.set(short, parentShort);
    node.ctx.trace('tc.device-joined', { device: eui64, short, parent: parentShort, joinKey: chosen.material.label, policy: state.behaviour.freshJoinKey });
    void sendNetworkKey(state, dev, chosen.material);
    // BDB: a device that joined with the well-known key must replace it within the node-join
    // timeout — required only by a TC that hands out unique keys (policy 'fresh-key'); a device
    // with an install-code key already has a unique one (SE replaces it through CBKE, §7.2).
    if (chosen.origin === 'well-known' && state.behaviour.requestKey === 'fresh-key') armJoinTimer(state, dev, (e, why) => void this.removeDevice(e, why));
  }

  /** 'install-code-key': the install code's key (else the well-known key); 'current-key': the newest key held. */
  private joinKey(eui64: Eui64): { material: KeyMaterial; origin: LinkKeyOrigin } | undefined {
    const { node, state } = this;
    const ic = state.installCodes.get(eui64);
    const fallback = state.options.acceptWellKnownKeyJoins ? { material: state.wellKnown, origin: 'well-known' as const } : undefined;
    if (state.behaviour.freshJoinKey === 'current-key') {
      const held = node.linkKeys.get(eui64);
      if (held) return { material: held.material, origin: held.origin };
    }
    return ic ? { material: ic, origin: 'install-code' } : fallback;
  }

  /**
   * Secured rejoin: no key is sent. Trust Center rejoin: the network key under the device's
   * current link key — refused (R21) when that key is the well-known one.
   * @spec Zigbee 05-3474 §4.6.3.3 (R21: no TC rejoin with a well-known key); protocol.md §4.2, §7.4
   */
  private deviceRejoined(eui64: Eui64, short: number, parentShort: number, secured: boolean): void {
    const { node, state } = this;
    const dev = state.devices.get(eui64);
    if (dev) {
      dev.short = short;
      dev.parentShort = parentShort;
    }
    node.addresses.set(short, eui64);
    if (parentShort !== node.net.short) node.routes.set(short, parentShort);
    else node.routes.delete(short);
    node.ctx.trace('tc.device-rejoined', { device: eui64, short, parent: parentShort, secured });
    if (secured) return;
    const entry = node.linkKeys.get(eui64);
    if (!entry || (entry.origin === 'well-known' && state.behaviour.stackRevision >= 21)) {
      node.ctx.trace('tc.tc-rejoin-refused', { device: eui64, reason: entry ? 'device holds only the well-known key (R21)' : 'no link key for the device' });
      return;
    }
    void sendNetworkKey(state, { eui64, short, parentShort }, entry.material);
  }

  /** Device left (its announcement, Update Device 0x02, or removal): forget it; the key only per `deleteKeyOnLeave`. */
  private forget(eui64: Eui64, announced: boolean): void {
    const { node, state } = this;
    const dev = state.devices.get(eui64);
    dev?.cancelJoinTimer?.();
    state.devices.delete(eui64);
    const short = node.addresses.short(eui64);
    if (short !== undefined) node.routes.delete(short);
    node.addresses.forget(eui64);
    this.parentDuties?.removeChild(eui64);
    // Ember purges NWK security data (neighbour entry, frame counters) of a child that leaves (FAQ, protocol.md §7.3).
    node.nwkSecurity.forgetSender(eui64);
    const deleteKey = state.behaviour.deleteKeyOnLeave;
    if (deleteKey) node.linkKeys.delete(eui64);
    node.ctx.trace('tc.device-left', { device: eui64, announced, keyDeleted: deleteKey });
  }

  private onApsCommand(ind: ApsCommandIndication): void {
    const remove = (e: Eui64, why: string) => void this.removeDevice(e, why);
    switch (ind.command.type) {
      case 'updateDevice': return this.onUpdateDevice(ind);
      case 'requestKey': return onRequestKey(this.state, ind, remove);
      case 'verifyKey': return onVerifyKey(this.state, ind);
      default: return;
    }
  }

  /**
   * Update Device from a router: APS-secured with the router's key (unsecured only from a router
   * that holds the global key, protocol.md §3.3). @spec Zigbee 05-3474 §4.4.3
   */
  private onUpdateDevice(ind: ApsCommandIndication): void {
    const cmd = ind.command;
    if (cmd.type !== 'updateDevice') return;
    const { node } = this;
    const router = ind.srcEui64 !== undefined ? node.linkKeys.get(ind.srcEui64) : undefined;
    if (!ind.apsSecured && router?.origin !== 'well-known') {
      node.ctx.trace('tc.update-device-dropped', { src16: ind.srcShort, reason: 'not APS-secured' });
      return;
    }
    node.ctx.trace('tc.update-device', { router: ind.srcShort, device: cmd.device64, device16: cmd.device16, status: cmd.status });
    switch (cmd.status) {
      case UpdateDeviceStatus.STANDARD_UNSECURED_JOIN: return this.deviceJoined(cmd.device64, cmd.device16, ind.srcShort);
      case UpdateDeviceStatus.STANDARD_SECURED_REJOIN: return this.deviceRejoined(cmd.device64, cmd.device16, ind.srcShort, true);
      case UpdateDeviceStatus.STANDARD_TRUST_CENTER_REJOIN: return this.deviceRejoined(cmd.device64, cmd.device16, ind.srcShort, false);
      case UpdateDeviceStatus.DEVICE_LEFT: return this.forget(cmd.device64, true);
      default: return;
    }
  }

  private requireParent(): ParentDuties {
    if (!this.parentDuties) throw new Error(`${this.node.name}: form() the network first`);
    return this.parentDuties;
  }
}
