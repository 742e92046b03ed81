// The HTML report, end to end: a fixture suite (fixtures/report-sample) runs through vitest's
// programmatic API with the allure-vitest reporter, as `sehil run` does; writeHtmlReport turns
// its Allure results into HTML; real Chromium opens the report and must show every test with its
// status, the failure message, and the passing test's pcapng attachment (which must download
// byte for byte), without a single request leaving the machine.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startVitest } from 'vitest/node';
import { readCapture } from '../../harness/capture/read.ts';
import { HtmlReportError, reportName, writeHtmlReport, type HtmlReport } from '../../harness/run/html-report.ts';
import {
  chromiumAvailable,
  launchChromium,
  serveDir,
  warnIfChromiumMissing,
  watchPage,
  withSkipReason,
  type PageWatch,
} from '../helpers/chromium.ts';
import { SAMPLE } from './fixtures/report-sample/names.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtureDir = fileURLToPath(new URL('./fixtures/report-sample/', import.meta.url));
const NAME = reportName('report-sample rig');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-html-report-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The error writeHtmlReport rejects with, or a failure when it resolves. */
async function reportError(p: Promise<unknown>): Promise<HtmlReportError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HtmlReportError);
  return e as HtmlReportError;
}

describe('writeHtmlReport input checks', () => {
  it('rejects a missing, a non-directory and an empty results dir with a typed error', async () => {
    const missing = path.join(tmp, 'no-such-results');
    const e1 = await reportError(writeHtmlReport({ resultsDir: missing, outDir: path.join(tmp, 'o1'), name: NAME }));
    expect(e1.code).toBe('results-missing');
    expect(e1.message).toContain(missing);

    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, '');
    expect((await reportError(writeHtmlReport({ resultsDir: file, outDir: path.join(tmp, 'o2'), name: NAME }))).code).toBe(
      'results-missing',
    );

    // What allure-vitest leaves when no test ran: no *-result.json.
    const empty = path.join(tmp, 'empty-results');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'environment.properties'), 'rig=sim\n');
    const e3 = await reportError(writeHtmlReport({ resultsDir: empty, outDir: path.join(tmp, 'o3'), name: NAME }));
    expect(e3.code).toBe('results-empty');
    expect(e3.message).toMatch(/no test results/);

    const junk = path.join(tmp, 'junk-results');
    fs.mkdirSync(junk);
    fs.writeFileSync(path.join(junk, '0000-result.json'), '{ not json');
    // Allure names the file it cannot read, through node:console (not vitest's console): on stderr.
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write');
    try {
      expect((await reportError(writeHtmlReport({ resultsDir: junk, outDir: path.join(tmp, 'o4'), name: NAME }))).code).toBe(
        'results-unreadable',
      );
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('0000-result.json');
      expect(stdout).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
    for (const o of ['o1', 'o2', 'o3', 'o4']) expect(fs.existsSync(path.join(tmp, o))).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 30_000);
});

interface FixtureRun {
  resultsDir: string;
  states: Record<string, string | undefined>;
}

/** Runs the fixture suite the way `sehil run` runs suites, writing Allure results to `resultsDir`. */
async function runFixtureSuite(resultsDir: string): Promise<FixtureRun> {
  const exitCode = process.exitCode;
  const vitest = await startVitest(
    'test',
    [],
    {
      config: false, // not the repo's vitest.config.ts and its projects
      root: repoRoot,
      dir: fixtureDir,
      include: ['**/*.suite.ts'],
      watch: false,
      // The reporter adds allure-vitest/setup to setupFiles itself (allure-vitest 3).
      reporters: [['allure-vitest/reporter', { resultsDir }]],
    },
    { cacheDir: path.join(tmp, 'vite-cache') }, // not <root>/node_modules/.vite
  );
  await vitest.close();
  process.exitCode = exitCode; // startVitest sets 1 for the deliberately failing test
  const states: Record<string, string | undefined> = {};
  for (const mod of vitest.state.getTestModules()) {
    for (const t of mod.children.allTests()) states[t.name] = t.result().state;
  }
  return { resultsDir, states };
}

describe("the fixture suite's HTML report", () => {
  let run: FixtureRun;
  let single: HtmlReport;
  let dir: HtmlReport;
  let stdoutWrites: string[];
  let pcapng: Buffer;
  let browser: Browser | undefined;
  let launching: Promise<Browser> | undefined;

  beforeAll(async () => {
    warnIfChromiumMissing();
    // Chromium starts while the fixture runs; afterAll closes it even if what follows fails.
    launching = chromiumAvailable ? launchChromium().then((b) => (browser = b)) : undefined;
    launching?.catch(() => {}); // awaited below; do not let it go unhandled meanwhile
    run = await runFixtureSuite(path.join(tmp, 'run', 'allure-results'));
    const attached = fs.readdirSync(run.resultsDir).filter((f) => f.endsWith('.pcapng'));
    expect(attached, 'the fixture attached one pcapng').toHaveLength(1);
    pcapng = fs.readFileSync(path.join(run.resultsDir, attached[0]));

    const spy = vi.spyOn(process.stdout, 'write');
    try {
      single = await writeHtmlReport({ resultsDir: run.resultsDir, outDir: path.join(tmp, 'run', 'html'), name: NAME });
      dir = await writeHtmlReport({
        resultsDir: run.resultsDir,
        outDir: path.join(tmp, 'run', 'html-dir'),
        name: NAME,
        singleFile: false,
      });
      stdoutWrites = spy.mock.calls.map((c) => String(c[0]));
    } finally {
      spy.mockRestore();
    }
    await launching;
  }, 300_000);

  afterAll(async () => {
    await launching?.catch(() => undefined);
    await browser?.close();
  });

  it('ran the fixture: one test passed, one failed, one skipped', () => {
    expect(run.states).toEqual({ [SAMPLE.passed]: 'passed', [SAMPLE.failed]: 'failed', [SAMPLE.skipped]: 'skipped' });
  });

  it('writes a self-contained index.html of 3 tests, offline, and nothing on stdout', () => {
    expect(single).toEqual({ indexHtml: path.join(tmp, 'run', 'html', 'index.html'), tests: 3, singleFile: true });
    expect(fs.readdirSync(path.dirname(single.indexHtml)).sort()).not.toContain('data');
    const html = fs.readFileSync(single.indexHtml, 'utf8');
    expect(html).toContain(`<title> ${NAME} </title>`);
    expect(html).not.toContain('googletagmanager');
    expect(html).toContain('http-equiv="Content-Security-Policy"');

    expect(dir.tests).toBe(3);
    expect(dir.singleFile).toBe(false);
    expect(fs.readdirSync(path.dirname(dir.indexHtml))).toContain('data');
    expect(fs.readFileSync(dir.indexHtml, 'utf8')).not.toContain('googletagmanager');

    expect(stdoutWrites).toEqual([]);
  });

  it('replaces an earlier report but never a directory that holds something else', async () => {
    const again = await writeHtmlReport({ resultsDir: run.resultsDir, outDir: path.dirname(dir.indexHtml), name: NAME });
    expect(again.singleFile).toBe(true);
    expect(fs.readdirSync(path.dirname(again.indexHtml))).not.toContain('data'); // no stale files from the dir report

    const foreign = path.join(tmp, 'run', 'notes');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'keep.txt'), 'mine');
    const e = await reportError(writeHtmlReport({ resultsDir: run.resultsDir, outDir: foreign, name: NAME }));
    expect(e.code).toBe('output-not-empty');
    expect(fs.readdirSync(foreign)).toEqual(['keep.txt']);

    for (const outDir of [run.resultsDir, path.dirname(run.resultsDir)]) {
      const o = await reportError(writeHtmlReport({ resultsDir: run.resultsDir, outDir, name: NAME }));
      expect(o.code).toBe('output-overlaps-results');
    }
    expect(fs.readdirSync(run.resultsDir).filter((f) => f.endsWith('-result.json'))).toHaveLength(3);
    // Put the directory report back for the HTTP check below.
    dir = await writeHtmlReport({ resultsDir: run.resultsDir, outDir: path.dirname(dir.indexHtml), name: NAME, singleFile: false });
  }, 30_000);

  /** Asserts what a reader of the report must see, from the test list to the passing test's capture. */
  async function checkReport(page: Page, url: string, watch: PageWatch): Promise<void> {
    await page.goto(url);
    const leaf = (title: string) =>
      page.getByTestId('tree-leaf').filter({ has: page.getByTestId('tree-leaf-title').getByText(title, { exact: true }) });
    for (const [title, status] of [
      [SAMPLE.passed, 'passed'],
      [SAMPLE.failed, 'failed'],
      [SAMPLE.skipped, 'skipped'],
    ] as const) {
      await leaf(title).getByTestId(`tree-leaf-status-${status}`).waitFor({ timeout: 120_000 });
    }
    expect(await page.getByTestId('tree-leaf').count()).toBe(3);
    expect(await page.title()).toBe(NAME);

    // A test's page replaces the list (the default "base" layout); Back returns to it.
    await leaf(SAMPLE.failed).click();
    await page.getByText(SAMPLE.failure).first().waitFor({ timeout: 60_000 });
    await page.goBack();

    await leaf(SAMPLE.passed).click();
    await page.getByText(SAMPLE.pcapng, { exact: true }).waitFor({ timeout: 60_000 });
    const body = await page.locator('body').innerText();
    expect(body).toContain('application/vnd.tcpdump.pcap');
    expect(body).toContain(`${pcapng.length} B`);
    expect(body).toContain(SAMPLE.keys);
    expect(body).toContain(SAMPLE.spec);

    // The capture downloads from the report byte for byte (Allure names the file <id>.pcapng).
    const row = page.getByTestId('test-result-attachment').filter({ hasText: SAMPLE.pcapng });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), row.getByRole('button').last().click()]);
    expect(download.suggestedFilename()).toMatch(/\.pcapng$/);
    const bytes = fs.readFileSync(await download.path());
    expect(bytes.equals(pcapng)).toBe(true);
    const capture = readCapture(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    expect([capture.format, capture.packets.length]).toEqual(['pcapng', 1]);

    expect(watch.external, 'requests that left the machine').toEqual([]);
    // The app probes widgets/metrics.json, written only when a run recorded metrics: a 404 over HTTP.
    expect(watch.errors.filter((e) => !e.includes('/widgets/metrics.json'))).toEqual([]);
  }

  it.skipIf(!chromiumAvailable)(
    withSkipReason('Chromium shows each test with its status and the capture, single file from file://'),
    async () => {
      const page = await browser!.newPage();
      try {
        await checkReport(page, pathToFileURL(single.indexHtml).href, await watchPage(page));
      } finally {
        await page.close();
      }
    },
    300_000, // a loaded 2-core CI machine renders a 3.6 MB report slowly; a limit here only measures the machine
  );

  it.skipIf(!chromiumAvailable)(
    withSkipReason('Chromium shows the same from the directory report served over HTTP'),
    async () => {
      const server = await serveDir(path.dirname(dir.indexHtml));
      const page = await browser!.newPage();
      try {
        await checkReport(page, `${server.origin}/`, await watchPage(page, server.origin));
      } finally {
        await page.close();
        await server.close();
      }
    },
    300_000,
  );
});
