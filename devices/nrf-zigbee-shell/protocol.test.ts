import { describe, expect, it } from 'vitest';
import {
  classifyLine, cleanLine, formatIcList, installCodeArg, parseEui64Reply, parseIcList, parseShortReply, ShellCommand, ShellParseError,
} from './protocol.ts';

describe('nRF Zigbee shell lines', () => {
  it('removes colours, prompts and the erase sequence the Zephyr shell prints', () => {
    expect(cleanLine('\x1b[1;32muart:~$ \x1b[mbdb start')).toBe('bdb start');
    expect(cleanLine('uart:~$ uart:~$ zdo short')).toBe('zdo short');
    expect(cleanLine('\x1b[J\x1b[1;31mError: Stack not started\x1b[m')).toBe('Error: Stack not started');
    expect(classifyLine('\x1b[1;32muart:~$ \x1b[m')).toEqual({ kind: 'blank' });
  });

  it('reads Done, Error:, Zephyr refusals, logs and output', () => {
    expect(classifyLine('Done')).toEqual({ kind: 'done' });
    expect(classifyLine('\x1b[1;31mError: Failed to add IC\x1b[m')).toEqual({ kind: 'error', text: 'Failed to add IC' });
    expect(classifyLine('bdb foo: command not found')).toEqual({ kind: 'shell-error', text: 'bdb foo: command not found' });
    expect(classifyLine('nwkkey: wrong parameter count')).toMatchObject({ kind: 'shell-error' });
    expect(classifyLine('[00:00:21.261,810] <inf> zigbee.eprxzcl: Received ZCL command')).toEqual({
      kind: 'log', time: '00:00:21.261,810', level: 'inf', module: 'zigbee.eprxzcl', text: 'Received ZCL command',
    });
    expect(classifyLine('Started coordinator')).toEqual({ kind: 'text', text: 'Started coordinator' });
  });

  it('finds Done and Error: behind noise, and calls the rest garbage', () => {
    expect(classifyLine('\x00\xff\xfegarbDone')).toMatchObject({ kind: 'garbage' });
    expect(classifyLine('\xff\xfeDone')).toEqual({ kind: 'done', skippedPrefix: '\xff\xfe' });
    expect(classifyLine('ab\x07Error: Syntax error')).toEqual({ kind: 'error', text: 'Syntax error', skippedPrefix: 'ab\x07' });
    expect(classifyLine('\x80\x81 junk')).toEqual({ kind: 'garbage', text: '\x80\x81 junk' });
  });
});

describe('nRF Zigbee shell commands and replies', () => {
  it('formats commands as the shell documents them', () => {
    expect(ShellCommand.icAdd('83FED3407A939723A5C639B26916D505C3B5', '0B:01:0E:2F:79:E9:DB:FA'))
      .toBe('bdb ic add 83FED3407A939723A5C639B26916D505C3B5 0b010e2f79e9dbfa');
    expect(ShellCommand.icSet('83FED3407A939723A5C639B26916D505')).toBe('bdb ic set 83FED3407A939723A5C639B26916D505C3B5'); // CRC appended
    expect(ShellCommand.panId(0x1a62)).toBe('bdb panid 1a62');
    expect(ShellCommand.mgmtLeave(0x1234, { rejoin: true })).toBe('zdo mgmt_leave 0x1234 --rejoin');
    expect(() => ShellCommand.channel(27)).toThrow(/11\.\.26/);
    expect(() => installCodeArg('83FED3407A939723A5C639FF4C12')).toThrow(/128-bit install codes only.*12 bytes/);
    expect(() => installCodeArg('83FED3407A939723A5C639B26916D505C3B6')).toThrow(/CRC/);
  });

  it('reads zdo eui64 / zdo short, refusing anything else', () => {
    expect(parseEui64Reply(['0B010EAAFD745DFA'])).toBe('0b010eaafd745dfa');
    expect(parseShortReply(['', 'a1b2'])).toBe(0xa1b2);
    expect(() => parseShortReply(['Started router', '0000'])).toThrow(ShellParseError);
    expect(() => parseEui64Reply(['0b01'])).toThrow(/16 hex digits/);
  });

  it('reads the bdb ic list table (radios.md §2.2 example) and checks its total', () => {
    const lines = [
      '[idx] EUI64:           IC:                                  options:',
      '[  0] 0b010e2f79e9dbfa 83fed3407a939723a5c639b26916d505c3b5 0x3',
      'Total entries for the install codes table: 1',
    ];
    expect(parseIcList(lines)).toEqual([{ index: 0, eui64: '0b010e2f79e9dbfa', installCode: '83fed3407a939723a5c639b26916d505c3b5', options: 3 }]);
    expect(parseIcList(formatIcList([{ eui64: '0b010e2f79e9dbfa', installCode: '83FED3407A939723A5C639B26916D505C3B5', options: 3 }]))).toHaveLength(1);
    expect(parseIcList(['Total entries for the install codes table: 0'])).toEqual([]);
    expect(() => parseIcList(lines.slice(0, 2))).toThrow(/no "Total entries"/);
    expect(() => parseIcList([lines[0], lines[1], 'Total entries for the install codes table: 2'])).toThrow(/total says 2/);
    expect(() => parseIcList([lines[0], '[  0] 0b010e2f79e9dbfa zz 0x3', lines[2]])).toThrow(/unexpected line/);
  });
});
