// Timestamps through the real driver path: emulator → PTY → line splitter → parser → counter
// unwrap → clock map, with the driver reading its own clock when a line arrives.
import { afterEach, describe, expect, it } from 'vitest';
import type { RadioFrame } from '../../harness/rig/roles.ts';
import { airtimeUs, seededRandom } from '../../harness/sim/air.ts';
import { VirtualClock } from '../../harness/sim/clock.ts';
import { socatAvailable, socatSkipReason, warnIfSocatMissing } from '../../test/helpers/pty.ts';
import { closeBenches, macDataFrame, makeBench, take, within } from './testkit.ts';

warnIfSocatMissing();
afterEach(closeBenches);

describe.skipIf(!socatAvailable)(`nRF sniffer timestamps over a PTY (${socatAvailable ? 'socat' : socatSkipReason})`, () => {
  it('keeps timestamps monotonic and on the air\'s time base across a 32-bit counter wrap mid-capture', async () => {
    // Real time: 20 frames 40 ms apart; the counter wraps 0.3 s after the capture starts.
    const counter: { bits: 32; start: bigint } = { bits: 32, start: 0n };
    const b = await makeBench({ emulator: { counter }, driver: { counterBits: 32 } });
    const frames = b.driver.frames()[Symbol.asyncIterator]();
    await within(5000, b.driver.start(15), 'start(15)');
    counter.start = 2n ** 32n - BigInt(Math.round(b.clock.now() * 1000)) - 300_000n;
    const tx = b.radio(15);
    const got: RadioFrame[] = [];
    for (let i = 0; i < 20; i++) {
      await tx.transmit(macDataFrame(i));
      got.push(...(await take(frames, 1)));
      await b.clock.sleep(40);
    }
    const raw = b.driver.takeTranscript().filter((l) => l.includes('received:')).map((l) => BigInt(/time: (\d+)/.exec(l)![1]));
    expect(raw.some((t, i) => i > 0 && t < raw[i - 1])).toBe(true); // the wrap really went over the wire
    expect(b.driver.stats.counterWraps).toBe(1);
    expect(got.every((f, i) => i === 0 || f.timestampUs > got[i - 1].timestampUs)).toBe(true);
    // Against the truth (frame start on the air): one offset (airtime + the fastest serial
    // latency) before and after the wrap, give or take real-time scheduling jitter on a loaded
    // CI machine (tens of ms), which is what this test can promise; a missed or doubled wrap
    // would be 2^32 µs (71.6 min) off. Precision is the virtual-timeline tests' job below.
    const offsets = got.map((f, i) => Number(f.timestampUs - b.truth[i].timestampUs));
    expect(Math.max(...offsets) - Math.min(...offsets)).toBeLessThan(250_000);
    expect(Math.abs(offsets[offsets.length - 1])).toBeLessThan(250_000);
  });

  // Three hours cannot pass over a PTY in a test. So the whole bench runs on a virtual clock:
  // frames go on the VirtualAir at scripted times; the emulator derives its 32-bit counter from
  // that truth (start 0xFFF00000, ±50 ppm) and prints each line after a scripted USB-like latency
  // (0.1–1 ms mostly, up to 6 ms sometimes) on the same clock; the bytes then cross the real PTY
  // while virtual time stands still, and the driver stamps each line with clock.now() when it
  // arrives, as it does on a bench. Deadlines run in real time (the driver's `timers`).
  for (const ppm of [50, -50]) {
    it(`maps 3 h of a ${ppm > 0 ? '+' : ''}${ppm} ppm sniffer to within 1 ms of the air's time (virtual timeline, real bytes)`, async () => {
      const rnd = seededRandom(ppm > 0 ? 7 : 8);
      const clock = new VirtualClock();
      const b = await makeBench({
        clock,
        emulator: {
          counter: { bits: 32, start: 0xfff00000n, ppm },
          printDelayMs: () => 0.1 + (rnd() < 0.8 ? rnd() * 0.9 : rnd() * 6),
        },
        driver: { counterBits: 32 },
      });
      const frames = b.driver.frames()[Symbol.asyncIterator]();
      await within(5000, b.driver.start(15), 'start(15)');
      const tx = b.radio(15);
      const warmupMs = 120_000; // the drift fit needs a span to see 50 ppm (as in clock-map.test.ts)
      let worst = 0;
      let count = 0;
      while (clock.now() < 3 * 3600e3) {
        await clock.sleep(1000 + rnd() * 2000); // ~30 frames a minute: a quiet Zigbee network
        const psdu = macDataFrame(count++);
        await tx.transmit(psdu);
        const [f] = await take(frames, 1, 2000);
        const truth = b.truth[b.truth.length - 1];
        // The line can only leave the radio after the frame's last symbol: mapped time = start + airtime + fastest latency.
        const err = Number(f.timestampUs - truth.timestampUs) - airtimeUs(psdu.length);
        if (clock.now() > warmupMs) worst = Math.max(worst, Math.abs(err));
      }
      expect(count).toBeGreaterThan(5000);
      expect(b.driver.stats).toMatchObject({ frames: count, lineErrors: 0, clampedTimestamps: 0 });
      expect(b.driver.stats.counterWraps).toBeGreaterThanOrEqual(2);
      expect(worst).toBeLessThan(1000);
      expect(b.driver.clockDriftPpm).toBeCloseTo(ppm, 0);
    });
  }
});
