// How the Trust Center puts the network key on the air: to its own child in an APS Transport
// Key (NWK unsecured: the child has no network key yet), to a child behind a router inside an
// APS Tunnel (the Tunnel NWK-secured and APS-unsecured, the inner Transport Key APS-secured);
// and the network key update (Transport Key broadcast, then Switch Key).
// @spec Zigbee 05-3474 §4.4.1.5, §4.6.3.2; protocol.md §3.3 (key-transport key, id 2), §3.4 (Tunnel), §7.4
import { ApsKeyType, decodeApsFrame, type ApsCommand } from '../zigbee/aps.ts';
import { KeyId } from '../zigbee/security.ts';
import type { ApsSecurity } from './aps.ts';
import type { KeyMaterial } from './keys.ts';
import { NwkBroadcast } from './nwk.ts';
import type { TcDevice, TcState } from './tc-state.ts';

/**
 * Transport Key (standard network key) for `dev`, secured per `transportKeySecurity`: with the
 * key-transport key of `linkKey`, or — the known-bad profile — in the clear.
 */
export function sendNetworkKey(tc: TcState, dev: Pick<TcDevice, 'eui64' | 'short' | 'parentShort'>, linkKey: KeyMaterial): Promise<unknown> {
  const { node } = tc;
  const active = node.nwkSecurity.active!;
  const tk: ApsCommand = {
    type: 'transportKey', keyType: ApsKeyType.STANDARD_NETWORK,
    descriptor: { layout: 'network', key: active.material.key, keySeq: active.seq, dst64: dev.eui64, src64: node.eui64 },
  };
  const clear = tc.behaviour.transportKeySecurity === 'none';
  const security: ApsSecurity = clear ? 'none' : { keyId: KeyId.keyTransport, key: linkKey };
  const direct = dev.parentShort === node.net.short;
  node.ctx.trace('tc.transport-key', { to: dev.eui64, short: dev.short, key: clear ? 'none (in the clear)' : `key-transport(${linkKey.label})`, via: direct ? 'direct' : 'tunnel', router: direct ? undefined : dev.parentShort });
  if (direct) {
    return node.aps.sendCommand({ dst16: dev.short, command: tk, security, nwkSecurity: false, via: node.hopToChild(dev.short) ?? { short: dev.short } });
  }
  const inner = node.aps.buildCommand(tk, security);
  const tunnel: ApsCommand = { type: 'tunnel', dst64: dev.eui64, frame: decodeApsFrame(inner).value };
  return node.aps.sendCommand({ dst16: dev.parentShort, command: tunnel, security: 'none', nwkSecurity: true });
}

/**
 * Network key update: Transport Key (Dst64 = 0, APS-unsecured, NWK-secured with the current
 * key) broadcast, a delivery time, then Switch Key, and the TC switches itself.
 * @spec Zigbee 05-3474 §4.6.3.4; protocol.md §7.4 (TP_R20_BV-08 steps 10-11)
 */
export async function updateNetworkKey(tc: TcState, key: Uint8Array, deliveryMs: number): Promise<{ seq: number }> {
  const { node } = tc;
  const seq = ((node.nwkSecurity.active?.seq ?? 0) + 1) & 0xff;
  node.nwkSecurity.setAlternate(key, seq);
  node.ctx.trace('tc.network-key-update', { seq });
  await node.aps.sendCommand({
    dst16: NwkBroadcast.ALL, nwkSecurity: true, security: 'none',
    command: { type: 'transportKey', keyType: ApsKeyType.STANDARD_NETWORK, descriptor: { layout: 'network', key, keySeq: seq, dst64: '0000000000000000', src64: node.eui64 } },
  });
  await node.clock.sleep(deliveryMs);
  await node.aps.sendCommand({ dst16: NwkBroadcast.ALL, nwkSecurity: true, security: 'none', command: { type: 'switchKey', keySeq: seq } });
  node.nwkSecurity.switchTo(seq);
  node.ctx.trace('tc.network-key-switched', { seq });
  return { seq };
}
