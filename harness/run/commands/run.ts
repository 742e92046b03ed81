// `sehil run [--rig rigs/sim.yaml] [--suite NAME]… [--grep TEXT] [--shard I/N] [--out reports] [--max-wait S] [--json]`
// Contract: DESIGN.md "The command line". Progress goes to stderr; stdout carries the summary
// table, or with --json the run record and nothing else.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { RigFileError } from '../../rig/load.ts';
import { RigUnavailableError } from '../../rig/roles.ts';
import { EXIT, UsageError, type CliIO, type Command } from '../cli.ts';
import { summaryTable } from '../run-reporter.ts';
import { listSuites, PACKAGE_ROOT, preflightRig, runSuites } from '../runner.ts';

const USAGE = 'run [--rig rigs/sim.yaml] [--suite NAME]… [--grep TEXT] [--shard I/N] [--out reports] [--max-wait S] [--json]';

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard "${text}": expected I/N with 1 ≤ I ≤ N, e.g. --shard 1/3`);
  return { index, count };
}

/** The rig file as given, or the default shipped with the kit. */
function resolveRig(given: string | undefined): string {
  if (given) return given;
  const local = 'rigs/sim.yaml';
  return existsSync(local) ? local : path.join(PACKAGE_ROOT, 'rigs/sim.yaml');
}

export const run: Command = {
  words: ['run'],
  usage: USAGE,
  summary: 'run the conformance suites on a rig; reports, captures and keys under --out (default reports/)',
  async run(args: string[], io: CliIO): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          rig: { type: 'string' },
          suite: { type: 'string', multiple: true, default: [] },
          grep: { type: 'string' },
          shard: { type: 'string' },
          out: { type: 'string', default: 'reports' },
          json: { type: 'boolean', default: false },
          'max-wait': { type: 'string' },
        },
        allowPositionals: false,
      }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nUsage: sehil ${USAGE}`);
    }
    const known = listSuites();
    const unknown = values.suite.filter((s) => !known.includes(s));
    if (unknown.length) throw new UsageError(`unknown suite ${unknown.map((s) => `"${s}"`).join(', ')}; suites: ${known.join(', ')}`);
    const shard = values.shard ? parseShard(values.shard) : undefined;
    const maxWait = values['max-wait'];
    if (maxWait !== undefined) {
      // Real-time rigs only: a case whose longest wait exceeds it is skipped with the reason (fixture.ts).
      if (!(Number(maxWait) >= 0) || maxWait.trim() === '') throw new UsageError(`--max-wait "${maxWait}": expected seconds ≥ 0, e.g. --max-wait 60`);
      process.env.SEHIL_MAX_WAIT_S = maxWait; // the vitest workers inherit it
    }
    const rigFile = resolveRig(values.rig);
    const progress = (line: string) => io.err(line);

    try {
      const pre = await preflightRig(rigFile);
      const down = pre.probes.filter((p) => p.error);
      if (down.length) {
        io.err(`sehil run: rig ${pre.name} (${rigFile}) is not usable:\n${down.map((d) => `  ${d.role}: ${d.error}`).join('\n')}`);
        return EXIT.rigUnavailable;
      }
    } catch (e) {
      if (e instanceof RigFileError) throw new UsageError(e.message);
      if (e instanceof RigUnavailableError) {
        io.err(`sehil run: rig unavailable: ${e.message}`);
        return EXIT.rigUnavailable;
      }
      throw e;
    }

    const abort = new AbortController();
    const onSigint = () => {
      io.err('\nsehil run: interrupted — finishing the current test\'s artifacts and writing the report (Ctrl-C again to quit now)');
      process.off('SIGINT', onSigint);
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    let outcome;
    try {
      io.err(`sehil run: rig ${rigFile}${values.suite.length ? `, suites ${values.suite.join(', ')}` : ''}${shard ? `, shard ${shard.index}/${shard.count}` : ''} → ${values.out}/`);
      outcome = await runSuites({ rigFile, suites: values.suite, grep: values.grep, shard, outDir: values.out, progress, signal: abort.signal, askOperator: terminalOperator() });
    } finally {
      process.off('SIGINT', onSigint);
    }
    const { record } = outcome;
    for (const u of outcome.unhandled) io.err(`sehil run: ${u}`);
    if (values.json) {
      io.out(JSON.stringify({ ...record, reports: reportPaths(values.out, outcome.htmlReport), unhandled: outcome.unhandled }, null, 2));
    } else {
      io.out(summaryTable(record));
      const where = reportPaths(values.out, outcome.htmlReport);
      io.out(`\nreports: ${where.dir}/  (run.json, junit.xml, allure-results/, tests/<suite>/<case>/*.pcapng + .zigbee_pc_keys)`);
      if (where.html) io.out(`html:    ${where.html}`);
    }
    if (outcome.interrupted) return 130;
    return record.counts.failed > 0 || outcome.unhandled.length > 0 ? EXIT.failed : EXIT.ok;
  },
};

/** Reads the operator's answer from the terminal; none without one (CI): the prompt then times out. */
function terminalOperator(): ((text: string, timeoutS: number) => Promise<string | undefined>) | undefined {
  if (!process.stdin.isTTY) return undefined;
  return (_text, timeoutS) => new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const t = setTimeout(() => { rl.close(); resolve(undefined); }, timeoutS * 1000);
    rl.question('      > ', (answer) => {
      clearTimeout(t);
      rl.close();
      resolve(answer);
    });
  });
}

function reportPaths(out: string, html: string | undefined): { dir: string; html?: string } {
  // Relative to where the user stands, unless that climbs out of it (--out /tmp/…): then absolute.
  const shown = (p: string) => { const r = path.relative(process.cwd(), p); return r.startsWith('..') ? path.resolve(p) : r; };
  return { dir: out.replace(/\/+$/, ''), html: html ? shown(html) : undefined };
}
