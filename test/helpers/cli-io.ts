import type { CliIO } from '../../harness/run/cli.ts';

/** A CliIO that collects what a command prints, for tests that call `main([...], io)`. */
export function captureIO(): CliIO & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out(t: string) { io.stdout += t + '\n'; }, err(t: string) { io.stderr += t + '\n'; } };
  return io;
}
