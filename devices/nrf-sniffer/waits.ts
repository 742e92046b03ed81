// Small waiting tools for serial drivers: a deadline around any promise, a reply correlator
// registered before the request is sent (herdsman's "waitress", so the answer cannot race past
// it), and the frame queue behind `frames()`. Deadlines run on the clock they are given.
import type { Clock } from '../../harness/sim/clock.ts';

/** Resolves or rejects with `p`, or rejects with `onTimeout()` after `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, timers: Clock, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = timers.setTimer(ms, () => { if (!settled) { settled = true; reject(onTimeout()); } });
    p.then(
      (v) => { if (!settled) { settled = true; cancel(); resolve(v); } },
      (e: unknown) => { if (!settled) { settled = true; cancel(); reject(e); } },
    );
  });
}

interface Waiter {
  match(line: string): boolean;
  resolve(line: string): void;
  reject(e: Error): void;
}

export interface PendingReply {
  /** Settles with the first matching line, the deadline error, or whatever `failAll` is given. */
  readonly promise: Promise<string>;
  /** Withdraws the waiter (e.g. the request could not be sent). */
  cancel(): void;
}

/** Lines that someone is waiting for; every waiter has a deadline. */
export class ReplyWaiters {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly timers: Clock) {}

  expect(match: (line: string) => boolean, ms: number, onTimeout: () => Error): PendingReply {
    let waiter!: Waiter;
    let cancelTimer = () => {};
    const promise = new Promise<string>((resolve, reject) => {
      waiter = {
        match,
        resolve: (l) => { cancelTimer(); this.waiters.delete(waiter); resolve(l); },
        reject: (e) => { cancelTimer(); this.waiters.delete(waiter); reject(e); },
      };
    });
    // Observed here so a rejection that lands before the caller awaits is never "unhandled";
    // the caller's own await still sees it.
    promise.catch(() => {});
    this.waiters.add(waiter);
    cancelTimer = this.timers.setTimer(ms, () => waiter.reject(onTimeout()));
    return { promise, cancel: () => { cancelTimer(); this.waiters.delete(waiter); } };
  }

  /** Offers a line; true when a waiter took it. */
  offer(line: string): boolean {
    for (const w of this.waiters) {
      if (w.match(line)) { w.resolve(line); return true; }
    }
    return false;
  }

  failAll(e: Error): void {
    for (const w of [...this.waiters]) w.reject(e);
  }
}

/** An unbounded single-consumer queue that ends normally or with an error after its items. */
export class FrameQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private next: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private endedWith: { error: Error | null } | null = null;

  get ended(): boolean {
    return this.endedWith !== null;
  }

  push(item: T): void {
    if (this.endedWith) return;
    if (this.next) { const n = this.next; this.next = null; n.resolve({ value: item, done: false }); return; }
    this.items.push(item);
  }

  end(error: Error | null = null): void {
    if (this.endedWith) return;
    this.endedWith = { error };
    if (this.next && this.items.length === 0) {
      const n = this.next;
      this.next = null;
      if (error) n.reject(error); else n.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.endedWith) {
          return this.endedWith.error ? Promise.reject(this.endedWith.error) : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise<IteratorResult<T>>((resolve, reject) => { this.next = { resolve, reject }; });
      },
      // A consumer that breaks out of `for await` stops reading; the capture itself goes on.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
