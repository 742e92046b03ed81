// The virtual air: an in-process 2.4 GHz medium. Radios attached to a channel hear every frame
// another radio on that channel transmits, after the frame's airtime; sniffers hear everything
// on their channel. Optional faults (loss, extra delay, corruption) apply per receiver.
import type { Clock } from './clock.ts';

/** A frame as heard on the air. `psdu` includes the 2-byte FCS, as a radio delivers it. */
export interface AirFrame {
  psdu: Uint8Array;
  channel: number;
  /** Start of the frame on the air, µs since the clock's epoch. */
  timestampUs: bigint;
  sender: string;
  rssi: number;
  lqi: number;
}

export interface AirFaults {
  /** Probability that a receiver misses a frame (0..1). */
  loss?: number;
  /** Probability that a receiver gets the frame with one bit flipped (its FCS then fails). */
  corruption?: number;
  /** Extra delivery delay in ms, added to the airtime. */
  delayMs?: number;
  /** Uniform [0,1) source; give a seeded one for reproducible fault runs. */
  random?: () => number;
}

export interface Radio {
  readonly name: string;
  channel: number;
  /** Puts `psdu` (with FCS) on the air; resolves when the last symbol has left the antenna. */
  transmit(psdu: Uint8Array): Promise<void>;
  detach(): void;
}

/** O-QPSK 2.4 GHz: 250 kbit/s = 32 µs per octet; 6 octets of SHR + PHR precede the PSDU. @spec IEEE 802.15.4-2006 §6.5 */
export function airtimeUs(psduLength: number): number {
  return (psduLength + 6) * 32;
}

/** A sniffer's handle on the air. */
export interface AirSniff {
  setChannel(c: number): void;
  detach(): void;
}

/** What nodes and sniffers need of an air: VirtualAir in process, ZmqAir across processes. */
export interface Air {
  /** Attaches a node's radio. `onFrame` gets frames sent by other radios on the same channel. */
  attach(name: string, channel: number, onFrame: (f: AirFrame) => void): Radio;
  /** A sniffer: hears every frame on `channel`, fault-free. */
  sniff(channel: number, onFrame: (f: AirFrame) => void, name?: string): AirSniff;
}

type Listener = { name: string; channel: number; onFrame: (f: AirFrame) => void; sniffer: boolean; attached: boolean };

export class VirtualAir implements Air {
  private readonly listeners = new Set<Listener>();
  /** Listeners per channel, nodes before sniffers (delivery order); rebuilt after any attach, detach or retune. */
  private byChannel: Map<number, readonly Listener[]> | undefined;
  private readonly faults: Required<Omit<AirFaults, 'random'>> & { random: () => number };
  /** Frames put on the air, per channel (for progress and scale reports). */
  readonly transmitted = new Map<number, number>();

  constructor(readonly clock: Clock, faults: AirFaults = {}) {
    this.faults = { loss: faults.loss ?? 0, corruption: faults.corruption ?? 0, delayMs: faults.delayMs ?? 0, random: faults.random ?? Math.random };
  }

  /** Attaches a node's radio. `onFrame` gets frames sent by other radios on the same channel. */
  attach(name: string, channel: number, onFrame: (f: AirFrame) => void): Radio {
    checkChannel(channel);
    const l: Listener = { name, channel, onFrame, sniffer: false, attached: true };
    this.add(l);
    const retune = (c: number) => this.retune(l, c);
    return {
      name,
      get channel() { return l.channel; },
      set channel(c: number) { checkChannel(c); retune(c); },
      transmit: (psdu) => this.transmit(l, psdu),
      detach: () => this.remove(l),
    };
  }

  /** A sniffer: hears every frame on `channel` (its own channel setting can change later). Returns detach. */
  sniff(channel: number, onFrame: (f: AirFrame) => void, name = 'sniffer'): AirSniff {
    checkChannel(channel);
    const l: Listener = { name, channel, onFrame, sniffer: true, attached: true };
    this.add(l);
    return { setChannel: (c) => { checkChannel(c); this.retune(l, c); }, detach: () => this.remove(l) };
  }

  private add(l: Listener): void {
    this.listeners.add(l);
    this.byChannel = undefined;
  }

  private remove(l: Listener): void {
    l.attached = false;
    this.listeners.delete(l);
    this.byChannel = undefined;
  }

  private retune(l: Listener, c: number): void {
    if (l.channel === c) return;
    l.channel = c;
    this.byChannel = undefined;
  }

  /** The listeners on `channel` now (an array never changed once built: a transmission may hold it). */
  private onChannel(channel: number): readonly Listener[] {
    if (!this.byChannel) {
      const m = new Map<number, Listener[]>();
      for (const sniffers of [false, true]) {
        for (const l of this.listeners) {
          if (l.sniffer !== sniffers) continue;
          let a = m.get(l.channel);
          if (!a) m.set(l.channel, (a = []));
          a.push(l);
        }
      }
      this.byChannel = m;
    }
    return this.byChannel.get(channel) ?? [];
  }

  private async transmit(from: Listener, psdu: Uint8Array): Promise<void> {
    if (psdu.length < 3 || psdu.length > 127) throw new RangeError(`${from.name}: PSDU must be 3..127 bytes (aMaxPHYPacketSize), got ${psdu.length}`);
    const channel = from.channel;
    const start = this.clock.now();
    const airMs = airtimeUs(psdu.length) / 1000;
    this.transmitted.set(channel, (this.transmitted.get(channel) ?? 0) + 1);
    const frame: AirFrame = { psdu: psdu.slice(), channel, timestampUs: BigInt(Math.round(start * 1000)), sender: from.name, rssi: -40, lqi: 255 };
    const f = this.faults;
    if (f.loss === 0 && f.corruption === 0 && f.delayMs === 0) {
      // Fault-free: one timer, and the channel's listener array as it is now — no per-listener
      // allocation (a thousand nodes hear every frame of a scale run).
      const targets = this.onChannel(channel);
      if (targets.length > 1 || (targets.length === 1 && targets[0] !== from)) {
        this.clock.setTimer(airMs, () => {
          for (const l of targets) if (l !== from && l.attached && l.channel === channel) l.onFrame(frame);
        });
      }
      await this.clock.sleep(airMs);
      return;
    }
    // One timer per delivery delay (sniffers: airtime; nodes: airtime + fault delay), not one per
    // listener: with a thousand nodes on a channel, per-listener timers dominate a run.
    const toSniffers: [Listener, AirFrame][] = [];
    const toNodes: [Listener, AirFrame][] = [];
    for (const l of this.listeners) {
      if (l === from || l.channel !== channel) continue;
      if (l.sniffer) { toSniffers.push([l, frame]); continue; }
      // Sniffers see the air as it is; faults model what a receiving node misses.
      if (this.faults.loss > 0 && this.faults.random() < this.faults.loss) continue;
      let delivered = frame;
      if (this.faults.corruption > 0 && this.faults.random() < this.faults.corruption) {
        const bad = frame.psdu.slice();
        const bit = Math.floor(this.faults.random() * bad.length * 8);
        bad[bit >> 3] ^= 1 << (bit & 7);
        delivered = { ...frame, psdu: bad };
      }
      toNodes.push([l, delivered]);
    }
    const deliver = (batch: [Listener, AirFrame][]) => () => {
      for (const [l, f] of batch) if (this.listeners.has(l) && l.channel === channel) l.onFrame(f);
    };
    if (this.faults.delayMs === 0) {
      const all = toNodes.concat(toSniffers);
      if (all.length) this.clock.setTimer(airMs, deliver(all));
    } else {
      if (toSniffers.length) this.clock.setTimer(airMs, deliver(toSniffers));
      if (toNodes.length) this.clock.setTimer(airMs + this.faults.delayMs, deliver(toNodes));
    }
    await this.clock.sleep(airMs);
  }
}

function checkChannel(c: number): void {
  if (!Number.isInteger(c) || c < 11 || c > 26) throw new RangeError(`channel must be 11..26 (2.4 GHz O-QPSK), got ${c}`);
}

/** A small seeded PRNG (mulberry32) for reproducible fault injection. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
