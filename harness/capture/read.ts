// Reads a capture file (pcapng or classic pcap) into 802.15.4 packets with what the capture
// knew about each (channel, RSSI, LQI, FCS, comment). Pure: no `node:` imports; the file
// version is readCaptureFile in file.ts.
//
// Truncation (a writer killed mid-block, a copy in progress) is a warning naming the offset,
// and every complete packet before it is returned. Malformed data throws CaptureError.

import { CaptureError } from './bin.ts';
import { decodeLinkRecord, isIeee802154LinkType } from './link.ts';
import { decodePcap, pcapMagic } from './pcap.ts';
import { BlockType, decodePcapng, type RawCapture, type RawInterface, type RawRecord } from './pcapng.ts';

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
