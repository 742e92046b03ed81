// A child process (sehil emulate, sehil run) under test: its output collected, waits for a line
// or its exit with deadlines, and a stop that cannot hang.
import type { ChildProcess } from 'node:child_process';

/** Collects a child's output and settles on a line matching `re`, exit, or the deadline. */
export function watch(child: ChildProcess) {
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const until = (what: 'stdout' | 'stderr', re: RegExp, ms: number) => new Promise<RegExpMatchArray>((resolve, reject) => {
    const poll = setInterval(() => {
      const m = re.exec(out[what]);
      if (m) { done(); resolve(m); }
    }, 20);
    const t = setTimeout(() => { done(); reject(new Error(`no ${re} on ${what} within ${ms} ms; stderr:\n${out.stderr}`)); }, ms);
    void exited.then((e) => { if (!re.test(out[what])) { done(); reject(new Error(`exited (${e.code ?? e.signal}) before ${re}; stderr:\n${out.stderr}`)); } });
    const done = () => { clearInterval(poll); clearTimeout(t); };
  });
  const exit = (ms: number) => Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${ms} ms; stderr:\n${out.stderr}`)), ms))]);
  return { out, until, exit };
}

/** SIGTERM, then SIGKILL when it overstays; resolves once the child is gone. */
export async function stop(child: ChildProcess | undefined, ms = 5000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await gone;
  clearTimeout(t);
}
