// Rejoin through a NWK Rejoin Request: secured (NWK-encrypted with the current network key; the
// parent answers secured and no key is sent) or Trust Center rejoin (unsecured; the parent answers
// unsecured and the TC resends the network key under the device's link key).
// @spec Zigbee 05-3474 §3.6.1.4.2, §4.6.3.3; protocol.md §2.5, §7.4 (ZBOSS-CERT TP_R20_BV-07..10, TP_R21_BV-07)
import type { NwkCommand } from '../zigbee/nwk.ts';
import { adoptParent, chooseParents, describeScan, takeNetworkKey } from './joiner-join.ts';
import { APS_SECURITY_TIMEOUT_MS, EmberStatus, expectNetworkKey } from './joiner-key.ts';
import type { NwkIndication } from './nwk.ts';
import type { ZigbeeNode } from './node.ts';
import { Deadline } from './signal.ts';

export interface RejoinRequest {
  secured: boolean;
  /** Default: the channel of the network it was on. */
  channel?: number;
  parentShort?: number;
  timeoutMs?: number;
}

/** How long a rejoining device waits for the Rejoin Response (a sleepy one polls for it). */
export const REJOIN_RESPONSE_WAIT_MS = 2_000;

export type RejoinOutcome =
  | { ok: true }
  | { ok: false; code: 'not-joined' | 'no-network' | 'rejoin-failed' | 'no-network-key' | 'network-key-in-the-clear'; reason: string; emberStatus?: number };

export async function rejoin(node: ZigbeeNode, req: RejoinRequest): Promise<RejoinOutcome> {
  const net = node.net;
  if (net.tcEui64 === undefined) return { ok: false, code: 'not-joined', reason: 'never joined a network: nothing to rejoin' };
  if (req.secured && !node.nwkSecurity.active) return { ok: false, code: 'rejoin-failed', reason: 'no network key for a secured rejoin' };
  const deadline = new Deadline(node.clock, req.timeoutMs ?? 10_000);
  const channel = req.channel ?? net.channel;
  const oldShort = net.short;
  // A failed rejoin leaves the device where it was: on its old network if it was on one (the
  // Keep-Alive client then resumes there after its TCSO cooldown, protocol.md §6.3 NOT_FOUND).
  const before = { onNetwork: net.onNetwork, channel: net.channel, panId: net.panId, parentShort: net.parentShort, depth: net.depth, short: net.short, authenticated: net.authenticated };
  const abandon = (o: Exclude<RejoinOutcome, { ok: true }>): RejoinOutcome => {
    node.nwk.acceptUnsecuredFromParent = false;
    Object.assign(net, before);
    node.mac.channel = before.channel;
    node.mac.panId = before.panId;
    node.mac.shortAddress = before.short;
    node.ctx.trace('join.rejoin-failed', { code: o.code, reason: o.reason, back: before.onNetwork ? 'on the previous network' : 'off network' });
    return o;
  };
  net.onNetwork = false;
  net.channel = channel;
  node.ctx.trace('join.rejoin-start', { secured: req.secured, channel, short: oldShort });
  const beacons = await node.mac.scan(channel);
  const parents = chooseParents(node, beacons, { extendedPanId: net.extendedPanId, parentShort: req.parentShort, requirePermitJoin: false });
  if (parents.length === 0) return abandon({ ok: false, code: 'no-network', reason: `network ${net.extendedPanId} not found on channel ${channel}: ${describeScan(beacons)}` });
  const b = parents[0];
  adoptParent(node, b, oldShort);
  node.nwk.acceptUnsecuredFromParent = !req.secured;
  const me = node.eui64;
  const rsp = node.nwkCommands.wait(node.clock, deadline.cap(REJOIN_RESPONSE_WAIT_MS), (e): { cmd: Extract<NwkCommand, { kind: 'rejoinResponse' }>; ind: NwkIndication } | undefined =>
    e.cmd.kind === 'rejoinResponse' && (e.ind.header.dst64 === me || e.ind.header.dst16 === oldShort) ? { cmd: e.cmd, ind: e.ind } : undefined);
  const keyWait = req.secured ? undefined : expectNetworkKey(node, deadline.cap(REJOIN_RESPONSE_WAIT_MS + APS_SECURITY_TIMEOUT_MS));
  // Rejoin Request: radius 1, Src64 present (TP_R20_BV-07/08), NWK security per the kind of rejoin.
  await node.nwk.sendCommand({ kind: 'rejoinRequest', capability: node.capability }, { dst16: b.coordShort, withSrc64: true, security: req.secured, radius: 1 });
  node.fastPoll(REJOIN_RESPONSE_WAIT_MS + APS_SECURITY_TIMEOUT_MS);
  const r = await rsp.promise;
  if (!r) return abandon({ ok: false, code: 'rejoin-failed', reason: `no Rejoin Response from 0x${b.coordShort.toString(16).padStart(4, '0')} within ${REJOIN_RESPONSE_WAIT_MS} ms`, emberStatus: EmberStatus.JOIN_FAILED });
  if (r.ind.secured !== req.secured) {
    return abandon({ ok: false, code: 'rejoin-failed', reason: `Rejoin Response ${r.ind.secured ? 'NWK-secured' : 'unsecured'} but the request was ${req.secured ? 'secured' : 'unsecured'}: it must mirror the request (protocol.md §2.5)` });
  }
  if (r.cmd.status !== 0) return abandon({ ok: false, code: 'rejoin-failed', reason: `Rejoin Response status 0x${r.cmd.status.toString(16).padStart(2, '0')}`, emberStatus: EmberStatus.JOIN_FAILED });
  net.short = r.cmd.nwkAddress;
  node.mac.shortAddress = r.cmd.nwkAddress;
  if (keyWait) {
    const k = await keyWait;
    node.nwk.acceptUnsecuredFromParent = false;
    if (!k.ok) return abandon({ ok: false, code: k.code, reason: `Trust Center rejoin: ${k.reason}`, emberStatus: k.emberStatus });
    takeNetworkKey(node, k);
  }
  node.nwk.acceptUnsecuredFromParent = false;
  net.authenticated = true;
  node.ctx.trace('join.rejoined', { short: net.short, parent: b.coordShort, secured: req.secured });
  await node.zdo.announce(node.capabilityByte);
  return { ok: true };
}
