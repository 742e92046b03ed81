// The 802.15.4 link types a capture record can carry, and the frame shape the writers take.
// Pure: no `node:` imports.
//
// @spec tcpdump.org linktypes: LINKTYPE_IEEE802_15_4_WITHFCS 195 (PSDU ends with the FCS),
//   LINKTYPE_IEEE802_15_4_NOFCS 230 (no FCS), LINKTYPE_IEEE802_15_4_TAP 283 (TAP header + PSDU).

import { DecodeError } from '../zigbee/codec.ts';
import { CaptureError } from './bin.ts';
import { decodeTapHeader, encodeTapRecord, fcsLengthOf, LINKTYPE_IEEE802_15_4_TAP, type TapFcsType, type TapHeader } from './tap.ts';

export const LINKTYPE_IEEE802_15_4_WITHFCS = 195;
export const LINKTYPE_IEEE802_15_4_NOFCS = 230;
export { LINKTYPE_IEEE802_15_4_TAP };

export type Ieee802154LinkType = 195 | 230 | 283;

/** One frame to write. `psdu` is the MAC frame; it ends with the 2-byte FCS iff `fcsIncluded`. */
export interface CaptureFrame {
  psdu: Uint8Array;
  fcsIncluded: boolean;
  /** µs since 1970-01-01 UTC. */
  timestampUs: bigint;
  /** Optional finer timestamp (ns since 1970); wins over timestampUs when the file keeps ns. */
  timestampNs?: bigint;
  channel?: number;
  page?: number;
  /** dBm; stored as float32 in the TAP header. */
  rssi?: number;
  lqi?: number;
  /** pcapng opt_comment, e.g. a decoded summary (dropped by classic pcap). */
  comment?: string;
}

/** What the link-type layer of one record says. `psdu` ends with the FCS iff `hasFcs`. */
export interface LinkRecord {
  psdu: Uint8Array;
  hasFcs: boolean;
  fcsLength: 0 | 2 | 4;
  channel?: number;
  page?: number;
  rssi?: number;
  lqi?: number;
  tap?: TapHeader;
}

export function isIeee802154LinkType(t: number): t is Ieee802154LinkType {
  return t === LINKTYPE_IEEE802_15_4_WITHFCS || t === LINKTYPE_IEEE802_15_4_NOFCS || t === LINKTYPE_IEEE802_15_4_TAP;
}

/**
 * The record body for `frame` under `linkType`. 283 keeps everything (channel, RSSI, LQI, FCS
 * type); 195 needs the FCS; 230 drops the FCS if the frame has one.
 */
export function encodeLinkRecord(linkType: Ieee802154LinkType, frame: CaptureFrame): Uint8Array {
  if (!(frame.psdu instanceof Uint8Array)) throw new TypeError(`"psdu" expected Uint8Array`);
  if (frame.fcsIncluded && frame.psdu.length < 2) throw new RangeError(`"psdu" has ${frame.psdu.length} byte(s) but fcsIncluded says it ends with a 2-byte FCS`);
  switch (linkType) {
    case LINKTYPE_IEEE802_15_4_TAP: {
      const fields: Parameters<typeof encodeTapRecord>[0] = { fcsType: frame.fcsIncluded ? 1 : 0 };
      if (frame.rssi !== undefined) fields.rssi = frame.rssi;
      if (frame.channel !== undefined) { fields.channel = frame.channel; fields.page = frame.page ?? 0; }
      if (frame.lqi !== undefined) fields.lqi = frame.lqi;
      return encodeTapRecord(fields, frame.psdu);
    }
    case LINKTYPE_IEEE802_15_4_WITHFCS:
      if (!frame.fcsIncluded) throw new RangeError('link type 195 (IEEE802_15_4_WITHFCS) needs frames that end with their FCS; pass fcsIncluded: true or write link type 230 or 283');
      return frame.psdu;
    case LINKTYPE_IEEE802_15_4_NOFCS:
      return frame.fcsIncluded ? frame.psdu.subarray(0, frame.psdu.length - 2) : frame.psdu;
    default:
      throw new RangeError(`"linkType" expected 195, 230 or 283, got ${linkType as number}`);
  }
}

/**
 * Splits a record of an 802.15.4 link type. A TAP header without an FCS_TYPE TLV is read as
 * 16-bit FCS, as Wireshark does. Throws CaptureError (offset = `recordOffset`) on a bad TAP header.
 */
export function decodeLinkRecord(linkType: Ieee802154LinkType, data: Uint8Array, recordOffset = 0): LinkRecord {
  switch (linkType) {
    case LINKTYPE_IEEE802_15_4_TAP: {
      let tap: { value: TapHeader; offset: number };
      try {
        tap = decodeTapHeader(data, 0);
      } catch (e) {
        if (e instanceof DecodeError) throw new CaptureError(recordOffset, `TAP header, byte ${e.offset} of the packet: ${e.reason}`);
        throw e;
      }
      const h = tap.value;
      const fcsLength = fcsLengthOf((h.fcsType ?? 1) as TapFcsType);
      const psdu = data.subarray(tap.offset);
      const rec: LinkRecord = { psdu, hasFcs: fcsLength > 0 && psdu.length >= fcsLength, fcsLength, tap: h };
      if (!rec.hasFcs) rec.fcsLength = 0;
      if (h.channel !== undefined) { rec.channel = h.channel; rec.page = h.page; }
      if (h.rssi !== undefined) rec.rssi = h.rssi;
      if (h.lqi !== undefined) rec.lqi = h.lqi;
      return rec;
    }
    case LINKTYPE_IEEE802_15_4_WITHFCS:
      return data.length >= 2 ? { psdu: data, hasFcs: true, fcsLength: 2 } : { psdu: data, hasFcs: false, fcsLength: 0 };
    case LINKTYPE_IEEE802_15_4_NOFCS:
      return { psdu: data, hasFcs: false, fcsLength: 0 };
  }
}
