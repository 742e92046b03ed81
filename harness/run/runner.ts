// Runs conformance suites through vitest's Node API on one rig and writes the report directory:
//   run.json            machine-readable record, rewritten after every test
//   junit.xml           for CI
//   allure-results/     Allure results (steps, spec labels and links, attachments)
//   html/index.html     Allure 3 HTML report (no Java)
//   tests/<suite>/<case>/  the test's pcapng, zigbee_pc_keys, tshark command, decoded trace, transcripts
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRigFile } from '../rig/load.ts';
import { openRig } from '../rig/registry.ts';
import { RunReporter, type RunRecord } from './run-reporter.ts';

/** The package root: suites ship with the kit, wherever it is run from. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SUITES_DIR = path.join(PACKAGE_ROOT, 'suites');

export interface RunOptions {
  rigFile: string;
  suites: string[];
  grep?: string;
  shard?: { index: number; count: number };
  outDir: string;
  /** Selftest: replace the simulated roles' profiles. */
  profiles?: { tc?: string; dut?: string };
  progress: ((line: string) => void) | null;
  /** Skip the HTML report (selftest runs many small runs). */
  html?: boolean;
  /** Answers operator prompts (the CLI reads its terminal); absent: nobody answers. */
  askOperator?: (text: string, timeoutS: number) => Promise<string | undefined>;
  /** Stop the run when this signal aborts (SIGINT). */
  signal?: AbortSignal;
}

export interface RunOutcome {
  record: RunRecord;
  interrupted: boolean;
  /** Errors outside any test (a suite file that does not load, say). */
  unhandled: string[];
  htmlReport?: string;
}

/** Suite folders under suites/ (each holds *.test.ts files). */
export function listSuites(): string[] {
  return readdirSync(SUITES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && readdirSync(path.join(SUITES_DIR, d.name)).some((f) => f.endsWith('.test.ts')))
    .map((d) => d.name)
    .sort();
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Removes the previous run's outputs (only those: the directory may hold other things). */
export function cleanReportDir(outDir: string): void {
  for (const p of ['allure-results', 'tests', 'html', 'junit.xml', 'run.json', '.prompts']) rmSync(path.join(outDir, p), { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
}

/**
 * Checks the rig opens and every role answers before any test runs, so a missing dongle is
 * exit code 3 with one clear message rather than every test failing the same way.
 */
export async function preflightRig(rigFile: string): Promise<{ name: string; probes: Awaited<ReturnType<Awaited<ReturnType<typeof openRig>>['probe']>> }> {
  const config = loadRigFile(rigFile);
  const rig = await openRig(config, rigFile);
  try {
    return { name: config.name, probes: await rig.probe() };
  } finally {
    await rig.close();
  }
}

export async function runSuites(o: RunOptions): Promise<RunOutcome> {
  const config = loadRigFile(o.rigFile);
  const outDir = path.resolve(o.outDir);
  cleanReportDir(outDir);
  const record: RunRecord = {
    tool: 'sehil', version: packageVersion(), rig: { name: config.name, file: o.rigFile },
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : undefined,
    startedAt: new Date().toISOString(), status: 'running', counts: { passed: 0, failed: 0, skipped: 0, total: 0 }, cases: [],
  };
  const promptsAt = path.join(outDir, '.prompts');
  process.env.SEHIL_PROMPT_DIR = promptsAt; // the workers inherit it (harness/run/prompts.ts)
  const reporter = new RunReporter({ outDir, record, progress: o.progress, promptDir: promptsAt, askOperator: o.askOperator });
  reporter.flush();
  const allSim = Object.values(config.roles).every((r) => r.driver === 'sim');
  const include = o.suites.length ? o.suites.map((s) => `suites/${s}/**/*.test.ts`) : ['suites/**/*.test.ts'];
  const savedExit = process.exitCode;
  delete process.env.ALLURE_TEST_MODE; // set, allure-vitest would write no results at all
  // Loaded here, not at the top: vitest takes seconds to load, and every sehil command imports this module.
  const { createVitest } = await import('vitest/node');
  const vitest = await createVitest('test', {
    config: false,
    root: PACKAGE_ROOT,
    include,
    watch: false,
    // One rig, one air: a real bench runs its files one after another; simulated worlds are per worker.
    fileParallelism: allSim,
    // Suite files share one module graph per worker: the stack, codecs and crypto load once.
    isolate: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    testNamePattern: o.grep,
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : undefined,
    reporters: [
      reporter,
      ['junit', { suiteName: `sehil ${config.name}` }],
      ['allure-vitest/reporter', { resultsDir: path.join(outDir, 'allure-results') }],
    ],
    outputFile: { junit: path.join(outDir, 'junit.xml') },
    provide: { sehilRig: path.resolve(o.rigFile), sehilOut: outDir, sehilProfiles: o.profiles ?? {} },
    passWithNoTests: true,
  } as never, undefined, { stdout: process.stderr, stderr: process.stderr }); // stdout belongs to the CLI (--json)
  let interrupted = false;
  let force: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    interrupted = true;
    reporter.flush('interrupted'); // on disk before anything else can go wrong
    void vitest.cancelCurrentRun('keyboard-input');
    // A test inside a long wait would run on: stop the workers after a grace period. Captures are
    // flushed per frame and finished tests' results are on disk already.
    force = setTimeout(() => void vitest.close(), 2_000);
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await vitest.start([]);
  } catch (e) {
    // vitest throws when a filter matches no file; every other error is the caller's to see
    if (!/No test files found/i.test(String((e as Error)?.message))) throw e;
  }
  const unhandled = vitest.state.getUnhandledErrors().map((e) => String((e as Error)?.message ?? e));
  const failedFiles = vitest.state.getFiles().filter((f) => f.result?.state === 'fail' && f.result.errors?.length);
  for (const f of failedFiles) for (const e of f.result!.errors!) unhandled.push(`${path.relative(PACKAGE_ROOT, f.filepath)}: ${e.message}`);
  clearTimeout(force);
  await vitest.close();
  o.signal?.removeEventListener('abort', onAbort);
  process.exitCode = savedExit; // the CLI decides the exit code
  interrupted ||= o.signal?.aborted ?? false;
  reporter.flush(interrupted ? 'interrupted' : record.cases.some((c) => c.state === 'failed') || unhandled.length ? 'failed' : 'passed');
  let htmlReport: string | undefined;
  if (o.html !== false && existsSync(path.join(outDir, 'allure-results'))) {
    try {
      const { writeHtmlReport } = await import('./html-report.ts');
      htmlReport = (await writeHtmlReport({ resultsDir: path.join(outDir, 'allure-results'), outDir: path.join(outDir, 'html'), name: `sehil — ${config.name}` })).indexHtml;
    } catch (e) {
      // A run that ran no test (a --grep that matched nothing) has nothing to show: not an error.
      const empty = e instanceof Error && (e as { code?: string }).code === 'results-empty';
      if (!empty) unhandled.push(`HTML report not written: ${(e as Error).message}`);
    }
  }
  return { record, interrupted, unhandled, htmlReport };
}
