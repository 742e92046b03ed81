// `sehil report merge --out reports DIR…`: one report from the shards of a run (`sehil run --shard
// I/N --out reports/shard-I` on several rigs or CI jobs). Allure results and per-test artifacts
// are copied side by side, run.json and junit.xml are combined, the HTML report is rebuilt.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';
import type { RunRecord } from '../run-reporter.ts';
import { cleanReportDir } from '../runner.ts';

const USAGE = 'report merge --out DIR SHARD_DIR…';

function readRecord(dir: string): RunRecord {
  const file = path.join(dir, 'run.json');
  if (!existsSync(file)) throw new UsageError(`${dir}: no run.json (is it the --out directory of a sehil run?)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** The <testsuite> elements of a JUnit file (vitest writes one <testsuites> root). */
function junitSuites(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').match(/<testsuite\b[\s\S]*?<\/testsuite>/g) ?? [];
}

export function mergeRecords(records: RunRecord[]): RunRecord {
  const cases = records.flatMap((r) => r.cases);
  const count = (s: string) => cases.filter((c) => c.state === s).length;
  const statuses = records.map((r) => r.status);
  return {
    tool: 'sehil',
    version: records[0].version,
    rig: { name: [...new Set(records.map((r) => r.rig.name))].join(' + '), file: [...new Set(records.map((r) => r.rig.file))].join(' + ') },
    shard: `merged ${records.map((r) => r.shard ?? 'all').join(', ')}`,
    startedAt: records.map((r) => r.startedAt).sort()[0],
    finishedAt: records.map((r) => r.finishedAt ?? '').sort().at(-1) || undefined,
    status: statuses.includes('interrupted') ? 'interrupted' : statuses.includes('running') ? 'running' : count('failed') > 0 ? 'failed' : 'passed',
    counts: { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), total: cases.length },
    cases,
  };
}

export const reportMerge: Command = {
  words: ['report', 'merge'],
  usage: USAGE,
  summary: 'merge the report directories of sharded runs (run.json, junit.xml, Allure results, captures) and rebuild the HTML',
  async run(args: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, options: { out: { type: 'string' } }, allowPositionals: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const out = parsed.values.out;
    const shards = parsed.positionals;
    if (!out || shards.length === 0) throw new UsageError(`expected --out DIR and at least one shard directory\nUsage: sehil ${USAGE}`);
    const outAbs = path.resolve(out);
    if (shards.some((s) => path.resolve(s) === outAbs)) throw new UsageError('--out must not be one of the shard directories');
    const records = shards.map(readRecord);
    cleanReportDir(out);
    for (const s of shards) {
      for (const sub of ['allure-results', 'tests']) {
        if (existsSync(path.join(s, sub))) cpSync(path.join(s, sub), path.join(out, sub), { recursive: true });
      }
    }
    const merged = mergeRecords(records);
    writeFileSync(path.join(out, 'run.json'), JSON.stringify(merged, null, 2) + '\n');
    const suites = shards.flatMap((s) => junitSuites(path.join(s, 'junit.xml')));
    const tests = merged.counts.total;
    writeFileSync(path.join(out, 'junit.xml'), `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="sehil merged" tests="${tests}" failures="${merged.counts.failed}" skipped="${merged.counts.skipped}">\n${suites.join('\n')}\n</testsuites>\n`);
    let html: string | undefined;
    if (existsSync(path.join(out, 'allure-results'))) {
      mkdirSync(path.join(out, 'html'), { recursive: true });
      const { writeHtmlReport, reportName } = await import('../html-report.ts');
      html = (await writeHtmlReport({ resultsDir: path.join(out, 'allure-results'), outDir: path.join(out, 'html'), name: reportName(merged.rig.name) })).indexHtml;
    }
    const c = merged.counts;
    io.out(`merged ${shards.length} shard(s): ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped → ${out}/${html ? `  (html: ${path.relative(process.cwd(), html)})` : ''}`);
    return c.failed > 0 ? EXIT.failed : EXIT.ok;
  },
};
