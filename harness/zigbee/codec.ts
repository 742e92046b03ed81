// Shared plumbing of every frame codec: a bounds-checked reader, a growable writer, and the
// typed error a decoder returns when a frame stops making sense. A decoder never throws an
// untyped error on bad input: it returns what it decoded so far plus a DecodeError.

/** Protocol layers, as named in errors, summaries and `security` attributions. */
export type Layer = 'mac' | 'nwk' | 'aps' | 'zdo' | 'zcl' | 'capture';

/** Why a frame (or a part of it) did not decode. `offset` is from the start of the PSDU. */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    readonly layer: Layer,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${layer} @${offset}: ${reason}`);
  }
}

/** The value a decoder produced, or how far it got and why it stopped. */
export type Decoded<T> = { ok: true; value: T; offset: number } | { ok: false; error: DecodeError; partial?: Partial<T> };

/**
 * Cursor over a byte array that throws DecodeError (never RangeError) when a read would pass
 * the end. `base` makes offsets in errors absolute when a layer decodes a sub-array.
 */
export class ByteReader {
  offset: number;
  constructor(
    public bytes: Uint8Array,
    public layer: Layer,
    offset = 0,
    public base = 0,
  ) {
    this.offset = offset;
  }

  /** Points this reader at other bytes: a decoder that reads many frames keeps one reader (readXxx(r) decoders). */
  reset(bytes: Uint8Array, layer: Layer, offset = 0, base = 0): this {
    this.bytes = bytes;
    this.layer = layer;
    this.offset = offset;
    this.base = base;
    return this;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  fail(reason: string, at = this.offset): never {
    throw new DecodeError(this.layer, this.base + at, reason);
  }

  need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length) {
      this.fail(`truncated ${what}: need ${n} byte${n === 1 ? '' : 's'}, have ${this.remaining}`);
    }
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.bytes[this.offset++];
  }

  u16(what = 'uint16'): number {
    this.need(2, what);
    const o = this.offset;
    this.offset += 2;
    return this.bytes[o] | (this.bytes[o + 1] << 8);
  }

  u32(what = 'uint32'): number {
    this.need(4, what);
    const o = this.offset;
    this.offset += 4;
    return (this.bytes[o] | (this.bytes[o + 1] << 8) | (this.bytes[o + 2] << 16) | (this.bytes[o + 3] << 24)) >>> 0;
  }

  /** `n` bytes as a view (no copy); callers copy if they keep it beyond the frame's life. */
  take(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  rest(): Uint8Array {
    const v = this.bytes.subarray(this.offset);
    this.offset = this.bytes.length;
    return v;
  }

  /** An EUI-64 as sent on air (8 bytes little-endian), returned in printed order. */
  eui64(what = 'EUI-64'): Eui64 {
    this.need(8, what);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 8;
    // eui64FromAir without a view of the 8 bytes (a typed-array view costs more than the string)
    return HEX_PAIRS[b[o + 7]] + HEX_PAIRS[b[o + 6]] + HEX_PAIRS[b[o + 5]] + HEX_PAIRS[b[o + 4]]
      + HEX_PAIRS[b[o + 3]] + HEX_PAIRS[b[o + 2]] + HEX_PAIRS[b[o + 1]] + HEX_PAIRS[b[o]];
  }
}

/** Little-endian writer that grows as needed. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;
  constructor(capacity = 128) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf[this.length++] = v & 0xff;
    this.buf[this.length++] = (v >>> 8) & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    for (let i = 0; i < 4; i++) this.buf[this.length++] = (v >>> (8 * i)) & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  eui64(e: Eui64): this {
    return this.bytes(eui64ToAir(e));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * An EUI-64 in printed (big-endian) order as 16 lowercase hex digits, e.g. "000d6f000061 4edf"
 * without the space. Strings compare and key maps cleanly; conversions to on-air order are here.
 */
export type Eui64 = string;

/** Two hex digits per byte value: EUI-64 strings are built on every secured frame. */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

export function eui64FromAir(air: Uint8Array): Eui64 {
  return HEX_PAIRS[air[7]] + HEX_PAIRS[air[6]] + HEX_PAIRS[air[5]] + HEX_PAIRS[air[4]]
    + HEX_PAIRS[air[3]] + HEX_PAIRS[air[2]] + HEX_PAIRS[air[1]] + HEX_PAIRS[air[0]];
}

export function eui64ToAir(e: Eui64): Uint8Array {
  // Digit by digit rather than a regex and parseInt: this runs for secured frames.
  const out = new Uint8Array(8);
  if (typeof e === 'string' && e.length === 16) {
    let bad = false;
    for (let i = 0; i < 8; i++) {
      const hi = lowerHexDigit(e.charCodeAt(2 * i));
      const lo = lowerHexDigit(e.charCodeAt(2 * i + 1));
      bad ||= hi < 0 || lo < 0;
      out[7 - i] = (hi << 4) | lo;
    }
    if (!bad) return out;
  }
  throw new RangeError(`EUI-64 must be 16 lowercase hex digits, got "${e}"`);
}

/** 0–15 for '0'–'9' and 'a'–'f', else -1. */
function lowerHexDigit(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
}

/** Accepts "00:0D:6F:…", "000D6F…", "00-0d-…" and returns the canonical Eui64 string. */
export function parseEui64(text: string): Eui64 {
  const hex = text.trim().replace(/^0x/i, '').replace(/[\s:.-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new RangeError(`"${text}" is not an EUI-64 (expected 16 hex digits, separators allowed)`);
  return hex;
}

/** "00:0d:6f:00:00:61:4e:df", the form Wireshark prints. */
export function formatEui64(e: Eui64): string {
  return e.match(/../g)!.join(':');
}

/** Runs a throwing decoder and turns DecodeError into the Decoded<T> value form. */
export function tryDecode<T>(fn: () => { value: T; offset: number }): Decoded<T> {
  try {
    const r = fn();
    return { ok: true, value: r.value, offset: r.offset };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    throw e;
  }
}

/** Reverses an id table ({ name: id } → { id: name }) for the dissector's names. */
export function invert<T extends Record<string, number>>(o: T): Readonly<Record<number, keyof T & string>> {
  const out: Record<number, keyof T & string> = {};
  for (const k of Object.keys(o) as (keyof T & string)[]) out[o[k]] = k;
  return out;
}
