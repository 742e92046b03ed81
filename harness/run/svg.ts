// A small table / matrix renderer for reports: one model, two views — an SVG (attached to the
// Allure result, shown inline by the HTML report and any browser) and a fixed-width text table
// (for the log and the terminal). No dependencies, no DOM: the SVG is built as a string, every
// text escaped, sizes computed from character counts in a monospace font (so no text measuring).

/** How a cell reads at a glance: good (green), bad (red), warn (amber), neutral (grey). */
export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

export interface MatrixCell {
  /** First line, e.g. the outcome. */
  text: string;
  /** Optional second line, e.g. what was seen on the air. */
  note?: string;
  tone?: Tone;
  /** The cell is not what was expected: drawn with a red border and a ✗ (text view: `✗`). */
  flagged?: boolean;
  /** Tooltip (SVG <title>): the full diagnosis, however long. */
  title?: string;
}

export interface MatrixRow {
  label: string;
  cells: readonly MatrixCell[];
}

export interface Matrix {
  title: string;
  /** Header of the row-label column (what the rows vary), e.g. "DUT ↓ / TC →". */
  corner?: string;
  columns: readonly string[];
  rows: readonly MatrixRow[];
  /** Lines under the table (legend, expectations, spec references). */
  footnotes?: readonly string[];
}

const FONT_PX = 12;
/** Advance of one character of a monospace font at FONT_PX (0.6 em). */
const CHAR_PX = FONT_PX * 0.6;
const PAD_X = 8;
const LINE_PX = 15;
const PAD_Y = 6;
const MAX_CELL_CHARS = 48;

const FILL: Record<Tone, string> = { good: '#dcf3dc', bad: '#f8d7da', warn: '#fff1c2', neutral: '#f0f0f0' };
const FLAG = '✗ ';

/** XML text/attribute escaping; characters XML 1.0 forbids are replaced by U+FFFD. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Characters as a monospace font lays them out (code points, not UTF-16 units). */
function width(s: string): number {
  return [...s].length;
}

/** Long lines are cut with an ellipsis (the tooltip keeps the full text). */
function clip(s: string, max = MAX_CELL_CHARS): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}

function check(m: Matrix): void {
  for (const r of m.rows) {
    if (r.cells.length !== m.columns.length) {
      throw new RangeError(`matrix "${m.title}": row "${r.label}" has ${r.cells.length} cells for ${m.columns.length} columns`);
    }
  }
}

function cellLines(c: MatrixCell): string[] {
  const first = (c.flagged ? FLAG : '') + c.text;
  return c.note ? [clip(first), clip(c.note)] : [clip(first)];
}

/** The matrix as a standalone SVG document (UTF-8, no external references). */
export function renderMatrixSvg(m: Matrix): string {
  check(m);
  const header = [m.corner ?? '', ...m.columns];
  const body = m.rows.map((r) => [[clip(r.label)], ...r.cells.map(cellLines)]);
  const colChars = header.map((h, i) => Math.max(width(clip(h)), ...body.map((row) => Math.max(...row[i].map(width)))));
  const colPx = colChars.map((n) => Math.ceil(n * CHAR_PX) + 2 * PAD_X);
  const tableW = colPx.reduce((a, b) => a + b, 0);
  const headerH = LINE_PX + 2 * PAD_Y;
  const rowH = body.map((row) => Math.max(...row.map((lines) => lines.length)) * LINE_PX + 2 * PAD_Y);
  const titleH = LINE_PX + 12;
  const notes = (m.footnotes ?? []).map((n) => n);
  const notesH = notes.length ? notes.length * LINE_PX + 10 : 0;
  const margin = 10;
  const W = Math.max(tableW, Math.ceil(Math.max(width(m.title) * (CHAR_PX + 0.6), ...notes.map((n) => width(n) * CHAR_PX)))) + 2 * margin;
  const H = margin + titleH + headerH + rowH.reduce((a, b) => a + b, 0) + notesH + margin;
  const x0 = margin;
  const colX = colPx.map((_, i) => x0 + colPx.slice(0, i).reduce((a, b) => a + b, 0));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${FONT_PX}">`);
  out.push(`<title>${escapeXml(m.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${x0}" y="${margin + LINE_PX}" font-weight="bold" font-size="${FONT_PX + 1}">${escapeXml(m.title)}</text>`);
  let y = margin + titleH;
  const textAt = (x: number, top: number, lines: string[], bold = false) =>
    lines.map((l, k) => `<text x="${x + PAD_X}" y="${top + PAD_Y + (k + 1) * LINE_PX - 4}"${bold ? ' font-weight="bold"' : k > 0 ? ' fill="#555555"' : ''}>${escapeXml(l)}</text>`).join('');
  // header row
  header.forEach((h, i) => {
    out.push(`<g><rect x="${colX[i]}" y="${y}" width="${colPx[i]}" height="${headerH}" fill="#d9dde3" stroke="#8a8f98" stroke-width="1"/>${textAt(colX[i], y, [clip(h)], true)}</g>`);
  });
  y += headerH;
  m.rows.forEach((r, ri) => {
    const h = rowH[ri];
    out.push(`<g><rect x="${colX[0]}" y="${y}" width="${colPx[0]}" height="${h}" fill="#eceff3" stroke="#8a8f98" stroke-width="1"/>${textAt(colX[0], y, body[ri][0], true)}</g>`);
    r.cells.forEach((c, ci) => {
      const i = ci + 1;
      const stroke = c.flagged ? ' stroke="#c0001a" stroke-width="2.5"' : ' stroke="#8a8f98" stroke-width="1"';
      const tip = c.title ? `<title>${escapeXml(c.title)}</title>` : '';
      out.push(`<g>${tip}<rect x="${colX[i]}" y="${y}" width="${colPx[i]}" height="${h}" fill="${FILL[c.tone ?? 'neutral']}"${stroke}/>${textAt(colX[i], y, body[ri][i])}</g>`);
    });
    y += h;
  });
  if (notes.length) {
    y += 10;
    notes.forEach((n, k) => out.push(`<text x="${x0}" y="${y + (k + 1) * LINE_PX - 4}" fill="#333333">${escapeXml(n)}</text>`));
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The matrix as a fixed-width text table (one or two lines per row), for logs and terminals. */
export function renderMatrixText(m: Matrix): string {
  check(m);
  const header = [m.corner ?? '', ...m.columns];
  const body = m.rows.map((r) => [[r.label], ...r.cells.map((c) => [(c.flagged ? FLAG : '') + c.text, ...(c.note ? [c.note] : [])])]);
  const w = header.map((h, i) => Math.max(width(h), ...body.map((row) => Math.max(...row[i].map(width)))));
  const pad = (s: string, n: number) => s + ' '.repeat(n - width(s));
  const line = (cells: string[]) => `| ${cells.map((c, i) => pad(c, w[i])).join(' | ')} |`;
  const rule = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+`;
  const out = [m.title, rule, line(header), rule];
  for (const row of body) {
    const n = Math.max(...row.map((l) => l.length));
    for (let k = 0; k < n; k++) out.push(line(row.map((l) => l[k] ?? '')));
    out.push(rule);
  }
  for (const f of m.footnotes ?? []) out.push(f);
  return out.join('\n') + '\n';
}
