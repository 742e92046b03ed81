// Clocks. Suites and the stack never call setTimeout directly: they get a Clock, so the same code
// waits hours of keep-alive in milliseconds on the simulated rig and in real time on a bench.

export interface Clock {
  /** Milliseconds since the clock's epoch (the run's start). */
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** Wall-clock time through the platform timers. */
export class RealClock implements Clock {
  private readonly start = performance.now();
  now(): number {
    return performance.now() - this.start;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  }
}

interface TimerEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Yields to the host event loop once, after every queued microtask has run. */
const yieldToHost: () => Promise<void> =
  typeof setImmediate === 'function' ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

/**
 * Discrete-event virtual time. Time advances only when everything scheduled for the current
 * instant has run (every node is idle); then it jumps to the next timer. Timers at the same
 * instant fire in the order they were set. "Idle" means no microtask is queued and no timer is
 * due now: simulated nodes wait only through this clock (and the air, which uses it), never
 * through host timers or setImmediate, which virtual time cannot see.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: TimerEvent[] = [];
  private pumping = false;
  /** Number of timers fired so far (progress reporting, tests). */
  fired = 0;

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => { this.setTimer(ms, resolve); });
  }

  setTimer(ms: number, fn: () => void): () => void {
    if (!Number.isFinite(ms)) throw new RangeError(`timer delay must be finite, got ${ms}`);
    const ev: TimerEvent = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    push(this.heap, ev);
    this.pump();
    return () => { ev.cancelled = true; };
  }

  /** Pending (uncancelled) timers. */
  get pending(): number {
    return this.heap.filter((e) => !e.cancelled).length;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        await yieldToHost(); // let every node finish what the last event started
        const ev = pop(this.heap);
        if (!ev) return;
        if (ev.cancelled) continue;
        this.t = ev.at;
        this.fired++;
        ev.fn();
      }
    } finally {
      this.pumping = false;
    }
  }
}

/**
 * Virtual time paced by the wall clock, for simulated nodes that talk to real processes (the
 * firmware emulators behind PTYs). Like VirtualClock, timers fire strictly in (due time, order
 * set) order, each at its own instant, after the work the previous one started has settled; unlike
 * it, time never runs ahead of the wall clock: the loop sleeps until a timer is due. When the
 * host falls behind, overdue timers still fire in due order — with plain setTimeout, a MAC ack
 * due 0.5 ms after a frame and the 0.86 ms ack-wait timeout both land in the same 1 ms timer
 * tick and fire in the order they were set, so every frame was retransmitted and a response
 * could arrive while its requester was still retrying. Between bursts (nothing due) now()
 * follows the wall clock, so events from outside (a serial command) are stamped when they come.
 */
export class PacedClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: TimerEvent[] = [];
  private readonly start = performance.now();
  /** True while due timers (and the work they start) run: now() stays at the instant being run. */
  private firing = false;
  private looping = false;
  private wake: { at: number; resolve: () => void } | undefined;

  private wall(): number {
    return performance.now() - this.start;
  }

  now(): number {
    if (!this.firing) this.t = Math.max(this.t, this.wall());
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => { this.setTimer(ms, resolve); });
  }

  setTimer(ms: number, fn: () => void): () => void {
    if (!Number.isFinite(ms)) throw new RangeError(`timer delay must be finite, got ${ms}`);
    const ev: TimerEvent = { at: this.now() + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    push(this.heap, ev);
    if (this.wake !== undefined && ev.at < this.wake.at) this.wake.resolve(); // sleeping past it: wake early
    if (!this.looping) {
      this.looping = true;
      void this.loop();
    }
    return () => {
      ev.cancelled = true;
      this.wake?.resolve(); // re-plan: no host timer may outlive the last live one (a process must be able to exit)
    };
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        await yieldToHost(); // the work the last timer started settles at its instant
        while (this.heap.length > 0 && this.heap[0].cancelled) pop(this.heap);
        const next = this.heap[0];
        if (next === undefined) return;
        const wait = next.at - this.wall();
        if (wait > 0) {
          this.firing = false;
          await new Promise<void>((resolve) => {
            const handle = setTimeout(resolve, wait);
            this.wake = { at: next.at, resolve: () => { clearTimeout(handle); resolve(); } };
          });
          this.wake = undefined;
          continue;
        }
        pop(this.heap);
        this.firing = true;
        this.t = Math.max(this.t, next.at);
        next.fn();
      }
    } finally {
      this.firing = false;
      this.looping = false;
    }
  }
}

// Binary min-heap on (at, seq).
function less(a: TimerEvent, b: TimerEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
function push(h: TimerEvent[], e: TimerEvent): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(h[i], h[p])) break;
    [h[i], h[p]] = [h[p], h[i]];
    i = p;
  }
}
function pop(h: TimerEvent[]): TimerEvent | undefined {
  if (h.length === 0) return undefined;
  const top = h[0];
  const last = h.pop()!;
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && less(h[l], h[m])) m = l;
      if (r < h.length && less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
  return top;
}
