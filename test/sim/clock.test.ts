import { describe, expect, it } from 'vitest';
import { PacedClock, RealClock, VirtualClock } from '../../harness/sim/clock.ts';

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

describe('PacedClock', () => {
  /** Holds the host thread, as a loaded machine does between two timer ticks. */
  const busy = (ms: number) => { const end = performance.now() + ms; while (performance.now() < end) { /* the host falls behind */ } };

  it('fires overdue timers in due order, not in the order they were set (an ack before its ack-wait timeout)', async () => {
    const clock = new PacedClock();
    const fired: string[] = [];
    const t0 = clock.now();
    clock.setTimer(0.864, () => fired.push('ack-wait timeout'));
    clock.setTimer(0.544, () => fired.push('ack'));
    busy(10);
    await clock.sleep(5);
    expect(fired).toEqual(['ack', 'ack-wait timeout']);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(5);
  });

  it('runs each timer at its own instant: work a late timer starts is timed from that instant, not from the wall clock', async () => {
    const clock = new PacedClock();
    const seen: Array<[string, number]> = [];
    const t0 = clock.now();
    clock.setTimer(1, () => {
      seen.push(['frame end', clock.now() - t0]);
      busy(20); // the receiver is slow to react…
      clock.setTimer(0.5, () => seen.push(['ack', clock.now() - t0])); // …but its ack is due 0.5 ms after the frame
    });
    clock.setTimer(1.864, () => seen.push(['ack-wait timeout', clock.now() - t0]));
    await clock.sleep(30);
    expect(seen.map(([what]) => what)).toEqual(['frame end', 'ack', 'ack-wait timeout']);
    expect(seen[0][1]).toBeGreaterThanOrEqual(1);
    expect(seen[1][1] - seen[0][1]).toBeCloseTo(0.5, 6); // 20 ms of wall time went by in between
  });

  it('never runs ahead of the wall clock, wakes early for a nearer timer, and cancels', async () => {
    const clock = new PacedClock();
    const fired: string[] = [];
    const w0 = performance.now();
    clock.setTimer(300, () => fired.push('far'));
    clock.setTimer(5, () => fired.push('cancelled'))();
    await new Promise((r) => setTimeout(r, 2));
    clock.setTimer(20, () => fired.push('near')); // set while the loop sleeps towards 300 ms
    await clock.sleep(40);
    expect(fired).toEqual(['near']);
    expect(performance.now() - w0).toBeGreaterThanOrEqual(35);
    await clock.sleep(300);
    expect(fired).toEqual(['near', 'far']);
    expect(() => clock.setTimer(Number.NaN, () => {})).toThrow(RangeError);
  });

  it('leaves no host timer behind once every timer is cancelled (the process can exit)', async () => {
    const clock = new PacedClock();
    const cancel = clock.setTimer(60_000, () => {});
    await new Promise((r) => setTimeout(r, 5)); // the loop now sleeps towards the 60 s timer
    const handles = () => (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((h) => h === 'Timeout').length;
    const before = handles();
    cancel();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(handles()).toBe(before - 1);
  });
});
