// Classic libpcap files: a 24-byte global header, then records of a 16-byte header + data.
// Both byte orders, µs and ns magic. One link type per file, no comments. Pure: no `node:`.
//
// @spec draft-ietf-opsawg-pcap (PCAP Capture File Format) §4 file header, §5 packet record

import { BinView, BinWriter, CaptureError, checkU32 } from './bin.ts';
import type { RawCapture } from './pcapng.ts';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Records larger than this and than the snaplen are garbage, not packets (libpcap's MAXIMUM_SNAPLEN). */
const MAX_RECORD = 262144;

export interface PcapHeaderOptions {
  linkType: number;
  snapLen?: number;
  /** true = nanosecond magic 0xa1b23c4d, else microseconds. */
  nanoseconds?: boolean;
}

/** @spec draft-ietf-opsawg-pcap §4 (version 2.4, thiszone 0, sigfigs 0) */
export function encodePcapHeader(opts: PcapHeaderOptions, le = true): Uint8Array {
  if (!Number.isInteger(opts.linkType) || opts.linkType < 0 || opts.linkType > 0xffff) throw new RangeError(`"linkType" expected 0..65535, got ${opts.linkType}`);
  const snap = opts.snapLen ?? 65535;
  checkU32(snap, 'snapLen');
  return new BinWriter(le)
    .u32(opts.nanoseconds ? PCAP_MAGIC_NS : PCAP_MAGIC_US)
    .u16(2).u16(4).u32(0).u32(0).u32(snap).u32(opts.linkType)
    .finish();
}

/** @spec draft-ietf-opsawg-pcap §5 (ts seconds, ts µs or ns, captured length, original length) */
export function encodePcapRecord(rec: { timestampNs: bigint; data: Uint8Array; originalLength?: number }, nanoseconds: boolean, le = true): Uint8Array {
  if (rec.timestampNs < 0n) throw new RangeError(`"timestampNs" must not be negative`);
  const sec = rec.timestampNs / 1_000_000_000n;
  if (sec > 0xffffffffn) throw new RangeError(`timestamp ${rec.timestampNs} ns does not fit a classic pcap record (u32 seconds)`);
  const rem = rec.timestampNs % 1_000_000_000n;
  const frac = nanoseconds ? rem : rem / 1000n;
  return new BinWriter(le)
    .u32(Number(sec)).u32(Number(frac))
    .u32(rec.data.length).u32(rec.originalLength ?? rec.data.length)
    .bytes(rec.data)
    .finish();
}

/** Which classic-pcap magic (if any) the first four bytes are, with byte order and resolution. */
export function pcapMagic(bytes: Uint8Array): { le: boolean; nanoseconds: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const m = new BinView(bytes, true).u32(0);
  if (m === PCAP_MAGIC_US) return { le: true, nanoseconds: false };
  if (m === PCAP_MAGIC_NS) return { le: true, nanoseconds: true };
  if (m === 0xd4c3b2a1) return { le: false, nanoseconds: false };
  if (m === 0x4d3cb2a1) return { le: false, nanoseconds: true };
  return undefined;
}

/**
 * Decodes a classic pcap file into one interface and its records. A record cut short at the
 * end is a warning; a record whose lengths make no sense throws CaptureError with its offset.
 */
export function decodePcap(bytes: Uint8Array): RawCapture {
  const cap: RawCapture = { format: 'pcap', interfaces: [], records: [], warnings: [] };
  const magic = pcapMagic(bytes);
  if (magic === undefined) throw new CaptureError(0, 'not a classic pcap file (unknown magic)');
  if (bytes.length < 24) {
    cap.warnings.push(`truncated file header at offset 0: ${bytes.length} of 24 bytes`);
    return cap;
  }
  const v = new BinView(bytes, magic.le);
  const major = v.u16(4);
  if (major !== 2) throw new CaptureError(0, `pcap version ${major}.${v.u16(6)} is not supported (expected 2.4)`);
  const snapLen = v.u32(16);
  // Low 16 bits: link type; upper bits carry the optional FCS-length field. @spec draft-ietf-opsawg-pcap §4 LinkType
  cap.interfaces.push({ linkType: v.u32(20) & 0xffff, snapLen, tsresol: magic.nanoseconds ? 9 : 6, section: 0, offset: 0 });
  const limit = Math.max(snapLen, MAX_RECORD);
  let off = 24;
  while (off < bytes.length) {
    const left = bytes.length - off;
    const inclLen = left >= 12 ? v.u32(off + 8) : undefined;
    if (inclLen !== undefined && inclLen > limit) {
      throw new CaptureError(off, `record captured length ${inclLen} exceeds the snap length ${snapLen} (and ${MAX_RECORD})`);
    }
    if (inclLen === undefined || left < 16 + inclLen) {
      cap.warnings.push(`truncated record at offset ${off}: ${left} byte(s) present${inclLen === undefined ? '' : ` of ${16 + inclLen}`}; ${cap.records.length} complete packet(s) before it were read`);
      break;
    }
    const frac = BigInt(v.u32(off + 4));
    if (frac >= (magic.nanoseconds ? 1_000_000_000n : 1_000_000n)) throw new CaptureError(off, `record sub-second timestamp ${frac} is out of range`);
    cap.records.push({
      interface: 0,
      timestampNs: BigInt(v.u32(off)) * 1_000_000_000n + (magic.nanoseconds ? frac : frac * 1000n),
      data: bytes.subarray(off + 16, off + 16 + inclLen),
      originalLength: v.u32(off + 12),
      offset: off,
    });
    off += 16 + inclLen;
  }
  return cap;
}
