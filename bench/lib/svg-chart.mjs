// A dependency-free SVG line chart: one or more panels, each with series of
// points (hollow points mark failed steps), optional log y axis and guide lines.

const WIDTH = 460;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(min, max, count = 5) {
  const span = max - min || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => span / s <= count) ?? raw;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function formatTick(value) {
  if (value >= 1000 && value % 1000 === 0) return `${value / 1000}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return String(value);
}

function panel(spec, offsetX) {
  const points = spec.series.flatMap((s) => s.points);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xMax = Math.max(1, ...points.map((p) => p.x)) * 1.05;
  const ys = points.map((p) => p.y).filter((y) => y > 0);
  let yOf;
  let yTicks;
  if (spec.yLog) {
    const lo = Math.floor(Math.log10(Math.min(1, ...ys, ...(spec.hLines ?? []).map((h) => h.y))));
    const hi = Math.ceil(Math.log10(Math.max(10, ...ys, ...(spec.hLines ?? []).map((h) => h.y))));
    yOf = (y) => MARGIN.top + plotH * (1 - (Math.log10(Math.max(y, 10 ** lo)) - lo) / (hi - lo));
    yTicks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  } else {
    const yMax = Math.max(1, ...ys) * 1.1;
    yOf = (y) => MARGIN.top + plotH * (1 - y / yMax);
    yTicks = niceTicks(0, yMax);
  }
  const xOf = (x) => MARGIN.left + (plotW * x) / xMax;
  const out = [`<g transform="translate(${offsetX},0)">`];
  out.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(spec.title)}</text>`);
  for (const tick of yTicks) {
    const y = yOf(tick).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#e9ecef"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y}" dy="4" text-anchor="end">${formatTick(tick)}</text>`);
  }
  for (const tick of niceTicks(0, xMax)) {
    const x = xOf(tick).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#f1f3f5"/>`);
    out.push(`<text x="${x}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${formatTick(tick)}</text>`);
  }
  for (const line of spec.hLines ?? []) {
    const y = yOf(line.y).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#c92a2a" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${WIDTH - MARGIN.right - 4}" y="${y}" dy="-4" text-anchor="end" fill="#c92a2a">${escape(line.label)}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#adb5bd"/>`,
  );
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escape(spec.xLabel)}</text>`,
    `<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(spec.yLabel)}</text>`,
  );
  for (const series of spec.series) {
    const sorted = [...series.points].sort((a, b) => a.x - b.x);
    if (sorted.length > 1) {
      const d = sorted.map((p) => `${xOf(p.x).toFixed(1)},${yOf(p.y).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${d}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    }
    for (const p of sorted) {
      const fill = p.hollow ? '#fff' : series.color;
      out.push(
        `<circle cx="${xOf(p.x).toFixed(1)}" cy="${yOf(p.y).toFixed(1)}" r="3.5" fill="${fill}" stroke="${series.color}" stroke-width="1.5"/>`,
      );
    }
  }
  out.push('</g>');
  return out.join('\n');
}

/** An SVG document with `panels` side by side and one legend for all series. */
export function svgChart(panels, { note = '' } = {}) {
  const labels = new Map();
  for (const spec of panels) for (const series of spec.series) labels.set(series.label, series.color);
  const width = WIDTH * panels.length;
  const perRow = Math.max(1, Math.floor((width - MARGIN.left) / 170));
  const rows = Math.ceil(labels.size / perRow);
  const legendY = HEIGHT + 8;
  const height = HEIGHT + 8 + rows * 20 + (note ? 18 : 0);
  const legend = [...labels].map(
    ([label, color], i) =>
      `<g transform="translate(${MARGIN.left + (i % perRow) * 170},${legendY + Math.floor(i / perRow) * 20})">` +
      `<rect width="12" height="12" fill="${color}"/><text x="18" y="11">${escape(label)}</text></g>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...panels.map((spec, i) => panel(spec, i * WIDTH)),
    ...legend,
    note ? `<text x="${MARGIN.left}" y="${height - 6}" fill="#495057">${escape(note)}</text>` : '',
    '</svg>',
    '',
  ].join('\n');
}
