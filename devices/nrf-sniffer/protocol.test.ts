import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16Kermit } from '../../harness/zigbee/ieee802154.ts';
import {
  encodeCommand, formatSnifferLine, LineSplitter, parseSnifferLine, SnifferCommand, SnifferLineError,
  type SnifferFrameLine, type SplitEvent,
} from './protocol.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

// Verbatim from the sample's README.rst (radios.md §1.3).
const README_LINE = 'received: 49a85d41a5fffff4110f10270000369756e65619d09428a04b301951821db234460aa5ec4ff506631ef8adb22674683700 power: -39 lqi: 220 time: 15822687';

function lineError(line: string): SnifferLineError {
  try {
    parseSnifferLine(line);
  } catch (e) {
    if (e instanceof SnifferLineError) return e;
    throw e;
  }
  throw new Error(`expected a SnifferLineError for ${JSON.stringify(line)}`);
}

describe('nRF sniffer line parser', () => {
  it('reads the README example: PSDU without the 2 trailing bytes, power, lqi, 64-bit time', () => {
    const f = parseSnifferLine(README_LINE) as SnifferFrameLine;
    expect(f.kind).toBe('frame');
    expect(hex(f.psdu)).toBe(README_LINE.split(' ')[1].slice(0, -4));
    expect(hex(f.trailer)).toBe('3700');
    // radios.md §1.3 [verified]: the tail is not the FCS of the body; raw LQI 0x37 × 4 = 220.
    expect(crc16Kermit(f.psdu)).toBe(0x8b9a);
    expect(f.trailer[0] * 4).toBe(f.lqi);
    expect([f.rssi, f.lqi, f.deviceTimeUs]).toEqual([-39, 220, 15822687n]);
    expect(f.skippedPrefix).toBeUndefined();
  });

  it('reads uppercase hex, tabs, CR left over and the full uint64 time', () => {
    const f = parseSnifferLine('received:\t0102AB0000  power: 0 lqi: 255 time: 18446744073709551615\r') as SnifferFrameLine;
    expect([hex(f.psdu), f.lqi, f.deviceTimeUs]).toEqual(['0102ab', 255, 2n ** 64n - 1n]);
  });

  it('treats echo, shell messages, bare numbers and blank lines as other', () => {
    for (const l of ['', 'sleep', 'shell echo off', '15', 'channel: wrong parameter count', 'foo: command not found', 'receive d']) {
      expect(parseSnifferLine(l)).toEqual({ kind: 'other', line: l });
    }
  });

  it('keeps the frame after noise or a cut-off line on the same line and reports the prefix', () => {
    const f = parseSnifferLine(`\x00\xffreceived: 41c8${README_LINE}`) as SnifferFrameLine;
    expect(f.kind).toBe('frame');
    expect(f.deviceTimeUs).toBe(15822687n);
    expect(f.skippedPrefix).toBe('\x00\xffreceived: 41c8');
  });

  // [line, field, where the column must point (a substring, or END for one past the last character), reason]
  const END = Symbol('end of line');
  const bad: [string, string, string | typeof END, RegExp][] = [
    ['received: 41c8xz0000 power: -40 lqi: 9 time: 1', 'hex', 'xz', /"x" is not a hex digit/],
    ['received: 41c80 power: -40 lqi: 9 time: 1', 'hex', '0 power', /odd number of hex digits \(5\)/],
    ['received: 4100 power: -40 lqi: 9 time: 1', 'hex', '4100', /2 bytes is too short/],
    [`received: ${'00'.repeat(128)} power: -40 lqi: 9 time: 1`, 'hex', '0000', /128 bytes exceeds aMaxPHYPacketSize \(127\)/],
    ['received:', 'hex', END, /line ends before the frame bytes/],
    ['received: 41c8000000', 'power', END, /line ends before "power:"/],
    ['received: 41c8000000 rssi: -40 lqi: 9 time: 1', 'power', 'rssi', /expected "power:", got "rssi:"/],
    ['received: 41c8000000 power: -129 lqi: 9 time: 1', 'power', '-129', /-129 is out of range -128..127/],
    ['received: 41c8000000 power: 4.5 lqi: 9 time: 1', 'power', '4.5', /expected an integer/],
    ['received: 41c8000000 power: -40 lqi: 256 time: 1', 'lqi', '256', /256 is out of range 0..255/],
    ['received: 41c8000000 power: -40 lqi: -1 time: 1', 'lqi', '-1', /expected a non-negative integer/],
    ['received: 41c8000000 power: -40 lqi: 9 time: -5', 'time', '-5', /expected a non-negative integer/],
    ['received: 41c8000000 power: -40 lqi: 9 time: 18446744073709551616', 'time', '1844', /out of range 0..18446744073709551615/],
    ['received: 41c8000000 power: -40 lqi: 9', 'time', END, /line ends before "time:"/],
    ['received: 41c8000000 power: -40 lqi: 9 time: 1 extra', 'line', 'extra', /unexpected text after the time: "extra"/],
  ];
  for (const [line, field, where, reason] of bad) {
    const column = where === END ? line.length + 1 : line.indexOf(where) + 1;
    it(`rejects ${JSON.stringify(line.length > 60 ? line.slice(0, 57) + '…' : line)} naming ${field} at column ${column}`, () => {
      const e = lineError(line);
      expect(e.field).toBe(field);
      expect(e.column).toBe(column);
      expect(e.reason).toMatch(reason);
      expect(e.message).toContain(`column ${column}`);
      expect(e.line).toBe(line);
    });
  }

  it('formats what it parses and parses what it formats (property)', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 125 }), fc.uint8Array({ minLength: 2, maxLength: 2 }),
      fc.integer({ min: -128, max: 127 }), fc.integer({ min: 0, max: 255 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (psdu, trailer, rssi, lqi, deviceTimeUs) => {
        const f = { psdu, trailer, rssi, lqi, deviceTimeUs };
        expect(parseSnifferLine(formatSnifferLine(f))).toEqual({ kind: 'frame', ...f });
      }), { numRuns: 500 });
  });
});

describe('nRF sniffer commands', () => {
  it('encodes the extcap commands as CRLF-terminated ASCII', () => {
    expect(Buffer.from(encodeCommand(SnifferCommand.sleep)).toString('latin1')).toBe('sleep\r\n');
    expect(Buffer.from(encodeCommand(SnifferCommand.echoOff)).toString('latin1')).toBe('shell echo off\r\n');
    expect(Buffer.from(encodeCommand(SnifferCommand.channel(26))).toString('latin1')).toBe('channel 26\r\n');
    expect(Buffer.from(encodeCommand(SnifferCommand.receive)).toString('latin1')).toBe('receive\r\n');
    expect(Buffer.from(encodeCommand(SnifferCommand.newline)).toString('latin1')).toBe('\r\n');
  });
  it('refuses channels outside 11..26 and commands that are not one printable line', () => {
    expect(() => SnifferCommand.channel(10)).toThrow(/"channel" expected 11..26/);
    expect(() => SnifferCommand.channel(15.5)).toThrow(RangeError);
    expect(() => encodeCommand('sleep\r\nreceive')).toThrow(/must be one line/);
    expect(() => encodeCommand('caf\u00e9')).toThrow(/printable ASCII/);
  });
});

describe('line splitter', () => {
  const run = (chunks: string[], maxLine?: number) => {
    const s = new LineSplitter(maxLine);
    return chunks.flatMap((c) => s.push(bytes(c)));
  };
  it('ends lines at CR, LF and CRLF, a CRLF split across chunks counting once', () => {
    expect(run(['a\r', '\nb\nc\rd\r\n'])).toEqual([
      { kind: 'line', text: 'a' }, { kind: 'line', text: 'b' }, { kind: 'line', text: 'c' }, { kind: 'line', text: 'd' },
    ]);
    expect(run(['\r\n\r\n'])).toEqual([{ kind: 'line', text: '' }, { kind: 'line', text: '' }]);
  });
  it('holds an unfinished line until its ending arrives', () => {
    const s = new LineSplitter();
    expect(s.push(bytes('received: 41'))).toEqual([]);
    expect(s.pending).toBe(12);
    expect(s.push(bytes('c8\n'))).toEqual([{ kind: 'line', text: 'received: 41c8' }]);
  });
  it('drops and counts NUL bytes', () => {
    expect(run(['\x00\x00ab\x00\n'])).toEqual([{ kind: 'line', text: 'ab' }, { kind: 'nul', count: 3 }]);
  });
  it('cuts a line at the bound at once, drops the rest of it and resynchronises on the next ending', () => {
    const ev = run(['x'.repeat(40), 'y'.repeat(1000), '\nok\n'], 32);
    expect(ev).toEqual([{ kind: 'overlong', head: 'x'.repeat(32), maxLine: 32 }, { kind: 'line', text: 'ok' }]);
    expect(() => new LineSplitter(3)).toThrow(/"maxLine"/);
  });
  it('gives the same events however the bytes are chunked (property)', () => {
    const alphabet = fc.constantFrom(...'ab \r\n\x00'.split(''));
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 60 }), (chars, cuts) => {
      const text = chars.join('');
      const whole = run([text], 16).filter((e) => e.kind !== 'nul');
      const pieces: string[] = [];
      let i = 0;
      for (const c of cuts) { pieces.push(text.slice(i, i + c)); i += c; }
      pieces.push(text.slice(i));
      const chunked: SplitEvent[] = run(pieces, 16).filter((e) => e.kind !== 'nul');
      expect(chunked).toEqual(whole);
    }), { numRuns: 500 });
  });
});
