import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPcapngWriter } from '../../harness/capture/file.ts';
import { bytesToHex } from '../../harness/crypto/bytes.ts';
import { main } from '../../harness/run/cli.ts';
import { captureIO } from '../helpers/cli-io.ts';
import { frameKinds } from '../helpers/frame-kinds.ts';
import { D2, INSTALL_CODE, NWK_KEY } from '../helpers/zigbee-traffic.ts';


const NWK_HEX = bytesToHex(NWK_KEY);
const cases = frameKinds();
const T0 = 1_700_000_000_000_000n;

describe('sehil decode', () => {
  let dir: string;
  let capture: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-decode-'));
    capture = path.join(dir, 'join.pcapng');
    const w = openPcapngWriter(capture);
    cases.forEach((c, i) => w.writeFrame({ psdu: c.psdu, fcsIncluded: true, timestampUs: T0 + BigInt(i) * 1500n, channel: 15 }));
    w.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = async (...argv: string[]) => {
    const io = captureIO();
    const code = await main(['decode', ...argv], io);
    return { code, ...io };
  };
  const line = (out: string, n: number) => out.split('\n').find((l) => l.startsWith(`#${n} `))!;
  const idx = (name: string) => cases.find((c) => c.name === name)!.index;

  it('prints one line per frame: number, time since the first frame, summary with the keys', async () => {
    const r = await run(capture, '--key', `nwk:nwk#0:${NWK_HEX}`, '--install-code', `${D2.eui64}:${INSTALL_CODE}`);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(cases.length + 1);
    expect(lines[0]).toBe('#1   0.000000  MAC Beacon Request → 0xffff');
    expect(line(r.stdout, 2)).toBe('#2   0.001500  MAC Beacon 0x0000 PAN 0x1a64 EPID dd:dd:dd:dd:dd:dd:dd:dd permit join');
    expect(line(r.stdout, idx('aps-tk-tclk'))).toContain('APS Transport Key (TC link key) 0x0000 → 0xa18f  [nwk: nwk#0] [aps: key-load(ZigBeeAlliance09)] [learned: tclk@a4c1386d9b280fdf]');
    expect(line(r.stdout, idx('aps-tunnel'))).toContain('[aps: key-transport(ic@00124b0001020304)] [learned: nwk#1]');
    expect(line(r.stdout, idx('zdo-device-annce-d2'))).toContain(`[nwk: nwk#1 learned #${idx('aps-tunnel')}]`);
    expect(lines.at(-1)).toMatch(/^-- 78 frames; keys: .*nwk#0 \(explicit\) opened \d+/);
    expect(lines.at(-1)).toContain(`ic@${D2.eui64} (install-code) opened 3`); // tunnelled TK, forwarded TK, Request Key
    expect(lines.at(-1)).toContain(`nwk#1 (learned #${idx('aps-tunnel')}) opened 2`);
  });

  it('accepts the bare LABEL:HEX form (network key iff the label starts with "nwk") and colon-separated hex', async () => {
    const colons = NWK_HEX.match(/../g)!.join(':');
    const r = await run(capture, '--key', `nwk-main:${colons}`);
    expect(r.code).toBe(0);
    expect(line(r.stdout, idx('zdo-device-annce'))).toContain('[nwk: nwk-main]');
    // As a link key it opens no NWK layer; the network key is then learned from the Transport Key of frame 12.
    const asLink = JSON.parse((await run(capture, '--json', '--key', `main:${NWK_HEX}`)).stdout);
    expect(asLink.keys).toContainEqual({ label: 'main', kind: 'link', origin: 'explicit', opened: 0 });
    expect(asLink.frames[idx('zdo-device-annce') - 1].summary).toContain(`[nwk: nwk#0 learned #${idx('aps-tk-nwk')}]`);
  });

  it('--json prints one JSON document: file, link type, frames with layers / security / errors, keys, warnings', async () => {
    const r = await run(capture, '--json', '--key', `nwk:nwk#0:${NWK_HEX}`);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['file', 'format', 'linkType', 'frames', 'keys', 'warnings']);
    expect(doc).toMatchObject({ file: capture, format: 'pcapng', linkType: 283, warnings: [] });
    expect(doc.frames).toHaveLength(cases.length);
    const tk = doc.frames[idx('aps-tk-tclk') - 1];
    expect(tk).toMatchObject({ index: idx('aps-tk-tclk'), timestampUs: String(T0 + BigInt(idx('aps-tk-tclk') - 1) * 1500n), channel: 15, errors: [] });
    expect(tk.security).toEqual([
      { layer: 'nwk', keyId: 1, keyLabel: 'nwk#0', keyOrigin: 'explicit', ok: true, tried: 1 },
      { layer: 'aps', keyId: 3, keyLabel: 'ZigBeeAlliance09', keyOrigin: 'well-known', ok: true, tried: 1 },
    ]);
    expect(tk.aps.command.descriptor.key).toBe('c0ffee00112233445566778899aabbcc');
    expect(tk.nwk.header).toMatchObject({ src16: 0, dst16: 0xa18f, security: true });
    expect(doc.frames[idx('aps-mic-tampered') - 1].security[1]).toMatchObject({ ok: false, reason: 'mic-failed', keyLabel: null });
    expect(doc.keys).toContainEqual({ label: 'nwk#0', kind: 'network', origin: 'explicit', opened: expect.any(Number) });
    expect(doc.keys).toContainEqual({ label: 'tclk@a4c1386d9b280fdf', kind: 'link', origin: 'learned', eui64: 'a4c1386d9b280fdf', learnedInFrame: idx('aps-tk-tclk'), opened: 6 });
    expect(doc.keys.map((k: { label: string }) => k.label)).not.toContain('touchlink-cert'); // well-known and unused
  });

  it('a capture longer than one output batch: every frame once, in order, in both outputs (they stream)', async () => {
    const long = path.join(dir, 'long.pcapng');
    const w = openPcapngWriter(long);
    const total = 2600; // more than two batches of 1024
    for (let i = 0; i < total; i++) w.writeFrame({ psdu: cases[i % cases.length].psdu, fcsIncluded: true, timestampUs: T0 + BigInt(i) * 1000n, channel: 15 });
    w.close();
    const text = await run(long, '--key', `nwk:nwk#0:${NWK_HEX}`);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(total + 1);
    expect(lines.slice(0, total).map((l) => Number(/^#(\d+) /.exec(l)![1]))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(lines[0]).toMatch(/^#1 {5}0\.000000 {2}/); // numbers padded to the width of the last one
    const json = await run(long, '--json', '--key', `nwk:nwk#0:${NWK_HEX}`);
    const doc = JSON.parse(json.stdout);
    expect(doc.frames.map((f: { index: number }) => f.index)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(doc.frames[total - 1].summary).toBe(line(text.stdout, total).split(/\s{2}/).slice(2).join('  '));
    expect(doc).toMatchObject({ format: 'pcapng', linkType: 283, warnings: [] });
  });

  it('a capture cut in the middle of a packet decodes what is there and warns (stderr, or "warnings" in JSON)', async () => {
    const whole = fs.readFileSync(capture);
    const cut = path.join(dir, 'cut.pcapng');
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 30));
    const r = await run(cut);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(cases.length); // the last frame is gone, plus the keys line
    expect(r.stderr).toMatch(/^warning: .*truncated/m);
    const j = await run(cut, '--json');
    const doc = JSON.parse(j.stdout);
    expect(doc.frames).toHaveLength(cases.length - 1);
    expect(doc.warnings).toHaveLength(1);
    expect(doc.warnings[0]).toMatch(/truncated/);
    expect(j.stderr).toBe('');
  });

  it.each([
    ['a missing file', ['no-such.pcapng'], /cannot read "no-such\.pcapng": no such file/],
    ['a directory', ['.'], /cannot read "\.": not a file/],
    ['no FILE', [], /missing FILE/],
    ['two FILEs', ['a', 'b'], /one FILE expected, got 2/],
    ['an unknown option', ['x.pcapng', '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a key with 31 hex digits', ['x', '--key', 'nwk:a:01030507090b0d0f00020406080a0c0'], /--key "nwk:a:0103.*": expected \[nwk:\|link:\]LABEL:HEX with 32 hex digits/],
    ['a key with an empty label', ['x', '--key', `nwk::${'00'.repeat(16)}`], /the LABEL is empty/],
    ['a key with a non-hex digit', ['x', '--key', `k:${'0g'.repeat(16)}`], /expected \[nwk:\|link:\]LABEL:HEX/],
    ['an install code with a bad CRC', ['x', '--install-code', `${D2.eui64}:83FED3407A939723A5C639B26916D505C3B4`], /--install-code for 00124b0001020304: install code CRC is 0xB4C3 .* should be 0xB5C3/],
    ['an install code without EUI-64', ['x', '--install-code', INSTALL_CODE], /--install-code ".*": expected EUI64:CODE/],
  ])('%s exits 2 with a message that says what is wrong', async (_what, argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sehil decode: /);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a file that is not a capture exits 2 and says so', async () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'hello, this is not a pcap\n');
    const r = await run(text);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`"${text}" is not a capture sehil can read: not a pcapng or pcap file (starts with 68 65 6c 6c`);
  });

  it('--help states the key rule; the command is listed in sehil --help', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: sehil decode FILE [--key [nwk:|link:]LABEL:HEX]… [--install-code EUI64:CODE]… [--json]');
    expect(r.stdout).toContain('a bare LABEL:HEX is a network key when LABEL starts with "nwk", else a link key');
    const top = captureIO();
    await main(['--help'], top);
    expect(top.stdout).toContain('decode FILE');
  });
});
