// Test bench for the EmberZNet CLI driver: a socat PTY pair, the CLI emulator on the device end
// (its node on a VirtualAir in real time, with a perfect sniffer recording the air), the driver on
// the host end (scaffolding in ../cli-testkit.ts). Test-only (imported by *.test.ts).
import type { VirtualAir } from '../../harness/sim/air.ts';
import type { Clock } from '../../harness/sim/clock.ts';
import { CliBenches, type CliBench, type EmulatorBase } from '../cli-testkit.ts';
import { EmberCliJoiner, EmberCliTrustCenter, type EmberCliJoinerOptions, type EmberCliOptions } from './driver.ts';
import { EmberCliEmulator, type EmberEmulatorOptions } from './emulator.ts';

export { timed, within } from '../cli-testkit.ts';

export type EmberBench<D> = CliBench<EmberCliEmulator, D>;

type EmuOpts = Partial<Omit<EmberEmulatorOptions, 'path' | 'air' | 'clock' | 'role'>> & { eui64: string };
const FAST = { replyTimeoutMs: 1500, pollMs: 40, quietMs: 30, formTimeoutMs: 4000, joinTimeoutMs: 10_000, keTimeoutMs: 20_000 };

const benches = new CliBenches<EmberCliEmulator>();
const emulator = (role: 'tc' | 'joiner', opts: EmuOpts) => (base: EmulatorBase) =>
  new EmberCliEmulator({ ...base, role, ...opts });

export function makeTcBench(opts: { channel?: number; emulator: EmuOpts; driver?: Partial<EmberCliOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return benches.open(opts.channel ?? 15, emulator('tc', opts.emulator), (port, clock) => new EmberCliTrustCenter({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

export function makeJoinerBench(opts: { channel?: number; emulator: EmuOpts; driver?: Partial<EmberCliJoinerOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return benches.open(opts.channel ?? 15, emulator('joiner', opts.emulator), (port, clock) => new EmberCliJoiner({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

/** A simulated node (or anything stoppable) to stop after the test. */
export const track = <T extends { stop(): void }>(n: T): T => benches.track(n);

/** afterEach: closes every driver, emulator, socat and simulated node this file started. */
export const closeEmberBenches = (): Promise<void> => benches.closeAll();

/** Plugs a vanished device back in at the same port path, freshly booted (../cli-testkit.ts). */
export const replug = <D extends { close(): Promise<void> }>(b: EmberBench<D>) => benches.replug(b);
