// The virtual air across processes, over real ZeroMQ sockets: a broker that owns the medium and
// clients (ZmqAir) that give nodes and sniffers the same attach()/sniff() as VirtualAir.
//
// Socket shape: the broker binds one ROUTER; each client connects one DEALER and sends everything
// (radio registration, channel changes, frames, pings) on it. One socket each way rather than
// PUB/SUB per channel because faults are per receiver (a PUB sends the same bytes to every
// subscriber) and only sniffers are fault-free, so the broker must address each radio itself; and
// one ordered pipe per client means a ping answered implies every earlier message was handled.
//
// Time: the broker stamps each frame on receipt with its own clock; that stamp is the one every
// receiver sees, so a sniffer's timestamps are one monotonic timeline whatever the senders' clocks.
// The sender's own (aligned) stamp travels too but is informational. Frames are relayed as soon as
// they arrive: socket latency stands in for the airtime, and the sender's transmit() still takes
// the frame's airtime on its own clock.
import * as zmq from 'zeromq';
import { airtimeUs, type Air, type AirFaults, type AirFrame, type AirSniff, type Radio } from './air.ts';
import { AIR_MAX_MESSAGE, AirWireError, decodeAirMessage, encodeAirMessage, isAirChannel, type AirMessage } from './air-wire.ts';
import { RealClock, type Clock } from './clock.ts';

// -------------------------------------------------------------------------------------------------
// Broker

export interface AirBrokerOptions {
  /** ZeroMQ endpoint to bind, e.g. 'tcp://127.0.0.1:0' (any free port) or 'ipc:///tmp/air.sock'. */
  bind?: string;
  /** Per-receiver faults for node radios; sniffers always hear the air as sent. */
  faults?: AirFaults;
  /** Receipt stamps and fault delays (default: a RealClock started with the broker). */
  clock?: Clock;
}

export interface AirBrokerStats {
  /** Frames received from radios. */
  received: number;
  /** Deliveries sent to radios and sniffers. */
  relayed: number;
  /** Deliveries dropped by the loss fault. */
  lost: number;
  /** Deliveries with a bit flipped by the corruption fault. */
  corrupted: number;
  /** Messages dropped because they did not decode, by AirWireError code (plus 'multipart'). */
  malformed: number;
  malformedByCode: Record<string, number>;
  /** Well-formed messages that made no sense here (frame from an unknown radio, rx sent to the broker …). */
  unexpected: number;
  /** Frames whose per-radio sequence number was not the one after the previous (lost or reordered upstream). */
  seqGaps: number;
  clients: number;
  radios: number;
}

export interface AirBroker {
  /** The bound endpoint, with the actual port when bound to port 0. */
  readonly endpoint: string;
  readonly stats: AirBrokerStats;
  close(): Promise<void>;
}

interface BrokerRadio {
  client: BrokerClient;
  id: number;
  name: string;
  channel: number;
  sniffer: boolean;
  nextSeq: number | undefined;
}
interface BrokerClient {
  key: string;
  routingId: Buffer;
  radios: Map<number, BrokerRadio>;
}

export async function startAirBroker(opts: AirBrokerOptions = {}): Promise<AirBroker> {
  const clock = opts.clock ?? new RealClock();
  const f = opts.faults ?? {};
  const loss = f.loss ?? 0, corruption = f.corruption ?? 0, delayMs = f.delayMs ?? 0, random = f.random ?? Math.random;
  // ZeroMQ refuses (and disconnects the peer for) anything far larger than a message can be, so a
  // runaway peer cannot make the broker buffer megabytes; within that, decode does the judging.
  const sock = new zmq.Router({ linger: 0, maxMessageSize: 4 * AIR_MAX_MESSAGE });
  try {
    await sock.bind(opts.bind ?? 'tcp://127.0.0.1:0');
  } catch (e) {
    sock.close();
    throw new Error(`virtual air broker: cannot bind ${opts.bind ?? 'tcp://127.0.0.1:0'}: ${(e as Error).message}`, { cause: e });
  }
  const endpoint = sock.lastEndpoint ?? opts.bind ?? '';
  const outbox = new Outbox(sock);
  const stats: AirBrokerStats = { received: 0, relayed: 0, lost: 0, corrupted: 0, malformed: 0, malformedByCode: {}, unexpected: 0, seqGaps: 0, clients: 0, radios: 0 };
  const clients = new Map<string, BrokerClient>();
  const byChannel = new Map<number, Set<BrokerRadio>>();
  const timers = new Set<() => void>();
  let lastStampUs = -1n;
  let closed = false;

  const join = (r: BrokerRadio) => {
    let s = byChannel.get(r.channel);
    if (!s) byChannel.set(r.channel, (s = new Set()));
    s.add(r);
  };
  const leave = (r: BrokerRadio) => { byChannel.get(r.channel)?.delete(r); };
  const recount = () => {
    stats.clients = clients.size;
    stats.radios = 0;
    for (const c of clients.values()) stats.radios += c.radios.size;
  };
  const malformed = (code: string) => {
    stats.malformed++;
    stats.malformedByCode[code] = (stats.malformedByCode[code] ?? 0) + 1;
  };
  const send = (to: BrokerRadio, m: AirMessage) => {
    stats.relayed++;
    outbox.push([to.client.routingId, encodeAirMessage(m)]);
  };

  const relay = (from: BrokerRadio, m: Extract<AirMessage, { kind: 'tx' }>) => {
    stats.received++;
    if (from.nextSeq !== undefined && m.seq !== from.nextSeq) stats.seqGaps++;
    from.nextSeq = (m.seq + 1) >>> 0;
    // The broker serialises the air: stamps strictly increase, so a sniffer's timeline is total.
    let stamp = BigInt(Math.round(clock.now() * 1000));
    if (stamp <= lastStampUs) stamp = lastStampUs + 1n;
    lastStampUs = stamp;
    const base = { kind: 'rx' as const, channel: m.channel, timestampUs: stamp, seq: m.seq, sender: m.sender, rssi: -40, lqi: 255 };
    for (const r of byChannel.get(m.channel) ?? []) {
      if (r === from) continue;
      if (r.sniffer) { send(r, { ...base, radio: r.id, psdu: m.psdu }); continue; }
      if (loss > 0 && random() < loss) { stats.lost++; continue; }
      let psdu = m.psdu;
      if (corruption > 0 && random() < corruption) {
        psdu = psdu.slice();
        const bit = Math.floor(random() * psdu.length * 8);
        psdu[bit >> 3] ^= 1 << (bit & 7);
        stats.corrupted++;
      }
      const out: AirMessage = { ...base, radio: r.id, psdu };
      if (delayMs === 0) { send(r, out); continue; }
      const cancel = clock.setTimer(delayMs, () => {
        timers.delete(cancel);
        // Still there and still listening on that channel when the delayed frame lands?
        if (!closed && r.client.radios.get(r.id) === r && r.channel === m.channel) send(r, out);
      });
      timers.add(cancel);
    }
  };

  const handle = (routingId: Buffer, m: AirMessage) => {
    const key = routingId.toString('hex');
    let c = clients.get(key);
    if (m.kind === 'ping') {
      outbox.push([routingId, encodeAirMessage({ kind: 'pong', seq: m.seq, timestampUs: BigInt(Math.round(clock.now() * 1000)) })]);
      return;
    }
    if (m.kind === 'attach') {
      if (!c) clients.set(key, (c = { key, routingId, radios: new Map() }));
      const old = c.radios.get(m.radio);
      if (old) leave(old);
      const r: BrokerRadio = { client: c, id: m.radio, name: m.name, channel: m.channel, sniffer: m.sniffer, nextSeq: undefined };
      c.radios.set(m.radio, r);
      join(r);
      recount();
      return;
    }
    if (m.kind === 'bye') {
      if (c) for (const r of c.radios.values()) leave(r);
      c?.radios.clear(); // delayed deliveries check this before sending
      clients.delete(key);
      recount();
      return;
    }
    const r = c && 'radio' in m ? c.radios.get(m.radio) : undefined;
    if (!r) { stats.unexpected++; return; }
    switch (m.kind) {
      case 'detach':
        leave(r);
        c!.radios.delete(r.id);
        if (c!.radios.size === 0) clients.delete(key);
        recount();
        return;
      case 'channel':
        leave(r);
        r.channel = m.channel;
        join(r);
        return;
      case 'tx':
        // A sniffer has no transmitter; a name that is not the radio's is a confused client.
        if (r.sniffer || m.sender !== r.name) { stats.unexpected++; return; }
        relay(r, m);
        return;
      default:
        stats.unexpected++; // rx / pong are the broker's to send
    }
  };

  const loop = (async () => {
    try {
      for await (const [routingId, ...parts] of sock) {
        if (parts.length !== 1) { malformed('multipart'); continue; }
        let m: AirMessage;
        try {
          m = decodeAirMessage(parts[0]);
        } catch (e) {
          if (e instanceof AirWireError) { malformed(e.code); continue; }
          throw e;
        }
        handle(routingId, m);
      }
    } catch (e) {
      if (!closed) throw e;
    }
  })();

  return {
    endpoint,
    stats,
    async close() {
      if (closed) return;
      closed = true;
      for (const cancel of timers) cancel();
      timers.clear();
      sock.close();
      await loop;
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Client

export interface AirClientOptions {
  /** The nodes' clock: transmit() takes the frame's airtime on it (default RealClock). */
  clock?: Clock;
  /** Deadline for the broker's first answer, ms of wall time (default 5000). */
  connectTimeoutMs?: number;
}

/** No answer from the broker in time: it is not running, not at that endpoint, or not reachable. */
export class AirBrokerUnreachable extends Error {
  override readonly name = 'AirBrokerUnreachable';
  constructor(readonly endpoint: string, readonly step: string, readonly timeoutMs: number) {
    super(`virtual air broker at ${endpoint}: no answer to ${step} within ${timeoutMs} ms (is the broker running there?)`);
  }
}

interface ClientRadio {
  id: number;
  name: string;
  channel: number;
  sniffer: boolean;
  seq: number;
  onFrame: (f: AirFrame) => void;
}

export interface AirClientStats {
  sent: number;
  received: number;
  /** Messages from the broker that did not decode (a broker of another version?). */
  malformed: number;
}

/** One process's view of the broker's air: the same attach()/sniff() as VirtualAir. */
export class ZmqAir implements Air {
  readonly stats: AirClientStats = { sent: 0, received: 0, malformed: 0 };
  /** Broker time minus this client's clock time at connect, ms (aligns the senders' own stamps). */
  offsetMs = 0;
  private readonly sock: zmq.Dealer;
  private readonly outbox: Outbox;
  private readonly radios = new Map<number, ClientRadio>();
  private readonly pings = new Map<number, (brokerUs: bigint) => void>();
  private nextRadio = 1;
  private nextPing = 1;
  private closed = false;
  private readonly loop: Promise<void>;

  private constructor(readonly endpoint: string, readonly clock: Clock) {
    this.sock = new zmq.Dealer({ linger: 200, maxMessageSize: 4 * AIR_MAX_MESSAGE });
    this.sock.connect(endpoint);
    this.outbox = new Outbox(this.sock);
    this.loop = this.receive();
  }

  static async connect(endpoint: string, opts: AirClientOptions = {}): Promise<ZmqAir> {
    const air = new ZmqAir(endpoint, opts.clock ?? new RealClock());
    try {
      const t0 = air.clock.now();
      const brokerUs = await air.ping(opts.connectTimeoutMs ?? 5000, 'the first ping');
      const t1 = air.clock.now();
      air.offsetMs = Number(brokerUs) / 1000 - (t0 + t1) / 2;
    } catch (e) {
      await air.close();
      throw e;
    }
    return air;
  }

  attach(name: string, channel: number, onFrame: (f: AirFrame) => void): Radio {
    const r = this.add(name, channel, onFrame, false);
    const air = this;
    return {
      name,
      get channel() { return r.channel; },
      set channel(c: number) { air.setChannel(r, c); },
      transmit: (psdu) => this.transmit(r, psdu),
      detach: () => this.remove(r),
    };
  }

  sniff(channel: number, onFrame: (f: AirFrame) => void, name = 'sniffer'): AirSniff {
    const r = this.add(name, channel, onFrame, true);
    return { setChannel: (c) => this.setChannel(r, c), detach: () => this.remove(r) };
  }

  /** Resolves once the broker has handled everything this client sent before (one round trip). */
  async sync(timeoutMs = 5000): Promise<void> {
    await this.ping(timeoutMs, 'a sync ping');
  }

  /** Detaches every radio (the broker forgets this client) and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.radios.clear();
    this.outbox.push([encodeAirMessage({ kind: 'bye' })]);
    // A dead broker leaves sends pending forever: wait a little, then closing the socket ends them.
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.outbox.drained(), new Promise((r) => { t = setTimeout(r, 500); })]);
    clearTimeout(t);
    this.sock.close(); // linger lets the bye leave
    await this.loop;
  }

  private add(name: string, channel: number, onFrame: (f: AirFrame) => void, sniffer: boolean): ClientRadio {
    if (this.closed) throw new Error(`virtual air at ${this.endpoint} is closed`);
    checkChannel(channel);
    let id = this.nextRadio;
    while (this.radios.has(id)) id = (id % 0xffff) + 1; // ids 1..65535, never one in use
    this.nextRadio = (id % 0xffff) + 1;
    const r: ClientRadio = { id, name, channel, sniffer, seq: 0, onFrame };
    this.radios.set(r.id, r);
    // Encode validates the name (1..64 UTF-8 bytes) here, at the caller, rather than at the broker.
    this.outbox.push([encodeAirMessage({ kind: 'attach', radio: r.id, channel, name, sniffer })]);
    return r;
  }

  private setChannel(r: ClientRadio, c: number): void {
    checkChannel(c);
    if (r.channel === c) return;
    r.channel = c;
    if (this.radios.get(r.id) === r) this.outbox.push([encodeAirMessage({ kind: 'channel', radio: r.id, channel: c })]);
  }

  private remove(r: ClientRadio): void {
    if (this.radios.get(r.id) !== r) return;
    this.radios.delete(r.id);
    if (!this.closed) this.outbox.push([encodeAirMessage({ kind: 'detach', radio: r.id })]);
  }

  private async transmit(r: ClientRadio, psdu: Uint8Array): Promise<void> {
    if (psdu.length < 3 || psdu.length > 127) throw new RangeError(`${r.name}: PSDU must be 3..127 bytes (aMaxPHYPacketSize), got ${psdu.length}`);
    if (this.radios.get(r.id) !== r) throw new Error(`${r.name}: radio is detached from the virtual air at ${this.endpoint}`);
    const now = this.clock.now();
    const stamp = BigInt(Math.max(0, Math.round((now + this.offsetMs) * 1000)));
    this.outbox.push([encodeAirMessage({ kind: 'tx', radio: r.id, channel: r.channel, timestampUs: stamp, seq: r.seq, sender: r.name, psdu })]);
    r.seq = (r.seq + 1) >>> 0;
    this.stats.sent++;
    await this.clock.sleep(airtimeUs(psdu.length) / 1000);
  }

  private ping(timeoutMs: number, step: string): Promise<bigint> {
    if (this.closed) return Promise.reject(new Error(`virtual air at ${this.endpoint} is closed`));
    const seq = this.nextPing++ >>> 0;
    return new Promise((resolve, reject) => {
      // Wall-clock deadline: the broker is a real process, whatever clock the nodes run on.
      const t = setTimeout(() => {
        this.pings.delete(seq);
        reject(new AirBrokerUnreachable(this.endpoint, step, timeoutMs));
      }, timeoutMs);
      this.pings.set(seq, (us) => { clearTimeout(t); resolve(us); });
      this.outbox.push([encodeAirMessage({ kind: 'ping', seq, timestampUs: 0n })]);
    });
  }

  private async receive(): Promise<void> {
    try {
      for await (const parts of this.sock) {
        let m: AirMessage;
        try {
          if (parts.length !== 1) throw new AirWireError('bad-field', `${parts.length}-part message`);
          m = decodeAirMessage(parts[0]);
        } catch (e) {
          if (e instanceof AirWireError) { this.stats.malformed++; continue; }
          throw e;
        }
        if (m.kind === 'pong') {
          const done = this.pings.get(m.seq);
          this.pings.delete(m.seq);
          done?.(m.timestampUs);
          continue;
        }
        if (m.kind !== 'rx') { this.stats.malformed++; continue; }
        const r = this.radios.get(m.radio);
        // Changed channel or detached while the frame was in flight: it is not heard.
        if (!r || r.channel !== m.channel) continue;
        this.stats.received++;
        const frame: AirFrame = { psdu: m.psdu, channel: m.channel, timestampUs: m.timestampUs, sender: m.sender, rssi: m.rssi, lqi: m.lqi };
        try {
          r.onFrame(frame);
        } catch (e) {
          // A listener's bug must not stop this client's air; surface it as VirtualAir would (uncaught).
          queueMicrotask(() => { throw e; });
        }
      }
    } catch (e) {
      if (!this.closed) throw e;
    }
  }
}

/** Connects to a broker started with startAirBroker (see ZmqAir). */
export function connectAir(endpoint: string, opts: AirClientOptions = {}): Promise<ZmqAir> {
  return ZmqAir.connect(endpoint, opts);
}

/**
 * Wall time slowed `factor` times. MAC acknowledgements must arrive within about a millisecond of
 * the frame; across processes and sockets a round trip takes that long, so nodes that talk through
 * the broker run on slowed time to keep the protocol's timing relations intact.
 */
export class SlowClock implements Clock {
  private readonly start = performance.now();
  constructor(readonly factor: number) {
    if (!(factor >= 1)) throw new RangeError(`slow-down factor must be ≥ 1, got ${factor}`);
  }
  now(): number {
    return (performance.now() - this.start) / this.factor;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms * this.factor)));
  }
  setTimer(ms: number, fn: () => void): () => void {
    const t = setTimeout(fn, Math.max(0, ms * this.factor));
    return () => clearTimeout(t);
  }
}

// -------------------------------------------------------------------------------------------------

/**
 * Sends in order, one at a time: zeromq.js allows one pending send per socket, and a DEALER blocks
 * until its connection is up. Send failures after close are expected and dropped.
 */
class Outbox {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly sock: zmq.Router | zmq.Dealer) {}
  push(parts: (Buffer | Uint8Array)[]): void {
    this.tail = this.tail.then(() => this.sock.send(parts)).catch(() => {});
  }
  drained(): Promise<void> {
    return this.tail;
  }
}

function checkChannel(c: number): void {
  if (!isAirChannel(c)) throw new RangeError(`channel must be 11..26 (2.4 GHz O-QPSK), got ${c}`);
}
