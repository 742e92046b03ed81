// Trust Center side of the Zigbee 3.0 TC link key exchange: Request Key → Transport Key (TC link
// key, key-load key of the current key) per the profile's policy, Verify Key → Confirm Key under
// the new key, and the bdbTrustCenterNodeJoinTimeout alarm that removes a device whose key was
// never verified. @spec BDB 16-02828 §10.2.5; Zigbee 05-3474 §4.4.7 (R21); protocol.md §4.2, §4.4
import { equalBytes } from '../crypto/bytes.ts';
import { ApsKeyType, ApsStatus } from '../zigbee/aps.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import { KeyId } from '../zigbee/security.ts';
import type { ApsCommandIndication } from './aps.ts';
import { isWellKnownKey, KeyMaterial } from './keys.ts';
import type { TcDevice, TcState } from './tc-state.ts';

/**
 * Request Key (type 0x04). Only APS-secured requests with the data key are taken (protocol.md
 * §3.3: the TC drops an unencrypted Request Key). Policies: 'fresh-key' = a random key unique
 * to the device (Ember 0x52); 'global-key' = ZigBeeAlliance09 (Ember 0x51 on a global-key
 * network, the legacy TC of shared/sources/nrf-zboss-router-vs-legacy-tc-thread.txt); 'ignore'
 * = never answer (Ember 0x50, a pre-R21 TC).
 */
export function onRequestKey(tc: TcState, ind: ApsCommandIndication, removeDevice: (eui64: Eui64, why: string) => void): void {
  const cmd = ind.command;
  if (cmd.type !== 'requestKey') return;
  const { node } = tc;
  const from = ind.srcEui64;
  if (!ind.apsSecured || ind.keyId !== KeyId.data || from === undefined || ind.broadcast) {
    node.ctx.trace('tc.request-key-dropped', { from, src16: ind.srcShort, reason: 'not APS-secured with the data key' });
    return;
  }
  if (cmd.keyType !== ApsKeyType.TC_LINK) {
    node.ctx.trace('tc.request-key-unsupported', { from, keyType: cmd.keyType });
    return;
  }
  const entry = node.linkKeys.get(from);
  const dev = tc.devices.get(from);
  if (!entry || !dev) return;
  const policy = tc.behaviour.requestKey;
  node.ctx.trace('tc.request-key', { from, policy });
  if (policy === 'ignore') return;
  // A device that starts the exchange must finish it (the thread's TC expelled a device that
  // requested a key and never confirmed it); armed once, at the first request.
  if (dev.tclk !== 'verified') armJoinTimer(tc, dev, removeDevice);
  dev.candidate ??= policy === 'fresh-key' ? new KeyMaterial(node.ctx.keyRandom(16), 'tclk-exchange') : tc.wellKnown;
  dev.tclk = dev.tclk === 'verified' ? 'verified' : 'unverified';
  void node.aps.sendCommand({
    dst16: ind.srcShort, nwkSecurity: true, security: { keyId: KeyId.keyLoad, key: entry.material },
    command: { type: 'transportKey', keyType: ApsKeyType.TC_LINK, descriptor: { layout: 'trustCenter', key: dev.candidate.key, dst64: from, src64: node.eui64 } },
  });
}

/**
 * Verify Key: checks in the order of R22 §4.4.7.2.3 as ZBOSS quotes it (protocol.md §4.2), then
 * Confirm Key APS-secured (data key) with the key being confirmed.
 */
export function onVerifyKey(tc: TcState, ind: ApsCommandIndication): void {
  const cmd = ind.command;
  if (cmd.type !== 'verifyKey') return;
  const { node } = tc;
  if (ind.broadcast) return; // Verify Key as a NWK broadcast is dropped (ZBOSS zb_aps_in_verify_key)
  const eui = cmd.src64;
  const dev = tc.devices.get(eui);
  const current = node.linkKeys.get(eui);
  let status: number = ApsStatus.SUCCESS;
  let confirmed: KeyMaterial | undefined;
  if (cmd.keyType !== ApsKeyType.TC_LINK) status = ApsStatus.NOT_SUPPORTED;
  else if (dev?.candidate && equalBytes(dev.candidate.verifyHash, cmd.keyHash)) confirmed = dev.candidate;
  else if (dev?.tclk === 'verified' && current && equalBytes(current.material.verifyHash, cmd.keyHash)) confirmed = current.material; // a retry whose Confirm was lost
  else status = ApsStatus.SECURITY_FAIL;
  node.ctx.trace('tc.verify-key', { from: eui, status });
  const key = confirmed ?? current?.material;
  if (confirmed && dev) {
    node.linkKeys.set(eui, confirmed, isWellKnownKey(confirmed) ? 'well-known' : 'tclk-exchange');
    dev.candidate = undefined;
    markVerified(dev);
  }
  if (!key) return;
  void node.aps.sendCommand({
    dst16: ind.srcShort, nwkSecurity: true, security: { keyId: KeyId.data, key },
    command: { type: 'confirmKey', status, keyType: ApsKeyType.TC_LINK, dst64: eui },
  });
}

export function markVerified(dev: TcDevice): void {
  dev.tclk = 'verified';
  dev.cancelJoinTimer?.();
  dev.cancelJoinTimer = undefined;
}

/**
 * bdbTrustCenterNodeJoinTimeout: if the device's TC link key is not verified in time, remove it
 * (NWK Leave to a direct child, APS Remove Device via its parent). @spec BDB 16-02828 §10.2.5;
 * protocol.md §4.2 (ZBOSS bdb_link_key_refresh_alarm)
 */
export function armJoinTimer(tc: TcState, dev: TcDevice, removeDevice: (eui64: Eui64, why: string) => void): void {
  if (!tc.options.requireKeyExchange || tc.behaviour.stackRevision < 21 || dev.cancelJoinTimer) return;
  dev.cancelJoinTimer = tc.node.clock.setTimer(tc.options.nodeJoinTimeoutMs, () => {
    dev.cancelJoinTimer = undefined;
    if (dev.tclk === 'verified' || tc.devices.get(dev.eui64) !== dev) return;
    tc.node.ctx.trace('tc.key-exchange-timeout', { device: dev.eui64, short: dev.short, timeoutMs: tc.options.nodeJoinTimeoutMs });
    removeDevice(dev.eui64, 'TC link key not verified within bdbTrustCenterNodeJoinTimeout');
  });
}
