// The remote-agent protocol: JSON messages over one ZeroMQ ROUTER (agent) ↔ DEALER (client)
// connection, so one CURVE handshake covers control and frames. Requests carry an id the reply
// echoes; sniffer frames and clock beacons are pushed to the client that subscribed, each with a
// per-device sequence number so a gap (lost frames, an agent restart) is visible.
// Strict decoding: anything oversized, not JSON, or of the wrong shape is a RemoteWireError.

export const REMOTE_PROTOCOL_VERSION = 1;
/** Control messages are small; a frame message is < 1 KiB. Anything larger is refused unread. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export const REMOTE_OPS = [
  'hello', 'probe', 'open', 'close', 'transcript',
  'start', 'stop', 'subscribe', 'unsubscribe',
  'form', 'permitJoin', 'addInstallCode', 'deleteLinkKey', 'keyTable', 'networkKey',
  'reset', 'join', 'leave', 'rejoin',
] as const;
export type RemoteOp = (typeof REMOTE_OPS)[number];

export interface RemoteRequest {
  v: 1;
  kind: 'request';
  id: number;
  /** Device name on the agent ('' for agent-level ops such as hello). */
  device: string;
  op: RemoteOp;
  args: unknown[];
}

export interface RemoteErrorInfo {
  name: string;
  message: string;
  role?: string;
  step?: string;
}

export type RemoteReply =
  | { v: 1; kind: 'reply'; id: number; ok: true; result: unknown }
  | { v: 1; kind: 'reply'; id: number; ok: false; error: RemoteErrorInfo };

export interface RemoteFrame {
  v: 1;
  kind: 'frame';
  device: string;
  seq: number;
  psdu: string;
  fcsIncluded: boolean;
  channel: number;
  rssi?: number;
  lqi?: number;
  /** µs on the agent's clock. */
  timestampUs: string;
}

/** Sent every second per subscription: lets the client map agent time to its own. */
export interface RemoteClockBeacon {
  v: 1;
  kind: 'clock';
  device: string;
  seq: number;
  agentNowUs: string;
  /** Changes when the agent restarts: the client re-subscribes and re-checks its devices. */
  epoch: string;
}

export type RemoteMessage = RemoteRequest | RemoteReply | RemoteFrame | RemoteClockBeacon;

export class RemoteWireError extends Error {
  override name = 'RemoteWireError';
  constructor(readonly code: 'oversized' | 'not-json' | 'bad-shape' | 'bad-version', detail: string) {
    super(`remote message refused (${code}): ${detail}`);
  }
}

/** Uint8Array → {$hex} so byte fields survive JSON; bigint → {$big}. */
export function encodeValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $hex: Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('') };
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeValue(x)]));
  return v;
}

export function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$hex === 'string' && Object.keys(o).length === 1) {
      if (!/^(?:[0-9a-f]{2})*$/.test(o.$hex)) throw new RemoteWireError('bad-shape', 'bad $hex value');
      return Uint8Array.from(o.$hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    }
    if (typeof o.$big === 'string' && Object.keys(o).length === 1) {
      if (!/^-?\d+$/.test(o.$big)) throw new RemoteWireError('bad-shape', 'bad $big value');
      return BigInt(o.$big);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decodeValue(x)]));
  }
  return v;
}

const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(m: RemoteMessage): Uint8Array {
  const bytes = utf8.encode(JSON.stringify(m));
  if (bytes.length > MAX_MESSAGE_BYTES) throw new RemoteWireError('oversized', `${bytes.length} bytes > ${MAX_MESSAGE_BYTES}`);
  return bytes;
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

export function decodeMessage(bytes: Uint8Array): RemoteMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) throw new RemoteWireError('oversized', `${bytes.length} bytes > ${MAX_MESSAGE_BYTES}`);
  let m: unknown;
  try {
    m = JSON.parse(utf8Decode.decode(bytes));
  } catch (e) {
    throw new RemoteWireError('not-json', (e as Error).message.slice(0, 120));
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new RemoteWireError('bad-shape', 'not an object');
  const o = m as Record<string, unknown>;
  if (o.v !== REMOTE_PROTOCOL_VERSION) throw new RemoteWireError('bad-version', `v=${JSON.stringify(o.v)}, this side speaks ${REMOTE_PROTOCOL_VERSION}`);
  switch (o.kind) {
    case 'request':
      if (!isInt(o.id) || typeof o.device !== 'string' || o.device.length > 64 || !REMOTE_OPS.includes(o.op as RemoteOp) || !Array.isArray(o.args) || o.args.length > 8) {
        throw new RemoteWireError('bad-shape', `request needs id, device (≤ 64 chars), op (${REMOTE_OPS.join('|')}), args[] (≤ 8)`);
      }
      return o as unknown as RemoteRequest;
    case 'reply':
      if (!isInt(o.id) || typeof o.ok !== 'boolean') throw new RemoteWireError('bad-shape', 'reply needs id and ok');
      return o as unknown as RemoteReply;
    case 'frame':
      if (typeof o.device !== 'string' || !isInt(o.seq) || typeof o.psdu !== 'string' || !/^(?:[0-9a-f]{2}){3,127}$/.test(o.psdu) || !isInt(o.channel) || typeof o.timestampUs !== 'string') {
        throw new RemoteWireError('bad-shape', 'frame needs device, seq, psdu (3..127 bytes hex), channel, timestampUs');
      }
      return o as unknown as RemoteFrame;
    case 'clock':
      if (typeof o.device !== 'string' || !isInt(o.seq) || typeof o.agentNowUs !== 'string' || typeof o.epoch !== 'string') throw new RemoteWireError('bad-shape', 'clock beacon needs device, seq, agentNowUs, epoch');
      return o as unknown as RemoteClockBeacon;
    default:
      throw new RemoteWireError('bad-shape', `unknown kind ${JSON.stringify(o.kind)}`);
  }
}
