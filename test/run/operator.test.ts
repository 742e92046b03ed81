// A DUT without a control channel: the operator driver turns each step into a prompt. Answered,
// the step goes on; unanswered (CI: no terminal), it fails at its deadline saying so.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { askOperator } from '../../harness/run/prompts.ts';
import { PROGRESS_MARKER } from '../../harness/run/progress.ts';
import { RunReporter, type RunRecord } from '../../harness/run/run-reporter.ts';
import { DeviceTimeoutError } from '../../harness/rig/roles.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sehil-operator-'));

describe('operator prompts', () => {
  it('the run shows the prompt and the answer it reads reaches the waiting step', async () => {
    const dir = tmp();
    const record: RunRecord = { tool: 'sehil', version: '0', rig: { name: 'x', file: 'x' }, startedAt: '', status: 'running', counts: { passed: 0, failed: 0, skipped: 0, total: 0 }, cases: [] };
    const shown: string[] = [];
    const reporter = new RunReporter({ outDir: dir, record, progress: (l) => shown.push(l), promptDir: dir, askOperator: async () => 'n' });
    const answer = askOperator({ role: 'dut', step: 'join', text: 'Start joining on the DUT now', timeoutS: 10, dir, pollMs: 20 });
    await expect.poll(() => fs.readdirSync(dir).find((f) => f.endsWith('.prompt.json'))).toBeDefined();
    const id = fs.readdirSync(dir).find((f) => f.endsWith('.prompt.json'))!.replace('.prompt.json', '');
    reporter.onUserConsoleLog({ content: `${PROGRESS_MARKER}${JSON.stringify({ kind: 'prompt', id, text: 'Start joining on the DUT now', timeoutS: 10 })}\n` });
    expect(await answer).toBe('n');
    expect(shown.join('\n')).toMatch(/>>> OPERATOR: Start joining on the DUT now/);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(id))).toEqual([]); // prompt and answer cleaned up
  });

  it('unanswered, the wait fails at its deadline naming role, step and that nobody answered', async () => {
    const err = await askOperator({ role: 'dut', step: 'join', text: 'x', timeoutS: 0.3, dir: tmp(), pollMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceTimeoutError);
    expect((err as Error).message).toMatch(/^dut: join: no operator confirmation within 300 ms — nobody answered the prompt/);
  });

  it('sehil run with an operator DUT and no terminal: the case fails clearly, the prompt was shown, exit 1', () => {
    const rig = path.join(tmp(), 'operator.yaml');
    fs.writeFileSync(rig, fs.readFileSync(path.join(ROOT, 'rigs/sim.yaml'), 'utf8')
      .replace('clock: virtual', 'clock: real')
      .replace(/dut:\n    driver: sim\n    profile: compliant/, 'dut:\n    driver: operator\n    promptTimeoutS: 2'));
    const out = path.join(tmp(), 'out');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/sehil.mjs'), 'run', '--rig', rig, '--suite', 'install-code', '--grep', 'IC-01', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/>>> OPERATOR: Start joining on the DUT 000d6f000b123456 now/);
    expect(r.stderr).toMatch(/no terminal to answer from/);
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')) as RunRecord;
    expect(run.cases.find((c) => c.id === 'IC-01')?.messages.join('\n')).toMatch(/dut: join: no operator confirmation within 2000 ms — nobody answered/);
  });
});
