import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import {
  classifyLine, EmberCliParseError, EmberCommand, eui64Arg, formatKeysPrint, formatNetworkId, hasKeSetAvailableSuite, hasKeyEstablishment, parseKeysPrint,
  parseNetworkId, parseStatusReply, promptOf, REPLY,
} from './protocol.ts';

const P = 'Z3Gateway>';

describe('EmberZNet CLI lines', () => {
  it('learns prompts and reads a bare prompt line as the end of a reply', () => {
    expect(promptOf('Z3Gateway>')).toBe('Z3Gateway>');
    expect(promptOf('host> ')).toBe('host>');
    expect(promptOf('> ')).toBe('>');
    expect(promptOf('plugin key-establishment start <uint16_t> <uint8_t>')).toBeUndefined();
    expect(classifyLine('Z3Gateway>', P)).toEqual({ kind: 'prompt' });
    expect(classifyLine('Z3Gateway>Z3Gateway>', P)).toEqual({ kind: 'prompt' });
    expect(classifyLine('Z3Gateway>network id', P)).toEqual({ kind: 'text', text: 'network id' });
    expect(classifyLine('\xff\xfeZ3Gateway>', P)).toEqual({ kind: 'prompt', skippedPrefix: '\xff\xfe' });
  });

  it('reads Success:, Error: with a status, ERR: and ERROR:', () => {
    expect(classifyLine('Success: Set joining link key', P)).toEqual({ kind: 'success', task: 'Set joining link key' });
    expect(classifyLine('Error: add link key: 0xB4', P)).toMatchObject({ kind: 'error', marker: 'Error', task: 'add link key', status: 0xb4 });
    expect(classifyLine('ERR: Calculated CRC does not match', P)).toEqual({ kind: 'error', marker: 'ERR', text: 'Calculated CRC does not match' });
    expect(classifyLine('ERROR: erase key 7: 0xB1', P)).toMatchObject({ kind: 'error', marker: 'ERROR', status: 0xb1 });
    expect(classifyLine('\x80\x81junkERR: x', P)).toMatchObject({ kind: 'error', text: 'x', skippedPrefix: '\x80\x81junk' });
    expect(classifyLine('\x80\x81 junk', P)).toEqual({ kind: 'garbage', text: '\x80\x81 junk' });
  });
});

describe('EmberZNet CLI commands and replies', () => {
  it('formats commands as the CLI documents them (EUI-64 big-endian in braces, code ‖ CRC)', () => {
    expect(EmberCommand.installCode(0, '000B57FFFE648DD8', '83FED3407A939723A5C639B26916D505'))
      .toBe('option install-code 0 {00 0B 57 FF FE 64 8D D8} {83 FE D3 40 7A 93 97 23 A5 C6 39 B2 69 16 D5 05 C3 B5}');
    expect(EmberCommand.form({ panId: 0x1a62, channel: 15 })).toBe('plugin network-creator form 1 0x1A62 3 15');
    expect(EmberCommand.pjoin(180)).toBe('network pjoin 180');
    expect(EmberCommand.rejoin(true, 15)).toBe('network rejoin 1 0x00008000');
    expect(EmberCommand.steeringMask(11)).toBe('plugin network-steering mask set 1 0x00000800');
    expect(eui64Arg('00:12:4b:00:aa:bb:cc:dd')).toBe('{00 12 4B 00 AA BB CC DD}');
    expect(() => EmberCommand.pjoin(255)).toThrow(/0\.\.254/);
    expect(() => EmberCommand.installCode(0, '000B57FFFE648DD8', '83FED3407A939723A5C639B26916D505C3B6')).toThrow(/CRC/);
  });

  it('reads network id and status replies, refusing anything else', () => {
    const id = { short: 0, eui64: '00124b0001020304', panId: 0x1a62 };
    expect(formatNetworkId(id)).toBe('Short ID: 0x0000, EUI64: (>)00124B0001020304, Pan ID: 0x1A62');
    expect(parseNetworkId(['', formatNetworkId(id)])).toEqual(id);
    expect(() => parseNetworkId(['garbleShort ID: 0x0000'])).toThrow(EmberCliParseError);
    expect(parseStatusReply('network pjoin 60', ['pJoin for 60 sec: 0x00'], REPLY.pjoin)).toBe(0);
    expect(parseStatusReply('x', ['NWK Creator: Form: 0x70'], REPLY.form)).toBe(0x70);
    expect(() => parseStatusReply('x', ['something else'], REPLY.form)).toThrow(/no line matching/);
    expect(hasKeyEstablishment(['plugin key-establishment start <uint16_t> <uint8_t>'])).toBe(true);
    expect(hasKeyEstablishment([])).toBe(false);
    const group = ['plugin key-establishment start <uint16_t> <uint8_t>', 'plugin key-establishment set-available-suite <uint16_t>'];
    expect(hasKeSetAvailableSuite(group)).toBe(true);
    expect(hasKeSetAvailableSuite(group.slice(0, 1))).toBe(false);
    expect(EmberCommand.keSetAvailableSuite(0x0001)).toBe('plugin key-establishment set-available-suite 0x0001');
  });

  it('reads keys print (radios.md §3.3 layout) and checks its counts', () => {
    const key = hexToBytes('66b6900981e1ee3ca4206b6b861c02bb');
    const nwk = hexToBytes('01030507090b0d0f00020406080a0c0d');
    const printed = formatKeysPrint({
      securityLevel: 5, nwkOutFc: 0x12, nwkKeySeq: 0, nwkKey: nwk, linkOutFc: 4,
      tcLinkKey: { eui64: '00124b0001020304', inFc: 0, type: 'L', authorized: true, key: hexToBytes('5a6967426565416c6c69616e63653039') },
      linkKeys: [{ index: 2, eui64: '00124b00aabbccdd', inFc: 3, type: 'L', authorized: true, key }],
      tableSize: 6,
      transient: [{ index: 0, eui64: '00124b00aabbccdd', nwkIndex: 0, inFc: 0, ttlS: 300, flags: 0, key }],
    });
    expect(printed).toContain('NWK Key: 01 03 05 07 09 0B 0D 0F  00 02 04 06 08 0A 0C 0D');
    expect(printed).toContain('1/6 entries used.');
    expect(printed.at(-1)).toBe('1 entry consuming 1 packet buffer.');
    const k = parseKeysPrint(printed);
    expect(k).toMatchObject({ securityLevel: 5, nwkOutFc: 0x12, nwkKeySeq: 0, nwkKey: nwk, tableSize: 6, readingDisabled: false });
    expect(k.linkKeys).toEqual([{ index: 2, eui64: '00124b00aabbccdd', inFc: 3, type: 'L', authorized: true, key }]);
    expect(k.transient[0]).toMatchObject({ eui64: '00124b00aabbccdd', ttlS: 300, key });
    expect(k.tcLinkKey?.eui64).toBe('00124b0001020304');
    const bad = printed.map((l) => (l === '1/6 entries used.' ? '2/6 entries used.' : l));
    expect(() => parseKeysPrint(bad)).toThrow(/"2\/6 entries used\." but 1 rows/);
    expect(() => parseKeysPrint(printed.slice(0, -1))).toThrow(/no "N entries consuming/);
    expect(() => parseKeysPrint(printed.filter((l) => l !== 'Link Key Table'))).toThrow(EmberCliParseError);
    expect(parseKeysPrint(['WARNING:  READING OF KEY VALUES DISABLED BY MFG TOKEN', ...printed]).readingDisabled).toBe(true);
  });
});
