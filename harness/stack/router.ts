// Router duties towards the Trust Center: report joins, rejoins and leaves of children in APS
// Update Device, pass the Trust Center's tunnelled Transport Key to a child that has no network
// key yet, and act on APS Remove Device. @spec Zigbee 05-3474 §4.4.3 (Update Device), §4.4.4
// (Remove Device), §4.6.3.7 (Tunnel); protocol.md §3.3, §3.4, §7.3
import { UpdateDeviceStatus, type ApsCommand } from '../zigbee/aps.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import { KeyId } from '../zigbee/security.ts';
import type { ApsCommandIndication } from './aps.ts';
import type { ZigbeeNode } from './node.ts';
import type { ChildEntry, ParentAuthority, ParentDuties } from './parent.ts';

export class RouterAuthority implements ParentAuthority {
  constructor(
    private readonly node: ZigbeeNode,
    private readonly parentOf: () => ParentDuties,
    /** Remove Device naming this router: the router itself leaves. */
    private readonly leaveSelf: () => void,
  ) {}

  childJoined(child: ChildEntry): void {
    this.updateDevice(child, UpdateDeviceStatus.STANDARD_UNSECURED_JOIN);
  }

  childRejoined(child: ChildEntry, secured: boolean): void {
    this.updateDevice(child, secured ? UpdateDeviceStatus.STANDARD_SECURED_REJOIN : UpdateDeviceStatus.STANDARD_TRUST_CENTER_REJOIN);
  }

  /** 'Device left' only for a leave without rejoin (protocol.md §7.3, ZBOSS-CERT TP_R21_BV-02). */
  childLeft(child: ChildEntry, rejoin: boolean): void {
    if (!rejoin) this.updateDevice(child, UpdateDeviceStatus.DEVICE_LEFT);
  }

  /** Update Device to the TC, APS-secured with this router's TC link key (data key). */
  private updateDevice(child: ChildEntry, status: number): void {
    const { node } = this;
    const tc = node.net.tcEui64;
    const key = node.linkKeys.resolve(tc);
    if (!key) {
      node.ctx.trace('router.update-device-skipped', { device: child.eui64, reason: 'no TC link key' });
      return;
    }
    node.ctx.trace('router.update-device', { device: child.eui64, device16: child.short, status });
    void node.aps.sendCommand({
      dst16: 0x0000, nwkSecurity: true, security: { keyId: KeyId.data, key: key.material },
      command: { type: 'updateDevice', device64: child.eui64, device16: child.short, status },
    });
  }

  private get parent(): ParentDuties {
    return this.parentOf();
  }

  onApsCommand(ind: ApsCommandIndication): void {
    const cmd = ind.command;
    if (cmd.type === 'tunnel') this.onTunnel(cmd, ind);
    else if (cmd.type === 'removeDevice') this.onRemoveDevice(cmd.target64, ind);
  }

  /**
   * Tunnel from the TC: strip Dst64 and send the inner APS frame to the child, NWK-unsecured
   * (the child has no network key yet; the inner frame carries its own APS security).
   * @spec Zigbee 05-3474 §4.6.3.7; protocol.md §3.4 (ZBOSS zb_aps_in_tunnel_cmd; TP_R20_BV-01 step 8)
   */
  private onTunnel(cmd: Extract<ApsCommand, { type: 'tunnel' }>, ind: ApsCommandIndication): void {
    const { node } = this;
    const child = this.parent.child(cmd.dst64);
    if (!child || !ind.nwkSecured || ind.srcShort !== 0x0000) {
      node.ctx.trace('router.tunnel-dropped', { to: cmd.dst64, reason: !child ? 'not a child' : 'not from the TC over a secured NWK frame' });
      return;
    }
    const inner = ind.raw.subarray(9); // command id (1) + Dst64 (8)
    node.ctx.trace('router.tunnel-forwarded', { to: cmd.dst64, short: child.short });
    void node.aps.sendRaw(child.short, inner, false, this.parent.hop(child.short));
  }

  /** Remove Device: only APS-secured, from the TC (TP_R20_BV-05 steps 10-12). */
  private onRemoveDevice(target: Eui64, ind: ApsCommandIndication): void {
    const { node } = this;
    if (!ind.apsSecured || ind.srcShort !== 0x0000) {
      node.ctx.trace('router.remove-device-dropped', { target, reason: 'not APS-secured by the TC' });
      return;
    }
    if (target === node.eui64) {
      node.ctx.trace('router.remove-device-self');
      this.leaveSelf();
      return;
    }
    const child = this.parent.child(target);
    if (!child) return;
    void this.parent.sendLeaveRequest(child, false);
  }
}
