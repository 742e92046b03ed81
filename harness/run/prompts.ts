// Operator prompts for a DUT without a control channel ("put the meter into joining mode now").
// Tests run in vitest workers, which have no terminal: a prompt is a file in the run's prompt
// directory plus a progress event; `sehil run` shows it and, when it has a terminal, writes the
// operator's answer next to it. In CI nobody answers, and the wait fails at its deadline with a
// message that says so.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeviceTimeoutError } from '../rig/roles.ts';
import { emitProgress } from './progress.ts';

export interface OperatorPrompt {
  id: string;
  text: string;
  timeoutS: number;
}

/** Where prompts and answers live: the run sets SEHIL_PROMPT_DIR for its workers. */
export function promptDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SEHIL_PROMPT_DIR ?? path.join(os.tmpdir(), `sehil-prompts-${process.ppid}`);
}

let counter = 0;

/**
 * Asks the operator and waits (wall clock: a person answers) for the answer text; '' means
 * Enter alone. Rejects with DeviceTimeoutError naming the step when nobody answers in time.
 */
export async function askOperator(o: { role: string; step: string; text: string; timeoutS: number; dir?: string; pollMs?: number }): Promise<string> {
  const dir = o.dir ?? promptDir();
  mkdirSync(dir, { recursive: true });
  const id = `${process.pid}-${++counter}`;
  const prompt: OperatorPrompt = { id, text: o.text, timeoutS: o.timeoutS };
  writeFileSync(path.join(dir, `${id}.prompt.json`), JSON.stringify(prompt));
  emitProgress({ kind: 'prompt', id, text: o.text, timeoutS: o.timeoutS });
  const answerFile = path.join(dir, `${id}.answer`);
  const deadline = Date.now() + o.timeoutS * 1000;
  try {
    while (Date.now() < deadline) {
      if (existsSync(answerFile)) return readFileSync(answerFile, 'utf8').trim();
      await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
    }
    const err = new DeviceTimeoutError(o.role, o.step, 'operator confirmation', o.timeoutS * 1000);
    err.message += ' — nobody answered the prompt (without a terminal, as in CI, no operator can: use a DUT with a control channel there)';
    throw err;
  } finally {
    rmSync(path.join(dir, `${id}.prompt.json`), { force: true });
    rmSync(answerFile, { force: true });
  }
}

/** The run's side: records the operator's answer to a prompt. */
export function answerPrompt(dir: string, id: string, answer: string): void {
  writeFileSync(path.join(dir, `${id}.answer`), answer);
}
