// The Silicon Labs EmberZNet / Simplicity SDK Zigbee CLI (Z3Gateway host + NCP, SoC apps) as a
// line protocol, pure: the commands the host types and what the CLI prints back. No I/O here;
// the line splitter is the nRF sniffer's (a line ends at CR, LF or CRLF).
//
// Sources (radios.md §3; SiSDK app/framework/cli/*, legacy AF core-cli.c / option-cli.c /
// security-cli.c / network-cli.c / key-establishment-cli.c):
// - the CLI echoes what is typed and prints a prompt WITHOUT a line ending after every line it
//   has processed (`Z3Gateway>`, `host> `, `> `: configurable, SL_CLI_PROMPT_STRING). The host
//   therefore cannot see the prompt of a reply until more bytes come. This driver types an empty
//   line after each command: its echo (CR LF) ends the prompt line, so a line that holds only the
//   prompt marks the end of the reply. The prompt is learned at open (the line an empty input
//   gives back), not guessed;
// - status prints `Success: <task>` / `Error: <task>: 0x<hh>` (sli_zigbee_af_print_status);
//   option-cli.c errors `ERR: <text>`; security-cli.c `ERROR: erase key <i>: 0x<hh>`;
// - EUI-64 args in braces, big-endian as displayed (`{00 0B 57 FF FE 64 8D D8}`); EUI-64 prints
//   `(>)000B57FFFE648DD8`; keys print as two 8-byte groups `XX … XX  XX … XX`;
// - `keys print` (security-cli.c printKeyInfo) — see parseKeysPrint.
// Where a reply text is not in the sources (network id, pjoin, leave/rejoin, steering, the KE
// result line), the wording is the legacy AF one as far as known and is marked "verify on
// hardware"; the parsers say which line they could not read.
import { parseInstallCode } from '../../harness/crypto/install-code.ts';
import { parseEui64, type Eui64 } from '../../harness/zigbee/codec.ts';

/** A reply (or a line) that does not read as the command's documented output. */
export class EmberCliParseError extends Error {
  override name = 'EmberCliParseError';
  constructor(readonly command: string, readonly lines: readonly string[], readonly reason: string) {
    super(`reply to "${command}" not understood: ${reason}; lines: ${JSON.stringify(lines.slice(0, 40))}`);
  }
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;
const PRINTABLE = /^[\t\x20-\x7e]*$/;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** The prompt a line consists of, when it is one (`Z3Gateway>`, `host> `, `> `), trimmed; else undefined. */
export function promptOf(line: string): string | undefined {
  const t = stripAnsi(line).trim();
  return /^[A-Za-z0-9_.-]{0,32}>$/.test(t) ? t : undefined;
}

export type CliLine =
  | { kind: 'blank' }
  /** Only the prompt: the end of a reply (the host's empty line closed it). */
  | { kind: 'prompt'; skippedPrefix?: string }
  /** `Success: <task>`. */
  | { kind: 'success'; task: string }
  /**
   * A failure print: `Error: <task>: 0x<hh>` (status), `Error: <text>`, `ERR: <text>`
   * (option-cli), `ERROR: <text>` (security-cli). `text` is everything after the marker.
   */
  | { kind: 'error'; marker: 'Error' | 'ERR' | 'ERROR'; text: string; task?: string; status?: number; skippedPrefix?: string }
  | { kind: 'text'; text: string }
  /** Bytes the firmware never prints (line noise). */
  | { kind: 'garbage'; text: string };

/** Removes escapes, leading prompts (glued before an echo or an asynchronous print) and trailing blanks. */
export function cleanLine(raw: string, prompt: string): string {
  let s = stripAnsi(raw);
  if (prompt) {
    for (;;) {
      const t = s.replace(/^\s+/, '');
      if (!t.startsWith(prompt)) break;
      s = t.slice(prompt.length);
    }
  }
  return s.replace(/\s+$/, '');
}

function classifyClean(line: string): CliLine {
  if (line === '') return { kind: 'blank' };
  const ok = /^Success: (.+)$/.exec(line);
  if (ok) return { kind: 'success', task: ok[1].trim() };
  const m = /^(Error|ERR|ERROR):\s*(.*)$/.exec(line);
  if (m) {
    const text = m[2].trim();
    const st = /^(.*?):\s*0x([0-9A-Fa-f]{1,2})$/.exec(text);
    return st
      ? { kind: 'error', marker: m[1] as 'Error', text, task: st[1], status: parseInt(st[2], 16) }
      : { kind: 'error', marker: m[1] as 'Error', text };
  }
  return { kind: 'text', text: line };
}

/**
 * Reads one line (terminator removed). `prompt` is the CLI's prompt, trimmed (learned at open).
 * A prompt or an error glued behind noise (a line whose start was garbled) is still recognised.
 */
export function classifyLine(raw: string, prompt: string): CliLine {
  const stripped = stripAnsi(raw).replace(/\s+$/, '');
  if (prompt && stripped.trim() !== '' && cleanLine(stripped, prompt) === '') return { kind: 'prompt' };
  const line = cleanLine(stripped, prompt);
  if (PRINTABLE.test(line)) return classifyClean(line);
  // Noise: read what follows the last byte the firmware would never print.
  const tail = /[\t\x20-\x7e]*$/.exec(line)![0];
  const prefix = line.slice(0, line.length - tail.length);
  if (prompt && tail.trim() !== '' && cleanLine(tail, prompt) === '') return { kind: 'prompt', skippedPrefix: prefix };
  if (prompt && tail.endsWith(prompt)) return { kind: 'prompt', skippedPrefix: line.slice(0, line.length - prompt.length) };
  const t = cleanLine(tail, prompt);
  const at = t.search(/(Error|ERR|ERROR):/);
  if (at >= 0) {
    const c = classifyClean(t.slice(at));
    if (c.kind === 'error') return { ...c, skippedPrefix: prefix + t.slice(0, at) };
  }
  return { kind: 'garbage', text: line };
}

// ---------------------------------------------------------------------------------------------
// Arguments and commands

const hex2 = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');

/** A HEX argument in braces: `{83 FE D3 40}`. */
export function hexArg(bytes: Uint8Array): string {
  return `{${[...bytes].map(hex2).join(' ')}}`;
}

/** An EUI-64 argument, big-endian as displayed (the CLI reverses it, option-cli.c). */
export function eui64Arg(e: Eui64): string {
  const eui = parseEui64(e);
  return `{${eui.match(/../g)!.join(' ').toUpperCase()}}`;
}

function u16(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`"${what}" expected 0..0xffff, got ${n}`);
  return `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;
}

function u8(n: number, what: string, min = 0, max = 255): string {
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`"${what}" expected ${min}..${max}, got ${n}`);
  return String(n);
}

/**
 * The install code as `option install-code` takes it: code ‖ CRC (CRC little-endian), 8, 10, 14
 * or 18 bytes (option-cli.c). The CRC is checked (and appended when missing) here, so a bad code
 * is refused with the reason before the CLI would say `ERR: Calculated CRC does not match`.
 */
export function installCodeBytes(code: string): Uint8Array {
  return parseInstallCode(code).bytes;
}

export const EmberCommand = {
  /** Empty line: closes the prompt line of the previous reply (see the header). */
  newline: '',
  networkId: 'network id',
  version: 'version',
  /** `plugin network-creator form <centralized> <panId> <txPower> <channel>`. */
  form: (o: { panId: number; channel: number; txPower?: number; centralized?: boolean }): string =>
    `plugin network-creator form ${o.centralized === false ? 0 : 1} ${u16(o.panId, 'panId')} ${o.txPower ?? 3} ${u8(o.channel, 'channel', 11, 26)}`,
  /** `network pjoin <seconds:u8>` (0 closes; 0xFF = forever, never sent by this kit). */
  pjoin: (seconds: number): string => `network pjoin ${u8(seconds, 'seconds', 0, 254)}`,
  installCode: (index: number, eui64: Eui64, code: string): string =>
    `option install-code ${u8(index, 'index')} ${eui64Arg(eui64)} ${hexArg(installCodeBytes(code))}`,
  keysPrint: 'keys print',
  keysDelete: (index: number): string => `keys delete ${u8(index, 'index')}`,
  leave: 'network leave',
  /** `network rejoin <haveCurrentNetworkKey:u8> <channelMask:u32>`. */
  rejoin: (secured: boolean, channel?: number): string =>
    `network rejoin ${secured ? 1 : 0} 0x${(channel === undefined ? 0x07fff800 : 1 << Number(u8(channel, 'channel', 11, 26))).toString(16).toUpperCase().padStart(8, '0')}`,
  steeringStart: 'plugin network-steering start 0',
  /** `plugin network-steering mask set 1 <mask:u32>`: the primary channel mask steering scans (verify on hardware). */
  steeringMask: (channel: number): string =>
    `plugin network-steering mask set 1 0x${(1 << Number(u8(channel, 'channel', 11, 26))).toString(16).toUpperCase().padStart(8, '0')}`,
  /** The key-establishment group alone: lists its commands when the build has the plugin. */
  keGroup: 'plugin key-establishment',
  keStart: (node: number, endpoint: number): string => `plugin key-establishment start ${u16(node, 'nodeId')} ${u8(endpoint, 'endpoint', 1, 240)}`,
  /**
   * `plugin key-establishment set-available-suite <suites:u16>`: the test-harness component's
   * command (emberAfPluginTestHarnessKeyEstablishmentSetAvailableSuiteCommand → emAfSetAvailableCurves,
   * which rewrites the KE server's KeyEstablishmentSuite attribute). A public SiSDK
   * sl_cli_command_table.c lists it in the key-establishment group next to `start`; builds without
   * the test harness do not have it (verify on hardware).
   */
  keSetAvailableSuite: (suites: number): string => `plugin key-establishment set-available-suite ${u16(suites, 'suites')}`,
} as const;

// ---------------------------------------------------------------------------------------------
// Replies

const EUI_PRINT = /\(>\)([0-9A-Fa-f]{16})/;

/** Output lines that are not blank. */
function outputOf(lines: readonly string[]): string[] {
  return lines.map((l) => l.trim()).filter((l) => l !== '');
}

export interface NetworkId {
  /** 0xFFFE: on no network. */
  short: number;
  eui64: Eui64;
  panId: number;
}

const NETWORK_ID = /^Short ID: 0x([0-9A-Fa-f]{4}), EUI64: \(>\)([0-9A-Fa-f]{16}), Pan ID: 0x([0-9A-Fa-f]{4})$/;

/** `network id` → `Short ID: 0x0000, EUI64: (>)000B57FFFE648DD8, Pan ID: 0x1A62` (SiSDK networkIdCommand; verify on hardware). */
export function parseNetworkId(lines: readonly string[]): NetworkId {
  const out = outputOf(lines);
  const hits = out.map((l) => NETWORK_ID.exec(l)).filter((m) => m !== null);
  if (hits.length !== 1 || out.length !== 1) {
    throw new EmberCliParseError(EmberCommand.networkId, lines, 'expected one line "Short ID: 0x…, EUI64: (>)…, Pan ID: 0x…"');
  }
  const m = hits[0];
  return { short: parseInt(m[1], 16), eui64: m[2].toLowerCase(), panId: parseInt(m[3], 16) };
}

export function formatNetworkId(n: NetworkId): string {
  const h4 = (v: number) => v.toString(16).toUpperCase().padStart(4, '0');
  return `Short ID: 0x${h4(n.short)}, EUI64: (>)${n.eui64.toUpperCase()}, Pan ID: 0x${h4(n.panId)}`;
}

/**
 * A reply that must carry one `<label> 0x<hh>`-style status line (`NWK Creator: Form: 0x00`,
 * `pJoin for 180 sec: 0x00`, `leave 0x00`, `NWK Steering: Start: 0x00`): the status byte.
 */
export function parseStatusReply(command: string, lines: readonly string[], label: RegExp): number {
  for (const l of outputOf(lines)) {
    const m = label.exec(l);
    if (m) {
      const st = /0x([0-9A-Fa-f]{1,2})\s*$/.exec(l);
      if (!st) throw new EmberCliParseError(command, lines, `no status byte in "${l}"`);
      return parseInt(st[1], 16);
    }
  }
  throw new EmberCliParseError(command, lines, `no line matching ${label}`);
}

export const REPLY = {
  form: /^NWK Creator: Form:/,
  pjoin: /^pJoin for \d+ sec:/,
  leave: /^leave\b/,
  rejoin: /^rejoin\b/,
  steering: /^NWK Steering: Start:/,
  keStart: /^Starting Key Establishment w\/ 0x[0-9A-Fa-f]{4}, EP: 0x[0-9A-Fa-f]{2}$/,
  /** Asynchronous outcome of `plugin key-establishment start` (emulator wording; verify on hardware). */
  keResult: /^(Success|Error): Key Establishment(?:: 0x([0-9A-Fa-f]{2}))?$/i,
  /** Asynchronous outcome of network steering (emulator wording; verify on hardware). */
  steeringResult: /^NWK Steering: (Join Success|Join Failure: 0x([0-9A-Fa-f]{2}))$/,
  /** Stack status after a rejoin (0x90 EMBER_NETWORK_UP; emulator wording, verify on hardware). */
  stackStatus: /^Stack status: 0x([0-9A-Fa-f]{2})$/,
} as const;

// ---- keys print ----------------------------------------------------------------------------

export interface KeyRow {
  /** Table index; undefined for the `-` row of the TC link key. */
  index?: number;
  eui64: Eui64;
  inFc: number;
  /** `L` link key, others as printed. */
  type: string;
  /** `y`: authorized (EMBER_KEY_IS_AUTHORIZED: a CBKE-established key on an SE TC). */
  authorized: boolean;
  key: Uint8Array;
}

export interface TransientKeyRow {
  index: number;
  eui64: Eui64;
  nwkIndex: number;
  inFc: number;
  ttlS: number;
  flags: number;
  key: Uint8Array;
}

export interface KeysPrint {
  securityLevel?: number;
  nwkOutFc: number;
  nwkKeySeq: number;
  nwkKey: Uint8Array;
  linkOutFc: number;
  /** The node's own TC link key row (on a TC: the global/preconfigured key). */
  tcLinkKey?: KeyRow;
  linkKeys: KeyRow[];
  /** Entries used / table size from `%d/%d entries used.` */
  tableSize: number;
  transient: TransientKeyRow[];
  /** `WARNING:  READING OF KEY VALUES DISABLED BY MFG TOKEN`: keys print as zeros. */
  readingDisabled: boolean;
}

const KEY_HEX = /((?:[0-9A-Fa-f]{2}\s+){15}[0-9A-Fa-f]{2})\s*$/;
const KEY_HEADER = /^Index\s+IEEE Address\s+In FC\s+Type\s+Auth\s+Key$/;
const TRANSIENT_HEADER = /^Index\s+IEEE Address\s+NWKIndex\s+In FC\s+TTL\(s\)\s+Flag\s+Key$/;

function keyBytes(text: string): Uint8Array {
  return Uint8Array.from(text.trim().split(/\s+/).map((h) => parseInt(h, 16)));
}

/** Keys as print-formatter.c prints them: two 8-byte groups. */
export function formatKey(key: Uint8Array): string {
  const h = [...key].map(hex2);
  return `${h.slice(0, 8).join(' ')}  ${h.slice(8).join(' ')}`;
}

/**
 * `keys print` (security-cli.c printKeyInfo, radios.md §3.3):
 *   EMBER_SECURITY_LEVEL: 05
 *   NWK Key out FC: 00000012
 *   NWK Key seq num: 0x00
 *   NWK Key: 01 03 05 07 09 0B 0D 0F  00 02 04 06 08 0A 0C 0D
 *   Link Key out FC: 00000004
 *   TC Link Key
 *   Index IEEE Address         In FC     Type  Auth  Key
 *   -     (>)00124B0001020304  00000000  L     y     5A 69 …
 *   Link Key Table
 *   Index IEEE Address         In FC     Type  Auth  Key
 *   0     (>)00124B00AABBCCDD  00000003  L     y     …
 *   1/6 entries used.
 *   Transient Key Table
 *   Index IEEE Address         NWKIndex  In FC     TTL(s) Flag    Key
 *   0     (>)00124B00AABBCCDD  0x00      00000000  0x012C 0x00    66 B6 …
 *   1 entry consuming 1 packet buffer.
 * Checked: every section present, the used count and the transient count match the rows.
 */
export function parseKeysPrint(lines: readonly string[]): KeysPrint {
  const cmd = EmberCommand.keysPrint;
  const fail = (why: string): never => { throw new EmberCliParseError(cmd, lines, why); };
  const out = outputOf(lines);
  let i = 0;
  const next = () => out[i++];
  const peek = () => out[i];
  const r: Partial<KeysPrint> & { linkKeys: KeyRow[]; transient: TransientKeyRow[] } = { linkKeys: [], transient: [], readingDisabled: false };
  if (peek() !== undefined && /READING OF KEY VALUES DISABLED/i.test(peek()!)) { r.readingDisabled = true; i++; }
  const lvl = /^EMBER_SECURITY_LEVEL:\s*([0-9A-Fa-f]+)$/.exec(peek() ?? '');
  if (lvl) { r.securityLevel = parseInt(lvl[1], 16); i++; }
  const field = (re: RegExp, what: string): RegExpExecArray => re.exec(next() ?? '') ?? fail(`expected "${what}" at output line ${i}`);
  r.nwkOutFc = parseInt(field(/^NWK Key out FC:\s*([0-9A-Fa-f]{1,8})$/, 'NWK Key out FC: XXXXXXXX')[1], 16);
  r.nwkKeySeq = parseInt(field(/^NWK Key seq num:\s*0x([0-9A-Fa-f]{1,2})$/, 'NWK Key seq num: 0x..')[1], 16);
  r.nwkKey = keyBytes(field(new RegExp(`^NWK Key:\\s*${KEY_HEX.source}`), 'NWK Key: <16 bytes>')[1]);
  r.linkOutFc = parseInt(field(/^Link Key out FC:\s*([0-9A-Fa-f]{1,8})$/, 'Link Key out FC: XXXXXXXX')[1], 16);
  const keyRow = (l: string, tc: boolean): KeyRow => {
    const m = new RegExp(`^(-|\\d+)\\s+${EUI_PRINT.source}\\s+([0-9A-Fa-f]{8})\\s+(\\S)\\s+([yn])\\s+${KEY_HEX.source}`).exec(l)
      ?? fail(`unreadable key row "${l}"`);
    if (tc !== (m[1] === '-')) fail(`row "${l}" in the wrong table`);
    return { ...(m[1] === '-' ? {} : { index: Number(m[1]) }), eui64: m[2].toLowerCase(), inFc: parseInt(m[3], 16), type: m[4], authorized: m[5] === 'y', key: keyBytes(m[6]) };
  };
  if (next() !== 'TC Link Key') fail('expected "TC Link Key"');
  if (!KEY_HEADER.test(next() ?? '')) fail('expected the key table header after "TC Link Key"');
  if (peek() !== undefined && peek()!.startsWith('-')) r.tcLinkKey = keyRow(next()!, true);
  if (next() !== 'Link Key Table') fail('expected "Link Key Table"');
  if (!KEY_HEADER.test(next() ?? '')) fail('expected the key table header after "Link Key Table"');
  let used: RegExpExecArray | null = null;
  while (peek() !== undefined && !(used = /^(\d+)\/(\d+) entries used\.$/.exec(peek()!))) r.linkKeys.push(keyRow(next()!, false));
  if (!used) fail('no "N/M entries used." line');
  i++;
  if (Number(used![1]) !== r.linkKeys.length) fail(`"${used![0]}" but ${r.linkKeys.length} rows were printed`);
  r.tableSize = Number(used![2]);
  if (next() !== 'Transient Key Table') fail('expected "Transient Key Table"');
  if (!TRANSIENT_HEADER.test(next() ?? '')) fail('expected the transient key table header');
  let total: RegExpExecArray | null = null;
  while (peek() !== undefined && !(total = /^(\d+) entr(?:y|ies) consuming (\d+) packet buffers?\.$/.exec(peek()!))) {
    const l = next()!;
    const m = new RegExp(`^(\\d+)\\s+${EUI_PRINT.source}\\s+0x([0-9A-Fa-f]{1,2})\\s+([0-9A-Fa-f]{8})\\s+0x([0-9A-Fa-f]{1,4})\\s+0x([0-9A-Fa-f]{1,2})\\s+${KEY_HEX.source}`).exec(l)
      ?? fail(`unreadable transient key row "${l}"`);
    r.transient.push({ index: Number(m[1]), eui64: m[2].toLowerCase(), nwkIndex: parseInt(m[3], 16), inFc: parseInt(m[4], 16), ttlS: parseInt(m[5], 16), flags: parseInt(m[6], 16), key: keyBytes(m[7]) });
  }
  if (!total) fail('no "N entries consuming N packet buffers." line');
  i++;
  if (Number(total![1]) !== r.transient.length) fail(`"${total![0]}" but ${r.transient.length} transient rows were printed`);
  if (i !== out.length) fail(`unexpected line "${out[i]}" after the transient key table`);
  return r as KeysPrint;
}

/** Inverse of parseKeysPrint (the emulator prints with it). */
export function formatKeysPrint(k: Omit<KeysPrint, 'readingDisabled'> & { readingDisabled?: boolean }): string[] {
  const h8 = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');
  const eui = (e: Eui64) => `(>)${e.toUpperCase()}`;
  const row = (r: KeyRow) => `${String(r.index ?? '-').padEnd(6)}${eui(r.eui64)}  ${h8(r.inFc)}  ${r.type.padEnd(6)}${r.authorized ? 'y' : 'n'}     ${formatKey(r.key)}`;
  const header = 'Index IEEE Address         In FC     Type  Auth  Key';
  const n = k.transient.length;
  return [
    ...(k.readingDisabled ? ['WARNING:  READING OF KEY VALUES DISABLED BY MFG TOKEN'] : []),
    ...(k.securityLevel !== undefined ? [`EMBER_SECURITY_LEVEL: ${k.securityLevel.toString(16).padStart(2, '0')}`] : []),
    `NWK Key out FC: ${h8(k.nwkOutFc)}`,
    `NWK Key seq num: 0x${k.nwkKeySeq.toString(16).padStart(2, '0')}`,
    `NWK Key: ${formatKey(k.nwkKey)}`,
    `Link Key out FC: ${h8(k.linkOutFc)}`,
    'TC Link Key',
    header,
    ...(k.tcLinkKey ? [row(k.tcLinkKey)] : []),
    'Link Key Table',
    header,
    ...k.linkKeys.map(row),
    `${k.linkKeys.length}/${k.tableSize} entries used.`,
    'Transient Key Table',
    'Index IEEE Address         NWKIndex  In FC     TTL(s) Flag    Key    ',
    ...k.transient.map((t) => `${String(t.index).padEnd(6)}${eui(t.eui64)}  0x${hex2(t.nwkIndex)}      ${h8(t.inFc)}  0x${t.ttlS.toString(16).toUpperCase().padStart(4, '0')} 0x${hex2(t.flags)}    ${formatKey(t.key)}`),
    `${n} entr${n === 1 ? 'y' : 'ies'} consuming ${n} packet buffer${n === 1 ? '' : 's'}.`,
  ];
}

/** Whether the `plugin key-establishment` group listing names its `start` command (the build has the plugin). */
export function hasKeyEstablishment(lines: readonly string[]): boolean {
  return outputOf(lines).some((l) => /^plugin key-establishment start\b/.test(l));
}

/** Whether the group listing names `set-available-suite` (the test-harness component is in the build). */
export function hasKeSetAvailableSuite(lines: readonly string[]): boolean {
  return outputOf(lines).some((l) => /^plugin key-establishment set-available-suite\b/.test(l));
}
