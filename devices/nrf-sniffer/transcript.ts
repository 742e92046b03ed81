// The serial transcript: every line both ways with the run-clock time it was seen, plus what
// happened to the port. It is the test's artifact (takeTranscript) and, written as JSON lines,
// a recording the replay source feeds back through the driver for regression tests.
//
// File format `sehil-serial-transcript` v1 (JSON lines, UTF-8):
//   line 1   {"format":"sehil-serial-transcript","version":1,"driver":"nrf-sniffer","location":"/dev/…","started":"<ISO 8601>"}
//   then one entry per line, in the order the driver saw them:
//   {"t":12.5,"dir":"tx","line":"sleep"}                  host → device (terminator not included)
//   {"t":13.1,"dir":"rx","line":"received: … time: 42"}  device → host, latin1 bytes as characters
//   {"t":13.2,"dir":"rx-overlong","line":"<first maxLine bytes>","maxLine":512}
//   {"t":13.2,"dir":"rx-nul","count":3}                  NUL bytes dropped from the stream
//   {"t":0.4,"dir":"open","line":"/dev/ttyACM0"}  {"t":…,"dir":"open-failed","line":"<reason>"}
//   {"t":…,"dir":"closed","line":"<reason>","disconnected":true}
//   {"t":…,"dir":"note","line":"<what the driver decided and why>"}
// `t` is ms on the run's clock. `probe: true` marks a tx the driver sent on its own (liveness).
import * as fs from 'node:fs';

export const TRANSCRIPT_FORMAT = 'sehil-serial-transcript';
export const TRANSCRIPT_VERSION = 1;

export type TranscriptEntry =
  | { t: number; dir: 'tx'; line: string; probe?: boolean }
  | { t: number; dir: 'rx'; line: string }
  | { t: number; dir: 'rx-overlong'; line: string; maxLine: number }
  | { t: number; dir: 'rx-nul'; count: number }
  | { t: number; dir: 'open'; line: string }
  | { t: number; dir: 'open-failed'; line: string }
  | { t: number; dir: 'closed'; line: string; disconnected: boolean }
  | { t: number; dir: 'note'; line: string };

export interface TranscriptHeader {
  format: typeof TRANSCRIPT_FORMAT;
  version: typeof TRANSCRIPT_VERSION;
  driver: string;
  location: string;
  started: string;
}

const ARROW: Record<TranscriptEntry['dir'], string> = {
  tx: '>', rx: '<', 'rx-overlong': '<!', 'rx-nul': '<!', open: '==', 'open-failed': '!!', closed: '!!', note: '--',
};

/** One entry as a human-readable artifact line: `  1234.567 ms > sleep`. */
export function formatEntry(e: TranscriptEntry): string {
  // Printable ASCII as is; anything else (garbage, NULs, latin1 bytes) as \xNN, so a line stays one line.
  const text = (s: string) => s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  let body: string;
  switch (e.dir) {
    case 'rx-overlong': body = `line longer than ${e.maxLine} bytes cut: ${text(e.line.slice(0, 64))}…`; break;
    case 'rx-nul': body = `${e.count} NUL byte(s) dropped`; break;
    case 'open': body = `opened ${e.line}`; break;
    case 'open-failed': body = `open failed: ${e.line}`; break;
    case 'closed': body = `port closed${e.disconnected ? ' (device gone)' : ''}: ${e.line}`; break;
    case 'tx': body = e.probe ? `${text(e.line)}   [liveness probe]` : text(e.line); break;
    default: body = text(e.line);
  }
  return `${e.t.toFixed(3).padStart(12)} ms ${ARROW[e.dir].padEnd(2)} ${body}`;
}

/** Appends entries to a JSON-lines file as they happen, so a crash keeps what was seen. */
export class TranscriptRecorder {
  private fd: number | null;

  constructor(readonly path: string, header: Omit<TranscriptHeader, 'format' | 'version'>) {
    this.fd = fs.openSync(path, 'w');
    const h: TranscriptHeader = { format: TRANSCRIPT_FORMAT, version: TRANSCRIPT_VERSION, ...header };
    fs.writeSync(this.fd, JSON.stringify(h) + '\n');
  }

  write(e: TranscriptEntry): void {
    if (this.fd !== null) fs.writeSync(this.fd, JSON.stringify(e) + '\n');
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** A recording that cannot be read; names the line and what is wrong with it. */
export class TranscriptFormatError extends Error {
  override name = 'TranscriptFormatError';
  constructor(readonly path: string, readonly lineNo: number, reason: string) {
    super(`${path}:${lineNo}: ${reason}`);
  }
}

const DIRS = new Set(Object.keys(ARROW));

export function parseTranscript(text: string, path = '<transcript>'): { header: TranscriptHeader; entries: TranscriptEntry[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new TranscriptFormatError(path, 1, 'empty file, expected a header line');
  const json = (l: string, i: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(l);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* reported below */ }
    throw new TranscriptFormatError(path, i + 1, 'not a JSON object');
  };
  const h = json(lines[0], 0);
  if (h.format !== TRANSCRIPT_FORMAT || h.version !== TRANSCRIPT_VERSION) {
    throw new TranscriptFormatError(path, 1, `expected format "${TRANSCRIPT_FORMAT}" version ${TRANSCRIPT_VERSION}, got ${JSON.stringify(h.format)} version ${JSON.stringify(h.version)}`);
  }
  const entries = lines.slice(1).map((l, i) => {
    const e = json(l, i + 1);
    if (typeof e.t !== 'number' || typeof e.dir !== 'string' || !DIRS.has(e.dir)) {
      throw new TranscriptFormatError(path, i + 2, `expected {"t": number, "dir": one of ${[...DIRS].join('|')}}`);
    }
    if (e.dir === 'rx-nul' ? typeof e.count !== 'number' : typeof e.line !== 'string') {
      throw new TranscriptFormatError(path, i + 2, e.dir === 'rx-nul' ? '"count" must be a number' : '"line" must be a string');
    }
    return e as unknown as TranscriptEntry;
  });
  return { header: h as unknown as TranscriptHeader, entries };
}

export function readTranscript(path: string): { header: TranscriptHeader; entries: TranscriptEntry[] } {
  return parseTranscript(fs.readFileSync(path, 'utf8'), path);
}
