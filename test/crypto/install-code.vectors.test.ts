// Install codes against vectors/install-codes.json: CRC, link key, bad CRCs with the corrected
// CRC, the label / QR forms, error kinds; and a property test over user formatting.
// No `node:` imports: this file also runs in Chromium.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import vectors from '../../vectors/install-codes.json' with { type: 'json' };
import { bytesToHex, hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  crc16X25, deriveInstallCodeLinkKey, installCodeCrc, installCodeFromBytes, InstallCodeError,
  parseInstallCode, type CrcMode,
} from '../../harness/crypto/install-code.ts';

const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const crcHex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/** Runs `fn`, which must throw an InstallCodeError, and returns it. */
function installCodeError(fn: () => unknown): InstallCodeError {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(InstallCodeError);
    expect(e).toBeInstanceOf(RangeError);
    return e as InstallCodeError;
  }
  throw new Error('expected an InstallCodeError');
}

describe('vectors/install-codes.json', () => {
  it('every entry names its source', () => {
    const all = [vectors.crcCheck, vectors.crcVariants, ...vectors.vectors, ...vectors.badCrc, ...vectors.parseForms, ...vectors.parseRejects];
    for (const v of all) expect(v.source, JSON.stringify(v).slice(0, 60)).toMatch(/\S/);
  });
});

describe('CRC-16/X-25 (BDB 16-02828 §10.1.1.1)', () => {
  it(`check("123456789") = 0x${vectors.crcCheck.crc}`, () => {
    expect(crcHex(crc16X25(new TextEncoder().encode(vectors.crcCheck.input)))).toBe(vectors.crcCheck.crc);
  });
  it('is X-25 and none of the look-alike CRC-16 variants', () => {
    const c = vectors.crcVariants;
    const got = crcHex(installCodeCrc(hexToBytes(c.code)));
    expect(got).toBe(c.x25);
    expect([c.xmodem, c.kermit, c.ccittFalse]).not.toContain(got);
  });
});

describe('install code → CRC → link key (§1.2 vectors)', () => {
  for (const v of vectors.vectors) {
    it(`${v.id}: ${v.codeLength}-byte code, CRC 0x${v.crc}`, () => {
      const bytes = hexToBytes(v.installCode);
      const code = bytes.subarray(0, v.codeLength);
      expect(crcHex(installCodeCrc(code))).toBe(v.crc);
      const parsed = parseInstallCode(v.installCode);
      expect(parsed.code.length).toBe(v.codeLength);
      expect(parsed.crcSupplied).toBe(true);
      expect(hex(parsed.bytes)).toBe(v.installCode);
      expect(hex(parsed.bytes.subarray(v.codeLength))).toBe(v.crcBytes);
      expect(hex(deriveInstallCodeLinkKey(parsed))).toBe(v.linkKey);
      expect(hex(deriveInstallCodeLinkKey(code))).toBe(v.linkKey); // bare code: CRC appended
      // Without its CRC the same code gives the same key, and says the CRC was computed.
      const bare = parseInstallCode(hex(code), { crc: 'absent' });
      expect(bare.crcSupplied).toBe(false);
      expect(hex(bare.bytes)).toBe(v.installCode);
    });
  }
});

describe('bad CRC: the error says what the CRC should be', () => {
  for (const v of vectors.badCrc) {
    it(`${v.id}: ${v.input}`, () => {
      const e = installCodeError(() => parseInstallCode(v.input, { crc: v.crcMode as CrcMode }));
      expect(e.kind).toBe('crc');
      expect(crcHex(e.expectedCrc!)).toBe(v.expectedCrc);
      expect(crcHex(e.suppliedCrc!)).toBe(v.suppliedCrc);
      const want = v.correctedCrcBytes;
      expect(e.message).toContain(`should be 0x${v.expectedCrc} (append ${want.slice(0, 2)} ${want.slice(2)})`);
      // The corrected code is accepted.
      expect(parseInstallCode(v.code + v.correctedCrcBytes, { crc: 'present' }).crcSupplied).toBe(true);
    });
  }
  it('formats the message as documented', () => {
    const e = installCodeError(() => parseInstallCode('83FED3407A939723A5C639B26916D5053412'));
    expect(e.message).toBe('install code CRC is 0x1234 (bytes 34 12) but should be 0xB5C3 (append C3 B5)');
  });
});

describe('the 8-byte ambiguity', () => {
  it('8 bytes whose last two are the CRC of the first six: a 6-byte code with CRC', () => {
    const ic = parseInstallCode('83FED3407A932B70');
    expect(ic.code.length).toBe(6);
    expect(ic.crcSupplied).toBe(true);
  });
  it('8 bytes whose last two are not: an 8-byte code, CRC appended', () => {
    const ic = parseInstallCode('FFFED3407A939723');
    expect(ic.code.length).toBe(8);
    expect(ic.crcSupplied).toBe(false);
    expect(hex(ic.bytes)).toBe('FFFED3407A9397238C4F');
  });
  it('crc: "absent" forces the 8-byte reading, "present" the 6-byte one', () => {
    expect(parseInstallCode('83FED3407A932B70', { crc: 'absent' }).code.length).toBe(8);
    expect(installCodeError(() => parseInstallCode('FFFED3407A939723', { crc: 'present' })).kind).toBe('crc');
  });
});

describe('label and QR forms', () => {
  for (const v of vectors.parseForms) {
    it(`${v.id} (${v.form})`, () => {
      const ic = parseInstallCode(v.input);
      expect(ic.form).toBe(v.form);
      expect(hex(ic.code)).toBe(v.code);
      expect(ic.crcSupplied).toBe(v.crcSupplied);
      expect(crcHex(ic.crc)).toBe(v.crc);
      expect(ic.eui64).toBe((v as { eui64?: string }).eui64);
    });
  }
  for (const v of vectors.parseRejects) {
    it(`rejects ${v.id} (${v.kind})`, () => {
      const e = installCodeError(() => parseInstallCode(v.input));
      expect(e.kind).toBe(v.kind);
      const expected = (v as { expectedCrc?: string }).expectedCrc;
      if (expected) expect(crcHex(e.expectedCrc!)).toBe(expected);
    });
  }
  it('accepts forms with surrounding whitespace and lower case', () => {
    const ic = parseInstallCode('  z:943469fffe05ce55$i:fc5ecd1e8dfd3e0603e3689f8d0226bbf80b\n');
    expect(ic.form).toBe('zigbee-qr');
    expect(ic.eui64).toBe('943469FFFE05CE55');
  });
  it('names a bad EUI-64 in a label', () => {
    const e = installCodeError(() => parseInstallCode('000D6FFFFE63CCAG|58A4DD6123F38ECF22B17FDA0D95A43DED19'));
    expect(e.kind).toBe('format');
    expect(e.message).toMatch(/EUI-64 has "G" at position 16/);
  });
  it('says which field a label QR lacks', () => {
    expect(installCodeError(() => parseInstallCode('Z:943469FFFE05CE55$D:202')).message).toMatch(/\$I:/);
  });
});

describe('format and length errors', () => {
  it('names the offending character and its 1-based position', () => {
    const e = installCodeError(() => parseInstallCode('83FE D34O 7A93'));
    expect(e.kind).toBe('format');
    expect(e.position).toBe(9);
    expect(e.message).toContain('"O" at position 9');
  });
  it('says which lengths are allowed and which one it got', () => {
    const e = installCodeError(() => parseInstallCode('83FED3407A'));
    expect(e.kind).toBe('length');
    expect(e.length).toBe(5);
    expect(e.message).toBe('install code is 5 bytes (10 hex digits); allowed: 6, 8, 12 or 16 bytes without CRC, or 8, 10, 14 or 18 bytes with CRC');
    expect(installCodeError(() => parseInstallCode('83FED3407A939')).message).toMatch(/odd number of hex digits \(13\)/);
    expect(installCodeError(() => parseInstallCode('83FED3407A939723A5C6', { crc: 'absent' })).message).toMatch(/allowed: 6, 8, 12 or 16 bytes without CRC$/);
    expect(installCodeError(() => parseInstallCode('')).kind).toBe('format');
  });
  it('wrong argument types are TypeErrors', () => {
    expect(() => parseInstallCode(42 as unknown as string)).toThrow(TypeError);
    expect(() => deriveInstallCodeLinkKey('00' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => deriveInstallCodeLinkKey(new Uint8Array(18))).toThrow(InstallCodeError);
    expect(() => parseInstallCode('83FED3407A93', { crc: 'maybe' as CrcMode })).toThrow(/"crc"/);
  });
});

describe('property: any formatting of a valid code parses to the same bytes', () => {
  const separators = [' ', '-', ':', '.', ', ', '  ', '\t', '\u00a0', ' - '];
  const formatted = fc.record({
    length: fc.constantFrom(6, 8, 12, 16),
    seed: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    withCrc: fc.boolean(),
    cuts: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 40 }),
    seps: fc.array(fc.constantFrom(...separators), { minLength: 1, maxLength: 40 }),
    upper: fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }),
    prefix: fc.constantFrom('', '0x', '0X'),
    groupPrefix: fc.boolean(),
  });
  it('parses back to code ‖ CRC', () => {
    fc.assert(fc.property(formatted, (f) => {
      const code = f.seed.slice(0, f.length);
      const crc = crc16X25(code);
      // An 8-byte code whose tail happens to be a CRC of its first six reads as 6 + CRC (2^-16).
      fc.pre(!(f.length === 8 && !f.withCrc && crc16X25(code.subarray(0, 6)) === (code[6] | (code[7] << 8))));
      const full = installCodeFromBytes(code, { crc: 'absent' }).bytes;
      const digits = bytesToHex(f.withCrc ? full : code).split('').map((c, i) => (f.upper[i] ? c.toUpperCase() : c));
      let text = f.prefix;
      for (let i = 0, g = 0; i < digits.length; g++) {
        const n = f.cuts[g % f.cuts.length];
        if (g > 0) text += f.seps[g % f.seps.length] + (f.groupPrefix ? '0x' : '');
        text += digits.slice(i, i + n).join('');
        i += n;
      }
      const ic = parseInstallCode(text);
      expect(hex(ic.bytes)).toBe(hex(full));
      expect(ic.code.length).toBe(f.length);
      expect(ic.crcSupplied).toBe(f.withCrc);
      expect(ic.crc).toBe(crc);
    }), { numRuns: 300 });
  });
  it('a flipped CRC byte is always reported with the right CRC', () => {
    fc.assert(fc.property(fc.constantFrom(8, 12, 16), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 1, max: 255 }), (len, seed, flip) => {
      const full = installCodeFromBytes(seed.slice(0, len), { crc: 'absent' }).bytes.slice();
      full[full.length - 1] ^= flip;
      const e = installCodeError(() => parseInstallCode(bytesToHex(full), { crc: 'present' }));
      expect(e.kind).toBe('crc');
      expect(e.expectedCrc).toBe(crc16X25(seed.slice(0, len)));
    }));
  });
});
