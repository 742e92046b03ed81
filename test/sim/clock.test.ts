import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../../harness/sim/clock.ts';

describe('VirtualClock', () => {
  it('runs hours of timers in milliseconds, in time order, FIFO at equal instants', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    const wall = performance.now();
    await Promise.all([
      clock.sleep(3 * 3600_000).then(() => log.push(`c@${clock.now()}`)),
      clock.sleep(60_000).then(() => log.push(`a@${clock.now()}`)),
      clock.sleep(60_000).then(() => log.push(`b@${clock.now()}`)),
    ]);
    expect(log).toEqual(['a@60000', 'b@60000', 'c@10800000']);
    expect(performance.now() - wall).toBeLessThan(5_000);
  });
  it('lets work triggered at an instant finish before time advances (nodes idle)', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const node = async () => {
      await clock.sleep(10);
      // a chain of microtasks and zero-delay timers: all at t = 10
      for (let i = 0; i < 50; i++) await Promise.resolve();
      await clock.sleep(0);
      await clock.sleep(0);
      seen.push(clock.now());
    };
    await Promise.all([node(), clock.sleep(11).then(() => seen.push(clock.now()))]);
    expect(seen).toEqual([10, 11]);
  });
  it('cancels timers and refuses a non-finite delay', async () => {
    const clock = new VirtualClock();
    let fired = false;
    const cancel = clock.setTimer(5, () => { fired = true; });
    cancel();
    await clock.sleep(10);
    expect(fired).toBe(false);
    expect(() => clock.setTimer(Infinity, () => {})).toThrow(RangeError);
  });
});

describe('RealClock', () => {
  it('advances with wall time', async () => {
    const clock = new RealClock();
    const t0 = clock.now();
    await clock.sleep(20);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(15);
  });
});
