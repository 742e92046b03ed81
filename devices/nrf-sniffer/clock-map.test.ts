import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../harness/sim/air.ts';
import { SnifferClockMap } from './clock-map.ts';

/**
 * An emulated sniffer: true event times T (µs on the host clock), a device counter that started
 * at `start` and runs fast or slow by `ppm`, truncated to 32 bits, and a host arrival after a
 * latency of 0.1–6 ms (mostly small, sometimes large, as USB CDC delivers).
 */
function simulate(opts: { hours: number; ppm: number; start: bigint; framesPerMin: number; seed: number; warmupS: number }) {
  const rnd = seededRandom(opts.seed);
  const map = new SnifferClockMap({ counterBits: 32 });
  let worst = 0;
  let t = 5_000_000;
  const end = opts.hours * 3600e6;
  let count = 0;
  while (t < end) {
    t += (60e6 / opts.framesPerMin) * (0.5 + rnd());
    const deviceTrue = opts.start + BigInt(Math.round(t * (1 + opts.ppm * 1e-6)));
    const raw = deviceTrue & 0xffffffffn;
    const latency = 100 + (rnd() < 0.8 ? rnd() * 900 : rnd() * 6000);
    const dev = map.unwrap(raw);
    map.observe(dev, t + latency);
    const err = Math.abs(map.toHostUs(dev) - t);
    if (t > opts.warmupS * 1e6) worst = Math.max(worst, err); // the drift fit needs a span to see 50 ppm
    count++;
  }
  return { worst, wraps: map.wraps, drift: map.driftPpm, count };
}

describe('nRF sniffer timestamp mapping', () => {
  // A Zigbee network's routers send Link Status every 15 s, so 30 frames a minute is a quiet network.
  for (const ppm of [50, -50]) {
    it(`unwraps the 32-bit counter and stays within 1 ms of the truth over 3 h at ${ppm > 0 ? '+' : ''}${ppm} ppm`, () => {
      for (const seed of [1, 2, 3]) {
        const r = simulate({ hours: 3, ppm, start: 0xfff00000n, framesPerMin: 30, seed, warmupS: 120 });
        expect(r.wraps).toBeGreaterThanOrEqual(2);
        expect(r.worst).toBeLessThan(1000);
        expect(r.drift).toBeCloseTo(-ppm, 0);
      }
    });
  }
  it('stays within 2 ms with sparse traffic (one frame a minute) once it has seen 10 minutes', () => {
    const r = simulate({ hours: 3, ppm: -50, start: 123n, framesPerMin: 1, seed: 2, warmupS: 600 });
    expect(r.worst).toBeLessThan(2000);
  });
  it('drifts by 540 ms over 3 h without the fit (the error it exists to remove)', () => {
    const map = new SnifferClockMap({ counterBits: 64, fitWindows: 1 });
    map.observe(0n, 0);
    expect(Math.abs(map.toHostUs(BigInt(Math.round(3 * 3600e6 * (1 + 50e-6)))) - 3 * 3600e6)).toBeGreaterThan(500_000);
  });
  it('refuses to map before the first frame', () => {
    expect(() => new SnifferClockMap({ counterBits: 64 }).toHostUs(1n)).toThrow(/no frame observed/);
  });
});
