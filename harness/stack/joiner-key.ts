// A joiner waiting for its network key (after association, after a Trust Center rejoin): the
// Transport Key must come APS-secured under the key-transport key of the link key the device
// holds; a key in the clear is refused, and one that does not open is reported with the key it
// was tried with. Failure reasons mirror EmberZNet's stack status names (protocol.md §7.2, §7.3).
import { ApsKeyType } from '../zigbee/aps.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import { KeyId } from '../zigbee/security.ts';
import type { ZigbeeNode } from './node.ts';

/**
 * apsSecurityTimeOutPeriod: ZBOSS's 2.4 GHz value (protocol.md §8); the spec leaves it to the
 * stack profile. A joiner without a Transport Key by then leaves silently (TP_R21_BV-06).
 */
export const APS_SECURITY_TIMEOUT_MS = 1_700;

/** EmberZNet stack status values (EmberStatus; protocol.md §7.3). */
export const EmberStatus = {
  NETWORK_UP: 0x90,
  JOIN_FAILED: 0x94,
  RECEIVED_KEY_IN_THE_CLEAR: 0xac,
  NO_NETWORK_KEY_RECEIVED: 0xad,
  NO_LINK_KEY_RECEIVED: 0xae,
  PRECONFIGURED_KEY_REQUIRED: 0xaf,
} as const;

export type NetworkKeyOutcome =
  | { ok: true; key: Uint8Array; seq: number; tcEui64: Eui64 }
  | { ok: false; code: 'no-network-key' | 'network-key-in-the-clear'; reason: string; emberStatus: number; triedKey?: string };

/**
 * Registers the wait at once (call it before the frame that triggers the key is sent) and
 * resolves with the key, or why none was taken, within `ms`.
 */
export function expectNetworkKey(node: ZigbeeNode, ms: number): Promise<NetworkKeyOutcome> {
  const { aps, ctx } = node;
  let tried: string | undefined;
  let inClear = false;
  const offFailures = aps.securityFailures.on((f) => {
    if (f.keyId === KeyId.keyTransport) tried = f.tried ?? 'no key held';
  });
  const w = aps.commands.wait(ctx.clock, ms, (ind): NetworkKeyOutcome | undefined => {
    const c = ind.command;
    if (c.type !== 'transportKey' || c.keyType !== ApsKeyType.STANDARD_NETWORK || c.descriptor.layout !== 'network') return undefined;
    if (c.descriptor.dst64 !== ctx.eui64) return undefined;
    if (!ind.apsSecured) {
      // A device with a preconfigured key requires the network key encrypted (Ember EMBER_REQUIRE_ENCRYPTED_KEY).
      ctx.trace('join.network-key-refused', { reason: 'in the clear', from: c.descriptor.src64 });
      inClear = true;
      return {
        ok: false, code: 'network-key-in-the-clear', emberStatus: EmberStatus.RECEIVED_KEY_IN_THE_CLEAR,
        reason: 'network key sent in the clear (APS-unsecured Transport Key); a device with a preconfigured link key requires it encrypted (Ember 0xAC RECEIVED_KEY_IN_THE_CLEAR)',
      };
    }
    if (ind.keyId !== KeyId.keyTransport) {
      ctx.trace('join.network-key-refused', { reason: `APS key id ${ind.keyId}, not key-transport (2)` });
      return undefined;
    }
    return { ok: true, key: c.descriptor.key.slice(), seq: c.descriptor.keySeq, tcEui64: c.descriptor.src64 };
  });
  return w.promise.then((r) => {
    offFailures();
    if (r) return r;
    if (tried !== undefined && !inClear) {
      const held = node.linkKeys.fallback?.material.label ?? tried;
      return {
        ok: false, code: 'no-network-key', emberStatus: EmberStatus.NO_NETWORK_KEY_RECEIVED, triedKey: tried,
        reason: `network key sent under a key this device does not hold: the Transport Key (APS key id 2, key-transport) did not open with the key-transport key of its link key "${tried}" (preconfigured: "${held}"); Ember reports 0xAD NO_NETWORK_KEY_RECEIVED (the Silabs SE FAQ names 0xAF PRECONFIGURED_KEY_REQUIRED for this case)`,
      };
    }
    return {
      ok: false, code: 'no-network-key', emberStatus: EmberStatus.NO_NETWORK_KEY_RECEIVED,
      reason: `no Transport Key (network key) within apsSecurityTimeOutPeriod (${ms} ms) (Ember 0xAD NO_NETWORK_KEY_RECEIVED)`,
    };
  });
}
