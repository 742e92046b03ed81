// Test bench for the nRF Zigbee shell driver: a socat PTY pair, the shell emulator on the device
// end (its node on a VirtualAir in real time, with a perfect sniffer recording the air), the
// driver on the host end. Test-only (imported by *.test.ts).
import { VirtualAir, type AirFrame } from '../../harness/sim/air.ts';
import { RealClock, type Clock } from '../../harness/sim/clock.ts';
import { openPtyPair, type PtyPair } from '../pty.ts';
import { within } from '../nrf-sniffer/testkit.ts';
import {
  NrfZigbeeShellJoiner, NrfZigbeeShellTrustCenter, type NrfShellJoinerOptions, type NrfShellTcOptions,
} from './driver.ts';
import { NrfZigbeeShellEmulator, type ShellEmulatorOptions } from './emulator.ts';

export { within };

export interface ShellBench<D> {
  pair: PtyPair;
  clock: Clock;
  air: VirtualAir;
  emu: NrfZigbeeShellEmulator;
  driver: D;
  /** Every frame on the air (the truth a lab sniffer would record). */
  sniffed: AirFrame[];
}

const live: { pair: PtyPair; emu: NrfZigbeeShellEmulator; driver: { close(): Promise<void> } }[] = [];
const stoppers: (() => void)[] = [];

type EmuOpts = Partial<Omit<ShellEmulatorOptions, 'path' | 'air' | 'clock'>>;
const FAST = { replyTimeoutMs: 1500, pollMs: 40, quietMs: 30, formTimeoutMs: 4000, joinTimeoutMs: 8000 };

async function bench<D extends { close(): Promise<void> }>(
  channel: number, emuOpts: EmuOpts & { eui64: string }, make: (port: string, clock: Clock) => D, shared?: { clock: Clock; air: VirtualAir },
): Promise<ShellBench<D>> {
  const clock = shared?.clock ?? new RealClock();
  const air = shared?.air ?? new VirtualAir(clock);
  const sniffed: AirFrame[] = [];
  const s = air.sniff(channel, (f) => sniffed.push(f), 'truth');
  stoppers.push(() => s.detach());
  const pair = await openPtyPair();
  const emu = new NrfZigbeeShellEmulator({ path: pair.b, air, clock, hangup: () => pair.unplug(), ...emuOpts });
  await emu.open();
  const driver = make(pair.a, clock);
  live.push({ pair, emu, driver });
  return { pair, clock, air, emu, driver, sniffed };
}

export function makeJoinerBench(opts: { channel?: number; emulator: EmuOpts & { eui64: string }; driver?: Partial<NrfShellJoinerOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return bench(opts.channel ?? 15, opts.emulator, (port, clock) => new NrfZigbeeShellJoiner({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

export function makeTcBench(opts: { channel?: number; emulator: EmuOpts & { eui64: string }; driver?: Partial<NrfShellTcOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return bench(opts.channel ?? 15, { ...opts.emulator }, (port, clock) => new NrfZigbeeShellTrustCenter({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

/** A simulated node to stop after the test. */
export function track<T extends { stop(): void }>(n: T): T {
  stoppers.push(() => n.stop());
  return n;
}

/** afterEach: closes every driver, emulator, socat and simulated node this file started. */
export async function closeShellBenches(): Promise<void> {
  const all = live.splice(0);
  await Promise.all(all.map(async ({ pair, emu, driver }) => {
    await within(5000, driver.close(), 'driver.close()').catch(() => {});
    await emu.close();
    await pair.close();
  }));
  for (const s of stoppers.splice(0)) s();
}

/** How long `p` took to settle, ms of real time, with its outcome. */
export async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}
