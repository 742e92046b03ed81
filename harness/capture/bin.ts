// Endian-aware byte plumbing for capture containers (pcapng sections can be either byte
// order; classic pcap too) and the error a container reader throws. Pure: no `node:` imports.

import { DecodeError } from '../zigbee/codec.ts';

/**
 * A capture file that is malformed (not merely cut short): `offset` is the file offset of the
 * block or record that does not make sense, `reason` says what is wrong with it.
 */
export class CaptureError extends DecodeError {
  override name = 'CaptureError';
  constructor(offset: number, reason: string) {
    super('capture', offset, reason);
  }
}

/** Reads fixed-width integers at absolute offsets in one byte order. Callers bounds-check. */
export class BinView {
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(at: number): number {
    return this.dv.getUint16(at, this.le);
  }
  u32(at: number): number {
    return this.dv.getUint32(at, this.le);
  }
  i32(at: number): number {
    return this.dv.getInt32(at, this.le);
  }
  u64(at: number): bigint {
    return this.dv.getBigUint64(at, this.le);
  }
  i64(at: number): bigint {
    return this.dv.getBigInt64(at, this.le);
  }
}

/** Growable writer in one byte order (pcapng and pcap files may be written either way). */
export class BinWriter {
  private buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);
  length = 0;
  constructor(readonly le = true) {}

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.dv.setUint16(this.length, v, this.le);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.dv.setUint32(this.length, v >>> 0, this.le);
    this.length += 4;
    return this;
  }
  i64(v: bigint): this {
    this.ensure(8);
    this.dv.setBigInt64(this.length, v, this.le);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Zero bytes up to the next multiple of 4. */
  pad4(): this {
    while (this.length % 4 !== 0) this.u8(0);
    return this;
  }
  /** Overwrites a u32 already written (block lengths are known only at the end). */
  patchU32(at: number, v: number): this {
    this.dv.setUint32(at, v >>> 0, this.le);
    return this;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function checkU32(v: number, title: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`"${title}" expected an integer in 0..2^32-1, got ${v}`);
}

/** ns → units of a pcapng if_tsresol (6 = µs, 9 = ns, MSB set = 2^-n). @spec draft-ietf-opsawg-pcapng §4.2 if_tsresol */
export function nsToUnits(ns: bigint, tsresol: number): bigint {
  if (tsresol & 0x80) return (ns << BigInt(tsresol & 0x7f)) / 1_000_000_000n;
  return tsresol <= 9 ? ns / 10n ** BigInt(9 - tsresol) : ns * 10n ** BigInt(tsresol - 9);
}

/** Units of a pcapng if_tsresol → ns (floored). */
export function unitsToNs(units: bigint, tsresol: number): bigint {
  if (tsresol & 0x80) return (units * 1_000_000_000n) >> BigInt(tsresol & 0x7f);
  return tsresol <= 9 ? units * 10n ** BigInt(9 - tsresol) : units / 10n ** BigInt(tsresol - 9);
}
