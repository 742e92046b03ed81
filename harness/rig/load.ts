// Loads and validates a rig file. Every problem is reported at once, each naming the file, the
// line, the field path and what is allowed, so a lab fixes its rig file in one go.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { rigSchema, DRIVERS, type RigFile } from './schema.ts';

export class RigFileError extends Error {
  override name = 'RigFileError';
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`);
  }
}

/** Roles that can listen to the air, by driver. */
const SNIFFING_DRIVERS = new Set(['sim', 'nrf-sniffer', 'remote']);

export function loadRigFile(file: string): RigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new RigFileError(file, [code === 'ENOENT' ? 'no such rig file' : `cannot read rig file (${code ?? (e as Error).message})`]);
  }
  return parseRig(text, file);
}

export function parseRig(text: string, file = '<rig>'): RigFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new RigFileError(file, doc.errors.map((e) => `line ${e.linePos?.[0].line ?? '?'}: YAML syntax: ${e.message.split('\n')[0]}`));
  }
  const raw = doc.toJS();
  const parsed = rigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RigFileError(file, parsed.error.issues.map((i) => describeIssue(i, doc, lines)));
  }
  const rig = parsed.data;
  const problems: string[] = [];
  if (rig.clock === 'virtual') {
    for (const [name, r] of Object.entries(rig.roles)) {
      if (r.driver !== 'sim') problems.push(`roles.${name}.driver: "${r.driver}" needs clock: real (virtual time only works when every role is simulated)`);
    }
  }
  if (!SNIFFING_DRIVERS.has(rig.roles.sniffer.driver)) {
    problems.push(`roles.sniffer.driver: "${rig.roles.sniffer.driver}" cannot sniff; allowed: ${[...SNIFFING_DRIVERS].join(', ')}`);
  }
  if (rig.roles.tc.driver === 'operator') problems.push('roles.tc.driver: the golden Trust Center must be driven by the kit, not by an operator');
  if (problems.length) throw new RigFileError(file, problems);
  return rig;
}

function describeIssue(issue: z.core.$ZodIssue, doc: ReturnType<typeof parseDocument>, lines: LineCounter): string {
  const path = issue.path.map(String);
  const where = path.length ? path.join('.') : '(top level)';
  const line = lineOf(doc, lines, path);
  const at = line ? `line ${line}: ` : '';
  let what = issue.message;
  if (issue.code === 'invalid_union' && (issue as { discriminator?: string }).discriminator === 'driver') {
    const got = getIn(doc, path);
    what = got === undefined ? `driver is required; allowed: ${DRIVERS.join(', ')}` : `unknown driver "${String(got)}"; allowed: ${DRIVERS.join(', ')}`;
    return `${at}${where.endsWith('.driver') ? where : `${where}.driver`}: ${what}`;
  }
  if (issue.code === 'invalid_type' && getIn(doc, path) === undefined && what.startsWith('Invalid input')) what = `required (${issue.expected})`;
  if (issue.code === 'unrecognized_keys') what = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_value') what = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${at}${where}: ${what}`;
}

function getIn(doc: ReturnType<typeof parseDocument>, path: string[]): unknown {
  return doc.getIn(path);
}

/** Line of the deepest node on `path` that exists in the YAML (1-based), if any. */
function lineOf(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: string[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
