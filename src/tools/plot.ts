/**
 * `dust model plot`: one SVG that shows a model's byte distribution and packet-length
 * distribution for both directions, and what a capture observed next to them (issue 6 "Plots").
 *
 * Four panels (client→server and server→client; bytes above, lengths below). The model is a
 * dark step line, the capture light bars, so a mismatch is visible at a glance; each panel's
 * subtitle carries the sample size and the same test `dust model check` runs. Byte panels shade
 * printable ASCII. Length panels bin the range that holds the model's central 99.9% and every
 * observed length into at most 60 bins, with the model's mass per bin from its exact cdf.
 *
 * The SVG is written directly, not with a charting library: two chart types need ~200 lines, and
 * a library that renders SVG in Node without a browser (vega: about 30 packages) would be a large
 * dependency for them.
 * @module
 */
import type { Distribution } from '../shaping/distributions.js';
import type { DirectionModel, DustModel } from '../shaping/model.js';
import type { TcpFlow } from './flows.js';
import { modelByteProbabilities, observeDirection, type DirectionObservation } from './model-check.js';
import { chiSquareTest, ksOneSample, totalVariation } from './stats.js';

/** Size of the whole picture in px. */
export const PLOT_WIDTH = 1200;
export const PLOT_HEIGHT = 860;
/** Most bins of a length panel. */
export const MAX_LENGTH_BINS = 60;

const MODEL_COLOUR = '#1f3f8f';
const OBSERVED_COLOUR = '#f28e2b';
const GRID_COLOUR = '#dddddd';
const PRINTABLE_COLOUR = '#eef3e6';

/** What to draw from a capture. */
export interface ObservedTraffic {
  /** Shown in the title (e.g. the capture file name). */
  readonly source: string;
  readonly flows: number;
  readonly c2s: DirectionObservation;
  readonly s2c: DirectionObservation;
}

/** Observations of both directions of `flows`, the model's prefixes left out of the byte counts. */
export function observeTraffic(model: DustModel, flows: readonly TcpFlow[], source: string): ObservedTraffic {
  return {
    source,
    flows: flows.length,
    c2s: observeDirection(flows, 'c2s', model.clientToServer.prefix),
    s2c: observeDirection(flows, 's2c', model.serverToClient.prefix),
  };
}

/** Escapes text for XML content and attribute values. */
export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Up to ~count round tick values (1, 2 or 5 × 10^k apart) from 0 to at least max. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return value.toLocaleString('en-US');
  return String(Number(value.toPrecision(6)));
}

/** "p = 0.0123", or "p < 1e-300" when the p-value underflowed. */
function formatP(p: number): string {
  if (p === 0) return 'p < 1e-300';
  return `p = ${p < 1e-4 ? p.toExponential(1) : p.toFixed(4)}`;
}

interface Panel {
  x: number;
  y: number;
  width: number;
  height: number;
  id: string;
  title: string;
  subtitle: string;
  xLabel: string;
  /** Cell edges: cells[i] spans [edges[i], edges[i+1]) in x units. */
  edges: number[];
  model: number[];
  observed: number[] | null;
  xTicks: { value: number; label: string }[];
  shade?: [number, number, string];
}

function renderPanel(p: Panel): string {
  const out: string[] = [];
  const x0 = p.edges[0]!;
  const x1 = p.edges[p.edges.length - 1]!;
  const sx = (v: number): number => p.x + ((v - x0) / (x1 - x0)) * p.width;
  const top = Math.max(...p.model, ...(p.observed ?? [0]), 1e-12);
  // 10% headroom (up to 100%) so that a flat model line does not sit on the top edge.
  const yTicks = niceTicks(Math.min(100, top * 110), 5);
  const yMax = yTicks[yTicks.length - 1]! / 100;
  const sy = (v: number): number => p.y + p.height - (v / yMax) * p.height;
  const f = (v: number): string => v.toFixed(2);

  out.push(`<g class="panel" id="${p.id}">`);
  out.push(`<text x="${f(p.x)}" y="${f(p.y - 24)}" font-size="15" font-weight="bold">${xmlEscape(p.title)}</text>`);
  out.push(`<text x="${f(p.x)}" y="${f(p.y - 8)}" font-size="12" fill="#444444">${xmlEscape(p.subtitle)}</text>`);
  if (p.shade) {
    const [a, b, label] = p.shade;
    out.push(`<rect x="${f(sx(a))}" y="${f(p.y)}" width="${f(sx(b) - sx(a))}" height="${f(p.height)}" fill="${PRINTABLE_COLOUR}"/>`);
    out.push(`<text x="${f((sx(a) + sx(b)) / 2)}" y="${f(p.y + 14)}" font-size="11" fill="#6b8e23" text-anchor="middle">${xmlEscape(label)}</text>`);
  }
  // Grid and y axis.
  for (const t of yTicks) {
    const y = sy(t / 100);
    out.push(`<line x1="${f(p.x)}" y1="${f(y)}" x2="${f(p.x + p.width)}" y2="${f(y)}" stroke="${GRID_COLOUR}" stroke-width="1"/>`);
    out.push(`<text x="${f(p.x - 6)}" y="${f(y + 4)}" font-size="11" text-anchor="end">${formatTick(t)}</text>`);
  }
  // Observed bars.
  if (p.observed) {
    out.push(`<g class="series" data-series="observed" fill="${OBSERVED_COLOUR}" fill-opacity="0.75">`);
    p.observed.forEach((v, i) => {
      if (v <= 0) return;
      const a = sx(p.edges[i]!);
      const b = sx(p.edges[i + 1]!);
      const w = Math.max(0.8, b - a - (b - a > 4 ? 1 : 0));
      out.push(`<rect x="${f(a)}" y="${f(sy(v))}" width="${f(w)}" height="${f(sy(0) - sy(v))}"/>`);
    });
    out.push('</g>');
  }
  // Model step line.
  const d: string[] = [`M${f(sx(p.edges[0]!))},${f(sy(0))}`];
  p.model.forEach((v, i) => d.push(`V${f(sy(v))}`, `H${f(sx(p.edges[i + 1]!))}`));
  d.push(`V${f(sy(0))}`);
  out.push(`<g class="series" data-series="model"><path d="${d.join('')}" fill="none" stroke="${MODEL_COLOUR}" stroke-width="1.6" stroke-linejoin="round"/></g>`);
  // Axes.
  out.push(`<line x1="${f(p.x)}" y1="${f(p.y + p.height)}" x2="${f(p.x + p.width)}" y2="${f(p.y + p.height)}" stroke="#333333"/>`);
  out.push(`<line x1="${f(p.x)}" y1="${f(p.y)}" x2="${f(p.x)}" y2="${f(p.y + p.height)}" stroke="#333333"/>`);
  for (const t of p.xTicks) {
    const x = sx(t.value);
    out.push(`<line x1="${f(x)}" y1="${f(p.y + p.height)}" x2="${f(x)}" y2="${f(p.y + p.height + 5)}" stroke="#333333"/>`);
    out.push(`<text x="${f(x)}" y="${f(p.y + p.height + 18)}" font-size="11" text-anchor="middle">${xmlEscape(t.label)}</text>`);
  }
  out.push(`<text x="${f(p.x + p.width / 2)}" y="${f(p.y + p.height + 36)}" font-size="12" text-anchor="middle">${xmlEscape(p.xLabel)}</text>`);
  const ly = p.y + p.height / 2;
  out.push(`<text x="${f(p.x - 44)}" y="${f(ly)}" font-size="12" text-anchor="middle" transform="rotate(-90 ${f(p.x - 44)} ${f(ly)})">share (%)</text>`);
  out.push('</g>');
  return out.join('\n');
}

function bytePanel(half: DirectionModel, seen: DirectionObservation | null, box: Pick<Panel, 'x' | 'y' | 'width' | 'height'>, id: string, title: string): Panel {
  const model = Array.from(modelByteProbabilities(half));
  let observed: number[] | null = null;
  let subtitle = 'model only: P(byte b) = 2^-len(codeword of b)';
  if (seen) {
    if (seen.bytes > 0) {
      observed = Array.from(seen.byteCounts, (c) => c / seen.bytes);
      const chi = chiSquareTest(seen.byteCounts, model, { pooling: 'smallest' });
      subtitle = `${seen.bytes.toLocaleString('en-US')} bytes · χ² ${formatP(chi.pValue)} · total variation ${totalVariation(observed, model).toFixed(4)}`;
    } else {
      subtitle = 'no bytes observed in this direction';
    }
  }
  const xTicks = [0, 32, 64, 96, 128, 160, 192, 224, 256].map((v) => ({ value: v, label: `0x${Math.min(v, 255).toString(16).padStart(2, '0')}` }));
  return {
    ...box, id, title, subtitle, xLabel: 'byte value', model, observed, xTicks,
    edges: Array.from({ length: 257 }, (_, i) => i),
    shade: [0x20, 0x7f, 'printable ASCII'],
  };
}

/** Smallest integer x in [lo, hi] with cdf(x) >= q. */
function quantile(dist: Distribution, q: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (dist.cdf(mid) >= q) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function lengthPanel(half: DirectionModel, seen: DirectionObservation | null, box: Pick<Panel, 'x' | 'y' | 'width' | 'height'>, id: string, title: string): Panel {
  const dist = half.lengthBytes;
  const support = [Math.max(1, Math.ceil(dist.min)), Math.min(65535, Math.floor(dist.max))] as const;
  let lo = quantile(dist, 0.0005, support[0], support[1]);
  let hi = quantile(dist, 0.9995, support[0], support[1]);
  const lengths = seen?.lengths ?? [];
  for (const l of lengths) {
    if (l < lo) lo = l;
    if (l > hi) hi = l;
  }
  if (hi - lo < 20) {
    lo = Math.max(0, lo - 10);
    hi = hi + 10;
  }
  const width = Math.max(1, Math.ceil((hi - lo + 1) / MAX_LENGTH_BINS));
  const bins = Math.ceil((hi - lo + 1) / width);
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const model = Array.from({ length: bins }, (_, i) => dist.probabilityBetween(edges[i]!, edges[i + 1]! - 1));
  let observed: number[] | null = null;
  let subtitle = `model only: mean ${dist.mean.toFixed(1)} B · bins of ${width} B`;
  if (seen) {
    if (lengths.length > 0) {
      const counts = new Array<number>(bins).fill(0);
      for (const l of lengths) counts[Math.min(bins - 1, Math.floor((l - lo) / width))]!++;
      observed = counts.map((c) => c / lengths.length);
      const ks = ksOneSample(lengths, dist);
      subtitle = `${lengths.length.toLocaleString('en-US')} packets · KS D = ${ks.statistic.toFixed(4)}, ${formatP(ks.pValue)} · bins of ${width} B`;
    } else {
      subtitle = 'no packets observed in this direction';
    }
  }
  const xTicks = niceTicksBetween(lo, lo + bins * width).map((v) => ({ value: v, label: formatTick(v) }));
  return { ...box, id, title, subtitle, xLabel: 'TCP payload length (bytes)', model, observed, xTicks, edges };
}

/** Round tick values inside [lo, hi]. */
function niceTicksBetween(lo: number, hi: number): number[] {
  const step = niceTicks(hi - lo, 6)[1]!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) ticks.push(v);
  return ticks;
}

/**
 * The plot as SVG text: model `model`, and optionally what a capture observed.
 * @example writeFileSync('text.svg', renderModelPlot(getBuiltinModel('text')))
 */
export function renderModelPlot(model: DustModel, observed?: ObservedTraffic): string {
  if (typeof model !== 'object' || model === null || !('clientToServer' in model)) throw new TypeError('model must be a DustModel');
  const marginLeft = 80;
  const gap = 110;
  const panelWidth = (PLOT_WIDTH - marginLeft - gap - 30) / 2;
  const panelHeight = 250;
  const rowY = [150, 150 + panelHeight + 140];
  const colX = [marginLeft, marginLeft + panelWidth + gap];
  const box = (row: number, col: number) => ({ x: colX[col]!, y: rowY[row]!, width: panelWidth, height: panelHeight });
  const panels = [
    bytePanel(model.clientToServer, observed?.c2s ?? null, box(0, 0), 'bytes-c2s', 'client → server: byte values'),
    bytePanel(model.serverToClient, observed?.s2c ?? null, box(0, 1), 'bytes-s2c', 'server → client: byte values'),
    lengthPanel(model.clientToServer, observed?.c2s ?? null, box(1, 0), 'lengths-c2s', 'client → server: packet lengths'),
    lengthPanel(model.serverToClient, observed?.s2c ?? null, box(1, 1), 'lengths-s2c', 'server → client: packet lengths'),
  ];
  const title = observed
    ? `Dust model "${model.name}" vs capture ${observed.source} (${observed.flows} flow${observed.flows === 1 ? '' : 's'})`
    : `Dust model "${model.name}"`;
  const legendY = 78;
  const legend = [
    `<g class="legend" font-size="13">`,
    `<line x1="${marginLeft}" y1="${legendY}" x2="${marginLeft + 30}" y2="${legendY}" stroke="${MODEL_COLOUR}" stroke-width="2.5"/>`,
    `<text x="${marginLeft + 38}" y="${legendY + 4}">model (what Dust should send)</text>`,
    observed
      ? `<rect x="${marginLeft + 290}" y="${legendY - 7}" width="24" height="14" fill="${OBSERVED_COLOUR}" fill-opacity="0.75"/>` +
        `<text x="${marginLeft + 322}" y="${legendY + 4}">observed in the capture</text>`
      : '',
    '</g>',
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" viewBox="0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${xmlEscape(title)}</title>`,
    `<rect width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" fill="#ffffff"/>`,
    `<text x="${marginLeft}" y="40" font-size="20" font-weight="bold">${xmlEscape(title)}</text>`,
    ...legend,
    ...panels.map(renderPanel),
    '</svg>',
    '',
  ].join('\n');
}
