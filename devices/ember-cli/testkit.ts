// Test bench for the EmberZNet CLI driver: a socat PTY pair, the CLI emulator on the device end
// (its node on a VirtualAir in real time, with a perfect sniffer recording the air), the driver on
// the host end. Test-only (imported by *.test.ts).
import { VirtualAir, type AirFrame } from '../../harness/sim/air.ts';
import { RealClock, type Clock } from '../../harness/sim/clock.ts';
import { openPtyPair, type PtyPair } from '../../test/helpers/pty.ts';
import { within } from '../nrf-sniffer/testkit.ts';
import { EmberCliJoiner, EmberCliTrustCenter, type EmberCliJoinerOptions, type EmberCliOptions } from './driver.ts';
import { EmberCliEmulator, type EmberEmulatorOptions } from './emulator.ts';

export { within };

export interface EmberBench<D> {
  pair: PtyPair;
  clock: Clock;
  air: VirtualAir;
  emu: EmberCliEmulator;
  driver: D;
  sniffed: AirFrame[];
}

type EmuOpts = Partial<Omit<EmberEmulatorOptions, 'path' | 'air' | 'clock' | 'role'>> & { eui64: string };
const FAST = { replyTimeoutMs: 1500, pollMs: 40, quietMs: 30, formTimeoutMs: 4000, joinTimeoutMs: 10_000, keTimeoutMs: 20_000 };

const live: { pair: PtyPair; emu: EmberCliEmulator; driver: { close(): Promise<void> } }[] = [];
const stoppers: (() => void)[] = [];

async function bench<D extends { close(): Promise<void> }>(
  role: 'tc' | 'joiner', channel: number, emuOpts: EmuOpts, make: (port: string, clock: Clock) => D, shared?: { clock: Clock; air: VirtualAir },
): Promise<EmberBench<D>> {
  const clock = shared?.clock ?? new RealClock();
  const air = shared?.air ?? new VirtualAir(clock);
  const sniffed: AirFrame[] = [];
  const s = air.sniff(channel, (f) => sniffed.push(f), 'truth');
  stoppers.push(() => s.detach());
  const pair = await openPtyPair();
  const emu = new EmberCliEmulator({ path: pair.b, air, clock, role, hangup: () => pair.unplug(), ...emuOpts });
  await emu.open();
  const driver = make(pair.a, clock);
  live.push({ pair, emu, driver });
  return { pair, clock, air, emu, driver, sniffed };
}

export function makeTcBench(opts: { channel?: number; emulator: EmuOpts; driver?: Partial<EmberCliOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return bench('tc', opts.channel ?? 15, opts.emulator, (port, clock) => new EmberCliTrustCenter({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

export function makeJoinerBench(opts: { channel?: number; emulator: EmuOpts; driver?: Partial<EmberCliJoinerOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return bench('joiner', opts.channel ?? 15, opts.emulator, (port, clock) => new EmberCliJoiner({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

/** A simulated node (or anything stoppable) to stop after the test. */
export function track<T extends { stop(): void }>(n: T): T {
  stoppers.push(() => n.stop());
  return n;
}

/** afterEach: closes every driver, emulator, socat and simulated node this file started. */
export async function closeEmberBenches(): Promise<void> {
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
