// `sehil cert inspect HEX|FILE [--ca CA_PUBLIC_KEY_HEX] [--json]`: every field of a Smart Energy
// implicit certificate (suite detected by length), the checks a CBKE partner makes, and — with a
// CA key, given or known — the reconstructed public key. Contract: DESIGN.md "The command line".
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bytesToHex } from '../../crypto/bytes.ts';
import { type CryptoSuite, keStatusName, suiteByCertificateLength } from '../../crypto/cbke-suites.ts';
import { type Certificate, checkCertificate, iso, KeyUsage, parseCertificate } from '../../crypto/certificate.ts';
import { reconstructPublicKey } from '../../crypto/ecqv.ts';
import { findPublishedTestCa } from '../../crypto/test-ca.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';

const USAGE = 'cert inspect HEX|FILE [--ca CA_PUBLIC_KEY_HEX] [--json]';
const hex = (b: Uint8Array): string => bytesToHex(b).toUpperCase();
/** EUI-64 in the order certificates (and labels) print it: 00:0D:6F:… */
const colons = (b: Uint8Array): string => hex(b).replace(/(..)(?=.)/g, '$1:');
const printable = (b: Uint8Array): string | undefined =>
  b.every((c) => c >= 0x20 && c < 0x7f) ? String.fromCharCode(...b) : undefined;

interface Eui64Field { hex: string; eui64: string; ascii?: string }
const eui = (b: Uint8Array): Eui64Field => ({ hex: hex(b), eui64: colons(b), ...(printable(b) ? { ascii: printable(b) } : {}) });

export interface CertificateReport {
  suite: 1 | 2;
  suiteName: string;
  curve: string;
  length: number;
  certificate: string;
  fields: Record<string, unknown>;
  /** The published test CA this issuer belongs to, if any. */
  knownIssuer?: string;
  reconstructionPoint: { onCurve: boolean; error?: string };
  /** What a CBKE partner trusting this issuer would say (no subject / time context). */
  check: { ok: boolean; status?: string; problem?: string; field?: string; message?: string };
  publicKey?: { hex: string; ca: string; caSource: 'argument' | 'published-test-ca' } | { error: string; ca: string };
}

function fieldsOf(c: Certificate): Record<string, unknown> {
  if (c.suite === 1) {
    return {
      reconstructionData: hex(c.reconstructionData), subject: eui(c.subject), issuer: eui(c.issuer),
      profileAttributeData: hex(c.profileAttributeData), profileId: `0x${c.profileId.toString(16).padStart(4, '0').toUpperCase()}`,
    };
  }
  const usage = [
    ...(c.keyUsage & KeyUsage.keyAgreement ? ['key agreement'] : []),
    ...(c.keyUsage & KeyUsage.digitalSignature ? ['digital signature'] : []),
  ];
  return {
    type: c.type, serialNumber: hex(c.serialNumber), curveId: c.curve, hashId: c.hash, issuer: eui(c.issuer),
    validFrom: { seconds: c.validFrom, iso: iso(c.validFrom) },
    validTo: c.validTo === null
      ? { raw: 'FFFFFFFF', noExpiry: true }
      : { raw: c.validToOffset.toString(16).padStart(8, '0').toUpperCase(), seconds: c.validTo, iso: iso(c.validTo), noExpiry: false },
    subject: eui(c.subject), keyUsage: { value: c.keyUsage, meaning: usage },
    reconstructionData: hex(c.reconstructionData),
  };
}

export function inspectCertificate(bytes: Uint8Array, caHex?: string): CertificateReport {
  const suite = suiteByCertificateLength(bytes.length) as CryptoSuite;
  const cert = parseCertificate(bytes);
  const known = findPublishedTestCa(suite.id, cert.issuer);
  let onCurve: CertificateReport['reconstructionPoint'] = { onCurve: true };
  try { suite.curve.decompress(cert.reconstructionData); } catch (e) { onCurve = { onCurve: false, error: (e as Error).message }; }
  const chk = checkCertificate(cert, {});
  const report: CertificateReport = {
    suite: suite.id, suiteName: suite.name, curve: suite.curve.name, length: bytes.length, certificate: hex(bytes),
    fields: fieldsOf(cert),
    ...(known ? { knownIssuer: known.label } : {}),
    reconstructionPoint: onCurve,
    check: chk.ok ? { ok: true } : { ok: false, status: `${keStatusName(chk.status)} (0x${chk.status.toString(16).padStart(2, '0')})`, problem: chk.problem, field: chk.field, message: chk.message },
  };
  let caKey: Uint8Array | undefined;
  let caSource: 'argument' | 'published-test-ca' | undefined;
  if (caHex !== undefined) {
    caKey = parseHex(caHex, '--ca');
    if (caKey.length !== suite.pointBytes) throw new UsageError(`--ca is ${caKey.length} bytes; a ${suite.name} CA public key is a ${suite.pointBytes}-byte compressed point (02/03 ‖ x)`);
    try { suite.curve.decompress(caKey); } catch (e) { throw new UsageError(`--ca is not a ${suite.curve.name} point: ${(e as Error).message}`); }
    caSource = 'argument';
  } else if (known) {
    caKey = known.publicKey as Uint8Array;
    caSource = 'published-test-ca';
  }
  if (caKey && caSource) {
    try {
      report.publicKey = { hex: hex(suite.curve.compress(reconstructPublicKey(suite, cert, caKey))), ca: hex(caKey), caSource };
    } catch (e) {
      report.publicKey = { error: (e as Error).message, ca: hex(caKey) };
    }
  }
  return report;
}

function human(r: CertificateReport): string {
  const f = r.fields as Record<string, any>;
  const euiLine = (e: Eui64Field) => `${e.eui64}  (${e.hex}${e.ascii ? `, "${e.ascii}"` : ''})`;
  const rows: [string, string][] = [['Certificate', `${r.suiteName}, ${r.length} bytes`]];
  if (r.suite === 2) {
    rows.push(['Type', `0x${h2(f.type)}${f.type === 0 ? ' (implicit, no extensions)' : ''}`], ['Serial number', f.serialNumber],
      ['Curve', `0x${h2(f.curveId)}${f.curveId === 0x0d ? ' (sect283k1)' : ''}`], ['Hash', `0x${h2(f.hashId)}${f.hashId === 0x08 ? ' (AES-MMO)' : ''}`]);
  }
  rows.push(['Subject', euiLine(f.subject)], ['Issuer', euiLine(f.issuer) + (r.knownIssuer ? ` — ${r.knownIssuer}` : '')]);
  if (r.suite === 1) rows.push(['Profile data', `${f.profileAttributeData}  (profile ${f.profileId}${f.profileId === '0x0109' ? ', Smart Energy' : ''})`]);
  else {
    rows.push(['Valid from', `${f.validFrom.iso}  (${f.validFrom.seconds} s)`],
      ['Valid to', f.validTo.noExpiry ? 'no expiry (FFFFFFFF)' : `${f.validTo.iso}  (ValidFrom + 0x${f.validTo.raw} s)`],
      ['Key usage', `0x${h2(f.keyUsage.value)}  (${f.keyUsage.meaning.join(', ') || 'none'})`]);
  }
  rows.push(['Reconstruction', `${f.reconstructionData}  (${r.reconstructionPoint.onCurve ? 'on the curve' : `NOT a curve point: ${r.reconstructionPoint.error}`})`]);
  rows.push(['Checks', r.check.ok ? 'type, curve, hash and key usage acceptable for CBKE' : `${r.check.status}: ${r.check.message}`]);
  if (!r.publicKey) rows.push(['Public key', 'not reconstructed: issuer is not a published test CA; pass --ca CA_PUBLIC_KEY_HEX']);
  else if ('error' in r.publicKey) rows.push(['Public key', `reconstruction failed: ${r.publicKey.error}`]);
  else {
    rows.push(['Public key', r.publicKey.hex], ['  with CA', `${r.publicKey.ca}  (${r.publicKey.caSource === 'argument' ? 'from --ca' : 'the published test CA of this issuer, used automatically'})`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
const h2 = (v: number) => v.toString(16).padStart(2, '0').toUpperCase();

/** Hex with optional whitespace and an optional 0x prefix; UsageError naming the first bad character. */
function parseHex(text: string, what: string): Uint8Array {
  const s = text.replace(/\s+/g, '').replace(/^0x/i, '');
  const bad = s.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new UsageError(`${what}: "${s[bad]}" at position ${bad + 1} is not a hex digit`);
  if (s.length % 2) throw new UsageError(`${what}: odd number of hex digits (${s.length})`);
  return Uint8Array.from({ length: s.length / 2 }, (_, i) => parseInt(s.slice(2 * i, 2 * i + 2), 16));
}

/** The certificate bytes from an argument: a file (hex text or raw binary) if one exists there, else hex. */
function loadInput(arg: string): { bytes: Uint8Array; from: string } {
  if (existsSync(arg) && statSync(arg).isFile()) {
    const raw = new Uint8Array(readFileSync(arg));
    const text = new TextDecoder('latin1').decode(raw);
    if (/^\s*(0x)?[0-9a-fA-F\s]*$/.test(text) && /[0-9a-fA-F]/.test(text)) return { bytes: parseHex(text, arg), from: `${arg} (hex text)` };
    return { bytes: raw, from: `${arg} (binary)` };
  }
  return { bytes: parseHex(arg, 'certificate'), from: 'argument' };
}

export const certInspect: Command = {
  words: ['cert', 'inspect'],
  usage: USAGE,
  // Exit 1 when a CBKE partner would refuse the certificate (check failed, point not on the curve).
  summary: 'every field, the CBKE checks and the ECQV public key of an SE certificate',
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false }, ca: { type: 'string' } } });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const { values, positionals } = parsed;
    if (positionals.length === 0) throw new UsageError(`missing HEX or FILE\nUsage: sehil ${USAGE}`);
    // A certificate typed in groups without quotes arrives as several arguments.
    const { bytes, from } = positionals.length === 1 ? loadInput(positionals[0]) : { bytes: parseHex(positionals.join(' '), 'certificate'), from: 'argument' };
    if (!suiteByCertificateLength(bytes.length)) {
      throw new UsageError(`certificate from ${from} is ${bytes.length} bytes; expected 48 (Crypto Suite 1) or 74 (Crypto Suite 2)`);
    }
    const report = inspectCertificate(bytes, values.ca);
    io.out(values.json ? JSON.stringify(report, null, 2) : human(report));
    const refused = !report.check.ok || !report.reconstructionPoint.onCurve || (report.publicKey !== undefined && 'error' in report.publicKey);
    return refused ? EXIT.failed : EXIT.ok;
  },
};
