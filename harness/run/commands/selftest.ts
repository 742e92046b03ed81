// `sehil selftest [--json] [--out reports/selftest]`: proves the suites catch bad devices. For every
// known-bad simulated profile named in the catalog's `catches` lists, the cases that must catch
// it run on the simulated rig with that profile swapped in; each must FAIL there (and the same
// cases pass on the compliant rig in a normal `sehil run`). A case that passes a known-bad device
// is a bug in the kit: exit 1.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CATALOG } from '../../../suites/catalog.ts';
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
    const ok = rows.every((r) => r.outcome === 'caught');
    if (values.json) {
      io.out(JSON.stringify({ ok, profiles: plan.length, rows }, null, 2));
    } else {
      const w = Math.max(...rows.map((r) => `${r.role}:${r.profile}`.length));
      for (const r of rows) io.out(`${`${r.role}:${r.profile}`.padEnd(w)}  ${r.caseId.padEnd(6)}  ${r.outcome.toUpperCase().padEnd(7)}  ${r.detail.split('\n')[0].slice(0, 100)}`);
      io.out(`\n${rows.filter((r) => r.outcome === 'caught').length}/${rows.length} faults caught across ${plan.length} known-bad profiles`);
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
};
