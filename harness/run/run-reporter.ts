// `sehil run`'s own vitest reporter: live progress on stderr (test, step, waits with their
// deadline), run.json rewritten atomically after every test (so a killed run leaves a readable
// record of what finished), and the closing summary table.
import { renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import { parseProgress } from './progress.ts';
import { answerPrompt } from './prompts.ts';
import { testArtifactDir } from './artifact-paths.ts';

export type CaseState = 'passed' | 'failed' | 'skipped' | 'running';

export interface CaseRecord {
  id: string;
  title: string;
  suite: string;
  file: string;
  state: CaseState;
  durationMs?: number;
  /** Failure messages, or the skip reason. */
  messages: string[];
  /** Per-test artifacts (capture, keys, trace, transcripts), relative to the report directory. */
  artifacts?: string;
}

export interface RunRecord {
  tool: 'sehil';
  version: string;
  rig: { name: string; file: string };
  shard?: string;
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'passed' | 'failed' | 'interrupted';
  counts: { passed: number; failed: number; skipped: number; total: number };
  cases: CaseRecord[];
}

export interface RunReporterOptions {
  outDir: string;
  record: RunRecord;
  /** Where progress goes (stderr); null for silence. */
  progress: ((line: string) => void) | null;
  /** Shows an operator prompt and returns the answer ('' for Enter), or undefined when no one can answer (no terminal). */
  askOperator?: (text: string, timeoutS: number) => Promise<string | undefined>;
  /** Where the workers' prompts and their answers live (harness/run/prompts.ts). */
  promptDir?: string;
}

function splitName(name: string): { id: string; title: string } {
  const m = /^([A-Z][A-Z0-9]*-\d+[a-z]?)\s+(.*)$/.exec(name); // IC-01, CB1-01, …
  return m ? { id: m[1], title: m[2] } : { id: name, title: name };
}

export class RunReporter implements Reporter {
  private readonly byTest = new Map<string, CaseRecord>();
  private vitest: Vitest | undefined;
  constructor(private readonly o: RunReporterOptions) {}

  get record(): RunRecord {
    return this.o.record;
  }

  private say(line: string): void {
    this.o.progress?.(line);
  }

  onTestModuleStart(m: TestModule): void {
    this.say(`▶ ${path.relative(process.cwd(), m.moduleId)}`);
  }

  onTestCaseReady(t: TestCase): void {
    this.caseOf(t.id, t);
    this.flush();
  }

  /** The record of a test, created (and its header printed) the first time anything is heard of it. */
  private caseOf(taskId: string, t?: TestCase): CaseRecord | undefined {
    let rec = this.byTest.get(taskId);
    if (rec || !t) return rec;
    const { id, title } = splitName(t.name);
    const suite = path.basename(path.dirname(t.module.moduleId));
    rec = { id, title, suite, file: path.relative(process.cwd(), t.module.moduleId), state: 'running', messages: [] };
    this.byTest.set(taskId, rec);
    this.o.record.cases.push(rec);
    this.say(`  ${id}  ${title}`);
    return rec;
  }

  onInit(ctx: Vitest): void {
    this.vitest = ctx;
  }

  onUserConsoleLog(log: { content: string; taskId?: string }): void {
    const events = parseProgress(log.content);
    if (!events) return; // a suite's own logs stay in its transcript
    // Console output can overtake onTestCaseReady: name the test before its first step.
    const entity = log.taskId ? this.vitest?.state.getReportedEntityById(log.taskId) : undefined;
    if (log.taskId && entity?.type === 'test') this.caseOf(log.taskId, entity);
    for (const ev of events) {
      if (ev.kind === 'step') this.say(`      · ${ev.name}`);
      else if (ev.kind === 'wait') this.say(`        waiting for ${ev.role}: ${ev.awaited} (deadline ${ev.deadlineMs / 1000} s, ${ev.clock} time)`);
      else if (ev.kind === 'prompt') this.prompt(ev.id, ev.text, ev.timeoutS);
    }
  }

  private prompt(id: string, text: string, timeoutS: number): void {
    this.say(`\n  >>> OPERATOR: ${text}\n      press Enter when done (type n and Enter if it did not work) — ${timeoutS} s`);
    const ask = this.o.askOperator;
    if (!ask || !this.o.promptDir) {
      this.say('      (no terminal to answer from: the test fails at the deadline)');
      return;
    }
    const dir = this.o.promptDir;
    void ask(text, timeoutS).then((answer) => {
      if (answer !== undefined) answerPrompt(dir, id, answer);
      else this.say('      (no terminal to answer from: the test fails at the deadline)');
    });
  }

  onTestCaseResult(t: TestCase): void {
    const rec = this.byTest.get(t.id);
    if (!rec) return;
    const r = t.result();
    rec.state = r.state === 'pending' ? 'skipped' : r.state;
    rec.durationMs = t.diagnostic()?.duration;
    if (r.state === 'failed') rec.messages = (r.errors ?? []).map((e) => e.message ?? String(e));
    else if (r.state === 'skipped') rec.messages = r.note ? [r.note] : [];
    rec.artifacts = testArtifactDir(rec.suite, t.name);
    this.flush(); // on disk before anyone reads the verdict line and acts on it (kills the run, say)
    const mark = rec.state === 'passed' ? '✓' : rec.state === 'failed' ? '✗' : '–';
    this.say(`  ${mark} ${rec.id} ${rec.state}${rec.durationMs !== undefined ? ` (${Math.round(rec.durationMs)} ms)` : ''}${rec.state === 'skipped' && rec.messages[0] ? `: ${rec.messages[0]}` : ''}`);
    if (rec.state === 'failed') for (const m of rec.messages) this.say(`      ${m.split('\n').join('\n      ')}`);
  }

  /** Counts and status from the cases so far; writes run.json via a rename so it is never half-written. */
  flush(final?: RunRecord['status']): void {
    const rec = this.o.record;
    if (final) {
      rec.status = final;
      rec.finishedAt = new Date().toISOString();
      for (const c of rec.cases) if (c.state === 'running') { c.state = 'failed'; c.messages.push('interrupted before it finished'); }
    }
    const done = rec.cases.filter((c) => c.state !== 'running');
    rec.counts = {
      passed: done.filter((c) => c.state === 'passed').length,
      failed: done.filter((c) => c.state === 'failed').length,
      skipped: done.filter((c) => c.state === 'skipped').length,
      total: rec.cases.length,
    };
    const file = path.join(this.o.outDir, 'run.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(rec, null, 2) + '\n');
    renameSync(`${file}.tmp`, file);
  }
}

/** The closing table: one row per case. */
export function summaryTable(rec: RunRecord): string {
  // Files run in parallel: sort by suite and case ID so the table reads like the catalog.
  const sorted = [...rec.cases].sort((a, b) => a.suite.localeCompare(b.suite) || a.id.localeCompare(b.id, 'en', { numeric: true }));
  const rows = sorted.map((c) => [c.state.toUpperCase(), c.id, c.title.length > 70 ? `${c.title.slice(0, 67)}…` : c.title, c.durationMs !== undefined ? `${(c.durationMs / 1000).toFixed(2)} s` : '']);
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), 4));
  const line = (r: string[]) => r.map((x, i) => (i === 3 ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  ').trimEnd();
  const c = rec.counts;
  return [...rows.map(line), '', `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped (rig ${rec.rig.name})`].join('\n');
}
