// Install codes: CRC-16/X-25, parsing of what users paste (plain hex and the label / QR texts
// vendors print), and the preconfigured (TC) link key derived from a code.
// @spec Zigbee BDB 16-02828 §10.1 (install codes; CRC §10.1.1.1), Zigbee 05-3474 Annex B.6
// (AES-MMO hash, see aes-mmo.ts). Vectors and the sources of the label forms: vectors/install-codes.json.
import { aesMmoHash } from './aes-mmo.ts';
import { abytes, bytesToHex, concatBytes, wipe } from './bytes.ts';

/** Install-code lengths WITHOUT the CRC (BDB §10.1): 48, 64, 96 or 128 bits. */
export const INSTALL_CODE_LENGTHS = [6, 8, 12, 16] as const;
/** The same lengths with the 2-byte CRC appended. */
export const INSTALL_CODE_LENGTHS_WITH_CRC = [8, 10, 14, 18] as const;

/**
 * Where the code came from:
 * - `hex`: plain hex, any of the separators the parser accepts;
 * - `silabs-file`: `Install Code: <hex>` (Simplicity Commander / em3xx_load install-code file);
 * - `zigbee-qr`: `…Z:<EUI-64>$I:<code>…` label QR;
 * - `aqara-qr`: `G$M:…$A:<EUI-64>$I:<code>`;
 * - `eui64-pipe`: `<EUI-64>|<code>`;
 * - `hue-qr`: `HUE:Z:<code> M:<EUI-64> …`;
 * - `dlk-label`: `<40-char prefix><EUI-64>DLK<code>` (Bosch `RB01SG…`);
 * - `bytes`: built from raw bytes with installCodeFromBytes().
 */
export type InstallCodeForm =
  | 'hex' | 'silabs-file' | 'zigbee-qr' | 'aqara-qr' | 'eui64-pipe' | 'hue-qr' | 'dlk-label' | 'bytes';

export interface InstallCode {
  /** The code WITHOUT its CRC: 6, 8, 12 or 16 bytes. */
  readonly code: Uint8Array;
  /** CRC-16/X-25 of `code` (the correct one, whether supplied or computed). */
  readonly crc: number;
  /** code ‖ CRC, CRC little-endian: what the link key is hashed from. */
  readonly bytes: Uint8Array;
  /** True when the input carried a (correct) CRC; false when we computed and appended it. */
  readonly crcSupplied: boolean;
  /** EUI-64 when the form carries one: 16 uppercase hex digits in the order printed on the label. */
  readonly eui64?: string;
  readonly form: InstallCodeForm;
}

/**
 * How to treat the last two bytes:
 * - `auto` (default): decided by length. Only 8 bytes is ambiguous (a 6-byte code + CRC, or an
 *   8-byte code without CRC): it is read as code + CRC when the last two bytes are the CRC of the
 *   first six, and as an 8-byte code without CRC otherwise (a random 8-byte code passes the
 *   check with probability 2^-16).
 * - `present`: the input ends with a CRC, which must be right (8, 10, 14 or 18 bytes).
 * - `absent`: the input is the bare code (6, 8, 12 or 16 bytes); the CRC is computed.
 */
export type CrcMode = 'auto' | 'present' | 'absent';

export interface InstallCodeOptions {
  crc?: CrcMode;
}

export type InstallCodeErrorKind = 'format' | 'length' | 'crc';

interface InstallCodeErrorDetails {
  /** For `format`: 1-based position in the input text of the offending character. */
  position?: number;
  /** For `length`: the byte length found. */
  length?: number;
  /** For `crc`: the CRC the input carried, and the one it should carry. */
  suppliedCrc?: number;
  expectedCrc?: number;
}

/** A bad install code: `kind` says whether the text, the length or the CRC is wrong. */
export class InstallCodeError extends RangeError {
  override name = 'InstallCodeError';
  readonly kind: InstallCodeErrorKind;
  readonly position?: number;
  readonly length?: number;
  readonly suppliedCrc?: number;
  readonly expectedCrc?: number;
  constructor(kind: InstallCodeErrorKind, message: string, details: InstallCodeErrorDetails = {}) {
    super(message);
    this.kind = kind;
    Object.assign(this, details);
  }
}

/**
 * CRC-16/X-25 (a.k.a. CRC-16/IBM-SDLC, ISO-HDLC): poly 0x1021 reflected (0x8408), init 0xFFFF,
 * refin/refout, xorout 0xFFFF. check("123456789") = 0x906E.
 * @spec Zigbee BDB 16-02828 §10.1.1.1
 */
export function crc16X25(data: Uint8Array): number {
  abytes(data, undefined, 'data');
  let crc = 0xffff;
  for (let i = 0; i < data.length; i++) {
    crc ^= data[i];
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return ~crc & 0xffff;
}

/** CRC of an install code (the code only, 6/8/12/16 bytes, never the CRC bytes). */
export function installCodeCrc(code: Uint8Array): number {
  checkCodeLength(abytes(code, undefined, 'code').length, 'absent');
  return crc16X25(code);
}

/** The two CRC bytes as they follow the code: little-endian. @spec BDB 16-02828 §10.1.1.1 */
export function crcBytesLE(crc: number): Uint8Array {
  return Uint8Array.of(crc & 0xff, (crc >>> 8) & 0xff);
}

/** `0xB5C3` */
export function formatCrc(crc: number): string {
  return '0x' + crc.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Builds an InstallCode from raw bytes, with or without CRC (see CrcMode for the 8-byte rule).
 * Throws InstallCodeError (`length` or `crc`).
 */
export function installCodeFromBytes(
  bytes: Uint8Array,
  options: InstallCodeOptions & { form?: InstallCodeForm; eui64?: string } = {},
): InstallCode {
  abytes(bytes, undefined, 'bytes');
  const mode = options.crc ?? 'auto';
  let withCrc = checkCodeLength(bytes.length, mode) === 'present';
  // The one ambiguous length (CrcMode 'auto'): 8 bytes are a 6-byte code + CRC only if the CRC fits.
  if (mode === 'auto' && bytes.length === 8 && crc16X25(bytes.subarray(0, 6)) === (bytes[6] | (bytes[7] << 8))) {
    withCrc = true;
  }
  const code = bytes.slice(0, withCrc ? bytes.length - 2 : bytes.length);
  const crc = crc16X25(code);
  if (withCrc) {
    const supplied = bytes[bytes.length - 2] | (bytes[bytes.length - 1] << 8);
    if (supplied !== crc) {
      const want = bytesToHex(crcBytesLE(crc)).toUpperCase();
      const got = bytesToHex(bytes.subarray(bytes.length - 2)).toUpperCase();
      throw new InstallCodeError(
        'crc',
        `install code CRC is ${formatCrc(supplied)} (bytes ${spaced(got)}) but should be ` +
          `${formatCrc(crc)} (append ${spaced(want)})`,
        { suppliedCrc: supplied, expectedCrc: crc },
      );
    }
  }
  const result: InstallCode = {
    code,
    crc,
    bytes: concatBytes(code, crcBytesLE(crc)),
    crcSupplied: withCrc,
    form: options.form ?? 'bytes',
    ...(options.eui64 === undefined ? {} : { eui64: options.eui64 }),
  };
  return result;
}

/**
 * Parses an install code as users paste it: plain hex (spaces, tabs, `-`, `:`, `.`, `,` between
 * digits; either case; `0x` before the whole code or before any group), with or without CRC,
 * or one of the label / QR texts listed under InstallCodeForm. Throws InstallCodeError saying
 * whether the text, the length or the CRC is wrong, and what the CRC should be.
 * @spec Zigbee BDB 16-02828 §10.1
 */
export function parseInstallCode(text: string, options: InstallCodeOptions = {}): InstallCode {
  if (typeof text !== 'string') throw new TypeError(`"text" expected a string, got ${text === null ? 'null' : typeof text}`);
  const mode = options.crc ?? 'auto';
  if (mode !== 'auto' && mode !== 'present' && mode !== 'absent') {
    throw new RangeError(`"crc" expected 'auto', 'present' or 'absent', got ${String(mode)}`);
  }
  const parsed = parseText(text);
  if (parsed.linkKeyInsteadOfCode) {
    throw new InstallCodeError(
      'format',
      `this label carries a 16-byte device link key after "DLK", not an install code ` +
        `(install codes there have 36 hex digits); use it as the link key directly`,
      { length: parsed.bytes.length },
    );
  }
  return installCodeFromBytes(parsed.bytes, { crc: mode, form: parsed.form, eui64: parsed.eui64 });
}

/**
 * The preconfigured (TC) link key of an install code: AES-MMO(code ‖ CRC), CRC little-endian.
 * A Uint8Array argument is the code WITHOUT its CRC (6, 8, 12 or 16 bytes); for an InstallCode the
 * CRC is recomputed from `code`, so an inconsistent object cannot produce a wrong key.
 * @spec Zigbee BDB 16-02828 §10.1; Zigbee 05-3474 Annex B.6
 */
export function deriveInstallCodeLinkKey(code: InstallCode | Uint8Array): Uint8Array {
  const raw = code instanceof Uint8Array ? code : code?.code;
  abytes(raw, undefined, 'code');
  checkCodeLength(raw.length, 'absent');
  const input = concatBytes(raw, crcBytesLE(crc16X25(raw)));
  const key = aesMmoHash(input);
  wipe(input); // the install code is the secret the key comes from
  return key;
}

/** Decides whether `length` bytes carry a CRC under `mode`, or throws a `length` error. */
function checkCodeLength(length: number, mode: CrcMode): 'present' | 'absent' {
  const bare = (INSTALL_CODE_LENGTHS as readonly number[]).includes(length);
  const withCrc = (INSTALL_CODE_LENGTHS_WITH_CRC as readonly number[]).includes(length);
  if (mode === 'absent' && bare) return 'absent';
  if (mode === 'present' && withCrc) return 'present';
  if (mode === 'auto' && (bare || withCrc)) {
    // 8 is in both lists: 'absent' here, and installCodeFromBytes checks whether a CRC fits.
    return withCrc && !bare ? 'present' : 'absent';
  }
  const allowed =
    mode === 'absent' ? `${list(INSTALL_CODE_LENGTHS)} bytes without CRC`
    : mode === 'present' ? `${list(INSTALL_CODE_LENGTHS_WITH_CRC)} bytes with CRC`
    : `${list(INSTALL_CODE_LENGTHS)} bytes without CRC, or ${list(INSTALL_CODE_LENGTHS_WITH_CRC)} bytes with CRC`;
  throw new InstallCodeError('length', `install code is ${length} bytes (${length * 2} hex digits); allowed: ${allowed}`, { length });
}

function list(values: readonly number[]): string {
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

function spaced(hex: string): string {
  return hex.replace(/(..)(?=.)/g, '$1 ');
}

// ---- Text forms ------------------------------------------------------------------------------
// Facts about the label forms come from public descriptions, cited in vectors/install-codes.json:
// zigbee-herdsman src/controller/helpers/installCodes.ts (Z:…$I:, <EUI-64>|<code>, Aqara G$…$A:…$I:,
// HUE:Z:… M:…, the 95/91-character DLK labels), zigpy/zha zha/application/helpers.py (the same
// forms; after DLK 36 hex digits are an install code + CRC, 32 are a device link key), and the
// Silicon Labs "Using installation codes with Zigbee devices" guide (`Install Code: <hex>`).

interface ParsedText {
  bytes: Uint8Array;
  form: InstallCodeForm;
  eui64?: string;
  /** A DLK label whose payload is a 16-byte link key, not an install code. */
  linkKeyInsteadOfCode?: boolean;
}

/** Whitespace (incl. no-break space from PDFs), ASCII and typographic dashes, `:`, `.`, `,`. */
const SEPARATOR = /[\s\-:.,\u2010-\u2015\u2212]/;
const SILABS_FILE = /^install\s*code\s*:/i;
const DLK_PREFIX = 40;

function parseText(text: string): ParsedText {
  let from = 0;
  let to = text.length;
  while (from < to && /\s/.test(text[from])) from++;
  while (to > from && /\s/.test(text[to - 1])) to--;
  if (from === to) throw new InstallCodeError('format', 'install code is empty');
  const body = text.slice(from, to);

  const silabs = SILABS_FILE.exec(body);
  if (silabs) return { bytes: hexRun(text, from + silabs[0].length, to, true), form: 'silabs-file' };

  if (/^HUE:Z:/i.test(body)) return parseHue(text, from, to);

  if (body.length > DLK_PREFIX + 16 + 3 && /^[0-9A-Z]{40}$/i.test(body.slice(0, DLK_PREFIX)) &&
      body.slice(DLK_PREFIX + 16, DLK_PREFIX + 19).toUpperCase() === 'DLK') {
    const eui64 = euiAt(text, from + DLK_PREFIX, from + DLK_PREFIX + 16);
    const bytes = hexRun(text, from + DLK_PREFIX + 19, to, false);
    return { bytes, form: 'dlk-label', eui64, linkKeyInsteadOfCode: bytes.length === 16 };
  }

  if (body.includes('$')) return parseDollarFields(text, from, to);

  const bar = body.indexOf('|');
  if (bar >= 0) {
    return { eui64: euiAt(text, from, from + bar), bytes: hexRun(text, from + bar + 1, to, false), form: 'eui64-pipe' };
  }

  return { bytes: hexRun(text, from, to, true), form: 'hex' };
}

/** `HUE:Z:<code> M:<EUI-64> D:… A:…` (Philips Hue label QR). */
function parseHue(text: string, from: number, to: number): ParsedText {
  const codeStart = from + 'HUE:Z:'.length;
  let codeEnd = codeStart;
  while (codeEnd < to && !/\s/.test(text[codeEnd])) codeEnd++;
  let m = codeEnd;
  while (m < to && /\s/.test(text[m])) m++;
  if (text.slice(m, m + 2).toUpperCase() !== 'M:') {
    throw new InstallCodeError('format', `Hue label: expected " M:<EUI-64>" after the code at position ${m + 1}`, { position: m + 1 });
  }
  let euiEnd = m + 2;
  while (euiEnd < to && !/\s/.test(text[euiEnd])) euiEnd++;
  return { bytes: hexRun(text, codeStart, codeEnd, false), eui64: euiAt(text, m + 2, euiEnd), form: 'hue-qr' };
}

/**
 * `$`/`%`-separated `KEY:value` fields: `Z:<EUI-64>$I:<code>[$…]` (Zigbee label QR) or
 * `G$M:…$A:<EUI-64>$I:<code>` (Aqara). Fields we do not need (D:, M:, P:, B:, F:, S: …) are ignored.
 */
function parseDollarFields(text: string, from: number, to: number): ParsedText {
  const fields = new Map<string, { start: number; end: number }>();
  let firstKey = '';
  for (let start = from; start <= to;) {
    let end = start;
    while (end < to && text[end] !== '$' && text[end] !== '%') end++;
    const colon = text.indexOf(':', start);
    const key = (colon >= 0 && colon < end ? text.slice(start, colon) : text.slice(start, end)).toUpperCase();
    if (start === from) firstKey = key;
    if (colon >= 0 && colon < end && !fields.has(key)) fields.set(key, { start: colon + 1, end });
    start = end + 1;
  }
  const code = fields.get('I');
  if (!code) throw new InstallCodeError('format', 'label QR text has no "$I:<install code>" field');
  const aqara = firstKey === 'G';
  const euiField = aqara ? fields.get('A') : fields.get('Z');
  if (!euiField) {
    throw new InstallCodeError('format', `label QR text has no "${aqara ? '$A:' : 'Z:'}<EUI-64>" field`);
  }
  return {
    bytes: hexRun(text, code.start, code.end, false),
    eui64: euiAt(text, euiField.start, euiField.end),
    form: aqara ? 'aqara-qr' : 'zigbee-qr',
  };
}

/** 16 hex digits at text[from..to) → uppercase EUI-64 string, as printed. */
function euiAt(text: string, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    if (hexValue(text.charCodeAt(i)) < 0) {
      throw new InstallCodeError('format', `EUI-64 has ${JSON.stringify(text[i])} at position ${i + 1}; expected 16 hex digits`, { position: i + 1 });
    }
  }
  if (to - from !== 16) {
    throw new InstallCodeError('format', `EUI-64 at position ${from + 1} has ${to - from} hex digits; expected 16`, { position: from + 1 });
  }
  return text.slice(from, to).toUpperCase();
}

/**
 * Hex digits of text[from..to) → bytes. With `separators`, whitespace, dashes, `:`, `.` and `,`
 * may sit between digits and `0x` may open any group. Positions in errors are 1-based offsets in
 * the whole input, so a user can find the character.
 */
function hexRun(text: string, from: number, to: number, separators: boolean): Uint8Array {
  const nibbles: number[] = [];
  let groupStart = true;
  for (let i = from; i < to; i++) {
    const c = text[i];
    if (separators && SEPARATOR.test(c)) { groupStart = true; continue; }
    if (separators && groupStart && c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') &&
        i + 2 < to && hexValue(text.charCodeAt(i + 2)) >= 0) {
      i++; // skip "0x"
      groupStart = false;
      continue;
    }
    const v = hexValue(text.charCodeAt(i));
    if (v < 0) {
      const allowed = separators ? ' (separators allowed: spaces, "-", ":", ".", ",")' : '';
      throw new InstallCodeError('format', `install code has ${JSON.stringify(c)} at position ${i + 1}; expected hex digits${allowed}`, { position: i + 1 });
    }
    nibbles.push(v);
    groupStart = false;
  }
  if (nibbles.length === 0) throw new InstallCodeError('format', `install code has no hex digits (at position ${from + 1})`, { position: from + 1 });
  if (nibbles.length % 2 !== 0) {
    throw new InstallCodeError(
      'length',
      `install code has an odd number of hex digits (${nibbles.length}); allowed: 12, 16, 24 or 32 digits ` +
        `without CRC, or 16, 20, 28 or 36 digits with CRC`,
      { length: nibbles.length / 2 },
    );
  }
  const out = new Uint8Array(nibbles.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (nibbles[2 * i] << 4) | nibbles[2 * i + 1];
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
