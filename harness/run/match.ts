// Matchers over dissected frames for `air.expect`: small predicates suites combine, named for
// what a lab engineer looks for in Wireshark.
import type { ApsCommand } from '../zigbee/aps.ts';
import { ApsKeyType } from '../zigbee/aps.ts';
import type { DissectedFrame, SecurityAttribution } from '../zigbee/dissect.ts';

/** The APS command of a frame, looking inside a Tunnel (the TC tunnels keys to a router's child). */
export function apsCommandOf(f: DissectedFrame): Exclude<ApsCommand, { type: 'tunnel' }> | undefined {
  return f.aps?.command ?? f.aps?.tunnel?.frame?.command;
}

/** The APS security attribution of the (innermost) APS layer. */
export function apsSecurityOf(f: DissectedFrame): SecurityAttribution | undefined {
  const aps = f.security.filter((s) => s.layer === 'aps');
  return aps[aps.length - 1];
}

/** An APS Transport Key of `keyType`, decoded (so opened, or sent in the clear). */
export function isTransportKey(keyType: number = ApsKeyType.STANDARD_NETWORK): (f: DissectedFrame) => boolean {
  return (f) => {
    const c = apsCommandOf(f);
    return c?.type === 'transportKey' && c.keyType === keyType;
  };
}

/** An APS command frame whose security layer no known key opened (Transport Key under an unknown key, say). */
export function isUnopenedApsCommand(f: DissectedFrame): boolean {
  return f.aps?.header.frameType === 1 && f.security.some((s) => s.layer === 'aps' && !s.ok);
}

/** A ZDO request or response by its type name, e.g. 'Mgmt_Permit_Joining_req'. */
export function isZdo(type: string): (f: DissectedFrame) => boolean {
  return (f) => f.zdo?.command.type === type;
}

/** A beacon from the PAN coordinator. */
export function isBeacon(f: DissectedFrame): boolean {
  return f.mac?.body.kind === 'beacon';
}

/** Both conditions. */
export function and(...ms: ((f: DissectedFrame) => boolean)[]): (f: DissectedFrame) => boolean {
  return (f) => ms.every((m) => m(f));
}

/** The opposite of a condition. */
export function not(m: (f: DissectedFrame) => boolean): (f: DissectedFrame) => boolean {
  return (f) => !m(f);
}

/** Either condition. */
export function or(...ms: ((f: DissectedFrame) => boolean)[]): (f: DissectedFrame) => boolean {
  return (f) => ms.some((m) => m(f));
}

/** An APS command by its decoded type ('requestKey', 'verifyKey', 'confirmKey', 'removeDevice', …), tunnelled or not. */
export function isApsCommand(type: Exclude<ApsCommand, { type: 'tunnel' }>['type']): (f: DissectedFrame) => boolean {
  return (f) => apsCommandOf(f)?.type === type;
}

/** The key bytes a Transport Key carries (network, TC link or application key), when it decoded. */
export function transportedKey(f: DissectedFrame): Uint8Array | undefined {
  const c = apsCommandOf(f);
  return c?.type === 'transportKey' && 'key' in c.descriptor ? c.descriptor.key : undefined;
}

/** The device at either end of a NWK frame, by EUI-64 in its NWK header (leave, rejoin and announce frames carry it). */
export function nwkFrom(eui64: string): (f: DissectedFrame) => boolean {
  return (f) => f.nwk?.header.src64 === eui64;
}

/**
 * A NWK Leave command. `request: false` is a device's announcement that it leaves (Src64 = the
 * device); `request: true` is a parent or the TC asking `device` to leave (Dst64 = the device).
 * @spec Zigbee 05-3474 §3.4.4, §3.6.1.10
 */
export function isNwkLeave(o: { request?: boolean; rejoin?: boolean; device?: string } = {}): (f: DissectedFrame) => boolean {
  return (f) => {
    const c = f.nwk?.command;
    if (c?.kind !== 'leave') return false;
    if (o.request !== undefined && c.request !== o.request) return false;
    if (o.rejoin !== undefined && c.rejoin !== o.rejoin) return false;
    if (o.device !== undefined) {
      const h = f.nwk!.header;
      if ((c.request ? h.dst64 : h.src64) !== o.device) return false;
    }
    return true;
  };
}

/** The TC asks a device to leave: NWK Leave request, APS Remove Device (to its router) or Mgmt_Leave_req. */
export function isLeaveDemand(device: string): (f: DissectedFrame) => boolean {
  return (f) => {
    if (isNwkLeave({ request: true, device })(f)) return true;
    const c = apsCommandOf(f);
    if (c?.type === 'removeDevice' && c.target64 === device) return true;
    const z = f.zdo?.command;
    return z?.type === 'Mgmt_Leave_req' && z.deviceAddress === device;
  };
}

/** A NWK Rejoin Request from `device` (any device when omitted); `secured` filters on NWK security. */
export function isRejoinRequest(o: { device?: string; secured?: boolean } = {}): (f: DissectedFrame) => boolean {
  return (f) => f.nwk?.command?.kind === 'rejoinRequest'
    && (o.device === undefined || f.nwk.header.src64 === o.device)
    && (o.secured === undefined || f.nwk.header.security === o.secured);
}

/** A NWK Rejoin Response (to `device`, by Dst64, when given). */
export function isRejoinResponse(o: { device?: string } = {}): (f: DissectedFrame) => boolean {
  return (f) => f.nwk?.command?.kind === 'rejoinResponse' && (o.device === undefined || f.nwk.header.dst64 === o.device);
}

/** A MAC Association Request from `device` (by its extended source address). */
export function isAssociationRequest(device?: string): (f: DissectedFrame) => boolean {
  return (f) => f.mac?.body.kind === 'command' && f.mac.body.command.kind === 'associationRequest'
    && (device === undefined || f.mac.header.src === device);
}

/** ZDO Device_annce of `device` (any device when omitted): a joiner that took the network key announces itself under it. */
export function isDeviceAnnce(device?: string): (f: DissectedFrame) => boolean {
  return (f) => {
    const z = f.zdo?.command;
    return z?.type === 'Device_annce' && (device === undefined || z.ieeeAddress === device);
  };
}
