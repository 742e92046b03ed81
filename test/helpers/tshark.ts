// Runs the real tshark on captures the kit wrote, with keys from our own key-file export, in a
// throw-away personal config dir (WIRESHARK_CONFIG_DIR) so neither the user's Wireshark profile
// nor their keys can change the result. Tests that need tshark use
//   describe.skipIf(!tsharkAvailable)(…)  and call warnIfTsharkMissing() once.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatZigbeePcKeys, tsharkKeyArgs, type WiresharkKey } from '../../harness/capture/wireshark-keys.ts';

function findTshark(): string | undefined {
  const fromEnv = process.env.SEHIL_TSHARK;
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : undefined;
  const r = spawnSync('which', ['tshark'], { encoding: 'utf8' });
  const p = r.status === 0 ? r.stdout.trim().split('\n')[0] : '';
  return p ? p : undefined;
}

export const tsharkPath: string | undefined = findTshark();
export const tsharkAvailable = tsharkPath !== undefined;
export const tsharkSkipReason = 'tshark not found on PATH (apt-get install tshark, or set SEHIL_TSHARK): tshark cross-checks skipped';

let warned = false;
/** console.warn the skip reason once per process when tshark is missing. */
export function warnIfTsharkMissing(): void {
  if (!tsharkAvailable && !warned) {
    warned = true;
    console.warn(tsharkSkipReason);
  }
}

export interface TsharkOptions {
  /** Display filter (-Y). */
  filter?: string;
  /** How the keys reach tshark: the key file in a temp WIRESHARK_CONFIG_DIR (default) or `-o uat:` options. */
  keysVia?: 'config-dir' | 'option';
  extraArgs?: string[];
  /** Use this zigbee_pc_keys file text as written (a run's artifact) instead of formatting `keys`. */
  keyFileText?: string;
  /** Accept tshark's exit 2 for "cut short in the middle of a packet" (the packets before it are printed). */
  allowCutShort?: boolean;
}

function runRaw(pcapPath: string, keys: readonly WiresharkKey[], args: string[], opts: TsharkOptions): string {
  if (!tsharkPath) throw new Error(tsharkSkipReason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-tshark-'));
  try {
    // Always an empty-but-for-our-keys config dir: with no keys, no key from anywhere else.
    fs.writeFileSync(path.join(dir, 'zigbee_pc_keys'), opts.keysVia === 'option' ? '' : opts.keyFileText ?? formatZigbeePcKeys(keys));
    const keyArgs = opts.keysVia === 'option' ? tsharkKeyArgs(keys) : [];
    const filter = opts.filter ? ['-Y', opts.filter] : [];
    const r = spawnSync(tsharkPath, ['-n', '-r', pcapPath, ...keyArgs, ...filter, ...args, ...(opts.extraArgs ?? [])], {
      encoding: 'utf8',
      env: { ...process.env, WIRESHARK_CONFIG_DIR: dir, LC_ALL: 'C' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    const cutShort = r.status === 2 && /cut short in the middle of a packet/.test(r.stderr);
    if (r.status !== 0 && !(cutShort && opts.allowCutShort)) throw new Error(`tshark exited ${r.status} on ${pcapPath}: ${r.stderr.replace(/^Running as user.*\n/m, '').trim()}`);
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `tshark -T fields -e …`: one row per packet, one string per field ('' when absent; repeats joined with ','). */
export function runTshark(pcapPath: string, keys: readonly WiresharkKey[], fields: string[], opts: TsharkOptions = {}): string[][] {
  const args = ['-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])];
  const out = runRaw(pcapPath, keys, args, opts);
  return out.split('\n').filter((line, i, all) => !(line === '' && i === all.length - 1)).map((line) => line.split('\t'));
}

/** `tshark -T json`: the parsed array of packets (`_source.layers` per packet). */
export function runTsharkJson(pcapPath: string, keys: readonly WiresharkKey[], opts: TsharkOptions = {}): Array<{ _source: { layers: Record<string, unknown> } }> {
  const out = runRaw(pcapPath, keys, ['-T', 'json'], opts);
  return out.trim() === '' ? [] : (JSON.parse(out) as Array<{ _source: { layers: Record<string, unknown> } }>);
}

/** `tshark -T pdml`: the XML text (for tests that want to grep the full dissection tree). */
export function runTsharkPdml(pcapPath: string, keys: readonly WiresharkKey[], opts: TsharkOptions = {}): string {
  return runRaw(pcapPath, keys, ['-T', 'pdml'], opts);
}

/**
 * What real tshark finds wrong with a capture opened with its keys: malformed frames, expert
 * warnings or errors, bad FCS, secured layers left encrypted. Empty when every frame is clean.
 */
export function tsharkCaptureProblems(capture: string, keys: readonly WiresharkKey[], opts: TsharkOptions = {}): { problems: string[]; frames: number; decryptedByLabel: number; decryptedByLearned: number } {
  const rows = runTshark(capture, keys, ['frame.number', '_ws.malformed', '_ws.expert.severity', '_ws.expert.message', 'wpan.fcs_ok', 'zbee.sec.key_id', 'zbee.sec.key', 'zbee.sec.decryption_key', 'zbee.sec.key.origin', 'zbee_aps.cmd.id', 'zbee_aps.type'], opts);
  const problems: string[] = [];
  let byLabel = 0;
  let byLearned = 0;
  for (const [no, malformed, severity, message, fcsOk, keyIds, usedKeys, label, origin, , apsType] of rows) {
    if (malformed) problems.push(`#${no}: malformed`);
    // Expert severities: 0x00800000 = error, 0x00600000 = warning.
    const sev = severity ? severity.split(',').map(Number) : [];
    if (sev.some((s) => s >= 0x00600000)) problems.push(`#${no}: expert ${severity} ${message}`);
    if (fcsOk !== '1' && fcsOk !== 'True') problems.push(`#${no}: FCS ${fcsOk}`);
    // A layer is decrypted when Wireshark shows the key that opened it: from the key file
    // (decryption_key = its label) or learned from an earlier Transport Key (key.origin = that frame).
    let secured = keyIds ? keyIds.split(',').length : 0;
    const opened = usedKeys ? usedKeys.split(',').length : 0;
    // A secured APS ack carries only a MIC (no ciphertext): Wireshark has nothing to decrypt and
    // shows no key for it.
    if ((apsType === '0x02' || apsType === '2') && secured === 2) secured--;
    if (secured !== opened) problems.push(`#${no}: ${secured} secured layer(s), ${opened} decrypted`);
    if (label) byLabel++;
    if (origin) byLearned++;
  }
  return { problems, frames: rows.length, decryptedByLabel: byLabel, decryptedByLearned: byLearned };
}
