// The nRF Sniffer for 802.15.4 line protocol, pure: the firmware's `received:` line, the shell
// commands the host sends, and a line splitter that survives a noisy serial line.
//
// Sources (radios.md §1):
// - line format: nrfconnect/sdk-nrf@41a8e0d:samples/peripheral/802154_sniffer/src/main.c
//   `net_recv_data`: "received: %s power: %d lqi: %u time: %llu" (hex of the PSDU as the radio
//   delivered it, rssi int8, lqi uint8, time uint64 µs);
// - the 2 trailing bytes are not an FCS but the raw LQI and 0x00 (sdk-zephyr
//   drivers/ieee802154/ieee802154_nrf5.c rx thread; radios.md §1.3 [verified] on the README
//   example); the extcap drops them: NordicSemiconductor/nRF-Sniffer-for-802.15.4@e459feb:
//   nrf802154_sniffer/nrf802154_sniffer.py `a2b_hex(m.group(1)[:-4])`;
// - commands: main.c `cmd_channel` / `cmd_receive` / `cmd_sleep`; `shell echo off` is the Zephyr
//   shell built-in the extcap sends first.

/** aMaxPHYPacketSize: the hex the firmware prints is the whole PSDU, trailing 2 bytes included. @spec IEEE 802.15.4-2006 §6.4.1 */
export const MAX_PSDU = 127;
/** Bytes that follow the MAC frame in the hex instead of an FCS (raw LQI, 0x00). */
export const TRAILER_BYTES = 2;
const UINT64_MAX = 2n ** 64n - 1n;

export interface SnifferFrameLine {
  kind: 'frame';
  /** MAC header … payload, without the 2 trailing bytes (so without FCS). */
  psdu: Uint8Array;
  /** The 2 trailing bytes as printed (raw hardware LQI, 0x00 on NCS firmware). */
  trailer: Uint8Array;
  /** `power:` = RSSI in dBm (int8). */
  rssi: number;
  lqi: number;
  /** `time:` µs since the sniffer booted: 64-bit on NCS firmware, 32-bit (wrapping) before. */
  deviceTimeUs: bigint;
  /** Text before `received:` on the same line (noise, or the head of a line cut short), if any. */
  skippedPrefix?: string;
}

export interface SnifferOtherLine {
  kind: 'other';
  line: string;
}

export type SnifferLine = SnifferFrameLine | SnifferOtherLine;

export type SnifferLineField = 'hex' | 'power' | 'lqi' | 'time' | 'line';

/** A `received:` line that cannot be read. `column` is 1-based in the line as received. */
export class SnifferLineError extends Error {
  override name = 'SnifferLineError';
  constructor(readonly line: string, readonly column: number, readonly field: SnifferLineField, readonly reason: string) {
    super(`malformed sniffer frame line, column ${column} (${field}): ${reason}`);
  }
}

const MARK = 'received:';

interface Token {
  text: string;
  /** 1-based column of the token's first character. */
  column: number;
}

function tokens(line: string, from: number): Token[] {
  const out: Token[] = [];
  const re = /\S+/g;
  re.lastIndex = from;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], column: m.index + 1 });
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/**
 * Reads one line from the firmware (terminator already removed). A line with `received:` is a
 * frame or a SnifferLineError; anything else (echo, logs, shell errors, blank) is `other`. When
 * noise or a cut-off line precedes the last `received:`, the frame after it is still read (the
 * extcap's `re.search` does the same) and the noise is returned as `skippedPrefix`.
 */
export function parseSnifferLine(line: string): SnifferLine {
  const at = line.lastIndexOf(MARK);
  if (at < 0) return { kind: 'other', line };
  const t = tokens(line, at + MARK.length);
  const end = line.length + 1;
  const need = (i: number, field: SnifferLineField, what: string): Token => {
    const tok = t[i];
    if (!tok) throw new SnifferLineError(line, end, field, `line ends before ${what}`);
    return tok;
  };
  const keyword = (i: number, word: string, field: SnifferLineField): void => {
    const tok = need(i, field, `"${word}"`);
    if (tok.text !== word) throw new SnifferLineError(line, tok.column, field, `expected "${word}", got "${printable(tok.text)}"`);
  };
  const integer = (i: number, field: SnifferLineField, min: bigint, max: bigint, signed: boolean): bigint => {
    const tok = need(i, field, `the ${field} value`);
    if (!(signed ? /^-?\d+$/ : /^\d+$/).test(tok.text)) {
      throw new SnifferLineError(line, tok.column, field, `expected ${signed ? 'an integer' : 'a non-negative integer'}, got "${printable(tok.text)}"`);
    }
    const v = BigInt(tok.text);
    if (v < min || v > max) throw new SnifferLineError(line, tok.column, field, `${v} is out of range ${min}..${max}`);
    return v;
  };

  const hexTok = need(0, 'hex', 'the frame bytes');
  const hex = hexTok.text;
  for (let i = 0; i < hex.length; i++) {
    if (hexValue(hex.charCodeAt(i)) < 0) {
      throw new SnifferLineError(line, hexTok.column + i, 'hex', `"${printable(hex[i])}" is not a hex digit`);
    }
  }
  if (hex.length % 2 !== 0) throw new SnifferLineError(line, hexTok.column + hex.length - 1, 'hex', `odd number of hex digits (${hex.length})`);
  const n = hex.length / 2;
  if (n < TRAILER_BYTES + 1) {
    throw new SnifferLineError(line, hexTok.column, 'hex', `${n} bytes is too short: need at least 1 byte of frame plus the ${TRAILER_BYTES} trailing bytes`);
  }
  if (n > MAX_PSDU) throw new SnifferLineError(line, hexTok.column, 'hex', `${n} bytes exceeds aMaxPHYPacketSize (${MAX_PSDU})`);
  keyword(1, 'power:', 'power');
  const rssi = integer(2, 'power', -128n, 127n, true);
  keyword(3, 'lqi:', 'lqi');
  const lqi = integer(4, 'lqi', 0n, 255n, false);
  keyword(5, 'time:', 'time');
  const time = integer(6, 'time', 0n, UINT64_MAX, false);
  if (t.length > 7) throw new SnifferLineError(line, t[7].column, 'line', `unexpected text after the time: "${printable(t[7].text)}"`);

  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (hexValue(hex.charCodeAt(2 * i)) << 4) | hexValue(hex.charCodeAt(2 * i + 1));
  const frame: SnifferFrameLine = {
    kind: 'frame',
    psdu: bytes.slice(0, n - TRAILER_BYTES),
    trailer: bytes.slice(n - TRAILER_BYTES),
    rssi: Number(rssi),
    lqi: Number(lqi),
    deviceTimeUs: time,
  };
  const prefix = line.slice(0, at);
  if (prefix.trim() !== '') frame.skippedPrefix = prefix;
  return frame;
}

/** The line the firmware prints for a frame (used by the emulator; inverse of parseSnifferLine). */
export function formatSnifferLine(f: { psdu: Uint8Array; trailer: Uint8Array; rssi: number; lqi: number; deviceTimeUs: bigint }): string {
  let hex = '';
  for (const b of f.psdu) hex += b.toString(16).padStart(2, '0');
  for (const b of f.trailer) hex += b.toString(16).padStart(2, '0');
  return `received: ${hex} power: ${f.rssi} lqi: ${f.lqi} time: ${f.deviceTimeUs}`;
}

// ---------------------------------------------------------------------------------------------
// Commands. The shell ends a line on CR or LF; the extcap sends CRLF (radios.md §1.2).

export const SnifferCommand = {
  /** Empty line: ends whatever a previous host left half-typed (extcap `_stop()` sends it first). */
  newline: '',
  sleep: 'sleep',
  echoOff: 'shell echo off',
  receive: 'receive',
  /** `channel` alone: the firmware prints the current channel as a bare number. */
  channelQuery: 'channel',
  channel: (n: number): string => {
    if (!Number.isInteger(n) || n < 11 || n > 26) throw new RangeError(`"channel" expected 11..26 (2.4 GHz O-QPSK), got ${n}`);
    return `channel ${n}`;
  },
} as const;

/** A command as bytes on the wire: ASCII, `\r\n` terminated. */
export function encodeCommand(command: string): Uint8Array {
  if (/[\r\n]/.test(command)) throw new RangeError(`"command" must be one line, got ${JSON.stringify(command)}`);
  if (!/^[\x20-\x7e]*$/.test(command)) throw new RangeError(`"command" must be printable ASCII, got ${JSON.stringify(command)}`);
  const text = `${command}\r\n`;
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Line splitting. A line ends at CR, LF or CRLF (one ending, even across chunks). NUL bytes
// (line noise and USB CDC padding) are dropped and counted. A run of bytes longer than `maxLine`
// without an ending is cut and reported at once (not at an ending that may never come), then
// everything up to the next ending is discarded: one lost newline costs one line and the stream
// resynchronises on the next.

export type SplitEvent =
  /** A complete line, bytes as latin1 characters (one char per byte, so nothing is lost). */
  | { kind: 'line'; text: string }
  /** More than `maxLine` bytes without an ending; `head` is the first `maxLine` of them. The rest of that line is dropped. */
  | { kind: 'overlong'; head: string; maxLine: number }
  /** NUL bytes dropped from the stream. */
  | { kind: 'nul'; count: number };

/** Longest legitimate line: "received: " + 254 hex + " power: -128 lqi: 255 time: <20 digits>" ≈ 310 bytes. */
export const DEFAULT_MAX_LINE = 512;

export class LineSplitter {
  private buf: number[] = [];
  private afterCr = false;
  private discarding = false;

  constructor(readonly maxLine = DEFAULT_MAX_LINE) {
    if (!Number.isInteger(maxLine) || maxLine < 16) throw new RangeError(`"maxLine" expected an integer >= 16, got ${maxLine}`);
  }

  push(chunk: Uint8Array): SplitEvent[] {
    const out: SplitEvent[] = [];
    let nul = 0;
    for (const b of chunk) {
      if (b === 0x0a && this.afterCr) { this.afterCr = false; continue; }
      this.afterCr = b === 0x0d;
      if (b === 0x0d || b === 0x0a) {
        if (!this.discarding) out.push({ kind: 'line', text: latin1(this.buf) });
        this.discarding = false;
        this.buf = [];
        continue;
      }
      if (b === 0x00) { nul++; continue; }
      if (this.discarding) continue;
      this.buf.push(b);
      if (this.buf.length > this.maxLine) {
        out.push({ kind: 'overlong', head: latin1(this.buf.slice(0, this.maxLine)), maxLine: this.maxLine });
        this.discarding = true;
        this.buf = [];
      }
    }
    if (nul > 0) out.push({ kind: 'nul', count: nul });
    return out;
  }

  /** Bytes held for an unfinished line (for diagnostics when the port closes). */
  get pending(): number {
    return this.buf.length;
  }
}

function latin1(bytes: number[]): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.slice(i, i + 4096));
  return s;
}

/** True when the line holds only what the firmware prints (printable ASCII and tabs). */
export function isPrintable(line: string): boolean {
  return /^[\t\x20-\x7e]*$/.test(line);
}
