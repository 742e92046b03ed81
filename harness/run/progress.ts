// Progress events from a test worker to `sehil run`'s reporter. Workers only have the console
// channel back to the main process (vitest forwards console output per test as it happens), so an
// event is one console line with a marker the reporter recognises and never shows as-is.

export type ProgressEvent =
  | { kind: 'step'; name: string }
  | { kind: 'wait'; role: string; awaited: string; deadlineMs: number; clock: 'virtual' | 'real' }
  | { kind: 'frames'; count: number }
  | { kind: 'prompt'; id: string; text: string; timeoutS: number };

/** U+241E SYMBOL FOR RECORD SEPARATOR: cannot be confused with a test's own log. */
export const PROGRESS_MARKER = '\u241esehil-progress ';

export function emitProgress(ev: ProgressEvent): void {
  console.info(PROGRESS_MARKER + JSON.stringify(ev));
}

/** The events in a console chunk (several lines may arrive together); undefined when it carries none. */
export function parseProgress(content: string): ProgressEvent[] | undefined {
  if (!content.includes(PROGRESS_MARKER)) return undefined;
  const out: ProgressEvent[] = [];
  for (const line of content.split('\n')) {
    const at = line.indexOf(PROGRESS_MARKER);
    if (at < 0) continue;
    try {
      out.push(JSON.parse(line.slice(at + PROGRESS_MARKER.length)) as ProgressEvent);
    } catch {
      // a truncated line is only progress lost
    }
  }
  return out;
}
