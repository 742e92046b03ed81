// Events inside a node and the waits on them. A wait is registered before the request it
// waits for is sent (the "waitress" of zigbee-herdsman), so an answer can never race past it,
// and every wait has a deadline on the node's clock — never a host timer.
import type { Clock } from '../sim/clock.ts';

export class Signal<T> {
  private readonly listeners: ((v: T) => void)[] = [];

  emit(v: T): void {
    if (this.listeners.length === 0) return;
    for (const l of this.listeners.slice()) l(v);
  }

  /** Calls `fn` for every value until the returned function is called. */
  on(fn: (v: T) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * The first value for which `match` returns something other than undefined, within `ms` of
   * `clock`; resolves undefined at the deadline. Register it before sending the request.
   */
  wait<R>(clock: Clock, ms: number, match: (v: T) => R | undefined): Pending<R> {
    let off: () => void = () => {};
    let cancelTimer: () => void = () => {};
    let settle: (r: R | undefined) => void = () => {};
    const promise = new Promise<R | undefined>((resolve) => {
      let done = false;
      settle = (r) => {
        if (done) return;
        done = true;
        off();
        cancelTimer();
        resolve(r);
      };
      off = this.on((v) => {
        const r = match(v);
        if (r !== undefined) settle(r);
      });
      cancelTimer = clock.setTimer(Math.max(0, ms), () => settle(undefined));
    });
    return { promise, cancel: () => settle(undefined) };
  }
}

export interface Pending<R> {
  promise: Promise<R | undefined>;
  /** Ends the wait now (resolves undefined). */
  cancel(): void;
}

/** A deadline shared by the steps of one procedure (join, rejoin): each step waits at most what is left. */
export class Deadline {
  readonly at: number;
  constructor(private readonly clock: Clock, ms: number) {
    this.at = clock.now() + ms;
  }
  get left(): number {
    return Math.max(0, this.at - this.clock.now());
  }
  get passed(): boolean {
    return this.clock.now() >= this.at;
  }
  /** min(ms, time left). */
  cap(ms: number): number {
    return Math.min(ms, this.left);
  }
}
