// Reads a capture file (pcapng or classic pcap) into 802.15.4 packets with what the capture
// knew about each (channel, RSSI, LQI, FCS, comment). Pure: no `node:` imports; the file
// version is readCaptureFile in file.ts.
//
// Truncation (a writer killed mid-block, a copy in progress) is a warning naming the offset,
// and every complete packet before it is returned. Malformed data throws CaptureError.

import { CaptureError } from './bin.ts';
import { decodeLinkRecord, isIeee802154LinkType, LINKTYPE_IEEE802_15_4_NOFCS, LINKTYPE_IEEE802_15_4_TAP } from './link.ts';
import { decodePcap, pcapMagic } from './pcap.ts';
import { BlockType, decodePcapng, PcapngWalker, type ByteSource, type RawCapture, type RawInterface, type RawRecord } from './pcapng.ts';
import { fcsLengthOf, scanTapHeader, type TapFcsType, type TapScan } from './tap.ts';

export { CaptureError };

export interface CapturedPacket {
  /** The MAC frame as captured; its last `fcsLength` bytes are the FCS iff `hasFcs`. */
  psdu: Uint8Array;
  hasFcs: boolean;
  fcsLength: 0 | 2 | 4;
  timestampUs: bigint;
  timestampNs: bigint;
  linkType: number;
  /** Index into Capture.interfaces. */
  interfaceId: number;
  channel?: number;
  page?: number;
  rssi?: number;
  lqi?: number;
  comment?: string;
  /** Length on air; larger than the captured bytes if the capture was snapped. */
  originalLength: number;
  /** File offset of the block/record the packet came from. */
  offset: number;
}

export interface Capture {
  format: 'pcapng' | 'pcap';
  /** Link type of the first interface; undefined only if the file declares none. */
  linkType?: number;
  interfaces: RawInterface[];
  packets: CapturedPacket[];
  warnings: string[];
}

const PCAPNG_MAGIC = Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a);
const PCAP_MAGICS = [
  [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d],
].map((m) => Uint8Array.from(m));

function isPrefixOf(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes.length <= magic.length && bytes.every((b, i) => b === magic[i]);
}

function readRaw(bytes: Uint8Array, onRecord: (rec: RawRecord, iface: RawInterface) => void): RawCapture {
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === BlockType.SectionHeader) return decodePcapng(bytes, onRecord);
  if (pcapMagic(bytes) !== undefined) {
    const raw = decodePcap(bytes);
    for (const rec of raw.records) onRecord(rec, raw.interfaces[rec.interface]);
    return raw;
  }
  if (bytes.length < 4 && [PCAPNG_MAGIC, ...PCAP_MAGICS].some((m) => isPrefixOf(bytes, m))) {
    return { format: 'pcapng', interfaces: [], records: [], warnings: [`truncated file at offset 0: ${bytes.length === 0 ? 'empty' : `${bytes.length} byte(s)`}, no header`] };
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new CaptureError(0, `not a pcapng or pcap file (starts with ${head}; expected 0a 0d 0d 0a or a pcap magic)`);
}

/** Reads a pcapng (any byte order, sections, interfaces) or classic pcap (µs/ns, any byte order). */
export function readCapture(bytes: Uint8Array): Capture {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"bytes" expected Uint8Array`);
  const packets: CapturedPacket[] = [];
  const skipped = new Map<number, number>();
  // Records become packets as they are read (pcapng), so no list of raw records stays alive.
  const raw = readRaw(bytes, (rec, iface) => {
    const linkType = iface.linkType;
    if (!isIeee802154LinkType(linkType)) {
      skipped.set(linkType, (skipped.get(linkType) ?? 0) + 1);
      return;
    }
    const link = decodeLinkRecord(linkType, rec.data, rec.offset);
    const p: CapturedPacket = {
      psdu: link.psdu,
      hasFcs: link.hasFcs,
      fcsLength: link.fcsLength,
      timestampUs: rec.timestampNs / 1000n,
      timestampNs: rec.timestampNs,
      linkType,
      interfaceId: rec.interface,
      originalLength: rec.originalLength,
      offset: rec.offset,
    };
    if (link.channel !== undefined) { p.channel = link.channel; p.page = link.page; }
    if (link.rssi !== undefined) p.rssi = link.rssi;
    if (link.lqi !== undefined) p.lqi = link.lqi;
    if (rec.comment !== undefined) p.comment = rec.comment;
    packets.push(p);
  });
  const cap: Capture = { format: raw.format, interfaces: raw.interfaces, packets, warnings: raw.warnings };
  if (raw.interfaces.length > 0) cap.linkType = raw.interfaces[0].linkType;
  for (const [lt, n] of skipped) cap.warnings.push(`skipped ${n} packet(s) of link type ${lt}: not IEEE 802.15.4 (195, 230 or 283)`);
  return cap;
}

/**
 * One packet of a CaptureStream: CapturedPacket's fields, but the timestamp as a number of µs
 * (no BigInt per packet). `psdu` is a view into the file bytes, as with readCapture.
 */
export interface StreamedPacket {
  psdu: Uint8Array;
  hasFcs: boolean;
  fcsLength: 0 | 2 | 4;
  /** µs since 1970, floored: exact below 2^53 µs (the year 2255). CapturedPacket.timestampUs as a number. */
  timestampUs: number;
  linkType: number;
  interfaceId: number;
  channel: number | undefined;
  page: number | undefined;
  rssi: number | undefined;
  lqi: number | undefined;
  comment: string | undefined;
  originalLength: number;
  offset: number;
}

/**
 * Reads a capture one packet at a time, for callers that handle each packet and drop it (a
 * decoder over a large file): no array of every packet, no BigInt per packet, and for pcapng no
 * intermediate record objects. The same packets, in the same order, with the same errors and
 * warnings as readCapture; `warnings` and `interfaces` are complete once next() returned undefined
 * (errors are thrown by the next() that reaches the malformed block). Classic pcap files are
 * read whole first (their records are already small).
 */
export class CaptureStream implements Iterable<StreamedPacket> {
  readonly format: 'pcapng' | 'pcap';
  readonly interfaces: RawInterface[];
  readonly warnings: string[];
  private readonly walker: PcapngWalker | undefined;
  private readonly pcap: RawCapture | undefined;
  private pcapIndex = 0;
  private readonly skipped = new Map<number, number>();
  private ended = false;
  private readonly tap: TapScan = { length: 0, fcsType: -1, channel: undefined, page: undefined, rssi: undefined, lqi: undefined };

  /**
   * `bytes`: the whole capture, or with `source` its first bytes (at least 4 when the file has
   * them; a pcapng file is then read on as the stream needs it, any other file read whole first).
   */
  constructor(bytes: Uint8Array, private readonly source?: ByteSource) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`"bytes" expected Uint8Array`);
    if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === BlockType.SectionHeader) {
      this.walker = new PcapngWalker(bytes, source);
      this.format = 'pcapng';
      this.interfaces = this.walker.cap.interfaces;
      this.warnings = this.walker.cap.warnings;
    } else {
      if (source !== undefined) for (let more = source.more(bytes, 0); more !== undefined; more = source.more(bytes, 0)) bytes = more;
      this.pcap = readRaw(bytes, () => {});
      this.format = this.pcap.format;
      this.interfaces = this.pcap.interfaces;
      this.warnings = this.pcap.warnings;
    }
  }

  /** Link type of the first interface (read so far); undefined if none was declared. */
  get linkType(): number | undefined {
    return this.interfaces.length > 0 ? this.interfaces[0].linkType : undefined;
  }

  /**
   * The next 802.15.4 packet, or undefined at the end (packets of other link types are skipped
   * and counted in a warning). The source is closed at the end and when an error is thrown.
   */
  next(): StreamedPacket | undefined {
    try {
      return this.read();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Releases the source (a file streamCaptureFile opened) before the end; later next() calls may fail. */
  close(): void {
    this.source?.close?.();
  }

  private read(): StreamedPacket | undefined {
    for (;;) {
      let linkType: number;
      let start: number;
      let end: number;
      let data: Uint8Array | undefined;
      let timestampUs: number;
      let interfaceId: number;
      let originalLength: number;
      let offset: number;
      let comment: string | undefined;
      const w = this.walker;
      if (w !== undefined) {
        if (!w.next()) return this.end();
        data = w.bytes;
        interfaceId = w.recInterface;
        linkType = this.interfaces[interfaceId].linkType;
        start = w.dataStart;
        end = start + w.capLen;
        timestampUs = w.timestampUs();
        originalLength = w.originalLength;
        offset = w.recOffset;
        comment = w.comment;
      } else {
        const raw = this.pcap!;
        if (this.pcapIndex >= raw.records.length) return this.end();
        const rec = raw.records[this.pcapIndex++];
        interfaceId = rec.interface;
        linkType = raw.interfaces[interfaceId].linkType;
        data = rec.data;
        start = 0;
        end = data.length;
        timestampUs = Number(rec.timestampNs / 1000n);
        originalLength = rec.originalLength;
        offset = rec.offset;
        comment = rec.comment;
      }
      if (!isIeee802154LinkType(linkType)) {
        this.skipped.set(linkType, (this.skipped.get(linkType) ?? 0) + 1);
        continue;
      }
      const bytes = data!;
      const p: StreamedPacket = {
        psdu: bytes, hasFcs: false, fcsLength: 0, timestampUs, linkType, interfaceId,
        channel: undefined, page: undefined, rssi: undefined, lqi: undefined, comment, originalLength, offset,
      };
      const tap = this.tap;
      if (linkType === LINKTYPE_IEEE802_15_4_TAP && scanTapHeader(bytes, start, end, tap)) {
        const fcsLength = fcsLengthOf((tap.fcsType < 0 ? 1 : tap.fcsType) as TapFcsType);
        p.psdu = bytes.subarray(start + tap.length, end);
        p.hasFcs = fcsLength > 0 && p.psdu.length >= fcsLength;
        p.fcsLength = p.hasFcs ? fcsLength : 0;
        if (tap.channel !== undefined) { p.channel = tap.channel; p.page = tap.page; }
        p.rssi = tap.rssi;
        p.lqi = tap.lqi;
      } else if (linkType === LINKTYPE_IEEE802_15_4_NOFCS) {
        p.psdu = bytes.subarray(start, end);
      } else {
        // 195, or a TAP header scanTapHeader would not read: decodeLinkRecord throws its exact error.
        const link = decodeLinkRecord(linkType, bytes.subarray(start, end), offset);
        p.psdu = link.psdu;
        p.hasFcs = link.hasFcs;
        p.fcsLength = link.fcsLength;
        if (link.channel !== undefined) { p.channel = link.channel; p.page = link.page; }
        p.rssi = link.rssi;
        p.lqi = link.lqi;
      }
      return p;
    }
  }

  private end(): undefined {
    if (!this.ended) {
      this.ended = true;
      this.close();
      for (const [lt, n] of this.skipped) this.warnings.push(`skipped ${n} packet(s) of link type ${lt}: not IEEE 802.15.4 (195, 230 or 283)`);
    }
    return undefined;
  }

  [Symbol.iterator](): Iterator<StreamedPacket> {
    return {
      next: (): IteratorResult<StreamedPacket> => {
        const p = this.next();
        return p === undefined ? { done: true, value: undefined } : { done: false, value: p };
      },
    };
  }
}

/** A CaptureStream over `bytes` (pcapng or classic pcap). */
export function streamCapture(bytes: Uint8Array): CaptureStream {
  return new CaptureStream(bytes);
}
