// What became of a joiner, read off the air alone: the TC link key exchange frames, leave
// requests and leave announcements, Device_annce. Used by the legacy-TC interop matrix (LT-03);
// pure functions over dissected frames, so the verdict is the sniffer's, not a driver's word.
import { equalBytes } from '../../harness/crypto/bytes.ts';
import { and, apsCommandOf, isApsCommand, isDeviceAnnce, isLeaveDemand, isNwkLeave, isTransportKey, transportedKey } from '../../harness/run/match.ts';
import { ApsKeyType, ApsStatus } from '../../harness/zigbee/aps.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import { WELL_KNOWN_LINK_KEYS } from '../../harness/zigbee/keyring.ts';
import { hexToBytes } from '../../harness/crypto/bytes.ts';

/**
 * joined: on the network at the end (announced itself, no leave); expelled: the TC asked it to
 * leave and it left; stuck: it left by itself or never came up (network steering failed);
 * ignored-leave: the TC asked it to leave and it stayed.
 */
export type InteropOutcome = 'joined' | 'expelled' | 'stuck' | 'ignored-leave';

export interface InteropVerdict {
  outcome: InteropOutcome;
  /** What on the air shows it, in a few words (matrix cell). */
  note: string;
  /** The frames it rests on, for the failure message. */
  evidence: string;
}

const WELL_KNOWN = WELL_KNOWN_LINK_KEYS.map((k) => ({ label: k.label, key: hexToBytes(k.hex) }));

/** The well-known key these bytes are, if any. */
export function wellKnownKeyName(key: Uint8Array): string | undefined {
  return WELL_KNOWN.find((k) => equalBytes(k.key, key))?.label;
}

const seconds = (a: DissectedFrame, b: DissectedFrame) =>
  a.timestampUs !== undefined && b.timestampUs !== undefined ? `${(Number(b.timestampUs - a.timestampUs) / 1e6).toFixed(1)} s` : '?';

const ref = (f: DissectedFrame | undefined) => (f ? `#${f.index} ${f.summary}` : '—');

/**
 * The outcome of one join of `dut` that used `provisional` as its joining key, from the frames
 * heard from the start of that join until the end of the settle time.
 */
export function judgeInterop(frames: readonly DissectedFrame[], dut: string, provisional: Uint8Array): InteropVerdict {
  const find = (m: (f: DissectedFrame) => boolean, after = 0) => frames.find((f) => f.index > after && m(f));
  const annce = find(isDeviceAnnce(dut));
  const demand = find(isLeaveDemand(dut));
  const announced = find(isNwkLeave({ request: false, device: dut }), demand?.index ?? 0);
  const requests = frames.filter((f) => isApsCommand('requestKey')(f)).length;
  const tclk = find(isTransportKey(ApsKeyType.TC_LINK));
  const tclkKey = tclk && transportedKey(tclk);
  const repeats = tclkKey !== undefined && equalBytes(tclkKey, provisional);
  const verify = find((f) => { const c = apsCommandOf(f); return c?.type === 'verifyKey' && c.src64 === dut; });
  const confirm = find((f) => { const c = apsCommandOf(f); return c?.type === 'confirmKey' && c.dst64 === dut && c.status === ApsStatus.SUCCESS; });
  const evidence = [`Device_annce ${ref(annce)}`, `Request Key ×${requests}`, `Transport Key (TC link key) ${ref(tclk)}`, `Verify Key ${ref(verify)}`,
    `Confirm Key SUCCESS ${ref(confirm)}`, `leave demand ${ref(demand)}`, `leave announcement ${ref(announced)}`].join('; ');

  if (demand) {
    if (announced) return { outcome: 'expelled', note: `TC leave request ${annce ? `${seconds(annce, demand)} after its announce` : ''}`.trim(), evidence };
    return { outcome: 'ignored-leave', note: `stayed after TC leave request #${demand.index}`, evidence };
  }
  const left = find(isNwkLeave({ request: false, device: dut }));
  if (left) {
    if (repeats && !verify) return { outcome: 'stuck', note: 'dropped TCLK = provisional key, left', evidence };
    if (requests > 0 && !tclk) return { outcome: 'stuck', note: `${requests}× Request Key unanswered, left`, evidence };
    return { outcome: 'stuck', note: 'left the network', evidence };
  }
  if (!annce) return { outcome: 'stuck', note: 'never announced itself', evidence };
  if (confirm && tclkKey) {
    const known = wellKnownKeyName(tclkKey);
    if (repeats) return { outcome: 'joined', note: `verified TCLK = provisional key${known ? ` (${known})` : ''}`, evidence };
    if (known) return { outcome: 'joined', note: `verified TCLK = ${known}`, evidence };
    return { outcome: 'joined', note: 'unique TCLK verified', evidence };
  }
  if (requests === 0) return { outcome: 'joined', note: 'keeps its joining key', evidence };
  return { outcome: 'joined', note: 'exchange unfinished, still on', evidence };
}

/** A Transport Key of a TC link key from the TC to `dut` (the second half of the exchange). */
export const isTclkTransport = (dut: string) => and(isTransportKey(ApsKeyType.TC_LINK), (f) => {
  const c = apsCommandOf(f);
  return c?.type === 'transportKey' && c.descriptor.layout === 'trustCenter' && c.descriptor.dst64 === dut;
});
