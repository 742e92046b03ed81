// A time-line plot for reports (keep-alive intervals, TCSO attempts): lanes of marks over a time
// axis, with shaded spans (the windows a mark is allowed in, the time a device was off the air).
// Same rules as svg.ts (whose escaping it reuses): a standalone SVG string, no DOM, no external
// references, every text escaped, a <title> tooltip on every mark and span.
import { escapeXml } from './svg.ts';

/** What a mark stands for; each kind has its own shape and colour (legend drawn under the plot). */
export type TimelineMarkKind = 'read-ok' | 'read-failed' | 'tcso' | 'rejoin' | 'event';

export interface TimelineMark {
  /** Time in ms on the plot's time base (e.g. the capture's clock). */
  atMs: number;
  kind: TimelineMarkKind;
  /** Lane the mark sits in (index into `lanes`). */
  lane: number;
  /** Tooltip: the frame, the measured interval, the verdict. */
  title?: string;
}

/** A shaded span: 'allowed' (green, e.g. [base, base + jitter] after a read), 'off' (grey, e.g. TC off the air), 'cooldown' (amber). */
export interface TimelineSpan {
  fromMs: number;
  toMs: number;
  kind: 'allowed' | 'off' | 'cooldown';
  /** Lane to shade; omitted = across every lane. */
  lane?: number;
  title?: string;
}

export interface Timeline {
  title: string;
  lanes: readonly string[];
  marks: readonly TimelineMark[];
  spans?: readonly TimelineSpan[];
  /** Plot range; default: from the first to the last mark or span, padded. */
  startMs?: number;
  endMs?: number;
  footnotes?: readonly string[];
}

const FONT_PX = 12;
const CHAR_PX = FONT_PX * 0.6;
const LANE_PX = 34;
const PLOT_PX = 960;
const MARGIN = 10;

const MARK_STYLE: Record<TimelineMarkKind, { colour: string; label: string }> = {
  'read-ok': { colour: '#1a7f37', label: 'keep-alive read, answered' },
  'read-failed': { colour: '#c0001a', label: 'keep-alive read, not answered' },
  tcso: { colour: '#d97706', label: 'TCSO attempt (Beacon Request / Rejoin Request)' },
  rejoin: { colour: '#2563eb', label: 'rejoin / recovery' },
  event: { colour: '#555555', label: 'event' },
};
const SPAN_STYLE: Record<TimelineSpan['kind'], { fill: string; label: string }> = {
  allowed: { fill: '#b7e4c0', label: 'allowed window of the next read' },
  off: { fill: '#d0d0d0', label: 'TC off the air' },
  cooldown: { fill: '#ffe1a8', label: 'expected cooldown' },
};

/** Time as m:ss (or h:mm:ss), relative to the plot start. */
export function formatOffset(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A tick step (ms) giving 5..12 ticks over `spanMs`. */
function tickStep(spanMs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((s) => s * 1000);
  return steps.find((s) => spanMs / s <= 12) ?? 3600_000 * Math.ceil(spanMs / (12 * 3600_000));
}

function markShape(kind: TimelineMarkKind, x: number, y: number): string {
  const c = MARK_STYLE[kind].colour;
  const r = 5;
  switch (kind) {
    case 'read-ok': return `<circle cx="${x}" cy="${y}" r="${r}" fill="${c}"/>`;
    case 'read-failed': return `<path d="M${x - r} ${y - r}L${x + r} ${y + r}M${x - r} ${y + r}L${x + r} ${y - r}" stroke="${c}" stroke-width="2.5"/>`;
    case 'tcso': return `<path d="M${x} ${y - r - 1}L${x + r + 1} ${y + r}L${x - r - 1} ${y + r}Z" fill="${c}"/>`;
    case 'rejoin': return `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${c}"/>`;
    default: return `<line x1="${x}" y1="${y - r - 2}" x2="${x}" y2="${y + r + 2}" stroke="${c}" stroke-width="2"/>`;
  }
}

const f1 = (n: number) => Math.round(n * 10) / 10;

/** The time line as a standalone SVG document. */
export function renderTimelineSvg(t: Timeline): string {
  for (const m of t.marks) {
    if (!Number.isFinite(m.atMs)) throw new RangeError(`timeline "${t.title}": a mark has no time`);
    if (m.lane < 0 || m.lane >= t.lanes.length) throw new RangeError(`timeline "${t.title}": mark in lane ${m.lane}, there are ${t.lanes.length}`);
  }
  const spans = t.spans ?? [];
  const times = [...t.marks.map((m) => m.atMs), ...spans.flatMap((s) => [s.fromMs, s.toMs])];
  const lo = t.startMs ?? (times.length ? Math.min(...times) : 0);
  const hiRaw = t.endMs ?? (times.length ? Math.max(...times) : lo + 60_000);
  const pad = Math.max(1000, (hiRaw - lo) * 0.02);
  const start = t.startMs ?? lo - pad;
  const end = Math.max(t.endMs ?? hiRaw + pad, start + 1000);
  const labelPx = Math.ceil(Math.max(...t.lanes.map((l) => [...l].length), 4) * CHAR_PX) + 12;
  const x0 = MARGIN + labelPx;
  const xOf = (ms: number) => f1(x0 + ((ms - start) / (end - start)) * PLOT_PX);
  const titleH = 28;
  const top = MARGIN + titleH;
  const plotH = t.lanes.length * LANE_PX;
  const axisH = 30;
  const legend = [
    ...(Object.keys(MARK_STYLE) as TimelineMarkKind[]).filter((k) => t.marks.some((m) => m.kind === k)).map((k) => ({ kind: 'mark' as const, k })),
    ...(Object.keys(SPAN_STYLE) as TimelineSpan['kind'][]).filter((k) => spans.some((s) => s.kind === k)).map((k) => ({ kind: 'span' as const, k })),
  ];
  const notes = t.footnotes ?? [];
  const legendH = legend.length * 16 + (notes.length ? notes.length * 15 + 6 : 0) + 6;
  const W = x0 + PLOT_PX + MARGIN + 20;
  const H = top + plotH + axisH + legendH + MARGIN;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${FONT_PX}">`);
  out.push(`<title>${escapeXml(t.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN}" y="${MARGIN + 15}" font-weight="bold" font-size="${FONT_PX + 1}">${escapeXml(t.title)}</text>`);
  // lanes
  t.lanes.forEach((name, i) => {
    const y = top + i * LANE_PX;
    out.push(`<rect x="${x0}" y="${y}" width="${PLOT_PX}" height="${LANE_PX}" fill="${i % 2 ? '#f7f7f7' : '#fdfdfd'}" stroke="#cccccc" stroke-width="0.5"/>`);
    out.push(`<text x="${MARGIN}" y="${y + LANE_PX / 2 + 4}" font-weight="bold">${escapeXml(name)}</text>`);
  });
  // spans (under the marks)
  for (const s of spans) {
    const xa = xOf(Math.max(start, s.fromMs));
    const xb = xOf(Math.min(end, s.toMs));
    const y = s.lane === undefined ? top : top + s.lane * LANE_PX + 3;
    const h = s.lane === undefined ? plotH : LANE_PX - 6;
    const tip = s.title ? `<title>${escapeXml(s.title)}</title>` : '';
    out.push(`<g class="span ${s.kind}">${tip}<rect x="${xa}" y="${y}" width="${f1(Math.max(2, xb - xa))}" height="${h}" fill="${SPAN_STYLE[s.kind].fill}" fill-opacity="${s.kind === 'allowed' ? 0.9 : 0.6}"/></g>`);
  }
  // axis
  const axisY = top + plotH;
  out.push(`<line x1="${x0}" y1="${axisY}" x2="${x0 + PLOT_PX}" y2="${axisY}" stroke="#333333" stroke-width="1"/>`);
  const step = tickStep(end - start);
  for (let k = Math.ceil(0 / step); k * step <= end - start; k++) {
    const x = xOf(start + k * step);
    out.push(`<line x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 5}" stroke="#333333"/><text x="${x}" y="${axisY + 18}" text-anchor="middle" fill="#333333">${formatOffset(k * step)}</text>`);
  }
  // marks
  for (const m of t.marks) {
    const x = xOf(m.atMs);
    const y = top + m.lane * LANE_PX + LANE_PX / 2;
    const tip = `<title>${escapeXml(`${formatOffset(m.atMs - start)} ${MARK_STYLE[m.kind].label}${m.title ? `: ${m.title}` : ''}`)}</title>`;
    out.push(`<g class="mark ${m.kind}">${tip}${markShape(m.kind, x, y)}</g>`);
  }
  // legend + notes
  let y = axisY + axisH + 4;
  for (const l of legend) {
    const shape = l.kind === 'mark' ? markShape(l.k, MARGIN + 6, y + 5) : `<rect x="${MARGIN}" y="${y}" width="12" height="10" fill="${SPAN_STYLE[l.k].fill}"/>`;
    const label = l.kind === 'mark' ? MARK_STYLE[l.k].label : SPAN_STYLE[l.k].label;
    out.push(`<g class="legend">${shape}<text x="${MARGIN + 20}" y="${y + 9}">${escapeXml(label)}</text></g>`);
    y += 16;
  }
  if (notes.length) y += 6;
  for (const n of notes) {
    out.push(`<text x="${MARGIN}" y="${y + 10}" fill="#333333">${escapeXml(n)}</text>`);
    y += 15;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
