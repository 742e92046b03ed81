// `sehil decode FILE [--key [nwk:|link:]LABEL:HEX]… [--install-code EUI64:CODE]… [--json]`: every
// frame of a capture decoded and decrypted, with the key that opened each layer.
// Contract: DESIGN.md "The command line" (exit 2 on bad input; --json = one document on stdout).
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CaptureError } from '../../capture/bin.ts';
import { streamCaptureFile } from '../../capture/file.ts';
import type { CaptureStream } from '../../capture/read.ts';
import { hexToBytes } from '../../crypto/bytes.ts';
import { deriveInstallCodeLinkKey, InstallCodeError, parseInstallCode } from '../../crypto/install-code.ts';
import { parseEui64, type Eui64 } from '../../zigbee/codec.ts';
import { createDissector } from '../../zigbee/dissect.ts';
import { Keyring, type KeyEntry } from '../../zigbee/keyring.ts';
import { toJson } from '../../zigbee/summary.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const USAGE = 'decode FILE [--key [nwk:|link:]LABEL:HEX]… [--install-code EUI64:CODE]… [--json]';
const KEY_RULE =
  '--key nwk:LABEL:HEX adds a network key, --key link:LABEL:HEX a link key; a bare LABEL:HEX is a network key when LABEL ' +
  'starts with "nwk", else a link key. HEX is 32 hex digits (":", "-" or spaces between bytes allowed); LABEL has no ":".';

/** A key option: `[nwk:|link:]LABEL:HEX`, HEX being exactly 16 bytes (so the split is unambiguous). */
export function parseKeyOption(text: string): { kind: 'network' | 'link'; label: string; key: Uint8Array } {
  const m = /^(.*):([0-9a-fA-F]{2}(?:[:\- ]?[0-9a-fA-F]{2}){15})$/.exec(text.trim());
  const bad = (why: string) => new UsageError(`--key "${text}": ${why}.\n${KEY_RULE}`);
  if (!m) throw bad('expected [nwk:|link:]LABEL:HEX with 32 hex digits');
  const spec = m[1];
  const key = hexToBytes(m[2].replace(/[:\- ]/g, ''));
  let kind: 'network' | 'link';
  let label: string;
  if (/^nwk:/i.test(spec)) [kind, label] = ['network', spec.slice(4)];
  else if (/^link:/i.test(spec)) [kind, label] = ['link', spec.slice(5)];
  else [kind, label] = [/^nwk/i.test(spec) ? 'network' : 'link', spec];
  if (label === '') throw bad('the LABEL is empty');
  if (label.includes(':')) throw bad(`the LABEL "${label}" contains ":"`);
  return { kind, label, key };
}

/** `EUI64:CODE` (the EUI-64 with or without separators); the code in any form parseInstallCode reads. */
export function parseInstallCodeOption(text: string): { eui64: Eui64; linkKey: Uint8Array } {
  const m = /^((?:[0-9a-fA-F]{2}[:\-]?){7}[0-9a-fA-F]{2})[:=](.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--install-code "${text}": expected EUI64:CODE, e.g. 000d6f0000614edf:83FED3407A939723A5C639B26916D505C3B5`);
  const eui64 = parseEui64(m[1]);
  try {
    return { eui64, linkKey: deriveInstallCodeLinkKey(parseInstallCode(m[2])) };
  } catch (e) {
    if (e instanceof InstallCodeError) throw new UsageError(`--install-code for ${eui64}: ${e.message}`);
    throw e;
  }
}

/** Runs `read` on `file`, turning a missing file, an unreadable one or a non-capture into a UsageError (exit 2). */
function readingCapture<T>(file: string, read: () => T): T {
  if (!existsSync(file)) throw new UsageError(`cannot read "${file}": no such file`);
  if (!statSync(file).isFile()) throw new UsageError(`cannot read "${file}": not a file`);
  try {
    return read();
  } catch (e) {
    if (e instanceof CaptureError) throw new UsageError(`"${file}" is not a capture sehil can read: ${e.reason}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`cannot read "${file}": ${(e as Error).message}`);
    throw e;
  }
}

/** Packets in the file: a pass that decodes nothing (the text output pads frame numbers to the last one's width). */
function countPackets(stream: CaptureStream): number {
  let n = 0;
  while (stream.next() !== undefined) n++;
  return n;
}

/** Seconds since the first frame, as tshark's default time column (`us`: µs since it, exact below 2^53). */
function relTime(us: number): string {
  const a = Math.abs(us);
  return `${us < 0 ? '-' : ''}${Math.floor(a / 1_000_000)}.${String(a % 1_000_000).padStart(6, '0')}`;
}

/** Frames printed per write: the output streams, so a capture of millions of frames is never held whole. */
const LINES_PER_WRITE = 1024;

/** Lines to `io.out`, LINES_PER_WRITE at a time. */
function batchedOut(io: CliIO): { push(line: string): void; flush(): void } {
  let batch: string[] = [];
  const flush = () => {
    if (batch.length) io.out(batch.join('\n'));
    batch = [];
  };
  return { push: (line) => { batch.push(line); if (batch.length === LINES_PER_WRITE) flush(); }, flush };
}

interface KeyReport {
  label: string;
  kind: string;
  origin: string;
  seq?: number;
  eui64?: string;
  learnedInFrame?: number;
  /** Secured layers this key opened. */
  opened: number;
}

/** Keys the user gave or the capture taught, and any key that opened something (well-known ones that did not are left out). */
function keyReport(ring: Keyring, usage: ReadonlyMap<KeyEntry, number>): KeyReport[] {
  return ring.all
    .filter((e) => e.origin !== 'well-known' || (usage.get(e) ?? 0) > 0)
    .map((e) => {
      const r: KeyReport = { label: e.label, kind: e.kind, origin: e.origin, opened: usage.get(e) ?? 0 };
      if (e.seq !== undefined) r.seq = e.seq;
      if (e.eui64 !== undefined) r.eui64 = e.eui64;
      if (e.learnedInFrame !== undefined) r.learnedInFrame = e.learnedInFrame;
      return r;
    });
}

export const decode: Command = {
  words: ['decode'],
  usage: USAGE,
  summary: `decode and decrypt a capture: one line per frame naming the key that opened each layer. ${KEY_RULE}`,
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          json: { type: 'boolean', default: false },
          key: { type: 'string', multiple: true, default: [] },
          'install-code': { type: 'string', multiple: true, default: [] },
        },
      });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(`${positionals.length === 0 ? 'missing FILE' : `one FILE expected, got ${positionals.length}`}\nUsage: sehil ${USAGE}`);
    const file = positionals[0];

    // Keys first: a bad key is reported before any file is read.
    const keyring = new Keyring();
    for (const text of values.key) {
      const k = parseKeyOption(text);
      if (k.kind === 'network') keyring.addNetworkKey(k.key, { label: k.label, origin: 'explicit' });
      else keyring.addLinkKey(k.key, { label: k.label, origin: 'explicit' });
    }
    for (const text of values['install-code']) {
      const ic = parseInstallCodeOption(text);
      keyring.addLinkKey(ic.linkKey, { eui64: ic.eui64, label: `ic@${ic.eui64}`, origin: 'install-code' });
    }

    const d = createDissector({ keyring, hasFcs: true });
    // A 4-byte FCS (TAP FCS type 2) is not the 802.15.4-2006 CRC the MAC decoder checks: drop it.
    const psduOf = (p: { psdu: Uint8Array; fcsLength: number }) => (p.fcsLength === 4 ? p.psdu.subarray(0, p.psdu.length - 4) : p.psdu);

    // Both outputs stream: a validating pass first (a malformed file fails before anything is
    // printed), then decode and print in batches, so memory stays flat however long the capture.
    const total = readingCapture(file, () => countPackets(streamCaptureFile(file)));
    const stream = readingCapture(file, () => streamCaptureFile(file));
    if (values.json) {
      // One JSON document, written in pieces: the frames array element by element.
      let n = 0;
      const out = batchedOut(io);
      let opened = false;
      const open = () => {
        io.out(`${JSON.stringify({ file, format: stream.format, linkType: stream.linkType ?? null }).slice(0, -1)},"frames":[`);
        opened = true;
      };
      for (let p = stream.next(); p !== undefined; p = stream.next()) {
        if (!opened) open(); // after the first packet: a pcapng's interface (link type) is known by then
        n++;
        const f = d.dissect(psduOf(p), { index: n, timestampUs: BigInt(p.timestampUs), channel: p.channel, hasFcs: p.fcsLength === 2 });
        out.push((n === 1 ? '' : ',') + JSON.stringify(toJson(f)));
      }
      if (!opened) open();
      out.flush();
      io.out(`],"keys":${JSON.stringify(keyReport(keyring, d.keyUsage))},"warnings":${JSON.stringify(stream.warnings)}}`);
      return EXIT.ok;
    }
    const width = String(total).length;
    let t0: number | undefined;
    let n = 0;
    const out = batchedOut(io);
    for (let p = stream.next(); p !== undefined; p = stream.next()) {
      n++;
      t0 ??= p.timestampUs;
      const f = d.dissect(psduOf(p), { index: n, channel: p.channel, hasFcs: p.fcsLength === 2 });
      out.push(`#${String(n).padEnd(width)}  ${relTime(p.timestampUs - t0)}  ${f.summary}`);
    }
    for (const w of stream.warnings) io.err(`warning: ${w}`);
    const keys = keyReport(keyring, d.keyUsage);
    out.push(`-- ${n} frame${n === 1 ? '' : 's'}; keys: ${keys.length === 0 ? 'none used' : keys.map((k) => `${k.label} (${k.origin}${k.learnedInFrame !== undefined ? ` #${k.learnedInFrame}` : ''}) opened ${k.opened}`).join(', ')}`);
    out.flush();
    return EXIT.ok;
  },
};
