// Test bench scaffolding the serial-device testkits share (nrf-sniffer, nrf-zigbee-shell,
// ember-cli): a socat PTY pair with a firmware emulator on the device end and the driver on the
// host end, torn down after each test, plus the checks every command-line driver must pass the
// same way. Test-only (imported by testkits and *.test.ts).
import { expect } from 'vitest';
import { DeviceTimeoutError, RigUnavailableError } from '../harness/rig/roles.ts';
import { VirtualAir, type AirFrame } from '../harness/sim/air.ts';
import { PacedClock, type Clock } from '../harness/sim/clock.ts';
import { openPtyPair, type PtyPair } from './pty.ts';

interface Closable {
  close(): Promise<void>;
}

/** What every emulator gets from the bench: its end of the pair, the air, the clock, the plug. */
export interface EmulatorBase {
  path: string;
  air: VirtualAir;
  clock: Clock;
  hangup(): void;
}

export interface CliBench<E, D> {
  pair: PtyPair;
  clock: Clock;
  air: VirtualAir;
  emu: E;
  driver: D;
  /** Every frame on the air (the truth a lab sniffer would record). */
  sniffed: AirFrame[];
}

export interface LiveDevice {
  pair: PtyPair;
  emu: Closable;
  driver: Closable;
}

/** Closes drivers (with a deadline: a hung close must not hang the suite), emulators and socat. */
export async function closeDevices(all: LiveDevice[]): Promise<void> {
  await Promise.all(all.map(async ({ pair, emu, driver }) => {
    await within(5000, driver.close(), 'driver.close()').catch(() => {});
    await emu.close();
    await pair.close();
  }));
}

/** The benches one test file opened, and the simulated nodes it wants stopped after each test. */
export class CliBenches<E extends Closable & { open(): Promise<void> }> {
  private readonly live: LiveDevice[] = [];
  private readonly stoppers: (() => void)[] = [];
  private readonly plugs = new Map<CliBench<E, Closable>, { live: LiveDevice; emulator: (base: EmulatorBase) => E }>();

  /** A bench whose air is recorded on `channel`; `shared` puts several on one air. */
  async open<D extends Closable>(
    channel: number, emulator: (base: EmulatorBase) => E, make: (port: string, clock: Clock) => D, shared?: { clock: Clock; air: VirtualAir },
  ): Promise<CliBench<E, D>> {
    const clock = shared?.clock ?? new PacedClock(); // event order kept however late the host runs timers
    const air = shared?.air ?? new VirtualAir(clock);
    const sniffed: AirFrame[] = [];
    const s = air.sniff(channel, (f) => sniffed.push(f), 'truth');
    this.stoppers.push(() => s.detach());
    const pair = await openPtyPair();
    const emu = emulator({ path: pair.b, air, clock, hangup: () => pair.unplug() });
    await emu.open();
    const driver = make(pair.a, clock);
    const live = { pair, emu, driver };
    this.live.push(live);
    const bench = { pair, clock, air, emu, driver, sniffed };
    this.plugs.set(bench, { live, emulator });
    return bench;
  }

  /**
   * Plugs the device back in after it vanished: a new socat pair at the SAME link paths (a
   * re-enumerated dongle at its /dev/serial/by-id path) and a freshly booted emulator on it (the
   * simulated node of the old one is gone, as after a power cycle). Updates `b.pair` and `b.emu`.
   */
  async replug<D extends Closable>(b: CliBench<E, D>): Promise<E> {
    const plug = this.plugs.get(b as CliBench<E, Closable>);
    if (!plug) throw new Error('replug: not a bench of this file');
    await plug.live.emu.close();
    await plug.live.pair.unplug();
    const pair = await openPtyPair({ links: { a: b.pair.a, b: b.pair.b } });
    const emu = plug.emulator({ path: pair.b, air: b.air, clock: b.clock, hangup: () => pair.unplug() });
    await emu.open();
    const old = plug.live.pair;
    plug.live.pair = pair;
    plug.live.emu = emu;
    // the first pair's temporary directory holds the new links: remove it only at the end
    this.stoppers.push(() => { void old.close(); });
    b.pair = pair;
    b.emu = emu;
    return emu;
  }

  /** A simulated node (or anything stoppable) to stop after the test. */
  track<T extends { stop(): void }>(n: T): T {
    this.stoppers.push(() => n.stop());
    return n;
  }

  /** afterEach: closes every driver, emulator, socat and simulated node opened here. */
  async closeAll(): Promise<void> {
    this.plugs.clear();
    await closeDevices(this.live.splice(0));
    for (const s of this.stoppers.splice(0)) s();
  }
}

/** `p`, or a rejection after `ms` of real time saying what never happened. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`test deadline: ${what} not within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });
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

/** A mute firmware fails open() with DeviceTimeoutError soon after the driver's reply deadline. */
export async function expectMuteOpenTimesOut(
  b: { emu: { setMute(mute: boolean): void }; driver: { open(): Promise<void> } }, role: string, deadlineMs: number,
): Promise<void> {
  b.emu.setMute(true);
  const t = await timed(b.driver.open());
  expect(t.error).toBeInstanceOf(DeviceTimeoutError);
  expect(t.error).toMatchObject({ role, step: 'open', deadlineMs });
  expect(t.ms).toBeLessThan(10_000); // bounded, not hung; the typed error names the deadline it kept
}

/**
 * A port that closes while `command` waits fails it at once with the driver's port-closed error
 * (a RigUnavailableError carrying `fields`); `next()` then finds the port not open.
 */
export async function expectPortClosedMidCommand(
  command: Promise<unknown>, what: string, closedError: abstract new (...args: never[]) => Error, fields: object, next: () => Promise<unknown>,
): Promise<void> {
  const t = await timed(within(5000, command, what));
  expect(t.error).toBeInstanceOf(closedError);
  expect(t.error).toBeInstanceOf(RigUnavailableError);
  expect(t.error).toMatchObject(fields);
  // The next command climbs the recovery ladder (re-opens; the device never comes back) and fails
  // with the same typed error, naming what it tried.
  const after = await timed(within(15_000, next(), 'the command after the port closed'));
  expect(after.error).toBeInstanceOf(closedError);
  expect((after.error as Error).message).toMatch(/port is not open: lost .*tried re-open 1\/\d+.*no power cycle \(neither the role's powerCycle nor power\.cycle in the rig file\)/);
}
