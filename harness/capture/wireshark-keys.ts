// Wireshark's Zigbee "Pre-configured Keys" table (UAT `zigbee_pc_keys`) for a capture: a key
// file written next to it and a tshark command that decrypts it without touching the user's
// own Wireshark profile.
//
// @spec Wireshark epan/dissectors/packet-zbee-security.c key_uat_fields: Key (16 bytes hex,
//   separators allowed), Byte Order ("Normal" | "Reverse"), Label. UAT file rows are
//   comma-separated double-quoted fields; inside quotes `"` `\` and controls are \xNN escapes
//   (epan/uat.c uat_esc). Lines starting with '#' are comments.
//
// Checked with tshark 4.0.17: each of these decrypts a NWK+APS-secured Request Key —
//   tshark -r CAP -o 'uat:zigbee_pc_keys:"<hex>","Normal","<label>"'   (one -o per row)
//   WIRESHARK_CONFIG_DIR=DIR tshark -r CAP       with DIR/zigbee_pc_keys = the key file
//   XDG_CONFIG_HOME=X  (X/wireshark/zigbee_pc_keys) or HOME=H (H/.config/wireshark/zigbee_pc_keys)
// The -o form is what we hand to users: it needs no files, and tshark never saves prefs.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { abytes, bytesToHex, equalBytes } from '../crypto/bytes.ts';

export interface WiresharkKey {
  label: string;
  /** 16-byte key as used by the spec (not byte-reversed). */
  key: Uint8Array;
}

/** The UAT table name (tshark -G prefs / `uat:` option prefix). */
export const ZIGBEE_PC_KEYS = 'zigbee_pc_keys';

/** A UAT quoted-string field value: `"` `\` and non-printable ASCII become \xNN. */
export function escapeUatString(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || c === 0x7f || ch === '"' || ch === '\\' ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

function checkKeys(keys: readonly WiresharkKey[]): WiresharkKey[] {
  if (!Array.isArray(keys)) throw new TypeError(`"keys" expected an array of { label, key }`);
  const unique: WiresharkKey[] = [];
  keys.forEach((k, i) => {
    abytes(k?.key, 16, `keys[${i}].key`);
    if (typeof k.label !== 'string') throw new TypeError(`"keys[${i}].label" expected a string, got ${typeof k.label}`);
    if (!unique.some((u) => equalBytes(u.key, k.key))) unique.push(k);
  });
  return unique;
}

/** One UAT row, the value of a `-o uat:zigbee_pc_keys:` option and a line of the key file. */
export function zigbeePcKeyRow(key: WiresharkKey): string {
  return `"${bytesToHex(key.key)}","Normal","${escapeUatString(key.label)}"`;
}

/** The key file: a comment line, then one row per distinct key (first label wins). */
export function formatZigbeePcKeys(keys: readonly WiresharkKey[], title?: string): string {
  const rows = checkKeys(keys).map(zigbeePcKeyRow);
  const head = `# Wireshark Zigbee pre-configured keys (UAT ${ZIGBEE_PC_KEYS})${title ? ` for ${title.replace(/[\r\n]/g, ' ')}` : ''}\n`;
  return head + rows.map((r) => r + '\n').join('');
}

/** tshark/wireshark arguments that add the keys for this run only: ['-o', 'uat:…', …]. */
export function tsharkKeyArgs(keys: readonly WiresharkKey[]): string[] {
  return checkKeys(keys).flatMap((k) => ['-o', `uat:${ZIGBEE_PC_KEYS}:${zigbeePcKeyRow(k)}`]);
}

/** POSIX-shell single quoting. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A ready-to-paste command that decodes `capturePath` with `keys` (your own Wireshark profile
 * is neither read for keys nor written). `extra` is appended, e.g. ['-V'] or ['-Y', 'zbee_aps'].
 */
export function tsharkCommand(capturePath: string, keys: readonly WiresharkKey[], extra: string[] = [], program = 'tshark'): string {
  return [program, '-r', capturePath, ...tsharkKeyArgs(keys), ...extra].map(shellQuote).join(' ');
}

export interface WrittenKeyFiles {
  /** `<capture>.zigbee_pc_keys` */
  keyFile: string;
  /** `<capture>.tshark.txt` */
  commandFile: string;
  /** The tshark command, using the capture's file name (run it from the capture's directory). */
  command: string;
}

/**
 * Writes `<capture>.zigbee_pc_keys` and `<capture>.tshark.txt` next to the capture. The text
 * file holds commands for tshark and Wireshark, and the same run with the key file as the only
 * personal configuration (WIRESHARK_CONFIG_DIR).
 */
export function writeWiresharkKeys(capturePath: string, keys: readonly WiresharkKey[]): WrittenKeyFiles {
  const keyFile = `${capturePath}.${ZIGBEE_PC_KEYS}`;
  const commandFile = `${capturePath}.tshark.txt`;
  const name = path.basename(capturePath);
  const keyName = path.basename(keyFile);
  const command = tsharkCommand(name, keys);
  const text = [
    `# Decrypt ${name} with its keys; run from the directory that holds it.`,
    `# Nothing is saved to your Wireshark profile.`,
    command,
    '',
    `# Full packet details:`,
    tsharkCommand(name, keys, ['-V']),
    '',
    `# In the Wireshark GUI:`,
    tsharkCommand(name, keys, [], 'wireshark'),
    '',
    `# With ${keyName} as the only personal configuration (your preferences are not read either):`,
    `d=$(mktemp -d) && cp ${shellQuote(keyName)} "$d/${ZIGBEE_PC_KEYS}" && WIRESHARK_CONFIG_DIR="$d" tshark -r ${shellQuote(name)}; rm -rf "$d"`,
    '',
    `# To keep the keys in a Wireshark profile instead: copy ${keyName} to`,
    `# ~/.config/wireshark/profiles/<profile>/${ZIGBEE_PC_KEYS} and run: tshark -C <profile> -r ${shellQuote(name)}`,
    '',
  ].join('\n');
  fs.writeFileSync(keyFile, formatZigbeePcKeys(keys, name));
  fs.writeFileSync(commandFile, text);
  return { keyFile, commandFile, command };
}
