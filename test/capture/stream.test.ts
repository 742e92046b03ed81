// CaptureStream (the one-pass reader the decoder and its benchmark use) against readCapture:
// same packets, same warnings, same errors, on every kind of file readCapture is tested on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinWriter } from '../../harness/capture/bin.ts';
import { encodeCapture, type CaptureEncoderOptions } from '../../harness/capture/encode.ts';
import type { CaptureFrame } from '../../harness/capture/link.ts';
import { encodeEnhancedPacket, encodeInterfaceDescription, encodeSectionHeader } from '../../harness/capture/pcapng.ts';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { streamCaptureFile } from '../../harness/capture/file.ts';
import { CaptureStream, readCapture, streamCapture, type Capture, type StreamedPacket } from '../../harness/capture/read.ts';
import { encodeTapHeader } from '../../harness/capture/tap.ts';
import { concatBytes } from '../../harness/crypto/bytes.ts';

const KEYS = ['psdu', 'hasFcs', 'fcsLength', 'linkType', 'interfaceId', 'channel', 'page', 'rssi', 'lqi', 'comment', 'originalLength', 'offset'] as const;

function fromRead(cap: Capture): Record<string, unknown>[] {
  return cap.packets.map((p) => {
    const o: Record<string, unknown> = { timestampUs: Number(p.timestampUs) };
    for (const k of KEYS) o[k] = p[k];
    return o;
  });
}

/** A stream that gets the file `step` bytes at a time (the windowing streamCaptureFile does with 64 KiB). */
function chunked(bytes: Uint8Array, step: number): CaptureStream {
  let pos = Math.min(4, bytes.length);
  const s = new CaptureStream(bytes.slice(0, pos), {
    more(tail, need) {
      if (pos >= bytes.length) return undefined;
      const n = Math.min(bytes.length - pos, Math.max(step, need - tail.length));
      const out = new Uint8Array(tail.length + n);
      out.set(tail);
      out.set(bytes.subarray(pos, pos + n), tail.length);
      pos += n;
      return out;
    },
  });
  return s;
}

function fromStream(bytes: Uint8Array, step = 0): { packets: Record<string, unknown>[]; warnings: string[]; format: string; linkType: number | undefined } {
  const s = step > 0 ? chunked(bytes, step) : streamCapture(bytes);
  const packets: Record<string, unknown>[] = [];
  let p: StreamedPacket | undefined;
  while ((p = s.next()) !== undefined) {
    const o: Record<string, unknown> = { timestampUs: p.timestampUs };
    for (const k of KEYS) o[k] = p[k];
    packets.push(o);
  }
  expect(s.next()).toBeUndefined();
  return { packets, warnings: s.warnings, format: s.format, linkType: s.linkType };
}

function same(bytes: Uint8Array): void {
  let want: Capture | Error;
  try {
    want = readCapture(bytes);
  } catch (e) {
    want = e as Error;
  }
  for (const step of [0, 1, 7, 64]) {
    if (want instanceof Error) {
      expect(() => fromStream(bytes, step)).toThrow(want);
      continue;
    }
    expect(fromStream(bytes, step)).toEqual({ packets: fromRead(want), warnings: want.warnings, format: want.format, linkType: want.linkType });
  }
}

const frameArb: fc.Arbitrary<CaptureFrame> = fc
  .record({
    psdu: fc.uint8Array({ minLength: 0, maxLength: 40 }),
    fcsIncluded: fc.boolean(),
    timestampUs: fc.bigInt({ min: 0n, max: 4_000_000_000_000_000n }),
    channel: fc.option(fc.integer({ min: 11, max: 26 }), { nil: undefined }),
    rssi: fc.option(fc.integer({ min: -2000, max: 200 }).map((x) => x / 4), { nil: undefined }),
    lqi: fc.option(fc.nat({ max: 255 }), { nil: undefined }),
    comment: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
  })
  .filter((f) => !f.fcsIncluded || f.psdu.length >= 2)
  .map((f) => {
    const frame: CaptureFrame = { psdu: f.psdu, fcsIncluded: f.fcsIncluded, timestampUs: f.timestampUs };
    if (f.channel !== undefined) frame.channel = f.channel;
    if (f.rssi !== undefined) frame.rssi = f.rssi;
    if (f.lqi !== undefined) frame.lqi = f.lqi;
    if (f.comment !== undefined) frame.comment = f.comment;
    return frame;
  });

const variants: [string, CaptureEncoderOptions][] = [
  ['pcapng TAP µs LE', { linkType: 283 }],
  ['pcapng TAP ns BE', { linkType: 283, tsresol: 9, littleEndian: false }],
  ['pcapng NOFCS', { linkType: 230 }],
  ['pcap TAP µs LE', { format: 'pcap', linkType: 283 }],
  ['pcap NOFCS BE', { format: 'pcap', linkType: 230, littleEndian: false }],
];

describe('CaptureStream reads what readCapture reads', () => {
  it.each(variants)('%s', (_, opts) => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 8 }), (frames) => same(encodeCapture(frames, opts))), { numRuns: 40 });
  });

  it('link type 195, several sections and interfaces, other link types skipped with a warning, offsets and odd resolutions', () => {
    const psdu = Uint8Array.of(0x41, 0x88, 0x01, 0xff, 0xff, 0x00, 0x00, 0x09, 0x12, 0x34);
    const tap = (fields: Parameters<typeof encodeTapHeader>[0]): Uint8Array => concatBytes(encodeTapHeader(fields), psdu);
    const custom = new BinWriter(true).u32(0xbad).u32(20).u32(32473).u32(0xdeadbeef).u32(20).finish();
    const bytes = concatBytes(
      encodeSectionHeader({}, false),
      encodeInterfaceDescription({ linkType: 230, tsresol: 9 }, false),
      encodeEnhancedPacket({ interfaceId: 0, timestamp: 1_500_000_000n, data: psdu, comment: 'be' }, false),
      encodeSectionHeader({ userAppl: 'other' }),
      encodeInterfaceDescription({ linkType: 1, name: 'eth0' }),
      encodeInterfaceDescription({ linkType: 283, tsresol: 0x80 | 10, tsoffsetSec: 100n }),
      custom,
      encodeInterfaceDescription({ linkType: 195 }),
      encodeEnhancedPacket({ interfaceId: 1, timestamp: 2048n, data: tap({ fcsType: 2, channel: 20, page: 3, rssi: -40.5, lqi: 7, bitRate: 250000, sofTimestampNs: 5n, frequencyKhz: 2405000 }) }),
      encodeEnhancedPacket({ interfaceId: 0, timestamp: 5n, data: Uint8Array.of(1, 2, 3) }),
      encodeEnhancedPacket({ interfaceId: 1, timestamp: 9n, data: tap({}) }), // no FCS TLV: 16-bit
      encodeEnhancedPacket({ interfaceId: 1, timestamp: 9n, data: concatBytes(Uint8Array.of(0, 0, 12, 0, 99, 0, 3, 0, 1, 2, 3, 0), psdu) }), // unknown TLV
      encodeEnhancedPacket({ interfaceId: 2, timestamp: 7n, data: psdu, comment: 'c1' }),
      encodeEnhancedPacket({ interfaceId: 2, timestamp: 8n, data: Uint8Array.of(1) }),
    );
    same(bytes);
    expect(fromStream(bytes).packets.map((p) => p.timestampUs)).toEqual([1_500_000, 102_000_000, 100_008_789, 100_008_789, 7, 8]);
    for (let cut = 1; cut < bytes.length; cut += 3) same(bytes.subarray(0, cut));
  });

  it('bad TAP headers and malformed blocks throw the same CaptureError', () => {
    const frames = [0, 1, 2].map((i) => ({ psdu: Uint8Array.of(1, 2, 3, 4, 5), fcsIncluded: true, timestampUs: BigInt(i), channel: 15, lqi: 3 }));
    const good = encodeCapture(frames);
    const second = readCapture(good).packets[1].offset;
    for (let i = second; i < second + 56; i++) {
      for (const v of [0, 1, 3, 0x40, 0xff]) {
        const b = good.slice();
        b[i] = v;
        same(b);
      }
    }
  });
});

describe('streamCaptureFile', () => {
  it('reads a file larger than its 64 KiB step as readCaptureFile does, and closes it at the end', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-stream-'));
    try {
      const frames = Array.from({ length: 3000 }, (_, i) => ({ psdu: Uint8Array.from({ length: 20 + (i % 90) }, (_, j) => (i + j) & 0xff), fcsIncluded: true, timestampUs: 1_700_000_000_000_000n + BigInt(i), channel: 11 + (i % 16) }));
      const bytes = encodeCapture(frames);
      expect(bytes.length).toBeGreaterThan(3 * 65536);
      const file = path.join(dir, 'big.pcapng');
      fs.writeFileSync(file, bytes);
      const s = streamCaptureFile(file);
      const got: Record<string, unknown>[] = [];
      for (const p of s) {
        const o: Record<string, unknown> = { timestampUs: p.timestampUs };
        for (const k of KEYS) o[k] = p[k];
        got.push(o);
      }
      expect(got).toEqual(fromRead(readCapture(bytes)));
      expect(s.warnings).toEqual([]);
      const cut = path.join(dir, 'cut.pcapng');
      fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
      const c = streamCaptureFile(cut);
      let n = 0;
      while (c.next()) n++;
      expect([n, c.warnings]).toEqual([2999, readCapture(bytes.subarray(0, bytes.length - 5)).warnings]);
      fs.writeFileSync(cut, encodeCapture(frames.slice(0, 3), { format: 'pcap' }));
      expect([...streamCaptureFile(cut)].map((p) => p.psdu)).toEqual(frames.slice(0, 3).map((f) => f.psdu));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
