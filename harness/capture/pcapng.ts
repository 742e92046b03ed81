// pcapng blocks: encode (SHB, IDB, EPB with options) and decode a whole file into interfaces and
// packet records, in either byte order, across sections. Link-type payloads (TAP etc.) are not
// looked at here (see link.ts). Pure: no `node:` imports.
//
// @spec draft-ietf-opsawg-pcapng (PCAP Next Generation Dump File Format) §3 general block
//   structure: type u32 | total length u32 | body padded to 4 | total length u32 again.

import { BinView, BinWriter, CaptureError, checkU32, unitsToNs } from './bin.ts';

/** Block types. @spec draft-ietf-opsawg-pcapng §10.1 (Block Type Codes) */
export const enum BlockType {
  SectionHeader = 0x0a0d0d0a,
  InterfaceDescription = 1,
  Packet = 2, // obsolete, still read
  SimplePacket = 3,
  NameResolution = 4,
  InterfaceStatistics = 5,
  EnhancedPacket = 6,
  SystemdJournal = 9,
  DecryptionSecrets = 0x0a,
  Custom = 0xbad,
  CustomNoCopy = 0x40000bad,
}

const KNOWN_TYPES = new Set<number>([0x0a0d0d0a, 1, 2, 3, 4, 5, 6, 9, 0x0a, 0xbad, 0x40000bad]);
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Larger blocks are treated as garbage, not as a truncation (Wireshark caps blocks near 16 MiB). */
const MAX_BLOCK = 16 * 1024 * 1024;

/** Option codes. @spec draft-ietf-opsawg-pcapng §3.5 (opt_*), §4.1 (shb_*), §4.2 (if_*) */
export const enum Opt {
  EndOfOpt = 0,
  Comment = 1,
  ShbHardware = 2,
  ShbOs = 3,
  ShbUserAppl = 4,
  IfName = 2,
  IfDescription = 3,
  IfTsresol = 9,
  IfFcslen = 13,
  IfTsoffset = 14,
  EpbFlags = 2,
}

export interface InterfaceDescription {
  linkType: number;
  /** 0 = no limit. */
  snapLen?: number;
  name?: string;
  description?: string;
  /** if_tsresol byte: 6 = µs (the default when absent), 9 = ns, 0x80|n = 2^-n s. */
  tsresol?: number;
  /** if_tsoffset, seconds added to every timestamp. */
  tsoffsetSec?: bigint;
  /** if_fcslen as stored (kept for information; link.ts decides FCS presence per link type). */
  fcsLen?: number;
}

export interface EnhancedPacket {
  interfaceId: number;
  /** Count of if_tsresol units since 1970-01-01 00:00 UTC (minus if_tsoffset). */
  timestamp: bigint;
  data: Uint8Array;
  /** Length on the wire; defaults to data.length. */
  originalLength?: number;
  /** opt_comment (UTF-8). */
  comment?: string;
}

/** An interface as read from a file; `section` counts SHBs from 0, `offset` is the IDB's. */
export interface RawInterface extends InterfaceDescription {
  snapLen: number;
  tsresol: number;
  section: number;
  offset: number;
}

/** A packet as read from a file: `interface` indexes RawCapture.interfaces (global, not per section). */
export interface RawRecord {
  interface: number;
  timestampNs: bigint;
  data: Uint8Array;
  originalLength: number;
  comment?: string;
  /** File offset of the block or record this packet came from. */
  offset: number;
}

export interface RawCapture {
  format: 'pcapng' | 'pcap';
  interfaces: RawInterface[];
  records: RawRecord[];
  warnings: string[];
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function block(type: number, le: boolean, body: (w: BinWriter) => void): Uint8Array {
  const w = new BinWriter(le);
  w.u32(type).u32(0);
  body(w);
  w.pad4();
  const total = w.length + 4;
  w.u32(total).patchU32(4, total);
  return w.finish();
}

function option(w: BinWriter, code: number, value: Uint8Array): void {
  if (value.length > 0xffff) throw new RangeError(`pcapng option ${code} is ${value.length} bytes (max 65535)`);
  w.u16(code).u16(value.length).bytes(value).pad4();
}

function endOptions(w: BinWriter, wrote: boolean): void {
  if (wrote) w.u16(Opt.EndOfOpt).u16(0);
}

/** @spec draft-ietf-opsawg-pcapng §4.1 Section Header Block (version 1.0, section length -1 = unknown) */
export function encodeSectionHeader(opts: { userAppl?: string; hardware?: string; os?: string } = {}, le = true): Uint8Array {
  return block(BlockType.SectionHeader, le, (w) => {
    w.u32(BYTE_ORDER_MAGIC).u16(1).u16(0).i64(-1n);
    const entries: [number, string | undefined][] = [[Opt.ShbHardware, opts.hardware], [Opt.ShbOs, opts.os], [Opt.ShbUserAppl, opts.userAppl]];
    let wrote = false;
    for (const [code, text] of entries) {
      if (text !== undefined) { option(w, code, utf8.encode(text)); wrote = true; }
    }
    endOptions(w, wrote);
  });
}

/** @spec draft-ietf-opsawg-pcapng §4.2 Interface Description Block */
export function encodeInterfaceDescription(idb: InterfaceDescription, le = true): Uint8Array {
  if (!Number.isInteger(idb.linkType) || idb.linkType < 0 || idb.linkType > 0xffff) throw new RangeError(`"linkType" expected 0..65535, got ${idb.linkType}`);
  checkU32(idb.snapLen ?? 0, 'snapLen');
  return block(BlockType.InterfaceDescription, le, (w) => {
    w.u16(idb.linkType).u16(0).u32(idb.snapLen ?? 0);
    let wrote = false;
    if (idb.name !== undefined) { option(w, Opt.IfName, utf8.encode(idb.name)); wrote = true; }
    if (idb.description !== undefined) { option(w, Opt.IfDescription, utf8.encode(idb.description)); wrote = true; }
    if (idb.tsresol !== undefined) { option(w, Opt.IfTsresol, Uint8Array.of(idb.tsresol)); wrote = true; }
    if (idb.fcsLen !== undefined) { option(w, Opt.IfFcslen, Uint8Array.of(idb.fcsLen)); wrote = true; }
    if (idb.tsoffsetSec !== undefined) {
      option(w, Opt.IfTsoffset, new BinWriter(le).i64(idb.tsoffsetSec).finish());
      wrote = true;
    }
    endOptions(w, wrote);
  });
}

/** @spec draft-ietf-opsawg-pcapng §4.3 Enhanced Packet Block (timestamp = upper u32, lower u32) */
export function encodeEnhancedPacket(epb: EnhancedPacket, le = true): Uint8Array {
  checkU32(epb.interfaceId, 'interfaceId');
  if (epb.timestamp < 0n || epb.timestamp >= 1n << 64n) throw new RangeError(`"timestamp" expected 0..2^64-1 units, got ${epb.timestamp}`);
  const orig = epb.originalLength ?? epb.data.length;
  checkU32(orig, 'originalLength');
  return block(BlockType.EnhancedPacket, le, (w) => {
    w.u32(epb.interfaceId).u32(Number(epb.timestamp >> 32n)).u32(Number(epb.timestamp & 0xffffffffn));
    w.u32(epb.data.length).u32(orig).bytes(epb.data).pad4();
    if (epb.comment !== undefined) {
      option(w, Opt.Comment, utf8.encode(epb.comment));
      endOptions(w, true);
    }
  });
}

/** Options of a block body from `at` to `end`. @spec draft-ietf-opsawg-pcapng §3.5 */
function readOptions(v: BinView, at: number, end: number, blockOffset: number, base = 0): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  while (end - at >= 4) {
    const code = v.u16(at);
    const len = v.u16(at + 2);
    if (code === Opt.EndOfOpt) break;
    const padded = (len + 3) & ~3;
    if (at + 4 + padded > end) throw new CaptureError(blockOffset, `option ${code} at offset ${base + at} (length ${len}) runs past the end of its block`);
    const list = out.get(code) ?? [];
    list.push(v.bytes.subarray(at + 4, at + 4 + len));
    out.set(code, list);
    at += 4 + padded;
  }
  return out;
}

const text = (opts: Map<number, Uint8Array[]>, code: number): string | undefined => {
  const list = opts.get(code);
  return list === undefined ? undefined : list.map((b) => fromUtf8.decode(b)).join('\n');
};

/** More bytes of a file being walked (see PcapngWalker). */
export interface ByteSource {
  /**
   * A new array that starts with `tail` (the unread end of the bytes so far) and goes on with the
   * next bytes of the file — at least `need` in all when the file has them — or undefined when
   * the file has no more bytes. Arrays handed out are never written again (packets view them).
   */
  more(tail: Uint8Array, need: number): Uint8Array | undefined;
  /** Releases what the source holds (a file descriptor); called once the reader is done with it. */
  close?(): void;
}

/** Little-endian u32 at bytes[at..at+4) (callers bounds-check). */
function u32le(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/**
 * Walks a pcapng file block by block, stopping at each packet record (EPB, or the obsolete PB):
 * `next()` advances to the next one and leaves its fields in the walker's own properties (no
 * object per packet: a streaming reader builds exactly what it needs from them). Interfaces and
 * warnings accumulate in `cap` as blocks are read; the same rules as decodePcapng (which is
 * this walker collecting records): a last block cut short ends the walk with a warning, a
 * malformed block throws CaptureError, unknown blocks are skipped, Simple Packet Blocks are
 * skipped with a warning at the end.
 */
export class PcapngWalker {
  readonly cap: RawCapture = { format: 'pcapng', interfaces: [], records: [], warnings: [] };
  /** The bytes read so far that are still needed: the whole file, or (with a ByteSource) a window of it. */
  bytes: Uint8Array;
  /** File offset of bytes[0]. */
  base = 0;
  /** Packets read so far (the current one included). */
  recordCount = 0;
  /** The current packet: index into cap.interfaces. */
  recInterface = 0;
  /** The current packet: timestamp units, upper and lower 32 bits. */
  tsHi = 0;
  tsLo = 0;
  /** The current packet: its data is bytes[dataStart, dataStart + capLen) (of the current `bytes`). */
  dataStart = 0;
  capLen = 0;
  originalLength = 0;
  /** The current packet: file offset of its block (absolute, also with a ByteSource). */
  recOffset = 0;
  comment: string | undefined = undefined;
  private v: BinView | undefined = undefined;
  private asLe: BinView;
  /** No more bytes to come: a block past the end of `bytes` is a truncation. */
  private eof: boolean;
  private section = -1;
  private local: number[] = []; // interface id within the section → index in cap.interfaces
  private skippedSimple = 0;
  private off = 0;
  private done = false;

  /**
   * `bytes`: the whole file, or with `source` its first part (the rest is read as the walk needs
   * it, so a large file is never in memory at once unless the caller keeps every packet).
   */
  constructor(bytes: Uint8Array, private readonly source?: ByteSource) {
    this.bytes = bytes;
    this.asLe = new BinView(bytes, true);
    this.eof = source === undefined;
  }

  /** Reads on until bytes[off, off + need) is there or the source is exhausted; moves the window. */
  private fill(need: number): void {
    while (!this.eof && this.bytes.length - this.off < need) {
      const next = this.source!.more(this.bytes.subarray(this.off), need);
      if (next === undefined) {
        this.eof = true;
        break;
      }
      const le = this.v === undefined || this.v === this.asLe;
      this.base += this.off;
      this.off = 0;
      this.bytes = next;
      this.asLe = new BinView(next, true);
      if (this.v !== undefined) this.v = le ? this.asLe : new BinView(next, false);
    }
  }

  /** The current packet's interface. */
  get iface(): RawInterface {
    return this.cap.interfaces[this.recInterface];
  }

  /** The current packet's timestamp in ns since 1970 (if_tsresol and if_tsoffset applied). */
  timestampNs(): bigint {
    const iface = this.cap.interfaces[this.recInterface];
    const hi = this.tsHi;
    if (iface.tsresol === 6 && iface.tsoffsetSec === undefined && hi < 0x200000) {
      // The common case (µs, no offset, before the year 2255): the units fit a double exactly,
      // so one BigInt conversion and one multiplication instead of the general bigint path.
      return BigInt(hi * 0x100000000 + this.tsLo) * 1000n;
    }
    const units = (BigInt(hi) << 32n) | BigInt(this.tsLo);
    return unitsToNs(units, iface.tsresol) + (iface.tsoffsetSec ?? 0n) * 1_000_000_000n;
  }

  /**
   * The current packet's timestamp in whole µs since 1970 as a number: no BigInt in the common
   * case (µs resolution, no offset). Exact while below 2^53 µs (the year 2255); floored like
   * timestampNs() / 1000n.
   */
  timestampUs(): number {
    const iface = this.cap.interfaces[this.recInterface];
    if (iface.tsresol === 6 && iface.tsoffsetSec === undefined && this.tsHi < 0x200000) return this.tsHi * 0x100000000 + this.tsLo;
    return Number(this.timestampNs() / 1000n);
  }

  private truncated(why: string): void {
    this.cap.warnings.push(`truncated block at offset ${this.base + this.off}: ${why}; ${this.recordCount} complete packet(s) before it were read`);
  }

  private finish(): false {
    if (!this.done) {
      this.done = true;
      if (this.skippedSimple > 0) this.cap.warnings.push(`skipped ${this.skippedSimple} Simple Packet Block(s): they carry no timestamp`);
    }
    return false;
  }

  /** Advances to the next packet record; false at the end of the file (or a truncated last block). */
  next(): boolean {
    if (this.done) return false;
    const cap = this.cap;
    for (;;) {
      if (!this.eof && this.bytes.length - this.off < 32) this.fill(32);
      const bytes = this.bytes;
      const asLe = this.asLe;
      const off = this.off;
      if (off >= bytes.length) break;
      const left = bytes.length - off;
      const at = this.base + off; // file offset of this block
      // Fast path, the block almost every file is made of: a complete little-endian EPB without
      // options. Same checks as below, the fields read straight from the bytes.
      if (this.v === asLe && left >= 32 && u32le(bytes, off) === BlockType.EnhancedPacket) {
        const total = u32le(bytes, off + 4);
        const id = u32le(bytes, off + 8);
        const capLen = u32le(bytes, off + 20);
        if (total >= 32 && (total & 3) === 0 && total <= MAX_BLOCK && total <= left && u32le(bytes, off + total - 4) === total
          && id < this.local.length && total === 32 + ((capLen + 3) & ~3)) {
          this.off = off + total;
          this.recInterface = this.local[id];
          this.tsHi = u32le(bytes, off + 12);
          this.tsLo = u32le(bytes, off + 16);
          this.dataStart = off + 28;
          this.capLen = capLen;
          this.originalLength = u32le(bytes, off + 24);
          this.recOffset = at;
          this.comment = undefined;
          this.recordCount++;
          return true;
        }
      }
      if (!this.eof && left >= 12) {
        // The block's length in its section's byte order (an SHB says its own in its magic).
        let bo = this.v ?? asLe;
        if (asLe.u32(off) === BlockType.SectionHeader) bo = asLe.u32(off + 8) === 0x4d3c2b1a ? new BinView(bytes, false) : asLe;
        const total = bo.u32(off + 4);
        if (total > left && total <= MAX_BLOCK) {
          this.fill(total); // the whole block, or the end of the file
          continue;
        }
      }
      if (left < 12) {
        this.truncated(`only ${left} byte(s) of a block header`);
        return this.finish();
      }
      const type = asLe.u32(off); // SHB type is the same in both orders
      let v = this.v;
      if (type === BlockType.SectionHeader) {
        const magic = asLe.u32(off + 8);
        if (magic === BYTE_ORDER_MAGIC) v = asLe;
        else if (magic === 0x4d3c2b1a) v = new BinView(bytes, false);
        else throw new CaptureError(at, `Section Header Block has byte-order magic 0x${magic.toString(16)}, expected 0x1a2b3c4d in either byte order`);
        this.v = v;
      } else if (v === undefined) {
        throw new CaptureError(at, `file does not start with a Section Header Block (type 0x${type.toString(16)})`);
      }
      const btype = v.u32(off);
      const total = v.u32(off + 4);
      if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK) {
        throw new CaptureError(at, `block type 0x${btype.toString(16)} has total length ${total} (must be a multiple of 4 in 12..${MAX_BLOCK})`);
      }
      if (total > left) {
        if (!KNOWN_TYPES.has(btype)) throw new CaptureError(at, `block of unknown type 0x${btype.toString(16)} claims ${total} bytes but only ${left} remain`);
        if (btype === BlockType.EnhancedPacket && left >= 24) {
          const iface = v.u32(off + 8);
          if (iface >= this.local.length) throw new CaptureError(at, `Enhanced Packet Block names interface ${iface} but the section declares ${this.local.length}`);
          if (v.u32(off + 20) > total - 32) throw new CaptureError(at, `Enhanced Packet Block captured length ${v.u32(off + 20)} does not fit its block length ${total}`);
        }
        this.truncated(`block type 0x${btype.toString(16)} claims ${total} bytes, only ${left} present`);
        return this.finish();
      }
      const trailer = v.u32(off + total - 4);
      if (trailer !== total) throw new CaptureError(at, `block type 0x${btype.toString(16)} has trailing length ${trailer}, leading length ${total}`);
      const end = off + total - 4;
      this.off = off + total;
      switch (btype) {
        case BlockType.SectionHeader: {
          const major = v.u16(off + 12);
          const minor = v.u16(off + 14);
          if (major !== 1) throw new CaptureError(at, `pcapng version ${major}.${minor} is not supported (expected 1.x)`);
          this.section++;
          this.local = [];
          if (total < 28) throw new CaptureError(at, `Section Header Block of ${total} bytes is shorter than 28`);
          break;
        }
        case BlockType.InterfaceDescription: {
          if (total < 20) throw new CaptureError(at, `Interface Description Block of ${total} bytes is shorter than 20`);
          const opts = readOptions(v, off + 16, end, at, this.base);
          const tsresol = opts.get(Opt.IfTsresol)?.[0]?.[0] ?? 6;
          const tsoff = opts.get(Opt.IfTsoffset)?.[0];
          const iface: RawInterface = { linkType: v.u16(off + 8), snapLen: v.u32(off + 12), tsresol, section: this.section, offset: at };
          const name = text(opts, Opt.IfName);
          const description = text(opts, Opt.IfDescription);
          if (name !== undefined) iface.name = name;
          if (description !== undefined) iface.description = description;
          if (tsoff?.length === 8) iface.tsoffsetSec = new BinView(tsoff, v.le).i64(0);
          const fcs = opts.get(Opt.IfFcslen)?.[0]?.[0];
          if (fcs !== undefined) iface.fcsLen = fcs;
          this.local.push(cap.interfaces.length);
          cap.interfaces.push(iface);
          break;
        }
        case BlockType.EnhancedPacket:
        case BlockType.Packet: {
          const epb = btype === BlockType.EnhancedPacket;
          if (total < 32) throw new CaptureError(at, `packet block of ${total} bytes is shorter than 32`);
          const id = epb ? v.u32(off + 8) : v.u16(off + 8);
          if (id >= this.local.length) throw new CaptureError(at, `packet block names interface ${id} but the section declares ${this.local.length}`);
          const capLen = v.u32(off + 20);
          if (28 + capLen > end - off) throw new CaptureError(at, `captured length ${capLen} does not fit a block of ${total} bytes`);
          this.recInterface = this.local[id];
          this.tsHi = v.u32(off + 12);
          this.tsLo = v.u32(off + 16);
          this.dataStart = off + 28;
          this.capLen = capLen;
          this.originalLength = v.u32(off + 24);
          this.recOffset = at;
          this.comment = undefined;
          const optStart = off + 28 + ((capLen + 3) & ~3);
          if (end - optStart >= 4) { // options present: most packet blocks have none
            this.comment = text(readOptions(v, optStart, end, at, this.base), Opt.Comment);
          }
          this.recordCount++;
          return true;
        }
        case BlockType.SimplePacket:
          this.skippedSimple++;
          break;
        default:
          break; // NRB, ISB, DSB, custom …: nothing we need
      }
    }
    return this.finish();
  }

  /** The current packet as a RawRecord (data is a view into the bytes read). */
  record(): RawRecord {
    const rec: RawRecord = {
      interface: this.recInterface,
      timestampNs: this.timestampNs(),
      data: this.bytes.subarray(this.dataStart, this.dataStart + this.capLen),
      originalLength: this.originalLength,
      offset: this.recOffset,
    };
    if (this.comment !== undefined) rec.comment = this.comment;
    return rec;
  }
}

/**
 * Decodes a pcapng file. A last block cut short (a killed writer, a copy in progress) ends the
 * read with a warning naming its offset; a block that is malformed throws CaptureError.
 * Unknown block types are skipped; Simple Packet Blocks are skipped with a warning (no timestamp).
 *
 * With `onRecord`, each packet record is handed to it, with its interface, as soon as it is read instead of being collected in `records`: a reader that turns records
 * into its own objects then keeps no second copy of every packet alive (GC time, large files).
 * (PcapngWalker reads packets one at a time without any record object.)
 */
export function decodePcapng(bytes: Uint8Array, onRecord?: (rec: RawRecord, iface: RawInterface) => void): RawCapture {
  const w = new PcapngWalker(bytes);
  const cap = w.cap;
  while (w.next()) {
    const rec = w.record();
    if (onRecord === undefined) cap.records.push(rec);
    else onRecord(rec, w.iface);
  }
  return cap;
}
