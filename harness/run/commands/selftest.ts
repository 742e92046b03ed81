// `sehil selftest [--json] [--out reports/selftest]`: proves the suites catch bad devices. For every
// known-bad simulated profile named in the catalog's `catches` lists, the cases that must catch
// it run on the simulated rig with that profile swapped in; each must FAIL there (and the same
// cases pass on the compliant rig in a normal `sehil run`). A case that passes a known-bad device
// is a bug in the kit: exit 1.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CATALOG } from '../../../suites/catalog.ts';
import { JOINER_PROFILES, TC_PROFILES } from '../../stack/profiles.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';
import { PACKAGE_ROOT, runSuites } from '../runner.ts';

const USAGE = 'selftest [--json] [--out reports/selftest]';

export interface SelftestRow {
  role: 'tc' | 'dut';
  profile: string;
  caseId: string;
  /** failed = the fault was caught. */
  outcome: 'caught' | 'missed' | 'skipped' | 'not-run';
  detail: string;
}

/** Profiles to try, each with the cases that must catch it and the suites that hold them. */
export function selftestPlan(): { role: 'tc' | 'dut'; profile: string; cases: string[]; suites: string[] }[] {
  const plan = new Map<string, { role: 'tc' | 'dut'; profile: string; cases: string[]; suites: string[] }>();
  for (const c of CATALOG) {
    for (const k of c.catches) {
      const key = `${k.role}:${k.profile}`;
      const p = plan.get(key) ?? { role: k.role, profile: k.profile, cases: [], suites: [] };
      p.cases.push(c.id);
      if (!p.suites.includes(c.suite)) p.suites.push(c.suite);
      plan.set(key, p);
    }
  }
  return [...plan.values()];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export const selftest: Command = {
  words: ['selftest'],
  usage: USAGE,
  summary: 'run every suite case against the known-bad simulated profiles it must catch; exit 1 if one slips through',
  async run(args: string[], io: CliIO): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, out: { type: 'string', default: 'reports/selftest' } } }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const rigFile = path.join(PACKAGE_ROOT, 'rigs/sim.yaml');
    const rows: SelftestRow[] = [];
    const plan = selftestPlan();
    for (const [i, p] of plan.entries()) {
      io.err(`selftest ${i + 1}/${plan.length}: ${p.role} profile ${p.profile} → ${p.cases.join(', ')}`);
      const outcome = await runSuites({
        rigFile, suites: p.suites, grep: `^(${p.cases.map(escapeRegExp).join('|')}) `, outDir: path.join(values.out, `${p.role}-${p.profile}`),
        profiles: { [p.role]: p.profile }, progress: null, html: false,
      });
      for (const id of p.cases) {
        const c = outcome.record.cases.find((x) => x.id === id);
        const row: SelftestRow = !c
          ? { role: p.role, profile: p.profile, caseId: id, outcome: 'not-run', detail: outcome.unhandled[0] ?? 'the case did not run' }
          : c.state === 'failed'
            ? { role: p.role, profile: p.profile, caseId: id, outcome: 'caught', detail: (c.messages[0] ?? '').split('\n')[0] }
            : c.state === 'skipped'
              ? { role: p.role, profile: p.profile, caseId: id, outcome: 'skipped', detail: c.messages[0] ?? '' }
              : { role: p.role, profile: p.profile, caseId: id, outcome: 'missed', detail: 'the case PASSED on a known-bad device' };
        rows.push(row);
        io.err(`  ${row.outcome === 'caught' ? '✓' : '✗'} ${id} ${row.outcome}${row.detail ? `: ${row.detail.slice(0, 140)}` : ''}`);
      }
    }
    // The compliant rig: every case must pass there (a check that fails a good device is a bug too).
    io.err('selftest: compliant profiles → every suite');
    const compliant = await runSuites({ rigFile, suites: [], outDir: path.join(values.out, 'compliant'), progress: null, html: false });
    const compliantFailures = [
      ...compliant.record.cases.filter((c) => c.state === 'failed').map((c) => ({ caseId: c.id, message: (c.messages[0] ?? '').split('\n')[0] })),
      ...compliant.unhandled.map((u) => ({ caseId: '(run)', message: u })),
    ];
    for (const f of compliantFailures) io.err(`  ✗ ${f.caseId} failed on the compliant rig: ${f.message.slice(0, 140)}`);
    const known = [...TC_PROFILES.map((p) => ({ role: 'tc' as const, p })), ...JOINER_PROFILES.map((p) => ({ role: 'dut' as const, p }))].filter((x) => x.p.kind !== 'compliant');
    const profiles = known.map(({ role, p }) => {
      const mine = rows.filter((r) => r.role === role && r.profile === p.name);
      const caughtBy = mine.filter((r) => r.outcome === 'caught').map((r) => r.caseId);
      return { name: p.name, role, rule: p.rule, caught: caughtBy.length > 0, caughtBy, missedBy: mine.filter((r) => r.outcome !== 'caught').map((r) => r.caseId) };
    });
    const ok = compliantFailures.length === 0 && profiles.every((p) => p.caught && p.missedBy.length === 0);
    if (values.json) {
      io.out(JSON.stringify({ ok, profiles, compliantFailures, compliantCases: compliant.record.counts, rows }, null, 2));
    } else {
      const w = Math.max(...rows.map((r) => `${r.role}:${r.profile}`.length));
      for (const r of rows) io.out(`${`${r.role}:${r.profile}`.padEnd(w)}  ${r.caseId.padEnd(6)}  ${r.outcome.toUpperCase().padEnd(7)}  ${r.detail.split('\n')[0].slice(0, 100)}`);
      for (const p of profiles.filter((x) => !x.caught)) io.out(`${`${p.role}:${p.name}`.padEnd(w)}  —       NOT CAUGHT by any case (${p.rule})`);
      const c = compliant.record.counts;
      io.out(`\n${profiles.filter((p) => p.caught).length}/${profiles.length} known-bad profiles caught; ${rows.filter((r) => r.outcome === 'caught').length}/${rows.length} catalog claims held; compliant rig: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
