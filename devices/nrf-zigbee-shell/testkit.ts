// Test bench for the nRF Zigbee shell driver: a socat PTY pair, the shell emulator on the device
// end (its node on a VirtualAir in real time, with a perfect sniffer recording the air), the
// driver on the host end (scaffolding in ../cli-testkit.ts). Test-only (imported by *.test.ts).
import type { VirtualAir } from '../../harness/sim/air.ts';
import type { Clock } from '../../harness/sim/clock.ts';
import { CliBenches, type CliBench, type EmulatorBase } from '../cli-testkit.ts';
import {
  NrfZigbeeShellJoiner, NrfZigbeeShellTrustCenter, type NrfShellJoinerOptions, type NrfShellTcOptions,
} from './driver.ts';
import { NrfZigbeeShellEmulator, type ShellEmulatorOptions } from './emulator.ts';

export { timed, within } from '../cli-testkit.ts';

export type ShellBench<D> = CliBench<NrfZigbeeShellEmulator, D>;

type EmuOpts = Partial<Omit<ShellEmulatorOptions, 'path' | 'air' | 'clock'>> & { eui64: string };
const FAST = { replyTimeoutMs: 1500, pollMs: 40, quietMs: 30, formTimeoutMs: 4000, joinTimeoutMs: 8000 };

const benches = new CliBenches<NrfZigbeeShellEmulator>();
const emulator = (opts: EmuOpts) => (base: EmulatorBase) => new NrfZigbeeShellEmulator({ ...base, ...opts });

export function makeJoinerBench(opts: { channel?: number; emulator: EmuOpts; driver?: Partial<NrfShellJoinerOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return benches.open(opts.channel ?? 15, emulator(opts.emulator), (port, clock) => new NrfZigbeeShellJoiner({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

export function makeTcBench(opts: { channel?: number; emulator: EmuOpts; driver?: Partial<NrfShellTcOptions>; shared?: { clock: Clock; air: VirtualAir } }) {
  return benches.open(opts.channel ?? 15, emulator(opts.emulator), (port, clock) => new NrfZigbeeShellTrustCenter({ port, clock, ...FAST, ...opts.driver }), opts.shared);
}

/** A simulated node to stop after the test. */
export const track = <T extends { stop(): void }>(n: T): T => benches.track(n);

/** afterEach: closes every driver, emulator, socat and simulated node this file started. */
export const closeShellBenches = (): Promise<void> => benches.closeAll();

/** Plugs a vanished device back in at the same port path, freshly booted (../cli-testkit.ts). */
export const replug = <D extends { close(): Promise<void> }>(b: ShellBench<D>) => benches.replug(b);
