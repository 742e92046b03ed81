// `sehil agent`: exposes this host's rig roles to remote rigs over ZeroMQ. One ROUTER socket
// carries control requests and, to clients that subscribed, each sniffer's frames with sequence
// numbers and clock beacons. An agent controls lab radios, so off loopback it lets in only
// CURVE clients whose public key is on its allow-list (checked by a ZAP handler, RFC 27).
import { randomBytes } from 'node:crypto';
import * as zmq from 'zeromq';
import type { Clock } from '../sim/clock.ts';
import { RealClock } from '../sim/clock.ts';
import type { RoleBase, Sniffer } from '../rig/roles.ts';
import {
  decodeMessage, decodeValue, encodeMessage, encodeValue, MAX_MESSAGE_BYTES, RemoteWireError,
  type RemoteErrorInfo, type RemoteMessage, type RemoteRequest,
} from './wire.ts';

export interface AgentDevice {
  name: string;
  role: RoleBase;
  driver: string;
}

export interface CurveServerKeys {
  publicKey: string;
  secretKey: string;
  /** Z85 public keys of the clients let in. */
  allow: readonly string[];
}

export interface AgentOptions {
  bind: string;
  devices: readonly AgentDevice[];
  curve?: CurveServerKeys;
  clock?: Clock;
  /** Beacon period per subscription, ms (default 1000). */
  beaconMs?: number;
  log?: (line: string) => void;
}

export interface AgentStats {
  requests: number;
  malformed: number;
  framesSent: number;
  rejectedClients: number;
  acceptedClients: number;
}

export interface Agent {
  readonly endpoint: string;
  readonly epoch: string;
  readonly stats: AgentStats;
  close(): Promise<void>;
}

/** Configuration an agent refuses to start with (exit 2 at the CLI). */
export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

export function isLoopbackEndpoint(endpoint: string): boolean {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+|\*)$/.exec(endpoint);
  if (!m) return endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://');
  const host = m[1].replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

// One ZAP handler per ZeroMQ context (inproc://zeromq.zap.01); agents in one process share it,
// each with its own ZAP domain and allow-list.
const allowLists = new Map<string, { allow: Set<string>; stats: AgentStats }>();
let zapHandler: zmq.Reply | undefined;

async function ensureZapHandler(): Promise<void> {
  if (zapHandler) return;
  const rep = new zmq.Reply();
  await rep.bind('inproc://zeromq.zap.01');
  zapHandler = rep;
  void (async () => {
    for await (const frames of rep) {
      // [version, request id, domain, address, identity, mechanism, credentials…]
      const [, requestId, domain, , , mechanism, key] = frames;
      const entry = allowLists.get(domain?.toString() ?? '');
      const z85 = key && key.length === 32 ? z85Encode(key) : '';
      const ok = !!entry && mechanism?.toString() === 'CURVE' && entry.allow.has(z85);
      if (entry) ok ? entry.stats.acceptedClients++ : entry.stats.rejectedClients++;
      await rep.send(['1.0', requestId ?? '', ok ? '200' : '400', ok ? 'OK' : 'client key not on the allow-list', ok ? z85 : '', '']);
    }
  })().catch(() => {});
}

const Z85_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
/** Z85 (ZeroMQ RFC 32) of a 4-byte-aligned buffer: how CURVE keys are written. */
export function z85Encode(data: Uint8Array): string {
  let out = '';
  for (let i = 0; i < data.length; i += 4) {
    let v = ((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]) >>> 0;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(Z85_CHARS[v % 85]);
      v = Math.floor(v / 85);
    }
    out += chunk.join('');
  }
  return out;
}

function errorInfo(e: unknown): RemoteErrorInfo {
  const err = e as Error & { role?: string; step?: string };
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), role: err?.role, step: err?.step };
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  if (!isLoopbackEndpoint(o.bind) && !o.curve) {
    throw new AgentConfigError(`${o.bind} is not loopback: an agent reachable from the network needs CURVE keys (--keys, from \`sehil agent keygen\`) and an allow-list of client public keys (--allow)`);
  }
  if (o.curve && o.curve.allow.length === 0) throw new AgentConfigError('the allow-list of client public keys is empty: nobody could connect');
  const clock = o.clock ?? new RealClock();
  const epoch = randomBytes(6).toString('hex');
  const stats: AgentStats = { requests: 0, malformed: 0, framesSent: 0, rejectedClients: 0, acceptedClients: 0 };
  const devices = new Map(o.devices.map((d) => [d.name, d]));
  const router = new zmq.Router({ maxMessageSize: MAX_MESSAGE_BYTES + 1024, linger: 0, mandatory: false });
  let domain: string | undefined;
  if (o.curve) {
    await ensureZapHandler();
    domain = `sehil-agent-${epoch}`;
    allowLists.set(domain, { allow: new Set(o.curve.allow), stats });
    router.curveServer = true;
    router.curveSecretKey = o.curve.secretKey;
    router.curvePublicKey = o.curve.publicKey;
    router.zapDomain = domain;
    router.zapEnforceDomain = true;
  }
  await router.bind(o.bind);
  const endpoint = router.lastEndpoint ?? o.bind;

  // zeromq.js allows one send in flight per socket: queue them.
  let sending: Promise<void> = Promise.resolve();
  const send = (to: Buffer, m: RemoteMessage) => {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m);
    } catch (e) {
      bytes = encodeMessage({ v: 1, kind: 'reply', id: 'id' in m ? m.id : 0, ok: false, error: errorInfo(e) });
    }
    sending = sending.then(() => router.send([to, bytes])).catch(() => {});
    return sending;
  };

  // Sniffer subscriptions: device → clients; one pump per device.
  const subscribers = new Map<string, Set<string>>();
  const pumps = new Map<string, { seq: number; beacon: () => void }>();
  const clients = new Map<string, Buffer>();
  const startPump = (name: string, sniffer: Sniffer) => {
    if (pumps.has(name)) return;
    const state = { seq: 0, beacon: () => {} };
    pumps.set(name, state);
    const fanout = (m: RemoteMessage) => {
      for (const id of subscribers.get(name) ?? []) {
        const to = clients.get(id);
        if (to) void send(to, m);
      }
    };
    const tick = () => {
      fanout({ v: 1, kind: 'clock', device: name, seq: state.seq, agentNowUs: String(Math.round(clock.now() * 1000)), epoch });
      state.beacon = clock.setTimer(o.beaconMs ?? 1000, tick);
    };
    tick();
    void (async () => {
      for await (const f of sniffer.frames()) {
        state.seq++;
        stats.framesSent++;
        fanout({
          v: 1, kind: 'frame', device: name, seq: state.seq, psdu: Buffer.from(f.psdu).toString('hex'), fcsIncluded: f.fcsIncluded,
          channel: f.channel, rssi: f.rssi, lqi: f.lqi, timestampUs: f.timestampUs.toString(),
        });
      }
    })().catch((e) => o.log?.(`sniffer ${name}: ${(e as Error).message}`)).finally(() => {
      state.beacon();
      pumps.delete(name);
    });
  };

  const handle = async (from: Buffer, req: RemoteRequest): Promise<unknown> => {
    if (req.op === 'hello') {
      return { agent: 'sehil', epoch, devices: [...devices.values()].map((d) => ({ name: d.name, role: d.role.role, driver: d.driver, capabilities: [...d.role.capabilities] })) };
    }
    const dev = devices.get(req.device);
    if (!dev) throw Object.assign(new Error(`no device "${req.device}" on this agent (devices: ${[...devices.keys()].join(', ')})`), { name: 'UnknownDevice' });
    const role = dev.role as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const args = decodeValue(req.args) as unknown[];
    const id = from.toString('hex');
    switch (req.op) {
      case 'subscribe': {
        if (dev.role.role !== 'sniffer') throw new Error(`${req.device} is a ${dev.role.role}, not a sniffer`);
        let set = subscribers.get(req.device);
        if (!set) subscribers.set(req.device, (set = new Set()));
        set.add(id);
        return { subscribed: req.device };
      }
      case 'unsubscribe':
        subscribers.get(req.device)?.delete(id);
        return { unsubscribed: req.device };
      case 'start':
        await (dev.role as Sniffer).start(args[0] as number);
        startPump(req.device, dev.role as Sniffer);
        return null;
      case 'transcript':
        return dev.role.takeTranscript();
      default: {
        const fn = role[req.op];
        if (typeof fn !== 'function') throw new Error(`${req.device} (${dev.role.role}) has no operation "${req.op}"`);
        return await fn.apply(dev.role, args);
      }
    }
  };

  let closed = false;
  const loop = (async () => {
    for await (const [from, payload] of router) {
      if (closed) break;
      clients.set(from.toString('hex'), from);
      let req: RemoteRequest;
      try {
        const m = decodeMessage(payload ?? new Uint8Array());
        if (m.kind !== 'request') throw new RemoteWireError('bad-shape', `an agent takes requests, not ${m.kind}`);
        req = m;
      } catch (e) {
        stats.malformed++;
        o.log?.(`refused a message: ${(e as Error).message}`);
        void send(from, { v: 1, kind: 'reply', id: 0, ok: false, error: errorInfo(e) });
        continue;
      }
      stats.requests++;
      void handle(from, req).then(
        (result) => send(from, { v: 1, kind: 'reply', id: req.id, ok: true, result: encodeValue(result ?? null) }),
        (e) => send(from, { v: 1, kind: 'reply', id: req.id, ok: false, error: errorInfo(e) }),
      );
    }
  })().catch(() => {});

  return {
    endpoint, epoch, stats,
    async close() {
      closed = true;
      for (const p of pumps.values()) p.beacon();
      router.close();
      await loop;
      if (domain) allowLists.delete(domain);
    },
  };
}
