// How a device's return to the network went, read off the air: its Rejoin Request or Association
// Request, the parent's answer, the Transport Key of the network key and which keyring entry
// opened it, and the Device_annce that shows the device took the key. The diagnosis names the key
// the network key went out under and the key the device holds (the Ember SE FAQ's trap:
// shared/sources/ember-se-rejoin-after-leave-faq.txt).
import { equalBytes } from '../../harness/crypto/bytes.ts';
import { apsCommandOf, apsSecurityOf, isAssociationRequest, isDeviceAnnce, isRejoinRequest, isRejoinResponse, isTransportKey } from '../../harness/run/match.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import type { KeyEntry } from '../../harness/zigbee/keyring.ts';

/**
 * joined: the device announced itself (it holds the network key); no-rejoin: it sent nothing to
 * come back; key-mismatch: the network key went out under a key the device does not hold;
 * refused: the parent or the TC turned it away (status, or no network key at all); stuck: anything else.
 */
export type ReturnOutcome = 'joined' | 'no-rejoin' | 'key-mismatch' | 'refused' | 'stuck';

export interface HeldKey {
  /** How the diagnosis names it, before "key": "install-code", "global (ZigBeeAlliance09)", "previous-session cbke". */
  name: string;
  key: Uint8Array;
}

export interface ReturnVerdict {
  outcome: ReturnOutcome;
  /** A few words for the matrix cell. */
  note: string;
  /** Why, in a sentence, when it did not join (the failure message and the cell's tooltip). */
  diagnosis?: string;
  /** The frames the verdict rests on. */
  evidence: string;
}

export interface ReturnContext {
  dut: string;
  /** The keys the device holds when it comes back (what the lab provisioned or saw it agree). */
  held: readonly HeldKey[];
  /** The key of the previous session (the CBKE key), to say so when the network key went out under it. */
  previous?: HeldKey;
  /** The kit's keys: which entry opened the Transport Key. */
  keyring: readonly KeyEntry[];
}

const ref = (f: DissectedFrame | undefined) => (f ? `#${f.index} ${f.summary}` : '—');

/** The keys a device holds, as the diagnosis says it ("install-code", "install-code and previous-session cbke"). */
function holds(held: readonly HeldKey[]): string {
  return held.map((h) => h.name).join(' and ');
}

export function judgeReturn(frames: readonly DissectedFrame[], c: ReturnContext): ReturnVerdict {
  const find = (m: (f: DissectedFrame) => boolean) => frames.find(m);
  const rejoinReq = find(isRejoinRequest({ device: c.dut }));
  const assocReq = find(isAssociationRequest(c.dut));
  const rejoinRsp = find(isRejoinResponse({ device: c.dut }));
  const assocRsp = find((f) => f.mac?.body.kind === 'command' && f.mac.body.command.kind === 'associationResponse' && f.mac.header.dst === c.dut);
  const tk = find((f) => { const k = apsCommandOf(f); return isTransportKey()(f) && k?.type === 'transportKey' && k.descriptor.layout === 'network' && k.descriptor.dst64 === c.dut; });
  const annce = find(isDeviceAnnce(c.dut));
  const evidence = [
    rejoinReq ? `Rejoin Request ${ref(rejoinReq)}` : `Association Request ${ref(assocReq)}`,
    rejoinReq ? `Rejoin Response ${ref(rejoinRsp)}` : `Association Response ${ref(assocRsp)}`,
    `Transport Key (network key) ${ref(tk)}`, `Device_annce ${ref(annce)}`,
  ].join('; ');
  if (!rejoinReq && !assocReq) return { outcome: 'no-rejoin', note: 'sent nothing to come back', evidence };

  let under: { label: string; key?: Uint8Array; heldBy?: HeldKey } | undefined;
  if (tk) {
    const sec = apsSecurityOf(tk);
    const entry = sec?.ok ? c.keyring.find((k) => k.label === sec.keyLabel) : undefined;
    under = { label: sec?.ok ? sec.keyLabel! : sec ? 'unknown' : 'none (in the clear)', key: entry?.key };
    under.heldBy = entry ? c.held.find((h) => equalBytes(h.key, entry.key)) : undefined;
  }
  if (annce) {
    const name = under?.heldBy ? `its ${under.heldBy.name} key` : under?.label ?? '?';
    const note = rejoinReq && rejoinReq.nwk?.header.security
      ? (tk ? `secured rejoin, key under ${name}` : 'secured rejoin, no key sent')
      : `network key under ${name}`;
    return { outcome: 'joined', note, evidence };
  }
  if (tk && under && !under.heldBy) {
    const ofPrevious = under.key && c.previous && equalBytes(under.key, c.previous.key) ? ' of the previous session' : '';
    const diagnosis = under.key
      ? `network key sent under the ${under.label} key${ofPrevious}; the device holds only its ${holds(c.held)} key`
      : `network key sent under a key the kit does not know (${under.label}); the device holds only its ${holds(c.held)} key`;
    return { outcome: 'key-mismatch', note: `key under ${under.label}, not ${holds(c.held)}`, diagnosis, evidence };
  }
  const rsp = rejoinReq ? rejoinRsp : assocRsp;
  const status = rsp?.nwk?.command?.kind === 'rejoinResponse' ? rsp.nwk.command.status
    : rsp?.mac?.body.kind === 'command' && rsp.mac.body.command.kind === 'associationResponse' ? rsp.mac.body.command.status : undefined;
  if (status !== undefined && status !== 0) {
    const diagnosis = `${rejoinReq ? 'Rejoin' : 'Association'} Response status 0x${status.toString(16).padStart(2, '0')}: the parent turned the device away`;
    return { outcome: 'refused', note: `status 0x${status.toString(16).padStart(2, '0')}`, diagnosis, evidence };
  }
  if (status === 0 && !tk && !(rejoinReq?.nwk?.header.security)) {
    const diagnosis = `${rejoinReq ? 'Rejoin' : 'Association'} Response SUCCESS, then no network key: the TC sent no Transport Key (it holds no link key it may use for the device)`;
    return { outcome: 'refused', note: 'no network key sent', diagnosis, evidence };
  }
  const diagnosis = tk
    ? `network key sent under the ${under!.label} key, which the device holds, but it never announced itself`
    : `no ${rejoinReq ? 'Rejoin' : 'Association'} Response success and no network key`;
  return { outcome: 'stuck', note: tk ? 'key sent, no announce' : 'no answer', diagnosis, evidence };
}
