import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPcapngWriter, openPcapWriter, readCaptureFile } from '../../harness/capture/file.ts';
import {
  escapeUatString, formatZigbeePcKeys, shellQuote, tsharkCommand, tsharkKeyArgs, writeWiresharkKeys, type WiresharkKey,
} from '../../harness/capture/wireshark-keys.ts';
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { runTshark, runTsharkJson, runTsharkPdml, tsharkAvailable, tsharkPath, warnIfTsharkMissing } from '../helpers/tshark.ts';

// The real captured NWK+APS-secured APS Request Key (protocol.md §2.4): MAC header, NWK header,
// NWK aux header, NWK ciphertext (an APS frame itself secured with the TC link key), MIC, FCS.
const REQUEST_KEY = hexToBytes(
  '6188826' + '41a00008fa1' + '480200008fa11e27' + '28d9820000df0f289b6d38c1a400' +
    '1b039492f4e4ec13a5a35b0878af468e70a8e97dfe' + '61efed10' + '73b3',
);
const NWK_KEY: WiresharkKey = { label: 'nwk key', key: hexToBytes('01030507090b0d0f00020406080a0c0d') };
const TCLK: WiresharkKey = { label: 'ZigBeeAlliance09', key: hexToBytes('5A6967426565416C6C69616E63653039') };

describe('zigbee_pc_keys export (format)', () => {
  it('writes the UAT rows Wireshark reads: "<hex>","Normal","<label>"', () => {
    expect(formatZigbeePcKeys([NWK_KEY, TCLK, { label: 'dup', key: TCLK.key }], 'cap.pcapng')).toBe(
      '# Wireshark Zigbee pre-configured keys (UAT zigbee_pc_keys) for cap.pcapng\n' +
        '"01030507090b0d0f00020406080a0c0d","Normal","nwk key"\n' +
        '"5a6967426565416c6c69616e63653039","Normal","ZigBeeAlliance09"\n',
    );
    expect(tsharkKeyArgs([TCLK])).toEqual(['-o', 'uat:zigbee_pc_keys:"5a6967426565416c6c69616e63653039","Normal","ZigBeeAlliance09"']);
  });

  it('escapes quotes, backslashes and control characters in labels as \\xNN', () => {
    expect(escapeUatString('a "b" \\ c\td é')).toBe('a \\x22b\\x22 \\x5c c\\x09d é');
  });

  it('quotes for a POSIX shell', () => {
    expect(shellQuote('cap.pcapng')).toBe('cap.pcapng');
    expect(shellQuote(`it's "x"`)).toBe(`'it'\\''s "x"'`);
    expect(tsharkCommand('a b.pcapng', [TCLK], ['-V'])).toBe(
      `tshark -r 'a b.pcapng' -o 'uat:zigbee_pc_keys:"5a6967426565416c6c69616e63653039","Normal","ZigBeeAlliance09"' -V`,
    );
  });

  it('rejects keys that are not 16 bytes, naming the entry', () => {
    expect(() => formatZigbeePcKeys([NWK_KEY, { label: 'short', key: new Uint8Array(15) }])).toThrow(/"keys\[1\]\.key" expected Uint8Array of length 16, got length=15/);
    expect(() => formatZigbeePcKeys([{ label: 3 as unknown as string, key: new Uint8Array(16) }])).toThrow(TypeError);
  });
});

describe.skipIf(!tsharkAvailable)('tshark decrypts our capture with our key file', () => {
  warnIfTsharkMissing();
  let dir: string;
  let capture: string;
  const fields = ['zbee_aps.counter', 'zbee_aps.cmd.id', 'zbee_aps.cmd.key_type', 'zbee.sec.decryption_key', '_ws.col.Info'];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-keys-'));
    capture = path.join(dir, 'request key.pcapng'); // a space, so quoting is exercised
    const w = openPcapngWriter(capture, { interfaceName: 'sim' });
    w.writeFrame({ psdu: REQUEST_KEY, fcsIncluded: true, timestampUs: 1_700_000_000_000_000n, channel: 15, rssi: -52, lqi: 180, comment: 'APS Request Key (NWK+APS secured)' });
    w.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without keys: tshark shows NWK data, not the APS command', () => {
    const [row] = runTshark(capture, [], fields);
    expect(row.slice(0, 4)).toEqual(['', '', '', '']);
    expect(row[4]).toBe('Data, Dst: 0x0000, Src: 0xa18f');
  });

  it('with only the NWK key: the NWK layer opens, the APS command stays encrypted', () => {
    const [row] = runTshark(capture, [NWK_KEY], fields);
    expect(row[0]).toBe('131'); // the APS header (plaintext inside the NWK payload) is visible
    expect(row[1]).toBe('');
    expect(row[3]).toBe('nwk key');
  });

  it.each(['config-dir', 'option'] as const)('with the exported keys (%s): APS Request Key (0x08) for the TC link key (0x04)', (keysVia) => {
    const [row] = runTshark(capture, [NWK_KEY, TCLK], fields, { keysVia });
    expect(Number(row[1])).toBe(0x08);
    expect(Number(row[2])).toBe(0x04);
    expect(row[3]).toBe('nwk key,ZigBeeAlliance09');
    expect(row[4]).toBe('Request Key');
  });

  it('labels with quotes, backslashes and UTF-8 arrive intact', () => {
    const odd = { label: 'lab "tc" \\ café', key: TCLK.key };
    const [row] = runTshark(capture, [NWK_KEY, odd], ['zbee.sec.decryption_key']);
    expect(row[0]).toBe('nwk key,lab "tc" \\ café');
  });

  it('the files written next to the capture, and their commands, work as pasted', () => {
    const written = writeWiresharkKeys(capture, [NWK_KEY, TCLK]);
    expect(written.keyFile).toBe(`${capture}.zigbee_pc_keys`);
    expect(written.commandFile).toBe(`${capture}.tshark.txt`);
    expect(fs.readFileSync(written.keyFile, 'utf8')).toBe(formatZigbeePcKeys([NWK_KEY, TCLK], 'request key.pcapng'));
    const text = fs.readFileSync(written.commandFile, 'utf8');
    expect(text).toContain(written.command);
    const empty = fs.mkdtempSync(path.join(dir, 'cfg-')); // keep the user's own keys out of it
    const sh = (cmd: string): string => {
      const r = spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8', env: { ...process.env, WIRESHARK_CONFIG_DIR: empty, PATH: `${path.dirname(tsharkPath!)}:${process.env.PATH}` } });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(sh(`${written.command} -T fields -e zbee_aps.cmd.id -e zbee_aps.cmd.key_type`).trim()).toBe('0x08\t0x04');
    const viaDir = text.split('\n').find((l) => l.startsWith('d=$(mktemp -d)'))!;
    expect(sh(viaDir)).toContain('Request Key');
    expect(sh(`tshark -r ${shellQuote('request key.pcapng')}`)).not.toContain('Request Key');
  });

  it('json and pdml views show the decrypted command too', () => {
    const [pkt] = runTsharkJson(capture, [NWK_KEY, TCLK]);
    expect(JSON.stringify(pkt._source.layers.zbee_aps)).toContain('"zbee_aps.cmd.id":"0x08"');
    expect(runTsharkPdml(capture, [NWK_KEY, TCLK])).toMatch(/<field name="zbee_aps.cmd.key_type"[^>]* show="0x04"/);
  });

  it('the same frame in classic pcap (link type 195) decrypts the same way', () => {
    const file = path.join(dir, 'request-key.pcap');
    const w = openPcapWriter(file, { linkType: 195 });
    w.writeFrame({ psdu: REQUEST_KEY, fcsIncluded: true, timestampUs: 0n });
    w.close();
    expect(readCaptureFile(file).packets[0].psdu).toEqual(REQUEST_KEY);
    expect(runTshark(file, [NWK_KEY, TCLK], ['zbee_aps.cmd.id'])).toEqual([['0x08']]);
  });
});
