// The HTML side of `sehil run`: turns the Allure results a run wrote (allure-vitest) into an
// Allure 3 "Awesome" report, without Java and without the network.
//
// It drives the same library the `allure awesome` command does (@allurereport/core's
// AllureReport with @allurereport/plugin-awesome), loaded lazily so the CLI starts fast. Two
// things are changed on the way out, because a lab report must not phone home when opened:
// the Google Analytics tag the template always emits is removed, and a Content-Security-Policy
// that allows only the report itself (data:/blob:/same origin) is put in its <head>.
//
// By default the report is one self-contained index.html (opens from file://, mails as one
// file). Past SINGLE_FILE_LIMIT_BYTES of results it is a directory instead, which must be served
// over HTTP (`npx allure open DIR`): the single-file writer holds the whole report in one string
// and calls process.exit(1) when that string grows past V8's limit.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { AwesomePluginOptions } from '@allurereport/plugin-awesome';

export type HtmlReportErrorCode =
  | 'results-missing'
  | 'results-empty'
  | 'results-unreadable'
  | 'output-overlaps-results'
  | 'output-not-empty'
  | 'too-large-for-single-file'
  | 'generate-failed';

/** Why no report was written; `message` says what to do about it. */
export class HtmlReportError extends Error {
  override name = 'HtmlReportError';
  constructor(
    readonly code: HtmlReportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HtmlReportOptions {
  /** The allure-results directory of a run (allure-vitest's `resultsDir`). */
  resultsDir: string;
  /**
   * Where the report goes: created if missing, replaced if it holds an earlier report
   * (an index.html), refused if it holds anything else.
   */
  outDir: string;
  /** Title shown in the report and the browser tab; see reportName(). */
  name: string;
  /**
   * true: one self-contained index.html; false: index.html + assets + data/ (serve it over HTTP);
   * 'auto' (default): single file unless the results exceed SINGLE_FILE_LIMIT_BYTES.
   */
  singleFile?: boolean | 'auto';
}

export interface HtmlReport {
  /** Absolute path of the report's index.html. */
  indexHtml: string;
  /** Test results in the report (retries not counted). */
  tests: number;
  /** Whether indexHtml is self-contained (opens from file://) or needs its directory served. */
  singleFile: boolean;
}

/** 'auto' switches to a directory report above this many bytes of results (captures included). */
export const SINGLE_FILE_LIMIT_BYTES = 64 * 1024 * 1024;
/** singleFile: true is refused above this: base64 of it comes near V8's maximum string length. */
export const SINGLE_FILE_MAX_BYTES = 256 * 1024 * 1024;

/** The report title for a rig, e.g. "sehil — bench-2". */
export function reportName(rigName: string): string {
  return `sehil — ${rigName}`;
}

/** Only the report itself: its inline/data: code, its own files, and blobs it makes for downloads. */
const CSP = [
  "default-src 'self' data: blob:",
  "script-src 'self' data: blob: 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' data: blob: 'unsafe-inline'",
  "connect-src 'self' data: blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/** The `{{#if analyticsEnable}}` block of the Awesome template (plugin-awesome generators.js). */
const ANALYTICS =
  /<script async src="https:\/\/www\.googletagmanager\.com\/gtag\/js[^"]*"><\/script>\s*<script>[^<]*?gtag\('config'[^<]*<\/script>/;

/**
 * Writes the HTML report of the Allure results in `resultsDir` to `outDir`. Prints nothing on
 * stdout; Allure's own diagnostics (a result file it cannot parse) go to stderr.
 */
export async function writeHtmlReport(opts: HtmlReportOptions): Promise<HtmlReport> {
  const resultsDir = path.resolve(opts.resultsDir);
  const outDir = path.resolve(opts.outDir);
  if (typeof opts.name !== 'string' || opts.name.trim() === '') {
    throw new TypeError(`"name" expected a non-empty string, got ${JSON.stringify(opts.name)}`);
  }
  const { results, bytes } = await scanResults(resultsDir);
  if (isInside(outDir, resultsDir) || isInside(resultsDir, outDir)) {
    throw new HtmlReportError(
      'output-overlaps-results',
      `report directory ${outDir} and results directory ${resultsDir} overlap: put the report beside the results, e.g. ${path.join(path.dirname(resultsDir), 'html')}`,
    );
  }
  await checkOutDir(outDir);
  const singleFile = chooseSingleFile(opts.singleFile ?? 'auto', bytes);

  await fs.mkdir(path.dirname(outDir), { recursive: true });
  const staging = await fs.mkdtemp(`${outDir}.tmp-`);
  try {
    const tests = await generate(resultsDir, staging, opts.name, singleFile);
    if (tests === 0) {
      throw new HtmlReportError(
        'results-unreadable',
        `none of the ${results} result files in ${resultsDir} could be read as an Allure test result`,
      );
    }
    await harden(path.join(staging, 'index.html'));
    await replaceDir(staging, outDir);
    return { indexHtml: path.join(outDir, 'index.html'), tests, singleFile };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Counts `*-result.json` files and adds up the bytes the report will carry. */
async function scanResults(dir: string): Promise<{ results: number; bytes: number }> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code})`;
    throw new HtmlReportError('results-missing', `Allure results directory ${dir} ${why}: run the suites first (sehil run) or pass the run's allure-results directory`, { cause: e });
  }
  let results = 0;
  let bytes = 0;
  for (const e of entries) {
    if (!e.isFile()) continue;
    if (e.name.endsWith('-result.json')) results++;
    bytes += (await fs.stat(path.join(dir, e.name))).size;
  }
  if (results === 0) {
    throw new HtmlReportError('results-empty', `Allure results directory ${dir} holds no test results (*-result.json): did the run select any test, and was the allure-vitest reporter configured with this resultsDir?`);
  }
  return { results, bytes };
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function checkOutDir(outDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new HtmlReportError('output-not-empty', `report directory ${outDir} cannot be used: ${(e as Error).message}`, { cause: e });
  }
  if (entries.length > 0 && !entries.includes('index.html')) {
    throw new HtmlReportError('output-not-empty', `report directory ${outDir} is not empty and holds no earlier report (index.html): choose another directory; nothing was overwritten`);
  }
}

function chooseSingleFile(want: boolean | 'auto', bytes: number): boolean {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (want === 'auto') return bytes <= SINGLE_FILE_LIMIT_BYTES;
  if (typeof want !== 'boolean') throw new TypeError(`"singleFile" expected true, false or 'auto', got ${JSON.stringify(want)}`);
  if (want && bytes > SINGLE_FILE_MAX_BYTES) {
    throw new HtmlReportError('too-large-for-single-file', `results are ${mib(bytes)}, more than a single-file report can hold (${mib(SINGLE_FILE_MAX_BYTES)}): write a directory report (singleFile: false or 'auto')`);
  }
  return want;
}

/** Runs AllureReport with the Awesome plugin into `output`; returns the number of test results. */
async function generate(resultsDir: string, output: string, name: string, singleFile: boolean): Promise<number> {
  const [{ AllureReport, resolveConfig }, { default: AwesomePlugin }] = await Promise.all([
    import('@allurereport/core'),
    import('@allurereport/plugin-awesome'),
  ]);
  // `plugins: {}` yields no plugin at all; the CLI's defaults would add the "agent" plugin too.
  const config = await resolveConfig({ name, output }, { plugins: {} });
  const options: AwesomePluginOptions = { singleFile, reportName: name, groupBy: ['parentSuite', 'suite', 'subSuite'] };
  config.plugins = [{ id: 'awesome', enabled: true, options, plugin: new AwesomePlugin(options) }];
  try {
    const report = new AllureReport(config);
    await report.start();
    await report.readDirectory(resultsDir);
    await report.done();
    const tests = (await report.store.allTestResults({ includeRetries: false })).length;
    // AllureReport logs a failing plugin on stderr and carries on, so check what it left.
    await fs.access(path.join(output, 'index.html'));
    return tests;
  } catch (e) {
    if (e instanceof HtmlReportError) throw e;
    throw new HtmlReportError('generate-failed', `Allure could not generate the report from ${resultsDir}: ${(e as Error).message}`, { cause: e });
  }
}

/** Removes the analytics tag and pins the report to its own content. */
async function harden(indexHtml: string): Promise<void> {
  const html = await fs.readFile(indexHtml, 'utf8');
  const out = html
    .replace(ANALYTICS, '')
    .replace(/<meta charset="utf-8">/i, (m) => `${m}\n    <meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  if (out.includes('googletagmanager.com') || !out.includes('Content-Security-Policy')) {
    throw new HtmlReportError('generate-failed', `the Allure template changed: could not remove its analytics tag or add the CSP to ${indexHtml}; check html-report.ts against the installed @allurereport/plugin-awesome`);
  }
  await fs.writeFile(indexHtml, out);
}

/** Puts `staging` at `outDir`, replacing an earlier report there (checked by checkOutDir). */
async function replaceDir(staging: string, outDir: string): Promise<void> {
  const old = `${staging}.old`;
  let moved = false;
  try {
    await fs.rename(outDir, old);
    moved = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    await fs.rename(staging, outDir);
  } catch (e) {
    if (moved) await fs.rename(old, outDir); // put the earlier report back
    throw e;
  }
  if (moved) await fs.rm(old, { recursive: true, force: true });
}
