// `sehil ic derive CODE [--crc auto|present|absent] [--json]`: normalise an install code, judge its
// CRC and print the keys derived from it. Contract: DESIGN.md "The command line".
import { parseArgs } from 'node:util';
import { bytesToHex } from '../../crypto/bytes.ts';
import { deriveKeyLoadKey, deriveKeyTransportKey } from '../../crypto/hmac-mmo.ts';
import {
  crcBytesLE, deriveInstallCodeLinkKey, formatCrc, InstallCodeError, parseInstallCode,
  type CrcMode, type InstallCode,
} from '../../crypto/install-code.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const CRC_MODES: readonly CrcMode[] = ['auto', 'present', 'absent'];

const hex = (b: Uint8Array): string => bytesToHex(b).toUpperCase();
/** `83FE D340 …`: how install codes are printed on labels and in vendor tools. */
const grouped = (hexDigits: string): string => hexDigits.replace(/(.{4})(?=.)/g, '$1 ');
const USAGE = 'ic derive CODE [--crc auto|present|absent] [--json]';

export interface InstallCodeReport {
  form: string;
  eui64?: string;
  /** code ‖ CRC (CRC little-endian), uppercase hex. */
  installCode: string;
  /** The code without CRC. */
  code: string;
  codeLength: number;
  crc: string;
  crcBytes: string;
  crcSupplied: boolean;
  /** AES-MMO(code ‖ CRC): the preconfigured TC link key, byte order as Wireshark and Ember print it. */
  linkKey: string;
  /** HMAC-MMO(link key, 0x00): protects Transport Key of a network key (APS key id 2). */
  keyTransportKey: string;
  /** HMAC-MMO(link key, 0x02): protects Transport Key of a link key (APS key id 3). */
  keyLoadKey: string;
  note?: string;
}

export function reportInstallCode(ic: InstallCode): InstallCodeReport {
  const linkKey = deriveInstallCodeLinkKey(ic);
  const report: InstallCodeReport = {
    form: ic.form,
    ...(ic.eui64 === undefined ? {} : { eui64: ic.eui64 }),
    installCode: hex(ic.bytes),
    code: hex(ic.code),
    codeLength: ic.code.length,
    crc: formatCrc(ic.crc),
    crcBytes: hex(crcBytesLE(ic.crc)),
    crcSupplied: ic.crcSupplied,
    linkKey: hex(linkKey),
    keyTransportKey: hex(deriveKeyTransportKey(linkKey)),
    keyLoadKey: hex(deriveKeyLoadKey(linkKey)),
  };
  if (ic.code.length === 8 && !ic.crcSupplied) {
    // The one ambiguous length: say how it was read so a mistyped CRC does not go unnoticed.
    report.note = 'read as an 8-byte code without CRC (the last two bytes are not the CRC of the first six); ' +
      'if they were meant as a CRC, run again with --crc present to check it';
  }
  return report;
}

function human(r: InstallCodeReport): string {
  const lines = [
    `install code   ${grouped(r.installCode)}   (${r.codeLength}-byte code + CRC, form ${r.form})`,
    ...(r.eui64 === undefined ? [] : [`EUI-64         ${r.eui64}   (as printed on the label)`]),
    `CRC            ${r.crc} ${r.crcSupplied ? 'ok (supplied)' : 'computed and appended'}   (bytes ${r.crcBytes.replace(/(..)(?=.)/, '$1 ')})`,
    `link key       ${r.linkKey}   (AES-MMO of code + CRC)`,
    `key-transport  ${r.keyTransportKey}   (HMAC-MMO(link key, 00), APS key id 2)`,
    `key-load       ${r.keyLoadKey}   (HMAC-MMO(link key, 02), APS key id 3)`,
  ];
  if (r.note) lines.push(`note           ${r.note}`);
  return lines.join('\n');
}

export const icDerive: Command = {
  words: ['ic', 'derive'],
  usage: USAGE,
  summary: 'normalized code, CRC verdict, preconfigured link key and its key-transport / key-load keys',
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: { json: { type: 'boolean', default: false }, crc: { type: 'string', default: 'auto' } },
      });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const { values, positionals } = parsed;
    if (positionals.length === 0) throw new UsageError(`missing CODE\nUsage: sehil ${USAGE}`);
    const crc = values.crc as CrcMode;
    if (!CRC_MODES.includes(crc)) throw new UsageError(`--crc must be one of ${CRC_MODES.join(', ')}, got "${values.crc}"`);
    // A code typed in groups without quotes arrives as several arguments.
    const text = positionals.join(' ');
    let ic: InstallCode;
    try {
      ic = parseInstallCode(text, { crc });
    } catch (e) {
      if (e instanceof InstallCodeError) throw new UsageError(e.message);
      throw e;
    }
    const report = reportInstallCode(ic);
    io.out(values.json ? JSON.stringify(report, null, 2) : human(report));
    return EXIT.ok;
  },
};
