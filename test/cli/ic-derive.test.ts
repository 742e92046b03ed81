import { describe, expect, it } from 'vitest';
import { main } from '../../harness/run/cli.ts';
import { captureIO } from '../helpers/cli-io.ts';


// Published vector (crypto.md §1.2 #1; vectors/install-codes.json ic-1).
const CODE = '83FED3407A939723A5C639B26916D505';
const LINK_KEY = '66B6900981E1EE3CA4206B6B861C02BB';

describe('sehil ic derive', () => {
  it('prints the grouped code, the CRC verdict and the keys for a code with CRC', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', CODE + 'C3B5'], io)).toBe(0);
    expect(io.stdout).toContain('83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5');
    expect(io.stdout).toMatch(/^CRC +0xB5C3 ok \(supplied\)/m);
    expect(io.stdout).toContain(`link key       ${LINK_KEY}`);
    expect(io.stdout).toMatch(/key-transport  [0-9A-F]{32}/);
    expect(io.stdout).toMatch(/key-load       [0-9A-F]{32}/);
    expect(io.stderr).toBe('');
  });

  it('computes and appends the CRC of a code without one (also typed in groups)', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', '83fe', 'd340', '7a93', '9723', 'a5c6', '39b2', '6916', 'd505'], io)).toBe(0);
    expect(io.stdout).toContain('0xB5C3 computed and appended');
    expect(io.stdout).toContain(LINK_KEY);
  });

  it('a bad CRC exits 2 and says what the CRC should be', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', CODE + 'C3B4'], io)).toBe(2);
    expect(io.stderr).toContain('install code CRC is 0xB4C3 (bytes C3 B4) but should be 0xB5C3 (append C3 B5)');
    expect(io.stdout).toBe('');
  });

  it('a bad length exits 2 and lists the allowed lengths', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', '83FED3407A'], io)).toBe(2);
    expect(io.stderr).toContain('install code is 5 bytes');
    expect(io.stderr).toContain('6, 8, 12 or 16 bytes without CRC, or 8, 10, 14 or 18 bytes with CRC');
  });

  it('a bad character exits 2 and names it', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', '83FE-D34O'], io)).toBe(2);
    expect(io.stderr).toContain('"O" at position 9');
  });

  it('--json prints one JSON document on stdout and nothing else', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', 'Z:943469FFFE05CE55$I:FC5ECD1E8DFD3E0603E3689F8D0226BBF80B', '--json'], io)).toBe(0);
    const doc = JSON.parse(io.stdout);
    expect(doc).toMatchObject({
      form: 'zigbee-qr', eui64: '943469FFFE05CE55', codeLength: 16, crc: '0x0BF8', crcBytes: 'F80B', crcSupplied: true,
    });
    expect(doc.linkKey).toMatch(/^[0-9A-F]{32}$/);
    expect(doc.keyTransportKey).toMatch(/^[0-9A-F]{32}$/);
    expect(doc.keyLoadKey).toMatch(/^[0-9A-F]{32}$/);
    expect(io.stderr).toBe('');
  });

  it('--json for the published vector carries its link key', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', '--json', CODE], io)).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ installCode: CODE + 'C3B5', linkKey: LINK_KEY, crcSupplied: false });
  });

  it('notes how an ambiguous 8-byte code was read, and --crc present checks it instead', async () => {
    const io = captureIO();
    expect(await main(['ic', 'derive', 'FFFED3407A939723'], io)).toBe(0);
    expect(io.stdout).toContain('read as an 8-byte code without CRC');
    const io2 = captureIO();
    expect(await main(['ic', 'derive', 'FFFED3407A939723', '--crc', 'present'], io2)).toBe(2);
    expect(io2.stderr).toContain('should be 0x84DE (append DE 84)');
  });

  it('usage errors exit 2: no code, unknown option, bad --crc', async () => {
    for (const argv of [['ic', 'derive'], ['ic', 'derive', CODE, '--frobnicate'], ['ic', 'derive', CODE, '--crc', 'maybe']]) {
      const io = captureIO();
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      expect(io.stderr).toMatch(/^sehil ic derive: /);
    }
  });

  it('is listed in --help', async () => {
    const io = captureIO();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout).toContain('ic derive CODE');
  });
});
