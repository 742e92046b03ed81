import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinWriter } from '../../harness/capture/bin.ts';
import { encodeCapture, type CaptureEncoderOptions } from '../../harness/capture/encode.ts';
import { openPcapngWriter, openPcapWriter, readCaptureFile } from '../../harness/capture/file.ts';
import type { CaptureFrame, Ieee802154LinkType } from '../../harness/capture/link.ts';
import { encodeEnhancedPacket, encodeInterfaceDescription, encodeSectionHeader } from '../../harness/capture/pcapng.ts';
import { CaptureError, readCapture, type Capture } from '../../harness/capture/read.ts';
import { encodeTapHeader } from '../../harness/capture/tap.ts';
import { concatBytes } from '../../harness/crypto/bytes.ts';
import { DecodeError } from '../../harness/zigbee/codec.ts';
import { runTshark, tsharkAvailable, warnIfTsharkMissing } from '../helpers/tshark.ts';
import { childFrame } from './writer-child.ts';

/** CRC-16/KERMIT, the 802.15.4 FCS (radios.md §5.5), so tshark sees frames with a good FCS. */
function withFcs(mpdu: Uint8Array): Uint8Array {
  let crc = 0;
  for (const b of mpdu) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return concatBytes(mpdu, Uint8Array.of(crc & 0xff, crc >> 8));
}

const frameArb: fc.Arbitrary<CaptureFrame> = fc
  .record(
    {
      mpdu: fc.uint8Array({ minLength: 3, maxLength: 125 }),
      fcsIncluded: fc.boolean(),
      timestampUs: fc.bigInt({ min: 0n, max: 4_000_000_000_000_000n }),
      channel: fc.option(fc.integer({ min: 11, max: 26 }), { nil: undefined }),
      rssi: fc.option(fc.integer({ min: -2000, max: 200 }).map((x) => x / 4), { nil: undefined }),
      lqi: fc.option(fc.nat({ max: 255 }), { nil: undefined }),
      comment: fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: undefined }),
    },
  )
  .map(({ mpdu, ...f }) => {
    const frame: CaptureFrame = { psdu: f.fcsIncluded ? withFcs(mpdu) : mpdu, fcsIncluded: f.fcsIncluded, timestampUs: f.timestampUs };
    if (f.channel !== undefined) frame.channel = f.channel;
    if (f.rssi !== undefined) frame.rssi = f.rssi;
    if (f.lqi !== undefined) frame.lqi = f.lqi;
    if (f.comment !== undefined) frame.comment = f.comment;
    return frame;
  });

/** What readCapture should give back for `frame` written under these options. */
function expected(frame: CaptureFrame, opts: CaptureEncoderOptions): Record<string, unknown> {
  const lt: Ieee802154LinkType = opts.linkType ?? 283;
  const strip = lt === 230 && frame.fcsIncluded;
  const psdu = strip ? frame.psdu.subarray(0, frame.psdu.length - 2) : frame.psdu;
  const hasFcs = lt === 195 || (lt === 283 && frame.fcsIncluded);
  const e: Record<string, unknown> = { psdu, hasFcs, fcsLength: hasFcs ? 2 : 0, timestampUs: frame.timestampUs, linkType: lt };
  if (lt === 283) {
    if (frame.channel !== undefined) { e.channel = frame.channel; e.page = 0; }
    if (frame.rssi !== undefined) e.rssi = frame.rssi;
    if (frame.lqi !== undefined) e.lqi = frame.lqi;
  }
  if (opts.format !== 'pcap' && frame.comment !== undefined) e.comment = frame.comment;
  return e;
}

function picked(cap: Capture): Record<string, unknown>[] {
  return cap.packets.map(({ psdu, hasFcs, fcsLength, timestampUs, linkType, channel, page, rssi, lqi, comment }) => {
    const p: Record<string, unknown> = { psdu, hasFcs, fcsLength, timestampUs, linkType };
    Object.assign(p, Object.fromEntries(Object.entries({ channel, page, rssi, lqi, comment }).filter(([, v]) => v !== undefined)));
    return p;
  });
}

function captureError(fn: () => unknown): CaptureError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureError);
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as CaptureError).layer).toBe('capture');
    return e as CaptureError;
  }
  throw new Error('expected a CaptureError');
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-capture-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const variants: [string, CaptureEncoderOptions, (f: CaptureFrame) => boolean][] = [
  ['pcapng TAP µs LE', { linkType: 283 }, () => true],
  ['pcapng TAP ns BE', { linkType: 283, tsresol: 9, littleEndian: false }, () => true],
  ['pcapng WITHFCS', { linkType: 195, interfaceName: 'x' }, (f) => f.fcsIncluded],
  ['pcapng NOFCS', { linkType: 230, description: 'd' }, () => true],
  ['pcap TAP µs LE', { format: 'pcap', linkType: 283 }, () => true],
  ['pcap TAP ns BE', { format: 'pcap', linkType: 283, tsresol: 9, littleEndian: false }, () => true],
  ['pcap WITHFCS', { format: 'pcap', linkType: 195 }, (f) => f.fcsIncluded],
  ['pcap NOFCS BE', { format: 'pcap', linkType: 230, littleEndian: false }, () => true],
];

describe('capture encode → readCapture round trip', () => {
  it.each(variants)('%s', (_, opts, keep) => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), (all) => {
        const frames = all.filter(keep);
        const cap = readCapture(encodeCapture(frames, opts));
        expect(cap.warnings).toEqual([]);
        expect(cap.format).toBe(opts.format ?? 'pcapng');
        expect(cap.linkType).toBe(opts.linkType);
        expect(picked(cap)).toEqual(frames.map((f) => expected(f, opts)));
      }),
      { numRuns: 60 },
    );
  });

  it('keeps ns timestamps when the file has ns resolution', () => {
    const f: CaptureFrame = { psdu: Uint8Array.of(1, 2, 3), fcsIncluded: false, timestampUs: 1n, timestampNs: 1_700_000_000_123_456_789n };
    for (const format of ['pcapng', 'pcap'] as const) {
      const [p] = readCapture(encodeCapture([f], { format, tsresol: 9 })).packets;
      expect([p.timestampNs, p.timestampUs]).toEqual([1_700_000_000_123_456_789n, 1_700_000_000_123_456n]);
    }
  });

  it('the file writers produce what encodeCapture does, flushed frame by frame', () => {
    const frames = fc.sample(frameArb, { numRuns: 20, seed: 7 });
    for (const format of ['pcapng', 'pcap'] as const) {
      const file = path.join(dir, `writer.${format}`);
      const w = format === 'pcapng' ? openPcapngWriter(file, { interfaceName: 'sim0' }) : openPcapWriter(file);
      frames.forEach((f, i) => {
        w.writeFrame(f);
        expect(readCaptureFile(file).packets.length).toBe(i + 1); // on disk before writeFrame returned
      });
      w.close();
      expect(w.packets).toBe(frames.length);
      expect(() => w.writeFrame(frames[0])).toThrow(/closed/);
      const cap = readCaptureFile(file);
      expect(picked(cap)).toEqual(frames.map((f) => expected(f, { format })));
      if (format === 'pcapng') expect(cap.interfaces[0].name).toBe('sim0');
    }
  });

  it('refuses link type 195 for a frame without its FCS, and writes nothing for it', () => {
    const file = path.join(dir, 'withfcs.pcapng');
    const w = openPcapngWriter(file, { linkType: 195 });
    expect(() => w.writeFrame({ psdu: Uint8Array.of(1, 2, 3), fcsIncluded: false, timestampUs: 0n })).toThrow(/fcsIncluded: true/);
    w.close();
    expect(readCaptureFile(file).packets).toEqual([]);
  });
});

describe('readCapture on files we did not write', () => {
  const psdu = withFcs(Uint8Array.of(0x41, 0x88, 0x01, 0xff, 0xff, 0x00, 0x00, 0x09));
  const epb = (interfaceId: number, timestamp: bigint, data: Uint8Array, le = true, comment?: string): Uint8Array =>
    encodeEnhancedPacket({ interfaceId, timestamp, data, comment }, le);
  const tap = (ch: number): Uint8Array => concatBytes(encodeTapHeader({ fcsType: 1, channel: ch }), psdu);

  it('reads several sections of either byte order, several interfaces, and skips blocks it does not need', () => {
    const custom = new BinWriter(true).u32(0xbad).u32(20).u32(32473).u32(0xdeadbeef).u32(20).finish();
    const nrb = new BinWriter(true).u32(4).u32(16).u32(0).u32(16).finish(); // empty Name Resolution Block
    const bytes = concatBytes(
      encodeSectionHeader({}, false),
      encodeInterfaceDescription({ linkType: 230, tsresol: 9 }, false),
      epb(0, 1_500_000_000n, psdu.subarray(0, -2), false, 'be'),
      encodeSectionHeader({ userAppl: 'other' }),
      encodeInterfaceDescription({ linkType: 1, name: 'eth0' }), // not 802.15.4: skipped with a warning
      encodeInterfaceDescription({ linkType: 283, name: 'sniffer', tsresol: 0x80 | 10, tsoffsetSec: 100n }),
      custom,
      encodeInterfaceDescription({ linkType: 195 }),
      nrb,
      epb(1, 2048n, tap(20)),
      epb(0, 5n, Uint8Array.of(1, 2, 3)),
      epb(2, 7n, psdu, true, 'c1'),
    );
    const cap = readCapture(bytes);
    expect(cap.linkType).toBe(230);
    expect(cap.interfaces.map((i) => [i.linkType, i.section, i.name])).toEqual([[230, 0, undefined], [1, 1, 'eth0'], [283, 1, 'sniffer'], [195, 1, undefined]]);
    expect(cap.warnings).toEqual(['skipped 1 packet(s) of link type 1: not IEEE 802.15.4 (195, 230 or 283)']);
    expect(cap.packets.map((p) => [p.interfaceId, p.linkType, p.timestampNs, p.channel, p.hasFcs, p.comment])).toEqual([
      [0, 230, 1_500_000_000n, undefined, false, 'be'],
      [2, 283, 102_000_000_000n, 20, true, undefined], // 2048 / 2^10 s + 100 s offset
      [3, 195, 7_000n, undefined, true, 'c1'], // no if_tsresol: µs
    ]);
    expect(cap.packets[1].psdu).toEqual(psdu);
  });

  it('names the block of garbage in the middle (CaptureError with offset and reason)', () => {
    const frames = [0, 1, 2].map((i) => ({ psdu: psdu.slice(), fcsIncluded: true, timestampUs: BigInt(i), channel: 15 }));
    const good = encodeCapture(frames);
    const offsets = readCapture(good).packets.map((p) => p.offset);
    const second = offsets[1];
    const mutate = (fn: (b: Uint8Array, dv: DataView) => void): Uint8Array => {
      const b = good.slice();
      fn(b, new DataView(b.buffer));
      return b;
    };
    const cases: [Uint8Array, number, RegExp][] = [
      [mutate((_, dv) => dv.setUint32(second + 4, 0x13, true)), second, /total length 19/],
      [mutate((b, dv) => dv.setUint32(second + dv.getUint32(second + 4, true) - 4, 8, true)), second, /trailing length 8/],
      [mutate((_, dv) => dv.setUint32(second + 8, 5, true)), second, /interface 5/],
      [mutate((_, dv) => dv.setUint32(second + 20, 200, true)), second, /captured length 200/],
      [mutate((b) => { b[second + 28] = 7; }), second, /TAP header.*version 7/],
      [concatBytes(good.subarray(0, second), new Uint8Array(16).fill(0xee), good.subarray(second)), second, /total length/],
      [mutate((_, dv) => dv.setUint32(8, 0x11223344, true)), 0, /byte-order magic/],
      [Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), 0, /not a pcapng or pcap file/],
    ];
    for (const [bytes, offset, reason] of cases) {
      const e = captureError(() => readCapture(bytes));
      expect([e.offset, e.reason]).toEqual([offset, expect.stringMatching(reason)]);
      expect(e.message).toContain(`capture @${offset}`);
    }
    const pcap = encodeCapture(frames, { format: 'pcap' });
    const recOff = readCapture(pcap).packets[1].offset;
    const bad = pcap.slice();
    new DataView(bad.buffer).setUint32(recOff + 8, 0x7fffffff, true);
    expect(captureError(() => readCapture(bad)).offset).toBe(recOff);
  });

  it('warns (never throws) on an empty file or a cut header', () => {
    expect(readCapture(new Uint8Array(0))).toMatchObject({ packets: [], warnings: [expect.stringMatching(/offset 0.*empty/)] });
    const ng = encodeCapture([]);
    const shbEnd = new DataView(ng.buffer).getUint32(4, true);
    for (let cut = 1; cut < ng.length; cut++) {
      if (cut === shbEnd) continue; // a complete SHB alone is a valid, empty file
      const cap = readCapture(ng.subarray(0, cut));
      expect(cap.packets).toEqual([]);
      expect(cap.warnings).toHaveLength(1);
    }
    expect(readCapture(encodeCapture([], { format: 'pcap' }).subarray(0, 10)).warnings[0]).toMatch(/truncated file header at offset 0/);
  });
});

describe('a capture cut inside its last packet', () => {
  for (const format of ['pcapng', 'pcap'] as const) {
    it(`${format}: every cut yields the earlier packets and a warning naming the offset`, () => {
      const frames = fc.sample(frameArb, { numRuns: 6, seed: 42 });
      const bytes = encodeCapture(frames, { format });
      const full = readCapture(bytes);
      const last = full.packets[full.packets.length - 1].offset;
      const want = picked(full).slice(0, -1);
      const atBoundary = readCapture(bytes.subarray(0, last));
      expect([picked(atBoundary), atBoundary.warnings]).toEqual([want, []]);
      for (let cut = last + 1; cut < bytes.length; cut++) {
        const cap = readCapture(bytes.subarray(0, cut));
        expect(picked(cap)).toEqual(want);
        expect(cap.warnings).toEqual([expect.stringMatching(new RegExp(`^truncated (block|record) at offset ${last}:.* 5 complete packet`))]);
      }
    });
  }
});

describe.skipIf(!tsharkAvailable)('tshark reads what we write', () => {
  warnIfTsharkMissing();
  const frames: CaptureFrame[] = Array.from({ length: 24 }, (_, i) => {
    const mpdu = Uint8Array.of(0x41, 0x88, i, 0x34, 0x12, 0xff, 0xff, 0x00, 0x00, ...Array.from({ length: i * 3 }, (_, j) => (i + j) & 0xff));
    const f: CaptureFrame = { psdu: i % 3 === 2 ? mpdu : withFcs(mpdu), fcsIncluded: i % 3 !== 2, timestampUs: 1_700_000_000_000_000n + BigInt(i) * 1_234_567n };
    if (i % 4 !== 1) f.channel = 11 + (i % 16);
    if (i % 5 !== 1) f.rssi = -90 + i * 2.5;
    if (i % 6 !== 1) f.lqi = (i * 37) % 256;
    if (i % 2 === 0) f.comment = `frame ${i}: seq ${i}`;
    return f;
  });
  const epoch = (us: bigint): string => `${us / 1_000_000n}.${(us % 1_000_000n).toString().padStart(6, '0')}000`;
  const tapLen = (f: CaptureFrame): number => 12 + (f.rssi !== undefined ? 8 : 0) + (f.channel !== undefined ? 8 : 0) + (f.lqi !== undefined ? 8 : 0);

  it('pcapng + TAP: same packet count, lengths, times, channel, RSSI, LQI, FCS type and comments', () => {
    const file = path.join(dir, 'tshark-tap.pcapng');
    const w = openPcapngWriter(file, { interfaceName: 'sehil-sim', tsresol: 9 });
    frames.forEach((f) => w.writeFrame(f));
    w.close();
    const rows = runTshark(file, [], ['frame.len', 'frame.time_epoch', 'wpan-tap.ch_num', 'wpan-tap.ch_page', 'wpan-tap.rss', 'wpan-tap.lqi', 'wpan-tap.fcs_type', 'wpan.fcs_ok', 'wpan.seq_no', 'frame.comment']);
    expect(rows).toHaveLength(frames.length);
    rows.forEach(([len, time, ch, page, rss, lqi, fcsType, fcsOk, seq, comment], i) => {
      const f = frames[i];
      expect(Number(len)).toBe(tapLen(f) + f.psdu.length);
      expect(time).toBe(epoch(f.timestampUs));
      expect([ch, page]).toEqual(f.channel === undefined ? ['', ''] : [String(f.channel), '0']);
      expect(rss === '' ? undefined : Number(rss)).toBe(f.rssi);
      expect(lqi === '' ? undefined : Number(lqi)).toBe(f.lqi);
      expect(fcsType).toBe(f.fcsIncluded ? '1' : '0');
      expect(fcsOk).toBe('1'); // a good FCS; Wireshark also says 1 when there is none
      expect(seq).toBe(String(i));
      expect(comment).toBe(f.comment ?? '');
    });
  });

  it.each([283, 195, 230] as const)('classic pcap, link type %i', (linkType) => {
    const file = path.join(dir, `tshark-${linkType}.pcap`);
    const w = openPcapWriter(file, { linkType });
    const mine = frames.filter((f) => linkType !== 195 || f.fcsIncluded);
    mine.forEach((f) => w.writeFrame(f));
    w.close();
    const rows = runTshark(file, [], ['frame.len', 'frame.time_epoch', 'wpan.seq_no', 'wpan-tap.ch_num', 'wpan.fcs_ok']);
    expect(rows.map((r) => r.slice(1, 3))).toEqual(mine.map((f) => [epoch(f.timestampUs), String(f.psdu[2])]));
    expect(readCaptureFile(file).packets).toHaveLength(mine.length);
    rows.forEach(([len, , , ch, ok], i) => {
      const f = mine[i];
      const body = linkType === 230 && f.fcsIncluded ? f.psdu.length - 2 : f.psdu.length;
      expect(Number(len)).toBe(body + (linkType === 283 ? tapLen(f) : 0));
      expect(ch).toBe(linkType === 283 && f.channel !== undefined ? String(f.channel) : '');
      expect(ok).toBe('1');
    });
  });

  it('a truncated copy: tshark and readCapture agree on the packets before the cut', () => {
    const file = path.join(dir, 'cut.pcapng');
    const bytes = encodeCapture(frames.slice(0, 5));
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 7));
    expect(runTshark(file, [], ['frame.number'], { allowCutShort: true })).toEqual([['1'], ['2'], ['3'], ['4']]);
    expect(readCaptureFile(file).packets).toHaveLength(4);
  });
});

describe('a writer killed with SIGKILL mid-stream', () => {
  const child = path.join(path.dirname(new URL(import.meta.url).pathname), 'writer-child.ts');

  async function killMidStream(file: string, format: string): Promise<number> {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, file, format], {
      env: { ...process.env, SEHIL_WRITER_CHILD: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const reported = await new Promise<number>((resolve, reject) => {
      let buf = '';
      proc.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const counts = buf.split('\n').filter(Boolean).map(Number);
        if (counts[counts.length - 1] >= 2000) resolve(counts[counts.length - 1]);
      });
      proc.on('exit', (code) => reject(new Error(`writer child exited early (${code}): ${stderr}`)));
      setTimeout(() => reject(new Error(`writer child too slow: ${stderr}`)), 60_000);
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_, sig) => resolve(sig)));
    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    return reported;
  }

  for (const format of ['pcapng', 'pcap'] as const) {
    it(`${format}: our reader${tsharkAvailable ? ' and tshark' : ''} read every frame up to the kill`, async () => {
      const file = path.join(dir, `killed.${format}`);
      const reported = await killMidStream(file, format);
      const cap = readCaptureFile(file);
      expect(cap.packets.length).toBeGreaterThanOrEqual(reported);
      expect(cap.warnings.every((w) => /^truncated/.test(w))).toBe(true);
      cap.packets.forEach((p, i) => {
        const f = childFrame(i);
        expect([p.psdu, p.timestampUs, p.channel, p.rssi, p.lqi]).toEqual([f.psdu, f.timestampUs, f.channel, f.rssi, f.lqi]);
        if (format === 'pcapng') expect(p.comment).toBe(`#${i}`);
      });
      if (tsharkAvailable) {
        const rows = runTshark(file, [], ['frame.number', 'wpan-tap.ch_num'], { allowCutShort: true });
        expect(rows.length).toBe(cap.packets.length);
        expect(rows.map((r) => Number(r[1]))).toEqual(cap.packets.map((p) => p.channel));
      }
    });
  }
});
