// Test bench for the nRF sniffer driver: a socat PTY pair, the firmware emulator on one end
// listening to a VirtualAir, the driver on the other. Test-only (imported by *.test.ts).
import * as fs from 'node:fs';
import type { RadioFrame } from '../../harness/rig/roles.ts';
import { VirtualAir, type AirFrame, type Radio } from '../../harness/sim/air.ts';
import { RealClock, type Clock } from '../../harness/sim/clock.ts';
import { encodeMacFrame, MacAddrMode, MacFrameType } from '../../harness/zigbee/ieee802154.ts';
import { closeDevices, within } from '../cli-testkit.ts';
import { openPtyPair, type PtyPair } from '../pty.ts';
import { NrfSnifferDriver, type NrfSnifferOptions } from './driver.ts';
import { NrfSnifferEmulator, type SnifferEmulatorOptions } from './emulator.ts';

export { within };

export interface Bench {
  pair: PtyPair;
  clock: Clock;
  air: VirtualAir;
  emu: NrfSnifferEmulator;
  driver: NrfSnifferDriver;
  /** A transmitter on `channel`. */
  radio(channel: number): Radio;
  /** Every frame on the air as a perfect sniffer hears it (the truth). */
  truth: AirFrame[];
}

const live: { pair: PtyPair; emu: NrfSnifferEmulator; driver: NrfSnifferDriver }[] = [];

export async function makeBench(opts: {
  clock?: Clock;
  emulator?: Partial<Omit<SnifferEmulatorOptions, 'path' | 'air' | 'clock'>>;
  driver?: Partial<Omit<NrfSnifferOptions, 'port' | 'clock'>>;
  truthChannel?: number;
} = {}): Promise<Bench> {
  const clock = opts.clock ?? new RealClock();
  const air = new VirtualAir(clock);
  const pair = await openPtyPair();
  const emu = new NrfSnifferEmulator({ path: pair.b, air, clock, hangup: () => pair.unplug(), ...opts.emulator });
  await emu.open();
  const driver = new NrfSnifferDriver({
    port: pair.a, clock, replyTimeoutMs: 1000, quietMs: 30, idleProbeMs: 0,
    reopen: { attempts: 2, firstDelayMs: 20, maxDelayMs: 50 }, ...opts.driver,
  });
  live.push({ pair, emu, driver });
  const truth: AirFrame[] = [];
  air.sniff(opts.truthChannel ?? 15, (f) => truth.push(f), 'truth');
  return { pair, clock, air, emu, driver, truth, radio: (c) => air.attach(`tx${c}`, c, () => {}) };
}

/** afterEach: closes every driver, emulator and socat this file started. */
export async function closeBenches(): Promise<void> {
  await closeDevices(live.splice(0));
}

/**
 * Plugs a "dongle" back in at the bench's host path after an unplug: a new PTY pair, a freshly
 * booted emulator (echo on, radio asleep) on its device end, and only then the host path, as a
 * re-enumerated tty appears with its firmware already running.
 */
export async function replug(b: Bench, emulator: Partial<Omit<SnifferEmulatorOptions, 'path' | 'air' | 'clock'>> = {}): Promise<{ emu: NrfSnifferEmulator; close(): Promise<void> }> {
  const pair = await openPtyPair();
  const emu = new NrfSnifferEmulator({ path: pair.b, air: b.air, clock: b.clock, hangup: () => pair.unplug(), ...emulator });
  await emu.open();
  fs.symlinkSync(fs.realpathSync(pair.a), b.pair.a);
  return {
    emu,
    close: async () => {
      await b.driver.close();
      await emu.close();
      await pair.close();
      fs.rmSync(b.pair.a, { force: true });
    },
  };
}

/** The next `n` frames from the driver, with a deadline. */
export async function take(it: AsyncIterator<RadioFrame>, n: number, ms = 3000): Promise<RadioFrame[]> {
  const out: RadioFrame[] = [];
  for (let i = 0; i < n; i++) {
    const r = await within(ms, it.next(), `frame ${i + 1} of ${n}`);
    if (r.done) throw new Error(`frames() ended after ${i} of ${n} frames`);
    out.push(r.value);
  }
  return out;
}

/** A Zigbee-style MAC data frame (short addressing, PAN ID compressed), with FCS. */
export function macDataFrame(seq: number, payload: Uint8Array = Uint8Array.of(0x08, 0x00, seq & 0xff)): Uint8Array {
  return encodeMacFrame({
    header: {
      frameType: MacFrameType.data, securityEnabled: false, framePending: false, ackRequest: true, panIdCompression: true,
      dstAddrMode: MacAddrMode.short, frameVersion: 0, srcAddrMode: MacAddrMode.short,
      seq: seq & 0xff, dstPan: 0x1a62, dst: 0x0000, src: 0x1234 + (seq & 0xff),
    },
    body: { kind: 'data', payload },
  });
}

/** The frame as the sniffer reports it: without its FCS. */
export const withoutFcs = (psdu: Uint8Array): Uint8Array => psdu.subarray(0, psdu.length - 2);
