import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bytesToBigInt, bytesToHex, concatBytes, equalBytes, hexToBytes, abytes } from '../../harness/crypto/bytes.ts';

describe('bytes helpers', () => {
  it('round-trips hex in both cases', () => {
    expect(bytesToHex(hexToBytes('00fFa5'))).toBe('00ffa5');
  });
  it('names the offset of a bad hex digit', () => {
    expect(() => hexToBytes('00zz', 'key')).toThrow(/"key" has a non-hex character at offset 2/);
    expect(() => hexToBytes('abc')).toThrow(RangeError);
  });
  it('converts big-endian integers and refuses overflow', () => {
    expect(bytesToBigInt(hexToBytes('0102'))).toBe(0x102n);
    expect(bytesToHex(bigIntToBytes(0x102n, 3))).toBe('000102');
    expect(() => bigIntToBytes(0x10000n, 2)).toThrow(RangeError);
  });
  it('compares and concatenates', () => {
    expect(equalBytes(concatBytes(hexToBytes('01'), hexToBytes('02')), hexToBytes('0102'))).toBe(true);
    expect(equalBytes(hexToBytes('01'), hexToBytes('02'))).toBe(false);
    expect(() => abytes(new Uint8Array(15), 16, 'key')).toThrow('"key" expected Uint8Array of length 16, got length=15');
  });
});
