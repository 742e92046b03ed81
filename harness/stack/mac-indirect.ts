// The parent's indirect transmission queue: frames for children whose receiver is off wait
// here until the child polls with a MAC Data Request, or expire after
// macTransactionPersistenceTime. @spec IEEE 802.15.4-2006 §7.5.6.3; protocol.md §1.2 (7680 ms)
import type { Clock } from '../sim/clock.ts';
import type { Eui64 } from '../zigbee/codec.ts';
import type { MacOut, MacTxStatus } from './mac.ts';

interface Entry {
  child: Eui64;
  out: MacOut;
  cancelExpiry: () => void;
  done: (status: MacTxStatus) => void;
}

export class IndirectQueue {
  private readonly entries: Entry[] = [];

  constructor(private readonly clock: Clock, private readonly persistenceMs: number) {}

  add(child: Eui64, out: MacOut): Promise<MacTxStatus> {
    return new Promise((resolve) => {
      const e: Entry = { child, out, cancelExpiry: () => {}, done: resolve };
      e.cancelExpiry = this.clock.setTimer(this.persistenceMs, () => {
        const i = this.entries.indexOf(e);
        if (i >= 0) this.entries.splice(i, 1);
        resolve('expired');
      });
      this.entries.push(e);
    });
  }

  count(child: Eui64): number {
    let n = 0;
    for (const e of this.entries) if (e.child === child) n++;
    return n;
  }

  /** The oldest frame for `child`, removed from the queue; call `done` with its transmission result. */
  take(child: Eui64): { out: MacOut; done: (status: MacTxStatus) => void } | undefined {
    const i = this.entries.findIndex((e) => e.child === child);
    if (i < 0) return undefined;
    const [e] = this.entries.splice(i, 1);
    e.cancelExpiry();
    return { out: e.out, done: e.done };
  }

  clear(): void {
    for (const e of this.entries.splice(0)) {
      e.cancelExpiry();
      e.done('stopped');
    }
  }
}
