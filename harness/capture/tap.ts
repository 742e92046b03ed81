// IEEE 802.15.4 TAP pseudo-header (LINKTYPE_IEEE802_15_4_TAP = 283): a small TLV header in
// front of the PSDU that carries what the radio knew about the frame (channel, RSS, LQI, FCS
// kind, timestamps). Pure: no `node:` imports.
//
// @spec ieee802154_tap v1.2 (github.com/jkcko/ieee802.15.4-tap, ieee802154_tap.tex)
//
//   0        1        2                3
//   +--------+--------+----------------+
//   | version| reserved|  length (LE)   |   version 0, reserved 0, length = header + TLVs
//   +--------+--------+----------------+
//   | TLV type (LE)   | TLV length (LE) |   length excludes padding
//   | value …, zero-padded to 4 bytes   |
//   +-----------------------------------+
//   | PSDU [+ FCS as the FCS_TYPE TLV says]

import { ByteReader, ByteWriter } from '../zigbee/codec.ts';

export const LINKTYPE_IEEE802_15_4_TAP = 283;

/** TLV types. @spec ieee802154_tap v1.2 §TLV types */
export const enum TapTlv {
  FcsType = 0,
  Rss = 1,
  BitRate = 2,
  ChannelAssignment = 3,
  SunPhyInfo = 4,
  SofTimestamp = 5,
  EofTimestamp = 6,
  Asn = 7,
  SlotTimestamp = 8,
  TimeslotLength = 9,
  Lqi = 10,
  ChannelFrequency = 11,
  ChannelPlan = 12,
  PhyHeader = 13,
}

/** FCS_TYPE values: 0 none, 1 16-bit CRC, 2 32-bit CRC. */
export type TapFcsType = 0 | 1 | 2;

/** Bytes of FCS at the end of the PSDU for each FCS type. */
export function fcsLengthOf(fcsType: TapFcsType): 0 | 2 | 4 {
  return fcsType === 0 ? 0 : fcsType === 1 ? 2 : 4;
}

/** What a TAP header says about one frame. Every field is optional on the wire. */
export interface TapFields {
  /** Absent = the header carried no FCS_TYPE TLV (Wireshark then assumes 16-bit). */
  fcsType?: TapFcsType;
  /** Received signal strength in dBm, stored as float32 (so it round-trips through Math.fround). */
  rssi?: number;
  bitRate?: number;
  channel?: number;
  /** Channel page; written as 0 when `channel` is set and this is not. */
  page?: number;
  lqi?: number;
  /** Start-of-frame timestamp, ns since the radio's own epoch (not wall-clock). */
  sofTimestampNs?: bigint;
  eofTimestampNs?: bigint;
  /** Centre frequency in kHz (float32). */
  frequencyKhz?: number;
}

export interface TapHeader extends TapFields {
  /** Total header length in bytes (= offset of the PSDU). */
  length: number;
  /** Types of TLVs that were present but not interpreted (skipped as the spec allows). */
  skipped: number[];
}

const U64_MAX = (1n << 64n) - 1n;

function checkInt(v: number, max: number, title: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`"${title}" expected an integer in 0..${max}, got ${v}`);
}

/** Encodes a TAP header (no PSDU). TLVs are written in ascending type order. */
export function encodeTapHeader(fields: TapFields): Uint8Array {
  const w = new ByteWriter(48);
  w.u8(0).u8(0).u16(0); // version, reserved, length patched below
  const tlv = (type: number, value: Uint8Array): void => {
    w.u16(type).u16(value.length).bytes(value);
    for (let i = value.length; i % 4 !== 0; i++) w.u8(0);
  };
  if (fields.fcsType !== undefined) {
    checkInt(fields.fcsType, 2, 'fcsType');
    tlv(TapTlv.FcsType, Uint8Array.of(fields.fcsType));
  }
  if (fields.rssi !== undefined) tlv(TapTlv.Rss, f32(fields.rssi, 'rssi'));
  if (fields.bitRate !== undefined) {
    checkInt(fields.bitRate, 0xffffffff, 'bitRate');
    tlv(TapTlv.BitRate, new ByteWriter(4).u32(fields.bitRate).finish());
  }
  if (fields.channel !== undefined) {
    checkInt(fields.channel, 0xffff, 'channel');
    const page = fields.page ?? 0;
    checkInt(page, 0xff, 'page');
    tlv(TapTlv.ChannelAssignment, new ByteWriter(3).u16(fields.channel).u8(page).finish());
  }
  if (fields.sofTimestampNs !== undefined) tlv(TapTlv.SofTimestamp, u64(fields.sofTimestampNs, 'sofTimestampNs'));
  if (fields.eofTimestampNs !== undefined) tlv(TapTlv.EofTimestamp, u64(fields.eofTimestampNs, 'eofTimestampNs'));
  if (fields.lqi !== undefined) {
    checkInt(fields.lqi, 0xff, 'lqi');
    tlv(TapTlv.Lqi, Uint8Array.of(fields.lqi));
  }
  if (fields.frequencyKhz !== undefined) tlv(TapTlv.ChannelFrequency, f32(fields.frequencyKhz, 'frequencyKhz'));
  const out = w.finish();
  out[2] = out.length & 0xff;
  out[3] = out.length >> 8;
  return out;
}

/**
 * Decodes the TAP header at `offset`; returns it with the offset of the PSDU.
 * Throws DecodeError('capture', …) on a malformed header; unknown TLVs are skipped.
 * @spec ieee802154_tap v1.2 §Header, §TLV
 */
export function decodeTapHeader(bytes: Uint8Array, offset = 0): { value: TapHeader; offset: number } {
  const r = new ByteReader(bytes, 'capture', offset);
  const start = offset;
  const version = r.u8('TAP version');
  if (version !== 0) r.fail(`TAP version ${version} is not supported (expected 0)`, start);
  r.u8('TAP reserved');
  const length = r.u16('TAP length');
  if (length < 4 || length % 4 !== 0) r.fail(`TAP length ${length} is not a multiple of 4 that is at least 4`, start + 2);
  if (start + length > bytes.length) r.fail(`TAP length ${length} runs past the end of the packet (${bytes.length - start} bytes)`, start + 2);
  const end = start + length;
  const h: TapHeader = { length, skipped: [] };
  let seen = 0; // bit per known TLV type (all < 32): a duplicate is an error
  while (r.offset < end) {
    const at = r.offset;
    if (end - at < 4) r.fail(`truncated TLV header: ${end - at} bytes left in the TAP header`, at);
    const type = r.u16('TLV type');
    const len = r.u16('TLV length');
    const padded = (len + 3) & ~3;
    if (r.offset + padded > end) r.fail(`TLV type ${type} length ${len} runs past the TAP header end (${end - start})`, at);
    const at4 = r.offset; // the value: its length is checked against the TLV's before it is read
    r.offset += padded;
    switch (type) {
      case TapTlv.FcsType: {
        seen = checkKnownTlv(r, seen, type, len, 1, at);
        const t = bytes[at4];
        if (t > 2) r.fail(`FCS type ${t} is not 0 (none), 1 (16-bit) or 2 (32-bit)`, at + 4);
        h.fcsType = t as TapFcsType;
        break;
      }
      case TapTlv.Rss:
        seen = checkKnownTlv(r, seen, type, len, 4, at);
        h.rssi = readF32(bytes, at4);
        break;
      case TapTlv.BitRate:
        seen = checkKnownTlv(r, seen, type, len, 4, at);
        h.bitRate = (bytes[at4] | (bytes[at4 + 1] << 8) | (bytes[at4 + 2] << 16) | (bytes[at4 + 3] << 24)) >>> 0;
        break;
      case TapTlv.ChannelAssignment:
        seen = checkKnownTlv(r, seen, type, len, 3, at);
        h.channel = bytes[at4] | (bytes[at4 + 1] << 8);
        h.page = bytes[at4 + 2];
        break;
      case TapTlv.SofTimestamp:
        seen = checkKnownTlv(r, seen, type, len, 8, at);
        h.sofTimestampNs = readU64(bytes, at4);
        break;
      case TapTlv.EofTimestamp:
        seen = checkKnownTlv(r, seen, type, len, 8, at);
        h.eofTimestampNs = readU64(bytes, at4);
        break;
      case TapTlv.Lqi:
        seen = checkKnownTlv(r, seen, type, len, 1, at);
        h.lqi = bytes[at4];
        break;
      case TapTlv.ChannelFrequency:
        seen = checkKnownTlv(r, seen, type, len, 4, at);
        h.frequencyKhz = readF32(bytes, at4);
        break;
      default:
        h.skipped.push(type);
    }
  }
  return { value: h, offset: end };
}

/**
 * Length and duplicate check of a known TLV; returns the updated seen-bitmask. A plain function,
 * not a per-TLV closure: it runs for every packet of every capture read.
 */
function checkKnownTlv(r: ByteReader, seen: number, type: number, len: number, expected: number, at: number): number {
  if (len !== expected) r.fail(`TLV type ${type} must have length ${expected}, got ${len}`, at);
  const bit = 1 << type;
  if (seen & bit) r.fail(`TLV type ${type} appears twice`, at);
  return seen | bit;
}

/** TAP header + PSDU, the record body of a LINKTYPE 283 packet. */
export function encodeTapRecord(fields: TapFields, psdu: Uint8Array): Uint8Array {
  const header = encodeTapHeader(fields);
  const out = new Uint8Array(header.length + psdu.length);
  out.set(header);
  out.set(psdu, header.length);
  return out;
}

/** Splits a LINKTYPE 283 record into header and PSDU (a view, not a copy). */
export function decodeTapRecord(bytes: Uint8Array): { header: TapHeader; psdu: Uint8Array } {
  const { value, offset } = decodeTapHeader(bytes, 0);
  return { header: value, psdu: bytes.subarray(offset) };
}

function f32(v: number, title: string): Uint8Array {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new RangeError(`"${title}" expected a number, got ${v}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setFloat32(0, v, true);
  return out;
}

function readF32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true);
}

function u64(v: bigint, title: string): Uint8Array {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new RangeError(`"${title}" expected a bigint in 0..2^64-1, got ${v}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

function readU64(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0, true);
}

/** What scanTapHeader leaves behind: the fields a packet reader needs (a reusable scratch object). */
export interface TapScan {
  /** Header length = offset of the PSDU from the record start. */
  length: number;
  /** Absent FCS_TYPE TLV reads as -1. */
  fcsType: number;
  channel: number | undefined;
  page: number | undefined;
  rssi: number | undefined;
  lqi: number | undefined;
}

/** Sizes of the TLVs decodeTapHeader checks (index = type; 0 = not checked). */
const KNOWN_TLV_LENGTH = [1, 4, 4, 3, 0, 8, 8, 0, 0, 0, 1, 4];
const F32 = new DataView(new ArrayBuffer(4));

/**
 * The streaming reader's TAP path: reads the TAP header of the record bytes[start, end) into
 * `out` without allocating, and returns true — or returns false when the header is anything
 * decodeTapHeader would reject, so the caller can run decodeTapHeader for its exact error.
 * Same rules as decodeTapHeader (version 0, length a multiple of 4 inside the record, known
 * TLVs of their fixed length and at most once, FCS type 0..2, unknown TLVs skipped).
 */
export function scanTapHeader(bytes: Uint8Array, start: number, end: number, out: TapScan): boolean {
  if (end - start < 4 || bytes[start] !== 0) return false;
  const length = bytes[start + 2] | (bytes[start + 3] << 8);
  if (length < 4 || (length & 3) !== 0 || start + length > end) return false;
  out.length = length;
  out.fcsType = -1;
  out.channel = out.page = out.rssi = out.lqi = undefined;
  const hEnd = start + length;
  let at = start + 4;
  let seen = 0;
  while (at < hEnd) {
    if (hEnd - at < 4) return false;
    const type = bytes[at] | (bytes[at + 1] << 8);
    const len = bytes[at + 2] | (bytes[at + 3] << 8);
    const v = at + 4;
    at = v + ((len + 3) & ~3);
    if (at > hEnd) return false;
    const expected = type < KNOWN_TLV_LENGTH.length ? KNOWN_TLV_LENGTH[type] : 0;
    if (expected === 0) continue; // unknown (or not interpreted): skipped
    if (len !== expected || (seen & (1 << type)) !== 0) return false;
    seen |= 1 << type;
    switch (type) {
      case TapTlv.FcsType:
        if (bytes[v] > 2) return false;
        out.fcsType = bytes[v];
        break;
      case TapTlv.Rss:
        F32.setUint32(0, (bytes[v] | (bytes[v + 1] << 8) | (bytes[v + 2] << 16) | (bytes[v + 3] << 24)) >>> 0, true);
        out.rssi = F32.getFloat32(0, true);
        break;
      case TapTlv.ChannelAssignment:
        out.channel = bytes[v] | (bytes[v + 1] << 8);
        out.page = bytes[v + 2];
        break;
      case TapTlv.Lqi:
        out.lqi = bytes[v];
        break;
      default:
        break; // bit rate, timestamps, frequency: checked, not needed by a packet reader
    }
  }
  return true;
}
