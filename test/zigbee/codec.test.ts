import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, DecodeError, eui64FromAir, eui64ToAir, formatEui64, parseEui64, tryDecode } from '../../harness/zigbee/codec.ts';

describe('codec plumbing', () => {
  it('reads little-endian fields and reports truncation as a DecodeError with an absolute offset', () => {
    const r = new ByteReader(Uint8Array.of(0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xff), 'nwk', 0, 10);
    expect(r.u16()).toBe(0x1234);
    expect(r.u32()).toBe(0x12345678);
    try {
      r.u16('short address');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      expect((e as DecodeError).layer).toBe('nwk');
      expect((e as DecodeError).offset).toBe(16);
      expect((e as DecodeError).message).toBe('nwk @16: truncated short address: need 2 bytes, have 1');
    }
  });
  it('writes what it reads', () => {
    const w = new ByteWriter(1).u8(1).u16(0xbeef).u32(0xdeadbeef).eui64('000d6f000061 4edf'.replace(' ', ''));
    const r = new ByteReader(w.finish(), 'mac');
    expect([r.u8(), r.u16(), r.u32(), r.eui64()]).toEqual([1, 0xbeef, 0xdeadbeef, '000d6f0000614edf']);
  });
  it('converts EUI-64 between printed and on-air order', () => {
    expect(eui64FromAir(Uint8Array.of(0xdf, 0x4e, 0x61, 0, 0, 0x6f, 0x0d, 0))).toBe('000d6f0000614edf');
    expect(Array.from(eui64ToAir('000d6f0000614edf'))).toEqual([0xdf, 0x4e, 0x61, 0, 0, 0x6f, 0x0d, 0]);
    expect(parseEui64('00:0D:6F:00:00:61:4E:DF')).toBe('000d6f0000614edf');
    expect(formatEui64('000d6f0000614edf')).toBe('00:0d:6f:00:00:61:4e:df');
    expect(() => parseEui64('00:0D')).toThrow(/not an EUI-64/);
  });
  it('tryDecode turns DecodeError into a value and lets other errors through', () => {
    const bad = tryDecode(() => new ByteReader(new Uint8Array(0), 'aps').u8('frame control') as never);
    expect(bad.ok).toBe(false);
    expect(() => tryDecode(() => { throw new TypeError('bug'); })).toThrow(TypeError);
  });
});
