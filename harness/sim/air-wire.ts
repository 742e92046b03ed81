// Wire format of the virtual air over ZeroMQ (harness/sim/zmq-air.ts): one message per ZeroMQ
// frame, a fixed 23-byte header, the sender's name, then the PSDU. Pure (no node: imports), so a
// browser-side viewer can read the same bytes. Decoding is strict: anything that is not exactly a
// message of this version is refused with an AirWireError naming what is wrong, so the broker can
// drop and count it instead of relaying garbage.
//
//  off size
//    0   2  magic "SA" (0x53 0x41, "sehil air")
//    2   1  version (1)
//    3   1  kind (AirKind)
//    4   1  channel 11..26 (tx, rx, attach, channel); 0 otherwise
//    5   1  flags: bit 0 sniffer (attach only); other bits must be 0
//    6   2  radio id, u16 BE: the sending radio (tx, attach, detach, channel) or the receiving one (rx)
//    8   8  timestamp, µs, u64 BE (tx: sender's aligned clock; rx: broker's receipt stamp; ping/pong)
//   16   4  seq, u32 BE: per-radio frame number (tx, rx) or ping number (ping, pong)
//   20   1  rssi, i8 (rx)
//   21   1  lqi, u8 (rx)
//   22   1  name length n, 0..64 (sender for tx/rx, radio name for attach; 0 otherwise)
//   23   n  name, UTF-8
// 23+n   …  PSDU with FCS, 3..127 bytes (tx, rx); nothing for the other kinds

export const AIR_WIRE_VERSION = 1;
export const AIR_HEADER_LENGTH = 23;
export const AIR_MAX_NAME = 64;
/** aMaxPHYPacketSize. @spec IEEE 802.15.4-2006 §6.4.1 */
export const AIR_MAX_PSDU = 127;
export const AIR_MIN_PSDU = 3;
export const AIR_MAX_MESSAGE = AIR_HEADER_LENGTH + AIR_MAX_NAME + AIR_MAX_PSDU;

const MAGIC0 = 0x53;
const MAGIC1 = 0x41;
const FLAG_SNIFFER = 0x01;

export const AirKind = { tx: 1, rx: 2, attach: 3, detach: 4, channel: 5, ping: 6, pong: 7, bye: 8 } as const;
export type AirKindName = keyof typeof AirKind;
const KIND_NAMES: Record<number, AirKindName> = Object.fromEntries(Object.entries(AirKind).map(([k, v]) => [v, k as AirKindName]));

export type AirMessage =
  | { kind: 'tx'; radio: number; channel: number; timestampUs: bigint; seq: number; sender: string; psdu: Uint8Array }
  | { kind: 'rx'; radio: number; channel: number; timestampUs: bigint; seq: number; sender: string; psdu: Uint8Array; rssi: number; lqi: number }
  | { kind: 'attach'; radio: number; channel: number; name: string; sniffer: boolean }
  | { kind: 'detach'; radio: number }
  | { kind: 'channel'; radio: number; channel: number }
  | { kind: 'ping'; seq: number; timestampUs: bigint }
  | { kind: 'pong'; seq: number; timestampUs: bigint }
  | { kind: 'bye' };

export type AirWireErrorCode =
  | 'truncated' | 'oversized' | 'bad-magic' | 'unsupported-version' | 'bad-kind' | 'bad-flags' | 'bad-channel'
  | 'bad-name' | 'bad-psdu-length' | 'trailing-bytes' | 'bad-field';

export class AirWireError extends Error {
  override readonly name = 'AirWireError';
  constructor(readonly code: AirWireErrorCode, message: string) {
    super(`air message: ${message}`);
  }
}

export function isAirChannel(c: number): boolean {
  return Number.isInteger(c) && c >= 11 && c <= 26;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const U64_MAX = (1n << 64n) - 1n;

export function encodeAirMessage(m: AirMessage): Uint8Array {
  const k = m.kind;
  const name = k === 'tx' || k === 'rx' ? m.sender : k === 'attach' ? m.name : '';
  const nameBytes = utf8.encode(name);
  const psdu = k === 'tx' || k === 'rx' ? m.psdu : undefined;
  const channel = k === 'tx' || k === 'rx' || k === 'attach' || k === 'channel' ? m.channel : 0;
  const radio = k === 'ping' || k === 'pong' || k === 'bye' ? 0 : m.radio;
  const ts = k === 'tx' || k === 'rx' || k === 'ping' || k === 'pong' ? m.timestampUs : 0n;
  const seq = k === 'tx' || k === 'rx' || k === 'ping' || k === 'pong' ? m.seq : 0;
  // Encode refuses what decode would refuse, so a bad message fails at its author, not at the broker.
  if (channel !== 0 && !isAirChannel(channel)) throw new AirWireError('bad-channel', `channel must be 11..26, got ${channel}`);
  if (nameBytes.length > AIR_MAX_NAME) throw new AirWireError('bad-name', `name is ${nameBytes.length} UTF-8 bytes, at most ${AIR_MAX_NAME}`);
  if ((k === 'tx' || k === 'rx' || k === 'attach') && nameBytes.length === 0) throw new AirWireError('bad-name', `${k} needs a non-empty name`);
  if (psdu && (psdu.length < AIR_MIN_PSDU || psdu.length > AIR_MAX_PSDU)) throw new AirWireError('bad-psdu-length', `PSDU must be ${AIR_MIN_PSDU}..${AIR_MAX_PSDU} bytes, got ${psdu.length}`);
  if (!Number.isInteger(radio) || radio < 0 || radio > 0xffff) throw new AirWireError('bad-field', `radio id must be a u16, got ${radio}`);
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw new AirWireError('bad-field', `seq must be a u32, got ${seq}`);
  if (ts < 0n || ts > U64_MAX) throw new AirWireError('bad-field', `timestamp must be a u64, got ${ts}`);
  const out = new Uint8Array(AIR_HEADER_LENGTH + nameBytes.length + (psdu?.length ?? 0));
  const v = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = AIR_WIRE_VERSION;
  out[3] = AirKind[k];
  out[4] = channel;
  out[5] = k === 'attach' && m.sniffer ? FLAG_SNIFFER : 0;
  v.setUint16(6, radio);
  v.setBigUint64(8, ts);
  v.setUint32(16, seq);
  if (k === 'rx') {
    v.setInt8(20, Math.max(-128, Math.min(127, Math.round(m.rssi))));
    out[21] = Math.max(0, Math.min(255, Math.round(m.lqi)));
  }
  out[22] = nameBytes.length;
  out.set(nameBytes, AIR_HEADER_LENGTH);
  if (psdu) out.set(psdu, AIR_HEADER_LENGTH + nameBytes.length);
  return out;
}

/** Decodes one message; throws AirWireError for anything malformed. The PSDU is copied. */
export function decodeAirMessage(b: Uint8Array): AirMessage {
  if (b.length > AIR_MAX_MESSAGE) throw new AirWireError('oversized', `${b.length} bytes, at most ${AIR_MAX_MESSAGE}`);
  if (b.length < AIR_HEADER_LENGTH) throw new AirWireError('truncated', `${b.length} bytes, the header alone is ${AIR_HEADER_LENGTH}`);
  if (b[0] !== MAGIC0 || b[1] !== MAGIC1) throw new AirWireError('bad-magic', `starts ${hex2(b[0])} ${hex2(b[1])}, expected 53 41 ("SA")`);
  if (b[2] !== AIR_WIRE_VERSION) throw new AirWireError('unsupported-version', `version ${b[2]}, this side speaks ${AIR_WIRE_VERSION}`);
  const kind = KIND_NAMES[b[3]];
  if (!kind) throw new AirWireError('bad-kind', `unknown kind ${b[3]}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const channel = b[4];
  const flags = b[5];
  const radio = v.getUint16(6);
  const timestampUs = v.getBigUint64(8);
  const seq = v.getUint32(16);
  const nameLen = b[22];
  const hasChannel = kind === 'tx' || kind === 'rx' || kind === 'attach' || kind === 'channel';
  if (hasChannel ? !isAirChannel(channel) : channel !== 0) throw new AirWireError('bad-channel', `${kind} with channel ${channel}`);
  if (flags & ~(kind === 'attach' ? FLAG_SNIFFER : 0)) throw new AirWireError('bad-flags', `${kind} with flags ${hex2(flags)}`);
  if (nameLen > AIR_MAX_NAME) throw new AirWireError('bad-name', `name length ${nameLen}, at most ${AIR_MAX_NAME}`);
  const hasName = kind === 'tx' || kind === 'rx' || kind === 'attach';
  if (hasName ? nameLen === 0 : nameLen !== 0) throw new AirWireError('bad-name', `${kind} with a name of ${nameLen} bytes`);
  // Fields a kind does not use must be zero: a sender that fills them speaks another dialect.
  const usesRadio = kind !== 'ping' && kind !== 'pong' && kind !== 'bye';
  const usesStamp = kind === 'tx' || kind === 'rx' || kind === 'ping' || kind === 'pong';
  if ((!usesRadio && radio !== 0) || (!usesStamp && (timestampUs !== 0n || seq !== 0)) || (kind !== 'rx' && (b[20] !== 0 || b[21] !== 0))) {
    throw new AirWireError('bad-field', `${kind} with a field it does not use set`);
  }
  const bodyAt = AIR_HEADER_LENGTH + nameLen;
  if (b.length < bodyAt) throw new AirWireError('truncated', `name runs past the end (${nameLen} bytes announced)`);
  let name = '';
  if (nameLen) {
    try {
      name = utf8Strict.decode(b.subarray(AIR_HEADER_LENGTH, bodyAt));
    } catch {
      throw new AirWireError('bad-name', 'name is not valid UTF-8');
    }
  }
  const rest = b.length - bodyAt;
  switch (kind) {
    case 'tx':
    case 'rx': {
      if (rest < AIR_MIN_PSDU || rest > AIR_MAX_PSDU) throw new AirWireError('bad-psdu-length', `PSDU of ${rest} bytes, must be ${AIR_MIN_PSDU}..${AIR_MAX_PSDU}`);
      const psdu = new Uint8Array(b.subarray(bodyAt)); // a plain copy, even from a Buffer (whose slice is a view)
      if (kind === 'tx') return { kind, radio, channel, timestampUs, seq, sender: name, psdu };
      return { kind, radio, channel, timestampUs, seq, sender: name, psdu, rssi: v.getInt8(20), lqi: b[21] };
    }
    default:
      if (rest !== 0) throw new AirWireError('trailing-bytes', `${kind} followed by ${rest} bytes`);
  }
  switch (kind) {
    case 'attach': return { kind, radio, channel, name, sniffer: (flags & FLAG_SNIFFER) !== 0 };
    case 'detach': return { kind, radio };
    case 'channel': return { kind, radio, channel };
    case 'ping':
    case 'pong': return { kind, seq, timestampUs };
    default: return { kind: 'bye' };
  }
}

function hex2(x: number | undefined): string {
  return (x ?? 0).toString(16).padStart(2, '0');
}
