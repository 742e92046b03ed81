// The nRF Connect SDK Zigbee shell as a line protocol, pure: the commands the host types, and what
// the Zephyr shell prints back (prompt, echo, VT100 colours, `Done`, `Error: …`, log lines, the
// `bdb ic list` table). No I/O here; the line splitter is the nRF sniffer's (same Zephyr shell
// framing: a line ends at CR, LF or CRLF).
//
// Sources (radios.md §2; ncs-zigbee@1585450 subsys/lib/zigbee_shell/src/*.c, for NCS ≤ 2.9
// sdk-nrf subsys/zigbee/cli/zigbee_cli_cmd_{bdb,zdo}.c):
// - prompt `uart:~$ ` (Zephyr default, the sample does not override it), echo ON, VT100 colours
//   ON; `shell echo off` / `shell colors off` are Zephyr built-ins (shell_cmds.c) that print
//   nothing; the prompt is shown only while echo is on;
// - every Zigbee command ends with `Done` (`zb_shell_print_done`, sometimes preceded by an empty
//   line) or `Error: <reason>` (`zb_shell_print_error` → `shell_error(…, "Error: %s", msg)`,
//   wrapped in colour escapes while colours are on); some replies come later from the ZBOSS
//   thread (`bdb ic add`, `zdo …`), so the host waits for them, not for the echo;
// - Zephyr's own failures are not `Error:` lines: `<cmd>: command not found`,
//   `<cmd>: wrong parameter count`;
// - log lines `[00:00:21.261,810] <inf> zigbee.eprxzcl: …` interleave with replies;
// - `zdo eui64` → `0b010eaafd745dfa` + `Done`, `zdo short` → `0000` + `Done`, or
//   `Error: Check if device was commissioned` when the device is on no network;
// - `bdb ic list`:
//     [idx] EUI64:           IC:                                  options:
//     [  0] 0b010e2f79e9dbfa 83fed3407a939723a5c639b26916d505c3b5 0x3
//     Total entries for the install codes table: 1
//     Done
// - install codes go in as ASCII hex of code ‖ CRC-16/X-25 little-endian, 128-bit codes only
//   (`ZB_IC_TYPE_128`, `ic[ZB_CCM_KEY_SIZE + 2]`).
import { parseInstallCode } from '../../harness/crypto/install-code.ts';
import { parseEui64, type Eui64 } from '../../harness/zigbee/codec.ts';

/** The Zephyr default prompt of the UART (and CDC-ACM) shell backend. */
export const PROMPT = 'uart:~$ ';

/** VT100/ANSI control sequences: CSI `ESC [ … letter` (colours, erase, cursor moves) and lone `ESC x`. */
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** A line as the shell meant it: escapes removed, every leading prompt removed, trailing blanks cut. */
export function cleanLine(raw: string): string {
  const mark = PROMPT.trimEnd();
  let s = stripAnsi(raw);
  for (;;) {
    const t = s.replace(/^\s+/, '');
    if (!t.startsWith(mark)) break;
    s = t.slice(mark.length).replace(/^ /, '');
  }
  return s.replace(/\s+$/, '');
}

export type LogLevel = 'err' | 'wrn' | 'inf' | 'dbg';

export type ShellLine =
  | { kind: 'blank' }
  /** The command finished well. */
  | { kind: 'done'; skippedPrefix?: string }
  /** The command failed; `text` is the shell's reason after "Error: ". */
  | { kind: 'error'; text: string; skippedPrefix?: string }
  /** Zephyr refused the line before any Zigbee code ran (unknown command, wrong argument count). */
  | { kind: 'shell-error'; text: string }
  /** A Zephyr log line. */
  | { kind: 'log'; time: string; level: LogLevel; module: string; text: string }
  /** Anything else: command output, or an echo. */
  | { kind: 'text'; text: string }
  /** Bytes the firmware never prints (line noise), after cleaning. */
  | { kind: 'garbage'; text: string };

const LOG = /^\[(\d{2}:\d{2}:\d{2}\.\d{3},\d{3})\] <(err|wrn|inf|dbg)> ([\w.-]+): ?(.*)$/;
const SHELL_ERROR = /^\S.*: (command not found|wrong parameter count)$/;
const PRINTABLE = /^[\t\x20-\x7e]*$/;

/**
 * Reads one line (terminator removed) after cleaning. A `Done` or `Error:` glued behind noise
 * (a partial line whose ending was lost) is still recognised: the noise is `skippedPrefix`.
 */
export function classifyLine(raw: string): ShellLine {
  const line = cleanLine(raw);
  if (line === '') return { kind: 'blank' };
  if (line === 'Done') return { kind: 'done' };
  if (line.startsWith('Error: ')) return { kind: 'error', text: line.slice(7).trim() };
  const log = LOG.exec(line);
  if (log) return { kind: 'log', time: log[1], level: log[2] as LogLevel, module: log[3], text: log[4] };
  if (SHELL_ERROR.test(line) && PRINTABLE.test(line)) return { kind: 'shell-error', text: line };
  if (PRINTABLE.test(line)) return { kind: 'text', text: line };
  // Noise: look at what follows the last byte the firmware would never print.
  const tail = /[\t\x20-\x7e]*$/.exec(line)![0];
  const prefix = line.slice(0, line.length - tail.length);
  const t = cleanLine(tail);
  if (t === 'Done') return { kind: 'done', skippedPrefix: prefix };
  const at = t.indexOf('Error: ');
  if (at >= 0) return { kind: 'error', text: t.slice(at + 7).trim(), skippedPrefix: prefix + t.slice(0, at) };
  return { kind: 'garbage', text: line };
}

// ---------------------------------------------------------------------------------------------
// Commands

export type ShellRole = 'zc' | 'zr' | 'zed';

function hex16(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`"${what}" expected 0..0xffff, got ${n}`);
  return n.toString(16).padStart(4, '0');
}

/**
 * The install code as `bdb ic set/add` take it: code ‖ CRC (little-endian) as hex. The shell
 * accepts 128-bit codes only; a shorter code is refused here with that reason (the firmware
 * would answer "Failed to parse IC").
 */
export function installCodeArg(code: string): string {
  const ic = parseInstallCode(code);
  if (ic.code.length !== 16) {
    throw new RangeError(`the nRF Zigbee shell takes 128-bit install codes only (16 bytes + CRC); this one has ${ic.code.length} bytes`);
  }
  return [...ic.bytes].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

export const ShellCommand = {
  /** Empty line: ends whatever a previous host left half-typed. */
  newline: '',
  echoOff: 'shell echo off',
  colorsOff: 'shell colors off',
  roleQuery: 'bdb role',
  role: (r: ShellRole): string => `bdb role ${r}`,
  channel: (n: number): string => {
    if (!Number.isInteger(n) || n < 11 || n > 26) throw new RangeError(`"channel" expected 11..26, got ${n}`);
    return `bdb channel ${n}`;
  },
  panId: (id: number): string => `bdb panid ${hex16(id, 'panId')}`,
  channelQuery: 'bdb channel',
  panIdQuery: 'bdb panid',
  extPanId: (e: Eui64): string => `bdb extpanid ${parseEui64(e)}`,
  networkKey: (key: Uint8Array): string => {
    if (key.length !== 16) throw new RangeError(`"networkKey" expected 16 bytes, got ${key.length}`);
    return `bdb nwkkey ${[...key].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  },
  legacy: (enable: boolean): string => `bdb legacy ${enable ? 'enable' : 'disable'}`,
  start: 'bdb start',
  factoryReset: 'bdb factory_reset',
  icSet: (code: string): string => `bdb ic set ${installCodeArg(code)}`,
  icAdd: (code: string, eui64: Eui64): string => `bdb ic add ${installCodeArg(code)} ${parseEui64(eui64)}`,
  icPolicy: (enable: boolean): string => `bdb ic policy ${enable ? 'enable' : 'disable'}`,
  icList: 'bdb ic list',
  eui64: 'zdo eui64',
  setEui64: (e: Eui64): string => `zdo eui64 ${parseEui64(e)}`,
  short: 'zdo short',
  mgmtLeave: (dst: number, opts: { rejoin?: boolean } = {}): string => `zdo mgmt_leave 0x${hex16(dst, 'dst')}${opts.rejoin ? ' --rejoin' : ''}`,
  version: 'version',
} as const;

// ---------------------------------------------------------------------------------------------
// Replies

/** A reply that does not read as the command's documented output. */
export class ShellParseError extends Error {
  override name = 'ShellParseError';
  constructor(readonly command: string, readonly lines: readonly string[], reason: string) {
    super(`reply to "${command}" not understood: ${reason}; lines: ${JSON.stringify(lines)}`);
  }
}

/** The one line of a reply that carries the value (output lines without blanks). */
function single(command: string, lines: readonly string[]): string {
  const out = lines.filter((l) => l.trim() !== '');
  if (out.length !== 1) throw new ShellParseError(command, lines, `expected one line of output, got ${out.length}`);
  return out[0].trim();
}

export function parseEui64Reply(lines: readonly string[]): Eui64 {
  const l = single(ShellCommand.eui64, lines);
  if (!/^[0-9a-fA-F]{16}$/.test(l)) throw new ShellParseError(ShellCommand.eui64, lines, 'expected 16 hex digits');
  return l.toLowerCase();
}

export function parseShortReply(lines: readonly string[]): number {
  const l = single(ShellCommand.short, lines);
  if (!/^[0-9a-fA-F]{4}$/.test(l)) throw new ShellParseError(ShellCommand.short, lines, 'expected 4 hex digits');
  return parseInt(l, 16);
}

export function parseRoleReply(lines: readonly string[]): ShellRole {
  const l = single(ShellCommand.roleQuery, lines);
  if (l !== 'zc' && l !== 'zr' && l !== 'zed') throw new ShellParseError(ShellCommand.roleQuery, lines, 'expected zc, zr or zed');
  return l;
}

export interface IcListEntry {
  index: number;
  eui64: Eui64;
  /** code ‖ CRC as printed (lowercase hex). */
  installCode: string;
  options: number;
}

const IC_HEADER = /^\[idx\]\s+EUI64:\s+IC:\s+options:$/;
const IC_ROW = /^\[\s*(\d+)\]\s+([0-9a-fA-F]{16})\s+([0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+|\d+)$/;
const IC_TOTAL = /^Total entries for the install codes table:\s*(\d+)$/;

/** The `bdb ic list` table; the total line must match the rows. */
export function parseIcList(lines: readonly string[]): IcListEntry[] {
  const out: IcListEntry[] = [];
  let total: number | undefined;
  let header = false;
  for (const raw of lines) {
    const l = raw.trim();
    if (l === '') continue;
    if (IC_HEADER.test(l)) { header = true; continue; }
    const row = IC_ROW.exec(l);
    if (row) {
      if (row[3].length % 2 !== 0) throw new ShellParseError(ShellCommand.icList, lines, `odd number of hex digits in the install code of row ${row[1]}`);
      out.push({ index: Number(row[1]), eui64: row[2].toLowerCase(), installCode: row[3].toLowerCase(), options: Number(row[4]) });
      continue;
    }
    const t = IC_TOTAL.exec(l);
    if (t) { total = Number(t[1]); continue; }
    throw new ShellParseError(ShellCommand.icList, lines, `unexpected line "${l}"`);
  }
  if (total === undefined) throw new ShellParseError(ShellCommand.icList, lines, 'no "Total entries" line');
  if (!header && out.length > 0) throw new ShellParseError(ShellCommand.icList, lines, 'rows without the table header');
  if (total !== out.length) throw new ShellParseError(ShellCommand.icList, lines, `the total says ${total} entries, ${out.length} rows were printed`);
  return out;
}

/** Inverse of parseIcList (used by the emulator). */
export function formatIcList(entries: readonly { eui64: Eui64; installCode: string; options: number }[]): string[] {
  return [
    '[idx] EUI64:           IC:                                  options:',
    ...entries.map((e, i) => `[${String(i).padStart(3)}] ${e.eui64} ${e.installCode.toLowerCase()} 0x${e.options.toString(16)}`),
    `Total entries for the install codes table: ${entries.length}`,
  ];
}
