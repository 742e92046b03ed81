// The steps of joining shared by join and rejoin: an active scan for a suitable parent, MAC
// association, and taking the network key into service.
// @spec Zigbee 05-3474 §3.6.1.4 (joining through association), §4.6.3.2; BDB 16-02828 §8.3 (network steering)
import type { Eui64 } from '../zigbee/codec.ts';
import type { BeaconInfo } from './mac.ts';
import type { ZigbeeNode } from './node.ts';

export interface ParentFilter {
  panId?: number;
  extendedPanId?: Eui64;
  /** Join through this parent only (short address from its beacon). */
  parentShort?: number;
  /** Skip beacons that do not permit joining (default true; false to try association anyway). */
  requirePermitJoin?: boolean;
}

/** Suitable parents, best first: Zigbee PRO beacons (stack profile 2, protocol version 2) with room for us. */
export function chooseParents(node: ZigbeeNode, beacons: BeaconInfo[], f: ParentFilter): BeaconInfo[] {
  const router = node.net.role === 'router';
  return beacons
    .filter((b) => b.zigbee.stackProfile === 2 && b.zigbee.protocolVersion === 2)
    .filter((b) => f.panId === undefined || b.panId === f.panId)
    .filter((b) => f.extendedPanId === undefined || b.zigbee.extendedPanId === f.extendedPanId)
    .filter((b) => f.parentShort === undefined || b.coordShort === f.parentShort)
    .filter((b) => f.requirePermitJoin === false || b.permitJoin)
    .filter((b) => (router ? b.zigbee.routerCapacity : b.zigbee.endDeviceCapacity))
    .sort((a, b) => a.zigbee.deviceDepth - b.zigbee.deviceDepth || b.lqi - a.lqi);
}

export function describeScan(beacons: BeaconInfo[]): string {
  if (beacons.length === 0) return 'no beacon heard';
  const open = beacons.filter((b) => b.permitJoin).length;
  return `${beacons.length} beacon(s) heard, ${open} permitting join`;
}

/** Takes the parent's network parameters (after association or rejoin). */
export function adoptParent(node: ZigbeeNode, b: BeaconInfo, short: number): void {
  const net = node.net;
  net.onNetwork = true;
  net.panId = b.panId;
  net.extendedPanId = b.zigbee.extendedPanId;
  net.short = short;
  net.parentShort = b.coordShort;
  net.depth = b.zigbee.deviceDepth + 1;
  net.updateId = b.zigbee.updateId ?? 0;
  node.mac.panId = b.panId;
  node.mac.shortAddress = short;
}

/** Puts the received network key into service and binds the provisional link key to the TC. */
export function takeNetworkKey(node: ZigbeeNode, k: { key: Uint8Array; seq: number; tcEui64: Eui64 }): void {
  node.nwkSecurity.setActive(k.key, k.seq);
  node.net.authenticated = true;
  node.net.tcEui64 = k.tcEui64;
  node.addresses.set(0x0000, k.tcEui64);
  if (!node.linkKeys.get(k.tcEui64)) {
    const f = node.linkKeys.fallback;
    if (f) node.linkKeys.set(k.tcEui64, f.material, f.origin);
  }
}
