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
function readOptions(v: BinView, at: number, end: number, blockOffset: number): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  while (end - at >= 4) {
    const code = v.u16(at);
    const len = v.u16(at + 2);
    if (code === Opt.EndOfOpt) break;
    const padded = (len + 3) & ~3;
    if (at + 4 + padded > end) throw new CaptureError(blockOffset, `option ${code} at offset ${at} (length ${len}) runs past the end of its block`);
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

/**
 * Decodes a pcapng file. A last block cut short (a killed writer, a copy in progress) ends the
 * read with a warning naming its offset; a block that is malformed throws CaptureError.
 * Unknown block types are skipped; Simple Packet Blocks are skipped with a warning (no timestamp).
 *
 * With `onRecord`, each packet record is handed to it, with its interface, as soon as it is read instead of being collected in `records`: a reader that turns records
 * into its own objects then keeps no second copy of every packet alive (GC time, large files).
 */
export function decodePcapng(bytes: Uint8Array, onRecord?: (rec: RawRecord, iface: RawInterface) => void): RawCapture {
  const cap: RawCapture = { format: 'pcapng', interfaces: [], records: [], warnings: [] };
  let recordCount = 0;
  let v: BinView | undefined;
  let section = -1;
  let local: number[] = []; // interface id within the section → index in cap.interfaces
  let skippedSimple = 0;
  let off = 0;
  const asLe = new BinView(bytes, true);
  const truncated = (why: string): void => {
    cap.warnings.push(`truncated block at offset ${off}: ${why}; ${recordCount} complete packet(s) before it were read`);
  };
  while (off < bytes.length) {
    const left = bytes.length - off;
    if (left < 12) {
      truncated(`only ${left} byte(s) of a block header`);
      break;
    }
    const type = asLe.u32(off); // SHB type is the same in both orders
    if (type === BlockType.SectionHeader) {
      const magic = asLe.u32(off + 8);
      if (magic === BYTE_ORDER_MAGIC) v = asLe;
      else if (magic === 0x4d3c2b1a) v = new BinView(bytes, false);
      else throw new CaptureError(off, `Section Header Block has byte-order magic 0x${magic.toString(16)}, expected 0x1a2b3c4d in either byte order`);
    } else if (v === undefined) {
      throw new CaptureError(off, `file does not start with a Section Header Block (type 0x${type.toString(16)})`);
    }
    const btype = v.u32(off);
    const total = v.u32(off + 4);
    if (total < 12 || total % 4 !== 0 || total > MAX_BLOCK) {
      throw new CaptureError(off, `block type 0x${btype.toString(16)} has total length ${total} (must be a multiple of 4 in 12..${MAX_BLOCK})`);
    }
    if (total > left) {
      if (!KNOWN_TYPES.has(btype)) throw new CaptureError(off, `block of unknown type 0x${btype.toString(16)} claims ${total} bytes but only ${left} remain`);
      if (btype === BlockType.EnhancedPacket && left >= 24) {
        const iface = v.u32(off + 8);
        if (iface >= local.length) throw new CaptureError(off, `Enhanced Packet Block names interface ${iface} but the section declares ${local.length}`);
        if (v.u32(off + 20) > total - 32) throw new CaptureError(off, `Enhanced Packet Block captured length ${v.u32(off + 20)} does not fit its block length ${total}`);
      }
      truncated(`block type 0x${btype.toString(16)} claims ${total} bytes, only ${left} present`);
      break;
    }
    const trailer = v.u32(off + total - 4);
    if (trailer !== total) throw new CaptureError(off, `block type 0x${btype.toString(16)} has trailing length ${trailer}, leading length ${total}`);
    const end = off + total - 4;
    switch (btype) {
      case BlockType.SectionHeader: {
        const major = v.u16(off + 12);
        const minor = v.u16(off + 14);
        if (major !== 1) throw new CaptureError(off, `pcapng version ${major}.${minor} is not supported (expected 1.x)`);
        section++;
        local = [];
        if (total < 28) throw new CaptureError(off, `Section Header Block of ${total} bytes is shorter than 28`);
        break;
      }
      case BlockType.InterfaceDescription: {
        if (total < 20) throw new CaptureError(off, `Interface Description Block of ${total} bytes is shorter than 20`);
        const opts = readOptions(v, off + 16, end, off);
        const tsresol = opts.get(Opt.IfTsresol)?.[0]?.[0] ?? 6;
        const tsoff = opts.get(Opt.IfTsoffset)?.[0];
        const iface: RawInterface = { linkType: v.u16(off + 8), snapLen: v.u32(off + 12), tsresol, section, offset: off };
        const name = text(opts, Opt.IfName);
        const description = text(opts, Opt.IfDescription);
        if (name !== undefined) iface.name = name;
        if (description !== undefined) iface.description = description;
        if (tsoff?.length === 8) iface.tsoffsetSec = new BinView(tsoff, v.le).i64(0);
        const fcs = opts.get(Opt.IfFcslen)?.[0]?.[0];
        if (fcs !== undefined) iface.fcsLen = fcs;
        local.push(cap.interfaces.length);
        cap.interfaces.push(iface);
        break;
      }
      case BlockType.EnhancedPacket:
      case BlockType.Packet: {
        const epb = btype === BlockType.EnhancedPacket;
        if (total < 32) throw new CaptureError(off, `packet block of ${total} bytes is shorter than 32`);
        const id = epb ? v.u32(off + 8) : v.u16(off + 8);
        if (id >= local.length) throw new CaptureError(off, `packet block names interface ${id} but the section declares ${local.length}`);
        const capLen = v.u32(off + 20);
        if (28 + capLen > end - off) throw new CaptureError(off, `captured length ${capLen} does not fit a block of ${total} bytes`);
        const iface = cap.interfaces[local[id]];
        const hi = v.u32(off + 12);
        const lo = v.u32(off + 16);
        let timestampNs: bigint;
        if (iface.tsresol === 6 && iface.tsoffsetSec === undefined && hi < 0x200000) {
          // The common case (µs, no offset, before the year 2255): the units fit a double exactly,
          // so one BigInt conversion and one multiplication instead of the general bigint path.
          timestampNs = BigInt(hi * 0x100000000 + lo) * 1000n;
        } else {
          const units = (BigInt(hi) << 32n) | BigInt(lo);
          timestampNs = unitsToNs(units, iface.tsresol) + (iface.tsoffsetSec ?? 0n) * 1_000_000_000n;
        }
        const rec: RawRecord = {
          interface: local[id],
          timestampNs,
          data: bytes.subarray(off + 28, off + 28 + capLen),
          originalLength: v.u32(off + 24),
          offset: off,
        };
        const optStart = off + 28 + ((capLen + 3) & ~3);
        if (end - optStart >= 4) { // options present: most packet blocks have none
          const comment = text(readOptions(v, optStart, end, off), Opt.Comment);
          if (comment !== undefined) rec.comment = comment;
        }
        recordCount++;
        if (onRecord === undefined) cap.records.push(rec);
        else onRecord(rec, iface);
        break;
      }
      case BlockType.SimplePacket:
        skippedSimple++;
        break;
      default:
        break; // NRB, ISB, DSB, custom …: nothing we need
    }
    off += total;
  }
  if (skippedSimple > 0) cap.warnings.push(`skipped ${skippedSimple} Simple Packet Block(s): they carry no timestamp`);
  return cap;
}
