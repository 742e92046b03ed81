// The time-line plot (harness/run/timeline-svg.ts) and the keep-alive interval plot built on it
// (suites/keepalive-tcso/keepalive-air.ts): well-formed standalone SVG, texts escaped, one mark per
// read / failed read / TCSO attempt, one shaded window per read, off-air spans, sane axis.
import { describe, expect, it } from 'vitest';
import { formatOffset, renderTimelineSvg, type Timeline } from '../../harness/run/timeline-svg.ts';
import type { DissectedFrame } from '../../harness/zigbee/dissect.ts';
import { keepAlivePlot, type KaRead } from '../../suites/keepalive-tcso/keepalive-air.ts';

/** Same check as svg.test.ts: balanced tags, quoted attributes, no raw `<` or `&` in text. */
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

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

describe('renderTimelineSvg', () => {
  const t: Timeline = {
    title: 'keep-alive <base & jitter>',
    lanes: ['reads', 'TCSO "search"'],
    marks: [
      { atMs: 0, kind: 'read-ok', lane: 0, title: 'frame 1 & <ok>' },
      { atMs: 61_000, kind: 'read-failed', lane: 0 },
      { atMs: 122_000, kind: 'read-failed', lane: 0 },
      { atMs: 183_000, kind: 'read-failed', lane: 0 },
      { atMs: 188_000, kind: 'tcso', lane: 1 },
      { atMs: 500_000, kind: 'rejoin', lane: 1 },
    ],
    spans: [
      { fromMs: 60_000, toMs: 65_000, kind: 'allowed', lane: 0 },
      { fromMs: 1_000, toMs: 400_000, kind: 'off', title: "TC 'off'" },
      { fromMs: 188_000, toMs: 488_000, kind: 'cooldown', lane: 1 },
    ],
    footnotes: ['tolerance ± 1 s <airtime>'],
  };
  const svg = renderTimelineSvg(t);

  it('is a well-formed standalone SVG with every text escaped and nothing external', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(wellFormed(svg)).toEqual([]);
    expect(svg).toContain('keep-alive &lt;base &amp; jitter&gt;');
    expect(svg).toContain('TCSO &quot;search&quot;');
    expect(svg).toContain('frame 1 &amp; &lt;ok&gt;');
    expect(svg).toContain('TC &apos;off&apos;');
    expect(svg).toContain('tolerance ± 1 s &lt;airtime&gt;');
    expect(svg).not.toMatch(/href|<script|<image/);
  });

  it('draws one mark per event, by kind, and one shape per span', () => {
    expect(count(svg, /class="mark read-ok"/g)).toBe(1);
    expect(count(svg, /class="mark read-failed"/g)).toBe(3);
    expect(count(svg, /class="mark tcso"/g)).toBe(1);
    expect(count(svg, /class="mark rejoin"/g)).toBe(1);
    expect(count(svg, /class="span allowed"/g)).toBe(1);
    expect(count(svg, /class="span off"/g)).toBe(1);
    expect(count(svg, /class="span cooldown"/g)).toBe(1);
    // every mark has a tooltip with its time from the start
    expect(count(svg, /<g class="mark [a-z-]+"><title>/g)).toBe(6);
    expect(count(svg, /class="legend"/g)).toBe(4 + 3);
  });

  it('places marks in time order from left to right, inside the plot', () => {
    const xs = [...svg.matchAll(/<g class="mark read-(?:ok|failed)">.*?(?:cx="([\d.]+)"|d="M([\d.]+) )/g)].map((m) => Number(m[1] ?? m[2]));
    expect(xs).toHaveLength(4);
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1]);
    const W = Number(/width="(\d+)"/.exec(svg)![1]);
    for (const x of xs) expect(x).toBeLessThan(W);
  });

  it('labels the axis as m:ss and refuses a mark in a lane that does not exist', () => {
    expect(formatOffset(0)).toBe('0:00');
    expect(formatOffset(61_400)).toBe('1:01');
    expect(formatOffset(3_725_000)).toBe('1:02:05');
    expect(svg).toMatch(/>1:00</);
    expect(() => renderTimelineSvg({ ...t, marks: [{ atMs: 0, kind: 'tcso', lane: 2 }] })).toThrow(/lane 2/);
  });
});

describe('keepAlivePlot', () => {
  const frame = (index: number, ms: number) => ({ index, timestampUs: BigInt(ms * 1000), summary: `frame ${index}`, security: [], errors: [], length: 40 }) as unknown as DissectedFrame;
  const read = (index: number, ms: number, ok: boolean): KaRead =>
    ({ frame: frame(index, ms), atMs: ms, tsn: index, attributeIds: [0, 1], ok, ...(ok ? {} : { why: 'no answer within 6 s' }) });

  it('marks answered and failed reads, TCSO attempts, an allowed window per read and the off-air span', () => {
    const reads = [read(1, 0, true), read(2, 61_000, true), read(3, 123_000, false), read(4, 185_000, false), read(5, 247_000, false)];
    const svg = keepAlivePlot({
      title: 'KA-02 <test>', reads, params: { baseMinutes: 1, jitterSeconds: 5 },
      attempts: [{ atMs: 252_000, frames: [frame(6, 252_000)] }],
      offAir: [{ fromMs: 62_000, toMs: 260_000 }], cooldowns: [{ fromMs: 252_000, toMs: 552_000 }],
    });
    expect(wellFormed(svg)).toEqual([]);
    expect(count(svg, /class="mark read-ok"/g)).toBe(2);
    expect(count(svg, /class="mark read-failed"/g)).toBe(3);
    expect(count(svg, /class="mark tcso"/g)).toBe(1);
    expect(count(svg, /class="span allowed"/g)).toBe(5);
    expect(count(svg, /class="span off"/g)).toBe(1);
    expect(svg).toContain('61.000 s after the previous read');
    expect(svg).toContain('no answer within 6 s');
    expect(svg).toContain('KA-02 &lt;test&gt;');
    expect(svg).toContain('TC Keep-Alive Base 1 min, Jitter 5 s');
  });
});
