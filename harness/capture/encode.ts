// Turns CaptureFrames into the bytes of a pcapng or classic pcap stream: a header once, then
// one self-contained block/record per frame, so a writer can append and flush frame by frame
// (a file, a pipe into `wireshark -k -i -`). Pure: no `node:` imports.

import { nsToUnits } from './bin.ts';
import { encodeLinkRecord, LINKTYPE_IEEE802_15_4_TAP, type CaptureFrame, type Ieee802154LinkType } from './link.ts';
import { encodePcapHeader, encodePcapRecord } from './pcap.ts';
import { encodeEnhancedPacket, encodeInterfaceDescription, encodeSectionHeader } from './pcapng.ts';

export interface CaptureEncoderOptions {
  /** 'pcapng' (default) keeps comments and ns timestamps; 'pcap' is for tools that want libpcap. */
  format?: 'pcapng' | 'pcap';
  /** Default 283 (TAP: channel, RSSI, LQI and FCS kind travel with each frame). */
  linkType?: Ieee802154LinkType;
  /** pcapng if_name, e.g. the sniffer role's device. */
  interfaceName?: string;
  /** pcapng if_description. */
  description?: string;
  /** pcapng if_tsresol: 6 = µs (default), 9 = ns. Classic pcap: 9 selects the ns magic. */
  tsresol?: 6 | 9;
  snapLen?: number;
  /** pcapng shb_userappl; default "sehil". */
  userAppl?: string;
  /** Byte order of the file; default little-endian (big-endian exists for reader tests). */
  littleEndian?: boolean;
}

export interface CaptureEncoder {
  readonly linkType: Ieee802154LinkType;
  /** The bytes that start the file (SHB + IDB, or the pcap global header). */
  header(): Uint8Array;
  /** One EPB or pcap record. */
  frame(frame: CaptureFrame): Uint8Array;
}

export function frameTimestampNs(frame: CaptureFrame): bigint {
  if (frame.timestampNs !== undefined) return frame.timestampNs;
  if (typeof frame.timestampUs !== 'bigint') throw new TypeError(`"timestampUs" expected bigint, got ${typeof frame.timestampUs}`);
  return frame.timestampUs * 1000n;
}

export function createCaptureEncoder(opts: CaptureEncoderOptions = {}): CaptureEncoder {
  const linkType = opts.linkType ?? LINKTYPE_IEEE802_15_4_TAP;
  const le = opts.littleEndian ?? true;
  const tsresol = opts.tsresol ?? 6;
  if (tsresol !== 6 && tsresol !== 9) throw new RangeError(`"tsresol" expected 6 (µs) or 9 (ns), got ${tsresol as number}`);
  if (opts.format === 'pcap') {
    const ns = tsresol === 9;
    return {
      linkType,
      header: () => encodePcapHeader({ linkType, snapLen: opts.snapLen ?? 65535, nanoseconds: ns }, le),
      frame: (f) => encodePcapRecord({ timestampNs: frameTimestampNs(f), data: encodeLinkRecord(linkType, f) }, ns, le),
    };
  }
  return {
    linkType,
    header: () => {
      const shb = encodeSectionHeader({ userAppl: opts.userAppl ?? 'sehil' }, le);
      const idb = encodeInterfaceDescription(
        { linkType, snapLen: opts.snapLen ?? 0, name: opts.interfaceName, description: opts.description, tsresol },
        le,
      );
      const out = new Uint8Array(shb.length + idb.length);
      out.set(shb);
      out.set(idb, shb.length);
      return out;
    },
    frame: (f) => {
      const epb = { interfaceId: 0, timestamp: nsToUnits(frameTimestampNs(f), tsresol), data: encodeLinkRecord(linkType, f) };
      return encodeEnhancedPacket(f.comment === undefined ? epb : { ...epb, comment: f.comment }, le);
    },
  };
}

/** A whole capture in memory (tests, browsers, report attachments). */
export function encodeCapture(frames: Iterable<CaptureFrame>, opts: CaptureEncoderOptions = {}): Uint8Array {
  const enc = createCaptureEncoder(opts);
  const parts = [enc.header()];
  for (const f of frames) parts.push(enc.frame(f));
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
