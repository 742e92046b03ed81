import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import suite1Vector from '../../vectors/cbke-suite1.json' with { type: 'json' };
import suite2Vector from '../../vectors/cbke-suite2.json' with { type: 'json' };
import { hexToBytes } from '../../harness/crypto/bytes.ts';
import { CRYPTO_SUITE_1 } from '../../harness/crypto/cbke-suites.ts';
import { deterministicRandom, TestCa } from '../../harness/crypto/test-ca.ts';
import { main } from '../../harness/run/cli.ts';
import { captureIO } from '../helpers/cli-io.ts';


const CERT_V1 = suite1Vector.responder.certificate; // SE Annex C.5.1.2
const CERT_V2 = suite2Vector.responder.certificate; // SE Annex C.6.1.2
const dir = mkdtempSync(join(tmpdir(), 'sehil-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]) {
  const io = captureIO();
  const code = await main(['cert', 'inspect', ...args], io);
  return { code, ...io };
}

describe('sehil cert inspect', () => {
  it('suite 1: every field, and the public key from the published test CA (said so)', async () => {
    const r = await run(CERT_V1);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Certificate +Crypto Suite 1 \(sect163k1\), 48 bytes$/m);
    expect(r.stdout).toMatch(/^Subject +00:00:00:00:00:00:00:01  \(0000000000000001\)$/m);
    expect(r.stdout).toMatch(/^Issuer +54:45:53:54:53:45:43:41  \(5445535453454341, "TESTSECA"\) — Certicom test CA for Crypto Suite 1/m);
    expect(r.stdout).toMatch(/^Profile data +01090006000000000000  \(profile 0x0109, Smart Energy\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^Public key +${suite1Vector.responder.publicKey}$`, 'm'));
    expect(r.stdout).toContain('the published test CA of this issuer, used automatically');
    expect(r.stderr).toBe('');
  });

  it('suite 2: every field, hex typed in groups', async () => {
    const r = await run('00', '2622A505E8938F27', '0D', '08', CERT_V2.slice(22));
    expect(r.code).toBe(0);
    for (const line of [/^Type +0x00 \(implicit, no extensions\)$/m, /^Serial number +2622A505E8938F27$/m, /^Curve +0x0D \(sect283k1\)$/m,
      /^Hash +0x08 \(AES-MMO\)$/m, /^Subject +0A:0B:0C:0D:0E:0F:10:11/m, /^Issuer +11:12:13:14:15:16:17:18/m,
      /^Valid from +2013-11-25T01:09:47Z  \(1385341787 s\)$/m, /^Valid to +no expiry \(FFFFFFFF\)$/m,
      /^Key usage +0x88  \(key agreement, digital signature\)$/m, new RegExp(`^Public key +${suite2Vector.responder.publicKey}$`, 'm')]) {
      expect(r.stdout).toMatch(line);
    }
  });

  it('--json: one JSON document on stdout, nothing else', async () => {
    const r = await run(CERT_V2, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      suite: 2, length: 74, curve: 'sect283k1', check: { ok: true },
      fields: { serialNumber: '2622A505E8938F27', subject: { hex: '0A0B0C0D0E0F1011', eui64: '0A:0B:0C:0D:0E:0F:10:11' }, keyUsage: { value: 0x88 }, validTo: { noExpiry: true } },
      publicKey: { hex: suite2Vector.responder.publicKey, caSource: 'published-test-ca' },
    });
    expect(r.stderr).toBe('');
  });

  it('--ca reconstructs with a given CA key (a certificate of our own test CA)', async () => {
    const ca = new TestCa({ suite: CRYPTO_SUITE_1, random: deterministicRandom('cli') });
    const c = ca.issue({ subject: hexToBytes('000D6F0000614EDF') });
    const certHex = Buffer.from(c.certificate).toString('hex');
    const caHex = Buffer.from(ca.publicKeyBytes).toString('hex');
    const without = await run(certHex);
    expect(without.code).toBe(0);
    expect(without.stdout).toMatch(/^Public key +not reconstructed: issuer is not a published test CA; pass --ca/m);
    expect(without.stdout).toMatch(/^Subject +00:0D:6F:00:00:61:4E:DF/m);
    const r = await run(certHex, '--ca', caHex, '--json');
    const doc = JSON.parse(r.stdout);
    expect(doc.publicKey).toEqual({ hex: Buffer.from(CRYPTO_SUITE_1.curve.compress(c.publicKey)).toString('hex').toUpperCase(), ca: caHex.toUpperCase(), caSource: 'argument' });
  });

  it('reads FILE as hex text (whitespace allowed) or as raw binary', async () => {
    const text = join(dir, 'cert.txt');
    writeFileSync(text, `${CERT_V1.slice(0, 44)}\n  ${CERT_V1.slice(44)}\n`);
    expect((await run(text)).stdout).toMatch(/^Subject +00:00:00:00:00:00:00:01/m);
    const bin = join(dir, 'cert.bin');
    writeFileSync(bin, hexToBytes(CERT_V2));
    const r = await run(bin, '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ suite: 2, certificate: CERT_V2 });
  });

  it('a certificate a CBKE partner refuses prints its fields and exits 1 (KeyUsage 0x80; point not on the curve)', async () => {
    const sigOnly = '00B3D2E33DD89D55F00D08111213141516171800595E2B38FFFFFFFF2000000000000004800203CDF9BCD0EDB73E4958A7B6E9DAAC86B81525045C5035DDD8B2B11273B519993B185BD1';
    const r = await run(sigOnly);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Checks +INVALID_CERTIFICATE \(0x06\): KeyUsage 0x80 lacks key agreement \(0x08\)$/m);
    // Certicom cs1_test1b: byte 10 CA → 2A, the reconstruction point leaves the curve
    const offCurve = await run('03065E0C93C3985F21742ABB70C9D329B9EF0479F7EB100000000000000054455354534543410109108301234567890A', '--json');
    expect(offCurve.code).toBe(1);
    const doc = JSON.parse(offCurve.stdout);
    expect(doc.reconstructionPoint.onCurve).toBe(false);
    expect(doc.publicKey.error).toMatch(/sect163k1/);
  });

  it('bad input exits 2 and says what is wrong', async () => {
    let r = await run('0102');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('certificate from argument is 2 bytes; expected 48 (Crypto Suite 1) or 74 (Crypto Suite 2)');
    r = await run(CERT_V1.slice(0, 10) + 'ZZ' + CERT_V1.slice(12));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"Z" at position 11 is not a hex digit');
    r = await run(CERT_V1, '--ca', '0200');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--ca is 2 bytes; a Crypto Suite 1 (sect163k1) CA public key is a 22-byte compressed point');
    r = await run(CERT_V1, '--ca', '05' + suite1Vector.caPublicKey.slice(2));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ca is not a sect163k1 point: .*prefix/);
    r = await run();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing HEX or FILE');
    r = await run(CERT_V1, '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
