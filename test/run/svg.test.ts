// The report matrix renderer (harness/run/svg.ts): the SVG is well-formed XML with every text
// escaped, one cell per rectangle, flagged cells marked; the text table lines up; and — in real
// Chromium — the document parses as SVG and every text fits inside its cell (the widths are
// computed from character counts, so this is where an estimate that is too small would show).
import type { Browser } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { escapeXml, renderMatrixSvg, renderMatrixText, type Matrix } from '../../harness/run/svg.ts';
import { chromiumAvailable, launchChromium, warnIfChromiumMissing, withSkipReason } from '../helpers/chromium.ts';

const SAMPLE: Matrix = {
  title: 'interop matrix <DUT & TC>',
  corner: 'DUT ↓ / TC →',
  columns: ['compliant', 'answers with "ZigBeeAlliance09"', 'no answer'],
  rows: [
    { label: 'strict 3.0', cells: [
      { text: 'joined', note: 'Confirm Key SUCCESS', tone: 'good' },
      { text: 'stuck', note: 'dropped TK = provisional key, left', tone: 'bad', title: 'a <long> diagnosis & more' },
      { text: 'stuck', tone: 'bad' },
    ] },
    { label: 'legacy', cells: [
      { text: 'expelled', note: 'Leave request after 15 s', tone: 'warn', flagged: true },
      { text: 'joined', tone: 'good' },
      { text: 'joined', note: 'x'.repeat(200), tone: 'good' },
    ] },
  ],
  footnotes: ['✗ = not the expected outcome', "spec: BDB 16-02828 §10.2.5 <'ref'>"],
};

/** A minimal XML well-formedness check: balanced tags, quoted attributes, no raw `<` or `&` in text. */
function wellFormed(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (let m; (m = re.exec(xml)); ) {
    if (m[6]) problems.push(`raw "<" at ${m.index}`);
    else if (m[5] !== undefined) {
      if (/&(?!amp;|lt;|gt;|quot;|apos;)/.test(m[5])) problems.push(`raw "&" in text at ${m.index}`);
    } else if (m[1]) {
      if (stack.pop() !== m[2]) problems.push(`</${m[2]}> closes nothing open at ${m.index}`);
    } else if (!m[4]) stack.push(m[2]);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

describe('renderMatrixSvg', () => {
  const svg = renderMatrixSvg(SAMPLE);

  it('is a well-formed standalone SVG document with every text escaped', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(wellFormed(svg)).toEqual([]);
    expect(svg).toContain('interop matrix &lt;DUT &amp; TC&gt;');
    expect(svg).toContain('answers with &quot;ZigBeeAlliance09&quot;');
    expect(svg).toContain('<title>a &lt;long&gt; diagnosis &amp; more</title>');
    expect(svg).toContain('&lt;&apos;ref&apos;&gt;');
    expect(svg).not.toMatch(/href|<script|<image/); // nothing external, nothing active
  });

  it('draws one rectangle per cell (header, row labels, cells) plus the background', () => {
    const rects = svg.match(/<rect /g) ?? [];
    expect(rects).toHaveLength(1 + (1 + SAMPLE.columns.length) * (1 + SAMPLE.rows.length));
    expect(svg.match(/stroke="#c0001a"/g)).toHaveLength(1); // the flagged cell
    expect(svg).toContain('✗ expelled');
  });

  it('clips very long lines (the tooltip keeps the full text) and sizes the canvas to the table', () => {
    expect(svg).not.toContain('x'.repeat(60));
    expect(svg).toContain('x'.repeat(40) + '');
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    expect(Number(w)).toBeGreaterThan(300);
    expect(Number(w)).toBeLessThan(2000);
    expect(Number(h)).toBeGreaterThan(100);
  });

  it('refuses a row whose cell count does not match the columns', () => {
    expect(() => renderMatrixSvg({ title: 't', columns: ['a', 'b'], rows: [{ label: 'r', cells: [{ text: 'x' }] }] }))
      .toThrow(/row "r" has 1 cells for 2 columns/);
  });

  it('escapes characters XML 1.0 forbids', () => {
    expect(escapeXml('a\u0001b<')).toBe('a\ufffdb&lt;');
  });
});

describe('renderMatrixText', () => {
  it('lines every row up to the same width, with notes on a second line and flagged cells marked', () => {
    const text = renderMatrixText({ ...SAMPLE, rows: SAMPLE.rows.map((r) => ({ ...r, cells: r.cells.map((c) => ({ ...c, note: c.note?.slice(0, 30) })) })) });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(SAMPLE.title);
    const table = lines.filter((l) => l.startsWith('|') || l.startsWith('+'));
    expect(new Set(table.map((l) => [...l].length)).size).toBe(1);
    expect(text).toContain('✗ expelled');
    expect(text).toContain('Leave request after 15 s');
    expect(lines.at(-1)).toBe(SAMPLE.footnotes!.at(-1));
  });
});

describe('in Chromium', () => {
  let browser: Browser | undefined;
  afterAll(async () => browser?.close());
  warnIfChromiumMissing();

  it.skipIf(!chromiumAvailable)(withSkipReason('parses as SVG and every text fits inside its cell'), async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    const result = await page.evaluate((src) => {
      const doc = new DOMParser().parseFromString(src, 'image/svg+xml');
      if (doc.querySelector('parsererror')) return { error: doc.querySelector('parsererror')!.textContent };
      const root = document.importNode(doc.documentElement, true) as unknown as SVGSVGElement;
      document.body.appendChild(root);
      const overflows: string[] = [];
      for (const g of Array.from(root.querySelectorAll('g'))) {
        const rect = g.querySelector('rect')!.getBBox();
        for (const t of Array.from(g.querySelectorAll('text'))) {
          const b = (t as SVGTextElement).getBBox();
          if (b.x < rect.x || b.x + b.width > rect.x + rect.width || b.y < rect.y || b.y + b.height > rect.y + rect.height + 1) {
            overflows.push(`${t.textContent} (${b.x.toFixed(0)}+${b.width.toFixed(0)} in ${rect.x}+${rect.width})`);
          }
        }
      }
      const svgBox = root.getBBox();
      return { overflows, cells: root.querySelectorAll('g').length, width: svgBox.width, declared: Number(root.getAttribute('width')) };
    }, renderMatrixSvg(SAMPLE));
    expect(result.error).toBeUndefined();
    expect(result.overflows).toEqual([]);
    expect(result.cells).toBe((1 + SAMPLE.columns.length) * (1 + SAMPLE.rows.length));
    expect(result.width).toBeLessThanOrEqual(result.declared!);
  });
});
