// `npm run bench -- scale [--devices N]`: N simulated SE devices (default 1000, or SEHIL_SCALE_N)
// join one Trust Center on the virtual air, each with its own install code, the Zigbee 3.0 TC
// link key exchange and then CBKE suite 1 (hostSeDevice), in virtual time. Prints one JSON line
// (case scale-join) with how many joined / ended with a CBKE key, wall and virtual seconds and the
// peak RSS; progress goes to stderr every ~10 %. Everything is seeded: runs repeat exactly.
import { hexToBytes } from '../harness/crypto/bytes.ts';
import { CRYPTO_SUITE_1 } from '../harness/crypto/cbke-suites.ts';
import { installCodeFromBytes } from '../harness/crypto/install-code.ts';
import { TestCa, deterministicRandom } from '../harness/crypto/test-ca.ts';
import { seededRandom, VirtualAir } from '../harness/sim/air.ts';
import { VirtualClock } from '../harness/sim/clock.ts';
import { Joiner } from '../harness/stack/joiner.ts';
import { seededKeyRandom } from '../harness/stack/random.ts';
import { hostSeDevice, hostSeTrustCenter } from '../harness/stack/smart-energy.ts';
import { Transcript } from '../harness/stack/transcript.ts';
import { TrustCenter } from '../harness/stack/trust-center.ts';
import type { BenchCase } from './measure.ts';

export interface ScaleOptions {
  devices: number;
  /** Devices start at uniform random offsets in [0, devices × spreadMsPerDevice) of virtual time. */
  spreadMsPerDevice?: number;
  channel?: number;
  /** Progress lines on stderr (default: every 10 %). */
  progress?: (line: string) => void;
}

export interface ScaleResult {
  devices: number;
  joined: number;
  cbke: number;
  /** Devices whose join or CBKE failed, by reason (absent when none failed). */
  failures?: Record<string, number>;
  wall_s: number;
  rss_mb: number;
  virtual_s: number;
}

const TC_EUI = '00124b0000005ec0';
/** Re-open permit-join before it closes: a TC grants at most 254 s (Zigbee 05-3474 §2.4.3.3.7). */
const PERMIT_S = 254;
const PERMIT_REFRESH_MS = 200_000;

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const n = o.devices;
  const channel = o.channel ?? 15;
  const spreadMs = n * (o.spreadMsPerDevice ?? 1_000);
  const log = o.progress ?? (() => {});
  const wall0 = performance.now();
  let peakRss = 0;
  const sampleRss = () => { peakRss = Math.max(peakRss, process.resourceUsage().maxRSS / 1024); };

  const clock = new VirtualClock();
  const air = new VirtualAir(clock);
  const transcript = new Transcript(20_000); // bounded: the benchmark reads none of it
  const ca = new TestCa({ suite: CRYPTO_SUITE_1, random: deterministicRandom('sehil-scale-ca') });
  const trusted = [ca.trusted()];
  const credential = (eui: string) => {
    const c = ca.issue({ subject: hexToBytes(eui) });
    return [{ suite: CRYPTO_SUITE_1, certificate: c.certificate, privateKey: c.privateKey, trustedCas: trusted }];
  };

  const tc = new TrustCenter({ air, clock, eui64: TC_EUI, transcript, keyRandom: seededKeyRandom(0x5ca1e), acceptWellKnownKeyJoins: false });
  hostSeTrustCenter(tc, { credentials: credential(TC_EUI), random: deterministicRandom('sehil-scale-tc') });
  await tc.form({ channel, panId: 0x5ca1 });
  await tc.permitJoin(PERMIT_S, { broadcast: false });
  let open = true;
  const refresh = () => {
    if (!open) return;
    void tc.permitJoin(PERMIT_S, { broadcast: false });
    clock.setTimer(PERMIT_REFRESH_MS, refresh);
  };
  clock.setTimer(PERMIT_REFRESH_MS, refresh);

  const pick = seededRandom(0x5eed);
  let joined = 0;
  let cbke = 0;
  let done = 0;
  const failures: Record<string, number> = {};
  const fail = (why: string) => { failures[why] = (failures[why] ?? 0) + 1; };
  const step = Math.max(1, Math.round(n / 10));
  const joiners: Joiner[] = [];

  const device = async (i: number, startMs: number): Promise<void> => {
    await clock.sleep(startMs);
    const eui = `000d6f01${i.toString(16).padStart(8, '0')}`;
    const code = installCodeFromBytes(deterministicRandom(`sehil-scale-ic-${i}`)(16));
    await tc.addInstallCode(eui, code);
    const joiner = new Joiner({ air, clock, eui64: eui, name: `d${i}`, installCode: code, transcript, keyRandom: seededKeyRandom(i + 1) });
    joiners.push(joiner);
    const se = hostSeDevice(joiner, { credentials: credential(eui), tclkExchange: true, random: deterministicRandom(`sehil-scale-dev-${i}`) });
    const r = await se.join({ channel });
    if (r.joined) joined++;
    else fail(`join:${r.code}`);
    if (r.tclk === 'cbke') cbke++;
    else if (r.joined) fail(`cbke:${r.keyEstablishment?.ok === false ? r.keyEstablishment.reason : `tclk ${r.tclk}`}`);
    done++;
    if (done % step === 0 || done === n) {
      sampleRss();
      log(`scale: ${done}/${n} done (joined ${joined}, cbke ${cbke}) at ${(clock.now() / 1000).toFixed(0)} s virtual, ${((performance.now() - wall0) / 1000).toFixed(1)} s wall, rss ${peakRss.toFixed(0)} MB`);
    }
  };

  const starts = Array.from({ length: n }, () => Math.floor(pick() * spreadMs)).sort((a, b) => a - b);
  await Promise.all(starts.map((t, i) => device(i, t)));
  open = false;
  const virtualS = clock.now() / 1000;
  tc.stop();
  for (const j of joiners) j.stop();
  sampleRss();
  return {
    devices: n, joined, cbke, ...(Object.keys(failures).length ? { failures } : {}),
    wall_s: Math.round((performance.now() - wall0) / 100) / 10, rss_mb: Math.round(peakRss), virtual_s: Math.round(virtualS * 10) / 10,
  };
}

/** N from `--devices N`, else SEHIL_SCALE_N, else 1000. */
export function scaleDevices(argv: readonly string[]): number {
  const i = argv.indexOf('--devices');
  const raw = i >= 0 ? argv[i + 1] : process.env.SEHIL_SCALE_N;
  if (raw === undefined) return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--devices / SEHIL_SCALE_N expected a positive integer, got "${raw}"`);
  return n;
}

export function scaleCases(devices: number): BenchCase[] {
  return [{
    name: 'scale-join',
    run: async () => {
      const { devices: d, ...rest } = await runScale({ devices, progress: (l) => process.stderr.write(`${l}\n`) });
      return { devices: d, ...rest };
    },
  }];
}
