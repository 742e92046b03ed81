// The virtual air over real ZeroMQ sockets: the wire format's strict decoding, the broker's
// per-channel relay and faults, and a real Trust Center and joiner in two child processes joining
// through the broker while a sniffer in this process writes a pcapng that the verdict is read from.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { openPcapngWriter, readCaptureFile } from '../../harness/capture/file.ts';
import { seededRandom, type AirFaults, type AirFrame } from '../../harness/sim/air.ts';
import { AIR_MAX_MESSAGE, AirWireError, decodeAirMessage, encodeAirMessage, type AirMessage } from '../../harness/sim/air-wire.ts';
import { AirBrokerUnreachable, connectAir, startAirBroker, type AirBroker, type ZmqAir } from '../../harness/sim/zmq-air.ts';
import { ApsKeyType } from '../../harness/zigbee/aps.ts';
import { apsCommandOf, CHANNEL, decodeAir, DUT_EUI, INSTALL_CODE_KEY, NETWORK_KEY, TC_EUI } from '../stack/helpers.ts';

const frame = (n: number, tag = 0) => Uint8Array.from({ length: n }, (_, i) => (i + tag) & 0xff);

/** Polls `cond` until it holds; rejects naming what was awaited after `ms` of wall time. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// Sockets opened by a test are closed after it, even when it fails.
const open: { close(): Promise<void> | void }[] = [];
const track = <T extends { close(): Promise<void> | void }>(x: T): T => (open.push(x), x);
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

describe('air wire format', () => {
  const samples: AirMessage[] = [
    { kind: 'tx', radio: 7, channel: 15, timestampUs: 123_456_789n, seq: 0xfffffffe, sender: 'tc', psdu: frame(20) },
    { kind: 'rx', radio: 65535, channel: 26, timestampUs: (1n << 64n) - 1n, seq: 3, sender: 'dütü', psdu: frame(127), rssi: -40, lqi: 255 },
    { kind: 'attach', radio: 1, channel: 11, name: 'sniffer', sniffer: true },
    { kind: 'attach', radio: 2, channel: 11, name: 'n', sniffer: false },
    { kind: 'detach', radio: 2 },
    { kind: 'channel', radio: 2, channel: 20 },
    { kind: 'ping', seq: 9, timestampUs: 0n },
    { kind: 'pong', seq: 9, timestampUs: 42n },
    { kind: 'bye' },
  ];
  it('round-trips every kind of message', () => {
    for (const m of samples) expect(decodeAirMessage(encodeAirMessage(m))).toEqual(m);
    expect(encodeAirMessage(samples[0]).subarray(0, 4)).toEqual(Uint8Array.of(0x53, 0x41, 1, 1));
  });

  it('refuses malformed messages with a typed error naming what is wrong', () => {
    const good = encodeAirMessage(samples[0]);
    const edit = (at: number, v: number) => { const b = good.slice(); b[at] = v; return b; };
    const cases: [Uint8Array, string][] = [
      [good.subarray(0, 10), 'truncated'],
      [new Uint8Array(AIR_MAX_MESSAGE + 1), 'oversized'],
      [edit(0, 0x00), 'bad-magic'],
      [edit(2, 2), 'unsupported-version'],
      [edit(3, 99), 'bad-kind'],
      [edit(4, 27), 'bad-channel'],
      [edit(5, 1), 'bad-flags'], // sniffer flag on a tx
      [edit(22, 65), 'bad-name'],
      [edit(22, 0), 'bad-name'],
      [edit(20, 1), 'bad-field'], // rssi on a tx
      [good.subarray(0, good.length - 18), 'bad-psdu-length'],
      [Uint8Array.from([...encodeAirMessage({ kind: 'bye' }), 0]), 'trailing-bytes'],
      [Uint8Array.from([...good.subarray(0, 22), 2, 0xc3, 0x28, ...frame(5)]), 'bad-name'], // invalid UTF-8
    ];
    for (const [bytes, code] of cases) {
      let err: unknown;
      try { decodeAirMessage(bytes); } catch (e) { err = e; }
      expect(err, code).toBeInstanceOf(AirWireError);
      expect((err as AirWireError).code, (err as Error).message).toBe(code);
    }
    expect(() => encodeAirMessage({ ...samples[0], psdu: frame(128) } as AirMessage)).toThrow(AirWireError);
    expect(() => encodeAirMessage({ kind: 'attach', radio: 1, channel: 11, name: 'x'.repeat(65), sniffer: false })).toThrow(/at most 64/);
  });
});

describe('ZeroMQ air broker (real sockets, one process)', () => {
  async function setup(faults?: AirFaults, bind = 'tcp://127.0.0.1:0') {
    const broker = track(await startAirBroker({ bind, faults }));
    const clients: ZmqAir[] = [];
    for (let i = 0; i < 3; i++) clients.push(track(await connectAir(broker.endpoint)));
    return { broker, clients };
  }

  it('relays a frame to the other radios on its channel only, and the sniffer hears all of it in time order', async () => {
    const { broker, clients: [ca, cb, cs] } = await setup();
    const got: Record<string, AirFrame[]> = { a: [], b: [], c: [], s: [] };
    const a = ca.attach('a', 15, (f) => got.a.push(f));
    const b = cb.attach('b', 15, (f) => got.b.push(f));
    const c = cb.attach('c', 20, (f) => got.c.push(f));
    cs.sniff(15, (f) => got.s.push(f), 'sniffer');
    await Promise.all([ca.sync(), cb.sync(), cs.sync()]);
    expect(broker.stats).toMatchObject({ clients: 3, radios: 4 });

    const t0 = performance.now();
    await a.transmit(frame(20)); // resolves after the airtime (0.832 ms) on the client's clock
    // (No lower bound on the wait: libuv fires sub-millisecond timers against a cached loop time.)
    expect(performance.now() - t0).toBeLessThan(5_000);
    for (let i = 1; i < 10; i++) await (i % 2 ? b : a).transmit(frame(10 + i, i));
    await until(() => got.s.length === 10 && got.b.length === 5 && got.a.length === 5, 5000, 'ten frames at the sniffer');
    await cb.sync(); // anything meant for c would have been sent before this answer
    expect(got.c).toHaveLength(0);
    expect(got.a.every((f) => f.sender === 'b') && got.b.every((f) => f.sender === 'a')).toBe(true);
    expect(got.s.map((f) => f.sender)).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(got.s.map((f) => f.psdu.length)).toEqual([20, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(got.b[0]).toMatchObject({ channel: 15, sender: 'a', rssi: -40, lqi: 255, psdu: frame(20) });
    for (let i = 1; i < got.s.length; i++) expect(got.s[i].timestampUs).toBeGreaterThan(got.s[i - 1].timestampUs);
    expect(broker.stats).toMatchObject({ received: 10, relayed: 20, malformed: 0, unexpected: 0, seqGaps: 0 });

    // Moving c to channel 15 makes it hear a; detaching b makes b deaf.
    c.channel = 15;
    b.detach();
    await cb.sync();
    await a.transmit(frame(30));
    await until(() => got.c.length === 1 && got.s.length === 11, 5000, 'the frame at c after its channel change');
    await cb.sync();
    expect(got.b).toHaveLength(5);
    expect(got.c[0]).toMatchObject({ channel: 15, sender: 'a' });
  });

  it('drops and counts malformed messages sent straight to its socket, and still relays good frames after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sehil-zmq-ipc-'));
    track({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const { broker, clients: [ca, cb] } = await setup(undefined, `ipc://${dir}/air.sock`); // ipc, for once
    expect(broker.endpoint).toBe(`ipc://${dir}/air.sock`);
    const heard: AirFrame[] = [];
    const a = ca.attach('a', 11, () => {});
    cb.attach('b', 11, (f) => heard.push(f));
    await Promise.all([ca.sync(), cb.sync()]);

    const raw = new zmq.Dealer({ linger: 0 });
    track({ close: () => raw.close() });
    raw.connect(broker.endpoint);
    const good = encodeAirMessage({ kind: 'tx', radio: 1, channel: 11, timestampUs: 0n, seq: 0, sender: 'a', psdu: frame(10) });
    const bad: (Uint8Array | Uint8Array[])[] = [
      new TextEncoder().encode('GET / HTTP/1.1\r\nHost: broker\r\n\r\n'),
      good.subarray(0, 12),
      Uint8Array.from([...good.subarray(0, 2), 9, ...good.subarray(3)]),
      Uint8Array.from([...good, ...frame(200)]), // PSDU of 210 bytes
      [good, good], // two parts
    ];
    for (const m of bad) await raw.send(m);
    // Well formed but from a radio this peer never attached: dropped as unexpected, not relayed.
    await raw.send(good);
    await until(() => broker.stats.malformed === 5 && broker.stats.unexpected === 1, 5000, 'five malformed messages counted');
    expect(broker.stats.malformedByCode).toEqual({ 'bad-magic': 1, truncated: 1, 'unsupported-version': 1, oversized: 1, multipart: 1 });
    expect(heard).toHaveLength(0);

    await a.transmit(frame(12));
    await until(() => heard.length === 1, 5000, 'a good frame relayed after the garbage');
    expect(heard[0]).toMatchObject({ sender: 'a', psdu: frame(12) });
  });

  it('applies loss and corruption per receiving node; sniffers hear the air as sent', async () => {
    const lossy = await setup({ loss: 1 });
    const [ca, cb, cs] = lossy.clients;
    const node: AirFrame[] = [];
    const sniffed: AirFrame[] = [];
    const a = ca.attach('a', 25, () => {});
    cb.attach('b', 25, (f) => node.push(f));
    cs.sniff(25, (f) => sniffed.push(f));
    await Promise.all([ca.sync(), cb.sync(), cs.sync()]);
    for (let i = 0; i < 5; i++) await a.transmit(frame(16, i));
    await until(() => sniffed.length === 5, 5000, 'five frames at the sniffer');
    await cb.sync();
    expect(node).toHaveLength(0);
    expect(lossy.broker.stats).toMatchObject({ received: 5, lost: 5, relayed: 5 });

    const noisy = await setup({ corruption: 1, delayMs: 20, random: seededRandom(3) });
    const [na, nb, ns] = noisy.clients;
    const rx: AirFrame[] = [];
    const sn: AirFrame[] = [];
    const x = na.attach('x', 25, () => {});
    nb.attach('y', 25, (f) => rx.push(f));
    ns.sniff(25, (f) => sn.push(f));
    await Promise.all([na.sync(), nb.sync(), ns.sync()]);
    await x.transmit(frame(16));
    await until(() => rx.length === 1, 5000, 'the corrupted frame');
    expect(sn[0].psdu).toEqual(frame(16));
    const flipped = rx[0].psdu.reduce((n, v, i) => n + popcount(v ^ frame(16)[i]), 0);
    expect(flipped).toBe(1);
    expect(noisy.broker.stats.corrupted).toBe(1);
  });

  it('names the endpoint when no broker answers', async () => {
    const broker = await startAirBroker();
    const endpoint = broker.endpoint;
    await broker.close(); // a port that was just ours, now closed
    const t0 = performance.now();
    const err = await connectAir(endpoint, { connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AirBrokerUnreachable);
    expect((err as Error).message).toContain(endpoint);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

function popcount(v: number): number {
  let n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

// -------------------------------------------------------------------------------------------------
// Two processes

const CHILD = fileURLToPath(new URL('./zmq-air-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Node time runs this many times slower than wall time, so MAC acks beat socket latency (see SlowClock). */
const SLOWDOWN = 10;

interface Child {
  role: string;
  proc: ChildProcessWithoutNullStreams;
  send(cmd: string): void;
  next(event: string, ms: number): Promise<Record<string, any>>;
}

const children: Child[] = [];
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
});

function spawnChild(endpoint: string, role: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, endpoint, role, String(SLOWDOWN)], { cwd: ROOT, stdio: 'pipe' });
  const seen: Record<string, any>[] = [];
  let stderr = '';
  let notify = () => {};
  proc.stdin.on('error', () => {}); // a child that died shows up in next(), not as an EPIPE crash here
  proc.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try { seen.push(JSON.parse(line)); } catch { seen.push({ event: 'garbage', line }); }
    notify();
  });
  proc.on('exit', () => notify());
  const child: Child = {
    role, proc,
    send: (cmd) => { proc.stdin.write(cmd + '\n'); },
    next: (event, ms) => new Promise((resolve, reject) => {
      const check = () => {
        const i = seen.findIndex((o) => o.event === event || o.event === 'error' || o.event === 'garbage');
        if (i >= 0) {
          const [o] = seen.splice(i, 1);
          if (o.event === event) return done(() => resolve(o));
          return done(() => reject(new Error(`${role} child: ${o.event} while awaiting ${event}: ${o.message ?? o.line}`)));
        }
        if (proc.exitCode !== null || proc.signalCode !== null) {
          done(() => reject(new Error(`${role} child exited (${proc.exitCode ?? proc.signalCode}) while awaiting ${event}; stderr:\n${stderr}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${role} child: no ${event} within ${ms} ms; stderr:\n${stderr}`))), ms);
      const done = (f: () => void) => { clearTimeout(timer); notify = () => {}; f(); };
      notify = check;
      check();
    }),
  };
  children.push(child);
  return child;
}

describe('ZeroMQ air across processes', () => {
  let broker: AirBroker;
  let dir: string;
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('a Trust Center and a joiner in two processes join through the broker; the sniffer\'s pcapng shows the Transport Key', async () => {
    broker = track(await startAirBroker({ bind: 'tcp://127.0.0.1:0' }));
    const sniffer = track(await connectAir(broker.endpoint));
    dir = mkdtempSync(join(tmpdir(), 'sehil-zmq-air-'));
    const pcap = openPcapngWriter(join(dir, 'air.pcapng'));
    let writing = true;
    const stopWriting = () => { writing = false; pcap.close(); };
    track({ close: stopWriting });
    const epochUs = BigInt(Date.now()) * 1000n;
    // The sniffer writes each frame as it hears it; the sender's name rides in the packet comment.
    sniffer.sniff(CHANNEL, (f) => {
      if (writing) pcap.writeFrame({ psdu: f.psdu, fcsIncluded: true, timestampUs: epochUs + f.timestampUs, channel: f.channel, rssi: f.rssi, lqi: f.lqi, comment: f.sender });
    });
    await sniffer.sync();

    const tc = spawnChild(broker.endpoint, 'tc');
    const dut = spawnChild(broker.endpoint, 'joiner');
    await Promise.all([tc.next('ready', 10_000), dut.next('ready', 10_000)]);
    dut.send('join');
    const joined = await dut.next('joined', 30_000);
    expect(joined.result, (joined.transcript ?? []).join('\n')).toMatchObject({ joined: true, tclk: 'verified' });
    tc.send('report');
    const report = await tc.next('report', 5000);
    const tclk = report.keys.find((k: any) => k.eui64 === DUT_EUI && k.kind === 'tclk-exchange');
    expect(tclk?.verified).toBe(true);
    await sniffer.sync();
    stopWriting();

    const cap = readCaptureFile(join(dir, 'air.pcapng'));
    expect(cap.warnings).toEqual([]);
    const frames: AirFrame[] = cap.packets.map((p) => ({ psdu: p.psdu, channel: p.channel!, timestampUs: p.timestampUs, sender: p.comment ?? '?', rssi: p.rssi ?? 0, lqi: p.lqi ?? 0 }));
    expect(new Set(frames.map((f) => f.sender))).toEqual(new Set(['tc', 'dut']));
    const air = decodeAir(frames, {
      nwk: [{ label: 'nwk', key: NETWORK_KEY }],
      link: [{ label: 'install-code', key: hexToBytes(INSTALL_CODE_KEY) }, { label: 'tclk', key: hexToBytes(tclk.key) }],
    });
    expect(air.every((r) => r.mac.fcsOk)).toBe(true);
    const tk = air.filter((r) => { const c = apsCommandOf(r); return c?.type === 'transportKey' && c.keyType === ApsKeyType.STANDARD_NETWORK; });
    // One per join attempt that got that far (the child retries a failed join); an APS retry of
    // the same Transport Key (a late ack on a loaded machine) repeats its APS counter.
    expect(tk.length).toBeGreaterThanOrEqual(1);
    expect(new Set(tk.map((r) => r.aps!.header.counter)).size).toBeLessThanOrEqual(joined.attempts);
    for (const r of tk) {
      expect(r.sender).toBe('tc');
      expect(r.nwk!.header.security).toBe(false); // the joiner has no network key yet
      expect(r.aps).toMatchObject({ openedWith: 'install-code', aux: { keyId: 2, source64: TC_EUI } });
      const c = apsCommandOf(r)!;
      expect(c.type === 'transportKey' && c.descriptor.layout === 'network' && Buffer.from(c.descriptor.key).equals(Buffer.from(NETWORK_KEY))).toBe(true);
    }
    // The exchange finished under the new key: Confirm Key from the TC opened with the TCLK.
    expect(air.some((r) => apsCommandOf(r)?.type === 'confirmKey' && r.aps?.openedWith === 'tclk')).toBe(true);
    expect(broker.stats).toMatchObject({ malformed: 0, unexpected: 0, seqGaps: 0 });
    for (const ch of [tc, dut]) ch.send('quit');
  });
});
