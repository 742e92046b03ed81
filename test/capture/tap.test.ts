import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTapHeader, decodeTapRecord, encodeTapHeader, encodeTapRecord, type TapFields } from '../../harness/capture/tap.ts';
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import { DecodeError } from '../../harness/zigbee/codec.ts';

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('IEEE 802.15.4 TAP header', () => {
  it('encodes the recommended 36-byte record header (radios.md §5.2)', () => {
    const h = encodeTapHeader({ fcsType: 1, rssi: -40, channel: 15, lqi: 200 });
    expect(bytesToHex(h)).toBe(
      '00002400' + '0000010001000000' + '010004000000' + '20c2' + '030003000f000000' + '0a000100c8000000',
    );
    expect(decodeTapHeader(h)).toEqual({ value: { length: 36, fcsType: 1, rssi: -40, channel: 15, page: 0, lqi: 200, skipped: [] }, offset: 36 });
  });

  it('round-trips every field it writes', () => {
    const fields = fc.record(
      {
        fcsType: fc.constantFrom(0 as const, 1 as const, 2 as const),
        rssi: fc.float({ noNaN: true }),
        bitRate: fc.nat({ max: 0xffffffff }),
        channel: fc.nat({ max: 0xffff }),
        page: fc.nat({ max: 0xff }),
        lqi: fc.nat({ max: 0xff }),
        sofTimestampNs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        eofTimestampNs: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        frequencyKhz: fc.float({ noNaN: true }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fields, fc.uint8Array({ maxLength: 130 }), (f: TapFields, psdu) => {
        if (f.page !== undefined && f.channel === undefined) delete f.page;
        const rec = encodeTapRecord(f, psdu);
        const { header, psdu: back } = decodeTapRecord(rec);
        expect(header.length % 4).toBe(0);
        const expected: TapFields = { ...f };
        if (f.channel !== undefined) expected.page = f.page ?? 0;
        const { length, skipped, ...got } = header;
        expect(got).toEqual(expected);
        expect(length).toBe(rec.length - psdu.length);
        expect(skipped).toEqual([]);
        expect(back).toEqual(psdu);
      }),
    );
  });

  it('skips TLVs it does not know, padding included', () => {
    // type 0x63 len 5 (3 padding bytes), then LQI 7
    const h = hexToBytes('00001800' + '63000500' + '0102030405000000' + '0a00010007000000');
    expect(decodeTapHeader(h).value).toEqual({ length: 24, lqi: 7, skipped: [0x63] });
  });

  it('reads a header with no TLVs', () => {
    expect(decodeTapHeader(hexToBytes('00000400aabb'))).toEqual({ value: { length: 4, skipped: [] }, offset: 4 });
  });

  it.each([
    ['version 1', '01000400', 0, /version 1/],
    ['length not a multiple of 4', '00000600aabb', 2, /multiple of 4/],
    ['length past the packet', '00002800', 2, /past the end/],
    ['TLV past the header', '00000c00' + '01000800' + '00000000', 4, /runs past/],
    ['FCS type 3', '00000c00' + '0000010003000000', 8, /FCS type 3/],
    ['RSS of 2 bytes', '00000c00' + '0100020000000000', 4, /must have length 4/],
    ['duplicate LQI', '00001400' + '0a00010001000000' + '0a00010002000000', 12, /twice/],
    ['3 bytes of header', '000004', 2, /truncated TAP length/],
  ])('rejects %s with DecodeError(capture, offset)', (_, hex, offset, reason) => {
    const e = decodeError(() => decodeTapHeader(hexToBytes(hex)));
    expect(e.layer).toBe('capture');
    expect(e.offset).toBe(offset);
    expect(e.reason).toMatch(reason);
  });

  it('validates what it is asked to encode', () => {
    expect(() => encodeTapHeader({ channel: 70000 })).toThrow(RangeError);
    expect(() => encodeTapHeader({ lqi: 256 })).toThrow(/"lqi"/);
    expect(() => encodeTapHeader({ rssi: Number.NaN })).toThrow(/"rssi"/);
    expect(() => encodeTapHeader({ sofTimestampNs: -1n })).toThrow(/"sofTimestampNs"/);
  });
});
