// Joiner side of the Zigbee 3.0 Trust Center link key exchange, in 'strict' mode: Node_Desc_req
// to the TC (revision < 21 → legacy TC, keep the joining key), Request Key, the TC link key in a
// Transport Key under the key-load key (dropped when it repeats the provisional key), Verify
// Key, Confirm Key under the new key. @spec BDB 16-02828 §10.2.5; protocol.md §4.1, §4.4
import { ApsKeyType, ApsStatus } from '../zigbee/aps.ts';
import { ZdpCluster, ZdpStatus } from '../zigbee/zdo.ts';
import { KeyId } from '../zigbee/security.ts';
import type { ApsCommandIndication } from './aps.ts';
import { KeyMaterial } from './keys.ts';
import type { ZigbeeNode } from './node.ts';
import type { JoinerBehaviour } from './profiles.ts';
import type { Deadline } from './signal.ts';

/** bdbcTCLinkKeyExchangeTimeout and bdbTCLinkKeyExchangeAttemptsMax. @spec BDB 16-02828 §5.1, §6.1; protocol.md §4.1 */
export const TCLK_EXCHANGE_TIMEOUT_MS = 5_000;
export const TCLK_EXCHANGE_ATTEMPTS = 3;

export type TclkOutcome =
  | { ok: true; state: 'verified' | 'legacy-tc' }
  | { ok: false; reason: string };

/** Runs the exchange within `deadline` (the join's): each wait is bdbcTCLinkKeyExchangeTimeout or what is left. */
export async function runTclkExchange(node: ZigbeeNode, behaviour: JoinerBehaviour, deadline: Deadline): Promise<TclkOutcome> {
  const { ctx, zdo, aps } = node;
  const wait = () => deadline.cap(TCLK_EXCHANGE_TIMEOUT_MS);
  const late = (what: string): TclkOutcome => ({ ok: false, reason: `join deadline passed while waiting for ${what}` });
  const tc = node.net.tcEui64!;
  const trace = ctx.trace;

  // 1-2. Node descriptor of the TC: the stack compliance revision in its server mask.
  let nd: Awaited<ReturnType<typeof zdo.request>>;
  for (let i = 0; i < TCLK_EXCHANGE_ATTEMPTS && !nd && !deadline.passed; i++) {
    nd = await zdo.request(0x0000, ZdpCluster.NODE_DESC_REQ, { type: 'Node_Desc_req', nwkAddrOfInterest: 0x0000 }, wait());
  }
  if (!nd && deadline.passed) return late('Node_Desc_rsp');
  if (!nd || nd.command.type !== 'Node_Desc_rsp') return { ok: false, reason: `no Node_Desc_rsp from the Trust Center after ${TCLK_EXCHANGE_ATTEMPTS} attempts` };
  const rsp = nd.command;
  if (rsp.status === ZdpStatus.NOT_SUPPORTED) {
    trace('join.tclk.legacy-tc', { reason: 'Node_Desc_req NOT_SUPPORTED' });
    return { ok: true, state: 'legacy-tc' };
  }
  if (rsp.status !== ZdpStatus.SUCCESS || !rsp.nodeDescriptor) return { ok: false, reason: `Node_Desc_rsp status 0x${rsp.status.toString(16)}` };
  const revision = rsp.nodeDescriptor.serverMask.stackComplianceRevision;
  if (revision < 21) {
    trace('join.tclk.legacy-tc', { revision });
    return { ok: true, state: 'legacy-tc' };
  }
  trace('join.tclk.start', { revision });

  // 3-4. Request Key (APS data key with the provisional key) → Transport Key (TC link key, key-load key).
  const entry = node.linkKeys.get(tc)!;
  const provisional = entry.material;
  let tk: ApsCommandIndication | undefined;
  for (let i = 0; i < TCLK_EXCHANGE_ATTEMPTS && !tk && !deadline.passed; i++) {
    const w = aps.commands.wait(ctx.clock, wait(), (ind) => (isTclkTransport(ind, tc) ? ind : undefined));
    await aps.sendCommand({ dst16: 0x0000, nwkSecurity: true, security: { keyId: KeyId.data, key: provisional }, command: { type: 'requestKey', keyType: ApsKeyType.TC_LINK } });
    tk = await w.promise;
  }
  if (!tk && deadline.passed) return late('the Transport Key (TC link key)');
  if (!tk || tk.command.type !== 'transportKey' || tk.command.descriptor.layout !== 'trustCenter') {
    return { ok: false, reason: `no Transport Key (TC link key) after ${TCLK_EXCHANGE_ATTEMPTS} Request Key attempts of ${TCLK_EXCHANGE_TIMEOUT_MS} ms` };
  }
  const received = tk.command.descriptor.key;
  if (provisional.sameKey(received)) {
    if (!behaviour.acceptProvisionalKeyAsTclk) {
      // ZBOSS apsme_secur.c: "received link key identical to provisional link key - drop packet and fail tclk exchange"
      trace('join.tclk.dropped-provisional-key', { provisional: provisional.label });
      return { ok: false, reason: `received link key identical to provisional link key ("${provisional.label}"): dropped, TC link key exchange failed` };
    }
    trace('join.tclk.accepted-provisional-key', { provisional: provisional.label });
  }
  const candidate = new KeyMaterial(received, 'tclk-exchange');
  entry.candidate = candidate;
  trace('join.tclk.key-received');

  // 5-6. Verify Key (APS-unsecured) → Confirm Key, APS-secured with the new key.
  let confirm: ApsCommandIndication | undefined;
  for (let i = 0; i < TCLK_EXCHANGE_ATTEMPTS && !confirm && !deadline.passed; i++) {
    const w = aps.commands.wait(ctx.clock, wait(), (ind) => (ind.command.type === 'confirmKey' && ind.srcShort === 0x0000 && ind.apsSecured && !ind.broadcast ? ind : undefined));
    await aps.sendCommand({ dst16: 0x0000, nwkSecurity: true, security: 'none', command: { type: 'verifyKey', keyType: ApsKeyType.TC_LINK, src64: ctx.eui64, keyHash: candidate.verifyHash } });
    confirm = await w.promise;
  }
  entry.candidate = undefined;
  if (!confirm && deadline.passed) return late('Confirm Key');
  if (!confirm || confirm.command.type !== 'confirmKey') return { ok: false, reason: `no Confirm Key after ${TCLK_EXCHANGE_ATTEMPTS} Verify Key attempts of ${TCLK_EXCHANGE_TIMEOUT_MS} ms` };
  if (confirm.command.status !== ApsStatus.SUCCESS) return { ok: false, reason: `Confirm Key status 0x${confirm.command.status.toString(16)}` };
  if (!confirm.usedCandidate && !provisional.sameKey(candidate)) return { ok: false, reason: 'Confirm Key was not secured with the new TC link key' };
  // Verified: the new key replaces the provisional one; its incoming APS counter starts at 0 (ZBOSS).
  node.linkKeys.set(tc, candidate, 'tclk-exchange');
  trace('join.tclk.verified');
  return { ok: true, state: 'verified' };
}

/** Transport Key (TC link key) from the TC: APS-secured with the key-load key, unicast (protocol.md §3.3). */
function isTclkTransport(ind: ApsCommandIndication, tc: string): boolean {
  const c = ind.command;
  return c.type === 'transportKey' && c.keyType === ApsKeyType.TC_LINK && c.descriptor.layout === 'trustCenter'
    && ind.apsSecured && ind.keyId === KeyId.keyLoad && !ind.broadcast && c.descriptor.src64 === tc;
}
