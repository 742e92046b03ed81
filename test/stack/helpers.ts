// Shared scaffolding of the stack tests: a virtual clock and air with a sniffer, nodes that are
// stopped after each test, a deadline helper, and a small decoder of what went over the air
// (MAC → NWK → APS, opened with the keys the test knows) so verdicts come from the frames.
import type { AirFrame } from '../../harness/sim/air.ts';
import { VirtualAir } from '../../harness/sim/air.ts';
import { VirtualClock } from '../../harness/sim/clock.ts';
import { decodeApsCommand, decodeApsHeader, type ApsCommand, type ApsHeader } from '../../harness/zigbee/aps.ts';
import { decodeMacFrame, type MacFrame } from '../../harness/zigbee/ieee802154.ts';
import { decodeNwkCommand, decodeNwkFrame, type NwkCommand, type NwkHeader } from '../../harness/zigbee/nwk.ts';
import { decodeAuxSecurityHeader, keyForKeyId, unsecureLayer, type AuxSecurityHeader } from '../../harness/zigbee/security.ts';
import { decodeZdp, type ZdpFrame } from '../../harness/zigbee/zdo.ts';
import type { ApsApplication, ApsDataIndication, ApsService } from '../../harness/stack/app.ts';
import { Transcript } from '../../harness/stack/transcript.ts';
import { seededKeyRandom } from '../../harness/stack/random.ts';

export const CHANNEL = 15;
export const PAN_ID = 0x1a62;
export const TC_EUI = '00124b0001020304';
export const DUT_EUI = '00124b00aabbccdd';
export const DUT2_EUI = '00124b00aabbccee';
export const ROUTER_EUI = '00124b0011223344';
/** The spec test install code (with its CRC C3B5) → 66B6900981E1EE3CA4206B6B861C02BB (protocol.md §0). */
export const INSTALL_CODE = '83FED3407A939723A5C639B26916D505C3B5';
export const INSTALL_CODE_KEY = '66b6900981e1ee3ca4206b6b861c02bb';
export const INSTALL_CODE_2 = '83FED3407A939723A5C639FF4C12'; // 12-byte code + CRC (protocol.md §0)
export const NETWORK_KEY = Uint8Array.from([0x01, 0x03, 0x05, 0x07, 0x09, 0x0b, 0x0d, 0x0f, 0x00, 0x02, 0x04, 0x06, 0x08, 0x0a, 0x0c, 0x0d]);

export interface Stoppable { stop(): void }

export function createSim(channel = CHANNEL) {
  const clock = new VirtualClock();
  const air = new VirtualAir(clock);
  const sniffed: AirFrame[] = [];
  const sniffer = air.sniff(channel, (f) => sniffed.push(f));
  const transcript = new Transcript();
  const nodes: Stoppable[] = [];
  let seed = 1;
  return {
    clock, air, sniffed, transcript,
    /** Deterministic key material, so captures are reproducible. */
    keyRandom: () => seededKeyRandom(seed++),
    track<T extends Stoppable>(n: T): T {
      nodes.push(n);
      return n;
    },
    /** Lets virtual time run for `ms` (every wait in the tests is on the virtual clock). */
    run(ms: number): Promise<void> {
      return clock.sleep(ms);
    },
    stopAll(): void {
      for (const n of nodes.splice(0)) n.stop();
      sniffer.detach();
    },
  };
}
export type Sim = ReturnType<typeof createSim>;

/** Races a promise against a virtual-clock deadline; rejects naming what was awaited. */
export async function within<T>(sim: Sim, ms: number, what: string, p: Promise<T>): Promise<T> {
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = sim.clock.setTimer(ms, () => reject(new Error(`no ${what} within ${ms} ms of virtual time`)));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    cancel();
  }
}

/** An application that records what it receives. */
export class RecorderApp implements ApsApplication {
  readonly received: ApsDataIndication[] = [];
  constructor(readonly endpoint = 1, readonly profileId = 0x0109, readonly inClusters: readonly number[] = [0x0025], readonly outClusters: readonly number[] = []) {}
  onData(ind: ApsDataIndication, _aps: ApsService): void {
    this.received.push(ind);
  }
}

// -------------------------------------------------------------------------------------------------
// Decoding the air

export interface NamedKey { label: string; key: Uint8Array }

export interface ApsView {
  header: ApsHeader;
  aux?: AuxSecurityHeader;
  /** Label of the link key that opened it (secured frames), and under which key id. */
  openedWith?: string;
  command?: ApsCommand;
  payload?: Uint8Array;
  zdp?: ZdpFrame;
  /** Tunnel: the inner frame, opened in turn. */
  inner?: ApsView;
}

export interface AirRecord {
  i: number;
  t: number;
  sender: string;
  psdu: Uint8Array;
  mac: MacFrame;
  nwk?: { header: NwkHeader; aux?: AuxSecurityHeader; opened: boolean; command?: NwkCommand };
  aps?: ApsView;
}

export function decodeAir(frames: readonly AirFrame[], keys: { nwk: NamedKey[]; link: NamedKey[] }): AirRecord[] {
  return frames.map((f, i) => {
    const d = decodeMacFrame(f.psdu, { hasFcs: true });
    const rec: AirRecord = { i, t: Number(f.timestampUs) / 1000, sender: f.sender, psdu: f.psdu, mac: d.value };
    if (d.value.body.kind !== 'data') return rec;
    const bytes = d.value.body.payload;
    const n = decodeNwkFrame(bytes);
    if (n.value.kind !== 'nwk') return rec;
    const { header, body } = n.value;
    let plain: Uint8Array | undefined;
    let aux: AuxSecurityHeader | undefined;
    if (body.kind === 'secured') {
      aux = body.aux;
      for (const k of keys.nwk) {
        const r = unsecureLayer({ header: bytes.subarray(0, n.headerEnd), auxBytes: bytes.subarray(n.headerEnd, n.payloadOffset), body: body.encrypted, key: k.key });
        if (r.ok) { plain = r.plaintext; break; }
      }
    } else {
      plain = bytes.subarray(n.headerEnd);
    }
    rec.nwk = { header, aux, opened: plain !== undefined };
    if (!plain) return rec;
    if (header.frameType === 1) {
      rec.nwk.command = decodeNwkCommand(plain).value;
      return rec;
    }
    rec.aps = decodeAps(plain, keys.link);
    return rec;
  });
}

function decodeAps(bytes: Uint8Array, link: NamedKey[]): ApsView {
  const h = decodeApsHeader(bytes);
  const view: ApsView = { header: h.value };
  let body: Uint8Array | undefined = bytes.subarray(h.offset);
  if (h.value.security) {
    const a = decodeAuxSecurityHeader(bytes, h.offset, 0, 'aps');
    view.aux = a.value;
    body = undefined;
    for (const k of link) {
      const r = unsecureLayer({ header: bytes.subarray(0, h.offset), auxBytes: bytes.subarray(h.offset, a.offset), body: bytes.subarray(a.offset), key: keyForKeyId(a.value.keyId, k.key) });
      if (r.ok) { body = r.plaintext; view.openedWith = k.label; break; }
    }
  }
  if (!body) return view;
  if (h.value.frameType === 1) {
    view.command = decodeApsCommand(body).value;
    if (view.command.type === 'tunnel') view.inner = decodeAps(body.subarray(9), link);
  } else if (h.value.frameType === 0) {
    view.payload = body;
    if (h.value.profileId === 0 && h.value.dstEndpoint === 0) view.zdp = decodeZdp(h.value.clusterId!, body).value;
  }
  return view;
}

/** The APS command of a record (the tunnel's inner command when tunnelled). */
export function apsCommandOf(r: AirRecord): ApsCommand | undefined {
  return r.aps?.command?.type === 'tunnel' ? r.aps.inner?.command : r.aps?.command;
}
