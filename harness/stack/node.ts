// A simulated Zigbee node: the MAC, NWK, APS and ZDO of harness/stack wired together, the
// endpoints that host ApsApplications, and the ApsService those applications see. Roles (Trust
// Center, joiner, router duties) are separate objects that drive a node; the node itself has no
// policy. Time only through the clock, radio only through the virtual air.
import type { ApsApplication, ApsDataIndication, ApsService, LinkKeyOrigin } from './app.ts';
import type { Air } from '../sim/air.ts';
import type { Clock } from '../sim/clock.ts';
import { eui64ToAir, parseEui64, type Eui64 } from '../zigbee/codec.ts';
import { encodeCapability, type Capability } from '../zigbee/ieee802154.ts';
import type { NwkCommand } from '../zigbee/nwk.ts';
import { LogicalType, ZdpStatus, type NodeDescriptor } from '../zigbee/zdo.ts';
import { AddressMap } from './address-map.ts';
import { Aps } from './aps.ts';
import { newNetState, type LogicalRole, type NetState, type NodeContext, type Nvm } from './context.ts';
import { KeyMaterial } from './keys.ts';
import { LinkKeyTable } from './link-keys.ts';
import { Mac } from './mac.ts';
import { Nwk, type NwkHop, type NwkIndication, type NwkRouting } from './nwk.ts';
import { NwkSecurity } from './nwk-security.ts';
import type { ParentDuties } from './parent.ts';
import { Poller } from './poller.ts';
import { cryptoKeyRandom, randomSource, seedFromEui64, type KeyRandom, type RandomSource } from './random.ts';
import { Signal } from './signal.ts';
import { Transcript } from './transcript.ts';
import { ZDO_ENDPOINT, Zdo, type ZdoHooks } from './zdo.ts';

export type DeviceType = 'coordinator' | 'router' | 'end-device' | 'sleepy-end-device';

export interface ZigbeeNodeOptions {
  /** Name in transcripts and on the air (the radio's name). */
  name: string;
  eui64: Eui64;
  air: Air;
  clock: Clock;
  deviceType: DeviceType;
  /** Initial channel (default 11). */
  channel?: number;
  /** Shared scenario transcript; default: a transcript of this node alone. */
  transcript?: Transcript;
  random?: RandomSource;
  keyRandom?: KeyRandom;
  /** Stack compliance revision in the node descriptor's server mask (default 22). */
  stackRevision?: number;
  /** Sleepy devices: the long poll interval, ms (default 5000, below the 7.68 s persistence). */
  pollIntervalMs?: number;
}

export interface NwkCommandEvent {
  cmd: NwkCommand;
  ind: NwkIndication;
}

export class ZigbeeNode {
  readonly ctx: NodeContext;
  readonly net: NetState;
  readonly nvm: Nvm = { nwkFrameCounter: 0, apsFrameCounter: 0 };
  readonly transcript: Transcript;
  readonly addresses = new AddressMap();
  readonly linkKeys = new LinkKeyTable();
  readonly mac: Mac;
  readonly nwkSecurity: NwkSecurity;
  readonly nwk: Nwk;
  readonly aps: Aps;
  readonly zdo: Zdo;
  readonly apps = new Map<number, ApsApplication>();
  readonly service: ApsService;
  readonly nwkCommands = new Signal<NwkCommandEvent>();
  /** Fired by setLinkKey through the ApsService (a KE application installing a CBKE key). */
  readonly linkKeySet = new Signal<{ partner: Eui64; origin: LinkKeyOrigin }>();
  readonly capability: Capability;
  /** Learned routes: destination → next hop (the router a device sits behind). */
  readonly routes = new Map<number, number>();
  /** Parent duties (coordinator, routers once joined). */
  parent: ParentDuties | undefined;
  /** ZDO decisions that belong to the role (leave, permit-join). */
  zdoHooks: ZdoHooks = {
    mgmtLeave: () => ({ status: ZdpStatus.NOT_SUPPORTED }),
    permitJoining: () => {},
    deviceAnnounced: () => {},
  };
  private readonly poller: Poller | undefined;
  private readonly stackRevision: number;
  private stopped = false;

  constructor(opts: ZigbeeNodeOptions) {
    const eui64 = parseEui64(opts.eui64);
    this.transcript = opts.transcript ?? new Transcript();
    const clock: Clock = opts.clock;
    const role: LogicalRole = opts.deviceType === 'coordinator' ? 'coordinator' : opts.deviceType === 'router' ? 'router' : 'end-device';
    const rxOn = opts.deviceType !== 'sleepy-end-device';
    this.ctx = {
      name: opts.name, clock, eui64, eui64Air: eui64ToAir(eui64),
      trace: this.transcript.tracer(opts.name, () => clock.now()),
      random: opts.random ?? randomSource(seedFromEui64(eui64)),
      keyRandom: opts.keyRandom ?? cryptoKeyRandom,
    };
    this.stackRevision = opts.stackRevision ?? 22;
    this.net = newNetState(role, rxOn, opts.channel ?? 11);
    // MAC capability. @spec IEEE 802.15.4-2006 §7.3.1.2; protocol.md §1.2 (router 0x8E, sleepy ED 0x80)
    this.capability = {
      alternatePanCoordinator: role === 'coordinator', fullFunctionDevice: role !== 'end-device', mainsPowered: role !== 'end-device' || rxOn,
      rxOnWhenIdle: rxOn, securityCapability: false, allocateAddress: true,
    };
    this.mac = new Mac(this.ctx, opts.air, this.net.channel, rxOn);
    this.nwkSecurity = new NwkSecurity(this.ctx, this.nvm);
    this.nwk = new Nwk(this.ctx, this.mac, this.nwkSecurity, this.net, this.routing());
    this.nwk.onCommand = (cmd, ind) => this.nwkCommands.emit({ cmd, ind });
    this.aps = new Aps(this.ctx, this.nwk, this.net, this.nvm, this.linkKeys, this.addresses);
    this.aps.onDataIndication = (ind) => this.deliver(ind);
    this.zdo = new Zdo(this.ctx, this.aps, this.net, this.addresses, this.apps, () => this.nodeDescriptor(), {
      mgmtLeave: (r, from) => this.zdoHooks.mgmtLeave(r, from),
      permitJoining: (s, from) => this.zdoHooks.permitJoining(s, from),
      deviceAnnounced: (s, e, c) => this.zdoHooks.deviceAnnounced(s, e, c),
    });
    this.service = this.createService();
    if (!rxOn) {
      this.poller = new Poller(this.ctx, this.mac, this.net, opts.pollIntervalMs ?? 5000);
      this.mac.onMorePending = () => this.poller?.pollNow();
      this.nwk.afterSend = () => this.poller?.fast();
    }
  }

  get name(): string {
    return this.ctx.name;
  }
  get eui64(): Eui64 {
    return this.ctx.eui64;
  }
  get clock(): Clock {
    return this.ctx.clock;
  }
  get capabilityByte(): number {
    return encodeCapability(this.capability);
  }

  registerApplication(app: ApsApplication): void {
    if (!Number.isInteger(app.endpoint) || app.endpoint < 1 || app.endpoint > 240) throw new RangeError(`"endpoint" expected 1..240, got ${app.endpoint}`);
    if (this.apps.has(app.endpoint)) throw new RangeError(`${this.name}: endpoint ${app.endpoint} already hosts an application`);
    this.apps.set(app.endpoint, app);
  }

  unregisterApplication(endpoint: number): boolean {
    return this.apps.delete(endpoint);
  }

  /** Sleepy devices: poll fast for `ms` (waiting for a response through the parent). */
  fastPoll(ms?: number): void {
    this.poller?.fast(ms);
  }

  /** Forgets the network (not the outgoing frame counters, not the link keys: roles decide those). */
  forgetNetwork(): void {
    const { role, rxOnWhenIdle, channel } = this.net;
    Object.assign(this.net, newNetState(role, rxOnWhenIdle, channel));
    this.nwkSecurity.clear();
    this.addresses.clear();
    this.routes.clear();
    this.parent?.clear();
    this.mac.panId = 0xffff;
    this.mac.shortAddress = 0xffff;
    this.mac.forgetSenders(); // duplicate tables: a re-formed TC's counters may start where the old one's did
    this.aps.forgetDuplicates();
    this.nwk.acceptUnsecuredFromParent = false;
  }

  /** Ends all activity: timers cancelled, radio detached. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.poller?.stop();
    this.parent?.stop();
    this.mac.stop();
  }

  /** The next hop towards a child (direct or through the indirect queue), if it is one. */
  hopToChild(short: number): NwkHop | undefined {
    return this.parent?.hop(short);
  }

  private deliver(ind: ApsDataIndication): void {
    if (ind.dstEndpoint === ZDO_ENDPOINT && ind.profileId === 0x0000) {
      this.zdo.onData(ind);
      return;
    }
    if (ind.dstEndpoint === 0xff) {
      for (const app of this.apps.values()) if (app.profileId === ind.profileId) app.onData({ ...ind, dstEndpoint: app.endpoint }, this.service);
      return;
    }
    const app = this.apps.get(ind.dstEndpoint);
    if (!app) {
      this.ctx.trace('aps.drop', { reason: 'no application on endpoint', endpoint: ind.dstEndpoint, cluster: ind.clusterId });
      return;
    }
    app.onData(ind, this.service);
  }

  private routing(): NwkRouting {
    const net = this.net;
    return {
      relays: net.role !== 'end-device',
      relaysBroadcasts: net.role === 'router',
      nextHop: (dst16) => {
        if (net.role === 'end-device') return net.parentShort !== undefined ? { short: net.parentShort } : undefined;
        const child = this.parent?.hop(dst16);
        if (child) return child;
        const via = this.routes.get(dst16);
        if (via !== undefined) return this.parent?.hop(via) ?? { short: via };
        if (net.role === 'router' && net.parentShort !== undefined) return { short: net.parentShort };
        return undefined;
      },
      sleepyChildren: () => this.parent?.sleepyChildren() ?? [],
      learn: (src16, src64, macSrc) => {
        if (src64 !== undefined && src16 < 0xfff8) this.addresses.set(src16, src64);
        if (net.role === 'end-device' || typeof macSrc !== 'number') return;
        if (macSrc !== src16) this.routes.set(src16, macSrc);
        else this.routes.delete(src16);
      },
    };
  }

  /** @spec Zigbee 05-3474 §2.3.2.3; protocol.md §4.3 (server mask b9-15 = stack compliance revision) */
  nodeDescriptor(): NodeDescriptor {
    const coordinator = this.net.role === 'coordinator';
    return {
      logicalType: coordinator ? LogicalType.COORDINATOR : this.net.role === 'router' ? LogicalType.ROUTER : LogicalType.END_DEVICE,
      complexDescriptorAvailable: false, userDescriptorAvailable: false, fragmentationSupported: false, reserved: 0,
      apsFlags: 0, frequencyBands: 0x08, macCapability: this.capabilityByte, manufacturerCode: 0x0000,
      maxBufferSize: 82, maxIncomingTransferSize: 82,
      serverMask: {
        primaryTrustCenter: coordinator, backupTrustCenter: false, primaryBindingCache: false, backupBindingCache: false,
        primaryDiscoveryCache: false, backupDiscoveryCache: false, networkManager: coordinator, reserved: 0,
        stackComplianceRevision: this.revisionSource?.() ?? this.stackRevision,
      },
      maxOutgoingTransferSize: 82, extendedActiveEndpointList: false, extendedSimpleDescriptorList: false, descriptorCapabilityReserved: 0,
    };
  }

  /** A role may advertise another revision (the TC: TcBehaviour.stackRevision, read at each request). */
  revisionSource: (() => number) | undefined;

  private createService(): ApsService {
    const node = this;
    return {
      get clock() { return node.ctx.clock; },
      get eui64() { return node.ctx.eui64; },
      get shortAddress() { return node.net.short; },
      send: (req) => node.aps.sendData(req),
      getLinkKey: (partner) => {
        const e = node.linkKeys.get(partner) ?? (partner === node.net.tcEui64 ? node.linkKeys.fallback : undefined);
        return e ? { key: e.material.key.slice(), origin: e.origin } : undefined;
      },
      setLinkKey: (partner, key, origin) => {
        node.linkKeys.set(partner, new KeyMaterial(key, origin), origin);
        node.ctx.trace('aps.link-key-set', { partner, origin });
        node.linkKeySet.emit({ partner, origin });
      },
      lookupEui64: (short) => (short === 0 && node.net.tcEui64 ? node.addresses.eui64(0) ?? node.net.tcEui64 : node.addresses.eui64(short)),
      trace: (event, detail) => node.ctx.trace(`app.${event}`, detail),
    };
  }
}
