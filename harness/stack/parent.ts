// Parent duties of a coordinator or router: beacons with the permit-join bit, association
// (address allocation, child table), rejoin requests, children's leave announcements, NWK leave
// requests to children, and the next hop to a child (direct or through the indirect queue).
// What a join, rejoin or leave means for security is not decided here: the parent reports it to
// its ParentAuthority — the Trust Center logic itself on the coordinator, Update Device to the
// TC on a router. @spec Zigbee 05-3474 §3.6.1.4.1 (association), §3.6.1.4.2 (rejoin), §3.6.1.10 (leave)
import type { Eui64 } from '../zigbee/codec.ts';
import { AssociationStatus, encodeCapability, type Capability } from '../zigbee/ieee802154.ts';
import type { AddressMap } from './address-map.ts';
import type { NetState, NodeContext } from './context.ts';
import type { MacCoordinator, MacTxStatus } from './mac.ts';
import type { Nwk, NwkHop, NwkIndication } from './nwk.ts';
import type { NwkCommandEvent } from './node.ts';

export interface ChildEntry {
  eui64: Eui64;
  short: number;
  capability: Capability;
}

export interface ParentAuthority {
  /** A device associated with us (its association response was delivered). */
  childJoined(child: ChildEntry): void;
  /** A device rejoined through us; `secured` = the Rejoin Request was NWK-secured. */
  childRejoined(child: ChildEntry, secured: boolean): void;
  /** A child announced that it leaves. */
  childLeft(child: ChildEntry, rejoin: boolean): void;
}

/** "Forever" for permit-join 0xFF. @spec Zigbee 05-3474 §3.2.2.5 (PermitDuration 0xff: no time limit) */
const FOREVER = Number.POSITIVE_INFINITY;

export class ParentDuties implements MacCoordinator {
  private readonly children = new Map<Eui64, ChildEntry>();
  private readonly byShort = new Map<number, ChildEntry>();
  private permitUntil = -1;
  private cancelPermit: () => void = () => {};

  constructor(
    private readonly ctx: NodeContext,
    private readonly net: NetState,
    private readonly nwk: Nwk,
    private readonly addresses: AddressMap,
    private readonly authority: ParentAuthority,
  ) {}

  get permitJoining(): boolean {
    return this.ctx.clock.now() < this.permitUntil;
  }

  /** Seconds of permit-join left (Infinity when open without limit, 0 when closed). */
  get permitJoinLeftS(): number {
    return this.permitJoining ? (this.permitUntil === FOREVER ? FOREVER : (this.permitUntil - this.ctx.clock.now()) / 1000) : 0;
  }

  /** Opens association for `seconds` (0 closes, 255 never closes). @spec Zigbee 05-3474 §3.2.2.5 NLME-PERMIT-JOINING */
  permitJoin(seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 255) throw new RangeError(`permit-join "seconds" expected 0..255, got ${seconds}`);
    this.cancelPermit();
    this.cancelPermit = () => {};
    if (seconds === 0) this.permitUntil = -1;
    else if (seconds === 255) this.permitUntil = FOREVER;
    else {
      this.permitUntil = this.ctx.clock.now() + seconds * 1000;
      // Only to leave a mark in the transcript when it closes; the state is the deadline itself.
      this.cancelPermit = this.ctx.clock.setTimer(seconds * 1000, () => this.ctx.trace('nwk.permit-join-closed'));
    }
    this.ctx.trace('nwk.permit-join', { seconds: seconds === 255 ? 'forever' : seconds });
  }

  child(eui64: Eui64): ChildEntry | undefined {
    return this.children.get(eui64);
  }

  childByShort(short: number): ChildEntry | undefined {
    return this.byShort.get(short);
  }

  get childCount(): number {
    return this.children.size;
  }

  hop(short: number): NwkHop | undefined {
    const c = this.byShort.get(short);
    if (!c) return undefined;
    return c.capability.rxOnWhenIdle ? { short } : { short, indirectFor: c.eui64 };
  }

  sleepyChildren(): { eui64: Eui64; short: number }[] {
    const out: { eui64: Eui64; short: number }[] = [];
    for (const c of this.children.values()) if (!c.capability.rxOnWhenIdle) out.push({ eui64: c.eui64, short: c.short });
    return out;
  }

  removeChild(eui64: Eui64): ChildEntry | undefined {
    const c = this.children.get(eui64);
    if (!c) return undefined;
    this.children.delete(eui64);
    if (this.byShort.get(c.short) === c) this.byShort.delete(c.short);
    return c;
  }

  clear(): void {
    this.children.clear();
    this.byShort.clear();
    this.permitJoin(0);
  }

  stop(): void {
    this.cancelPermit();
  }

  // ---------------------------------------------------------------------------------------------
  // MAC coordinator hooks

  beaconContent(): ReturnType<MacCoordinator['beaconContent']> {
    if (!this.net.onNetwork) return undefined;
    return {
      permitJoin: this.permitJoining,
      panCoordinator: this.net.role === 'coordinator',
      // Zigbee beacon payload. @spec Zigbee 05-3474 §3.6.7; protocol.md §1.3 (stack profile 2, protocol version 2)
      zigbee: {
        stackProfile: 2, protocolVersion: 2, routerCapacity: true, deviceDepth: this.net.depth, endDeviceCapacity: true,
        extendedPanId: this.net.extendedPanId, txOffset: 0xffffff, updateId: this.net.updateId,
      },
    };
  }

  associationRequest(src64: Eui64, capability: Capability): { status: number; short: number } {
    if (!this.permitJoining) {
      this.ctx.trace('mac.association-refused', { from: src64, reason: 'permit-join closed' });
      return { status: AssociationStatus.accessDenied, short: 0xffff };
    }
    const existing = this.children.get(src64);
    const short = existing?.short ?? this.allocate();
    this.ctx.trace('mac.association-request', { from: src64, short, capability: encodeCapability(capability) });
    return { status: AssociationStatus.success, short };
  }

  associationDelivered(src64: Eui64, short: number, capability: Capability, accepted: boolean, tx: MacTxStatus): void {
    if (!accepted) return;
    if (tx !== 'success') {
      this.ctx.trace('mac.association-response-lost', { to: src64, tx });
      return;
    }
    const child = this.add(src64, short, capability);
    this.authority.childJoined(child);
  }

  childEui64(short: number): Eui64 | undefined {
    return this.byShort.get(short)?.eui64;
  }

  // ---------------------------------------------------------------------------------------------
  // NWK commands from (would-be) children

  onNwkCommand({ cmd, ind }: NwkCommandEvent): void {
    if (cmd.kind === 'rejoinRequest') this.onRejoinRequest(cmd.capability, ind);
    else if (cmd.kind === 'leave' && !cmd.request) {
      const src64 = ind.header.src64 ?? this.addresses.eui64(ind.header.src16!);
      const child = src64 !== undefined ? this.children.get(src64) : undefined;
      if (!child) return;
      this.removeChild(child.eui64);
      this.ctx.trace('nwk.child-left', { child: child.eui64, short: child.short, rejoin: cmd.rejoin });
      this.authority.childLeft(child, cmd.rejoin);
    }
  }

  /**
   * Rejoin: the device keeps its address unless another device holds it; the response is
   * NWK-secured exactly when the request was (protocol.md §2.5, §7.4; ZBOSS-CERT TP_R21_BV-07).
   */
  private onRejoinRequest(capability: Capability, ind: NwkIndication): void {
    const src64 = ind.header.src64;
    if (src64 === undefined) {
      this.ctx.trace('nwk.drop', { reason: 'rejoin request without source IEEE address', src16: ind.header.src16 });
      return;
    }
    const old = ind.header.src16!;
    const holder = this.byShort.get(old);
    const short = holder && holder.eui64 !== src64 ? this.allocate() : old;
    const child = this.add(src64, short, capability);
    this.ctx.trace('nwk.rejoin-request', { from: src64, src16: old, short, secured: ind.secured });
    void this.nwk.sendCommand({ kind: 'rejoinResponse', nwkAddress: short, status: 0 }, {
      dst16: old, dst64: src64, withSrc64: true, security: ind.secured, radius: 1,
      via: capability.rxOnWhenIdle ? { short: old } : { short: old, indirectFor: src64 },
    });
    this.authority.childRejoined(child, ind.secured);
  }

  /** NWK Leave request to a child. @spec Zigbee 05-3474 §3.4.4; protocol.md §2.5 (options 0x40 | 0x20·rejoin) */
  sendLeaveRequest(child: ChildEntry, rejoin: boolean): Promise<unknown> {
    this.ctx.trace('nwk.leave-request', { to: child.eui64, short: child.short, rejoin });
    return this.nwk.sendCommand({ kind: 'leave', request: true, rejoin, removeChildren: false }, {
      dst16: child.short, dst64: child.eui64, withSrc64: true, security: true, via: this.hop(child.short),
    });
  }

  private add(eui64: Eui64, short: number, capability: Capability): ChildEntry {
    this.removeChild(eui64);
    const child: ChildEntry = { eui64, short, capability };
    this.children.set(eui64, child);
    this.byShort.set(short, child);
    this.addresses.set(short, eui64);
    this.addresses.setRxOnWhenIdle(eui64, capability.rxOnWhenIdle);
    return child;
  }

  /** Stochastic address assignment. @spec Zigbee 05-3474 §3.6.1.7 (0x0001–0xFFF7, not in use) */
  private allocate(): number {
    for (;;) {
      const a = 1 + this.ctx.random.int(0xfff7);
      if (a !== this.net.short && !this.byShort.has(a) && this.addresses.eui64(a) === undefined) return a;
    }
  }
}

