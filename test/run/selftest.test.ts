// `sehil selftest`: every known-bad simulated profile the catalog names is caught by the cases
// that claim to catch it. Runs the real CLI; a case that passes a bad device fails this test.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { selftestPlan, type SelftestRow } from '../../harness/run/commands/selftest.ts';
import { JOINER_PROFILES, TC_PROFILES } from '../../harness/stack/profiles.ts';
import { CATALOG } from '../../suites/catalog.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

it('the plan names only profiles the simulator has, and every catalog case with a catch list is in it', () => {
  const names = { tc: TC_PROFILES.map((p) => p.name), dut: JOINER_PROFILES.map((p) => p.name) };
  const plan = selftestPlan();
  for (const p of plan) expect(names[p.role], `${p.role} profile ${p.profile}`).toContain(p.profile);
  const planned = new Set(plan.flatMap((p) => p.cases));
  for (const c of CATALOG) if (c.catches.length) expect(planned.has(c.id), c.id).toBe(true);
});

it('sehil selftest --json: every fault caught, exit 0', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-selftest-'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/sehil.mjs'), 'selftest', '--json', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  const doc = JSON.parse(r.stdout) as {
    ok: boolean; rows: SelftestRow[]; compliantFailures: unknown[];
    profiles: { name: string; role: string; caught: boolean; caughtBy: string[] }[];
  };
  expect(doc.rows.filter((x) => x.outcome !== 'caught'), r.stderr).toEqual([]);
  expect(doc.compliantFailures).toEqual([]);
  // Every known-bad profile of the simulated rig (issue 4's list and any added since) is caught.
  expect(doc.profiles.filter((p) => !p.caught).map((p) => `${p.role}:${p.name}`)).toEqual([]);
  const names = doc.profiles.map((p) => p.name);
  for (const n of ['legacy-global-key', 'legacy-no-key-update', 'keeps-key-after-leave', 'no-keepalive', 'cbke-bad-mac', 'cbke-unknown-issuer-cert',
    'cbke-slow', 'unencrypted-transport-key', 'long-permit-join', 'accepts-provisional-key-as-tclk', 'accepts-unknown-issuer', 'terminates-after-timeout',
    'no-tcso', 'frame-counter-reuse', 'ignores-leave', 'cbke-subject-mismatch-cert', 'cbke-corrupted-cert', 'cbke-bad-key-usage-cert',
    'cbke-out-of-sequence', 'accepts-subject-mismatch', 'ignores-out-of-sequence']) expect(names, n).toContain(n);
  expect(doc.ok).toBe(true);
  expect(r.status).toBe(0);
  const expected = selftestPlan().reduce((n, p) => n + p.cases.length, 0);
  expect(doc.rows).toHaveLength(expected);
  fs.rmSync(out, { recursive: true, force: true });
}, 600_000);
