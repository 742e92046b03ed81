// Maps the nRF sniffer's microsecond timestamps onto the run's clock.
//
// The firmware stamps each frame with its own µs counter: 64-bit on NCS firmware, 32-bit (wraps
// every 2^32 µs ≈ 71.6 min) on older builds (radios.md §1.3). Its crystal also drifts from the
// host's (±50 ppm is 180 ms an hour), and a frame reaches the host after a variable USB/serial
// latency that is never negative. So: unwrap the counter, then fit host ≈ device + offset(device)
// on the *lower envelope* of (host − device) — the frames that arrived fastest — per window, and
// refit as windows accumulate, which follows the drift (re-anchoring) without chasing latency.

const WRAP_32 = 2n ** 32n;
/** Largest drift the fit believes: twice the ±50 ppm of the nRF52840's 32 MHz crystal spec. */
const MAX_DRIFT = 100e-6;

export interface ClockMapOptions {
  /** Width of the device counter (32 on pre-NCS firmware, 64 on NCS firmware). */
  counterBits: 32 | 64;
  /** Length of one envelope window in device µs (default 10 s: 0.5 ms of drift at 50 ppm). */
  windowUs?: number;
  /** How many recent windows the drift fit uses (default 180: the last half hour). */
  fitWindows?: number;
}

interface EnvelopePoint {
  /** Device time (unwrapped µs) of the fastest frame in the window. */
  device: number;
  /** host − device for that frame (µs). */
  offset: number;
}

export class SnifferClockMap {
  private readonly bits: 32 | 64;
  private readonly windowUs: number;
  private readonly fitWindows: number;
  private lastRaw: bigint | null = null;
  private epochs = 0n;
  private readonly windows: EnvelopePoint[] = [];
  /** Current fit: offset(d) = a + b·(d − ref). */
  private a = 0;
  private b = 0;
  private ref = 0;
  private fitted = false;
  /** Wraps seen so far (reported in capture notes). */
  wraps = 0;

  constructor(opts: ClockMapOptions) {
    this.bits = opts.counterBits;
    this.windowUs = opts.windowUs ?? 10_000_000;
    this.fitWindows = opts.fitWindows ?? 180;
  }

  /**
   * Extends a raw counter value to a monotonic 64-bit device time. A 32-bit counter that goes
   * backwards wrapped (frames arrive in order on one serial line).
   */
  unwrap(raw: bigint): bigint {
    if (this.bits === 64) return raw;
    const v = raw & (WRAP_32 - 1n);
    if (this.lastRaw !== null && v < this.lastRaw) {
      this.epochs++;
      this.wraps++;
    }
    this.lastRaw = v;
    return this.epochs * WRAP_32 + v;
  }

  /** Records a frame's unwrapped device time and its host arrival time (µs on the run's clock). */
  observe(deviceUs: bigint, hostUs: number): void {
    const device = Number(deviceUs);
    const offset = hostUs - device;
    const w = Math.floor(device / this.windowUs);
    const last = this.windows[this.windows.length - 1];
    if (last && Math.floor(last.device / this.windowUs) === w) {
      if (offset < last.offset) { last.device = device; last.offset = offset; this.refit(); }
      return;
    }
    this.windows.push({ device, offset });
    if (this.windows.length > this.fitWindows) this.windows.shift();
    this.refit();
  }

  /** Device time → run-clock µs. Before any observation there is nothing to map against. */
  toHostUs(deviceUs: bigint): number {
    if (!this.fitted) throw new Error('sniffer clock map: no frame observed yet');
    const d = Number(deviceUs);
    return d + this.a + this.b * (d - this.ref);
  }

  /** The drift the fit currently sees, in ppm (host relative to device). */
  get driftPpm(): number {
    return this.b * 1e6;
  }

  private refit(): void {
    const pts = this.windows;
    // The newest window is still filling (its minimum can only fall), so the drift fit uses the
    // closed ones once there are enough; a new capture is usable from its first frame.
    let use = pts.length >= 2 ? pts.slice(0, -1) : pts;
    this.ref = use[use.length - 1].device;
    if (use.length < 2) {
      this.a = use[0].offset;
      this.b = 0;
      this.fitted = true;
      return;
    }
    // Lower envelope: fit, keep the points on or below the line, refit. Latency only ever adds,
    // so the fastest frames carry the clock relation and the slow ones are noise above it.
    for (let round = 0; round < 4; round++) {
      this.fitLine(use);
      const below = use.filter((p) => p.offset - (this.a + this.b * (p.device - this.ref)) <= 0);
      if (below.length < Math.max(3, use.length >> 2) || below.length === use.length) break;
      use = below;
    }
    this.fitted = true;
  }

  private fitLine(points: EnvelopePoint[]): void {
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    const n = points.length;
    for (const p of points) {
      const x = p.device - this.ref;
      sx += x; sy += p.offset; sxx += x * x; sxy += x * p.offset;
    }
    const den = n * sxx - sx * sx;
    const slope = den === 0 ? 0 : (n * sxy - sx * sy) / den;
    // Crystals are specified to ±40..50 ppm; a steeper fit is latency noise over a short span.
    this.b = Math.max(-MAX_DRIFT, Math.min(MAX_DRIFT, slope));
    this.a = (sy - this.b * sx) / n;
  }
}
