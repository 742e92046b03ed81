import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/sim/clock.ts';
import { VirtualAir, airtimeUs, seededRandom, type AirFrame } from '../../harness/sim/air.ts';

const frame = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

describe('VirtualAir', () => {
  it('delivers to other radios on the same channel after the airtime, not to the sender or other channels', async () => {
    const clock = new VirtualClock();
    const air = new VirtualAir(clock);
    const got: Record<string, AirFrame[]> = { a: [], b: [], c: [], s: [] };
    const a = air.attach('a', 15, (f) => got.a.push(f));
    air.attach('b', 15, (f) => got.b.push(f));
    air.attach('c', 20, (f) => got.c.push(f));
    air.sniff(15, (f) => got.s.push(f));
    await clock.sleep(1);
    await a.transmit(frame(20));
    await clock.sleep(1);
    expect(got.a).toHaveLength(0);
    expect(got.c).toHaveLength(0);
    expect(got.b).toHaveLength(1);
    expect(got.s).toHaveLength(1);
    expect(got.b[0]).toMatchObject({ channel: 15, sender: 'a', timestampUs: 1000n });
    expect(clock.now()).toBeCloseTo(1 + airtimeUs(20) / 1000 + 1, 6);
  });
  it('drops and corrupts per receiver with a seeded source, and sniffers still hear the air as sent', async () => {
    const clock = new VirtualClock();
    const air = new VirtualAir(clock, { loss: 0.3, corruption: 0.3, random: seededRandom(7) });
    const rx: AirFrame[] = [];
    const sniffed: AirFrame[] = [];
    const tx = air.attach('tx', 11, () => {});
    air.attach('rx', 11, (f) => rx.push(f));
    air.sniff(11, (f) => sniffed.push(f));
    for (let i = 0; i < 200; i++) await tx.transmit(frame(30));
    await clock.sleep(10);
    expect(sniffed).toHaveLength(200);
    expect(rx.length).toBeGreaterThan(100);
    expect(rx.length).toBeLessThan(180);
    const corrupted = rx.filter((f) => f.psdu.some((b, i) => b !== i)).length;
    expect(corrupted).toBeGreaterThan(20);
  });
  it('refuses impossible frames and channels', async () => {
    const air = new VirtualAir(new VirtualClock());
    expect(() => air.attach('x', 27, () => {})).toThrow(/channel must be 11..26/);
    const r = air.attach('x', 11, () => {});
    await expect(r.transmit(frame(128))).rejects.toThrow(/3..127 bytes/);
  });
});
