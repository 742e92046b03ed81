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
