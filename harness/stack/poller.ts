// Polling of a sleepy (rx-off-when-idle) end device: a MAC Data Request to the parent every
// long-poll interval, and every fast-poll interval for a while after the device sent something
// (it expects an answer, which waits in the parent's indirect queue). Both intervals are below
// macTransactionPersistenceTime (7.68 s), so nothing queued for the device expires unheard.
// @spec IEEE 802.15.4-2006 §7.5.6.3; Zigbee 05-3474 §3.6.2.4 (end device polling)
import type { NetState, NodeContext } from './context.ts';
import type { Mac } from './mac.ts';

export const FAST_POLL_MS = 250;
/** How long a sleepy device keeps polling fast after it sent a frame. */
export const FAST_POLL_WINDOW_MS = 3_000;

export class Poller {
  private fastUntil = -1;
  private cancel: () => void = () => {};
  private armed = false;
  private stopped = false;
  private polling = false;

  constructor(
    private readonly ctx: NodeContext,
    private readonly mac: Mac,
    private readonly net: NetState,
    private readonly slowMs: number,
  ) {
    if (!(slowMs > 0)) throw new RangeError(`"pollIntervalMs" expected > 0, got ${slowMs}`);
  }

  /**
   * Poll at the fast rate for `ms` from now (also how polling starts: the node calls this when
   * it sends, the joiner when it has associated). Polling stops by itself off the network.
   */
  fast(ms = FAST_POLL_WINDOW_MS): void {
    const now = this.ctx.clock.now();
    const wasSlow = now >= this.fastUntil;
    this.fastUntil = Math.max(this.fastUntil, now + ms);
    if (wasSlow || !this.armed) this.schedule();
  }

  /** The last frame said more is pending: ask again at once. */
  pollNow(): void {
    if (this.stopped) return;
    this.cancel();
    this.armed = true;
    this.cancel = this.ctx.clock.setTimer(0, () => this.tick());
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel();
    const ms = this.ctx.clock.now() < this.fastUntil ? FAST_POLL_MS : this.slowMs;
    this.armed = true;
    this.cancel = this.ctx.clock.setTimer(ms, () => this.tick());
  }

  private tick(): void {
    this.armed = false;
    if (this.stopped) return;
    const parent = this.net.parentShort;
    if (!this.net.onNetwork || parent === undefined) return;
    if (!this.polling) {
      this.polling = true;
      void this.mac.poll(parent, this.net.short === 0xffff ? 'ext' : 'short').finally(() => {
        this.polling = false;
      });
    }
    this.schedule();
  }
}
