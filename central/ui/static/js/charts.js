// The latency histogram (SVG) and the percentiles the page computes from live latencies.

import { h, svg } from "./dom.js";

/** The ``p``-th percentile (0-100) with linear interpolation, as numpy computes it. */
export function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Counts per bin ``edges[i] <= v < edges[i+1]``; values past the last edge go in the last bin. */
export function binned(edges, values) {
  const counts = new Array(Math.max(edges.length - 1, 0)).fill(0);
  for (const v of values) {
    let i = edges.findIndex((edge, k) => k + 1 < edges.length && v >= edge && v < edges[k + 1]);
    if (i < 0) i = v >= edges[edges.length - 1] ? counts.length - 1 : 0;
    if (counts.length) counts[i] += 1;
  }
  return counts;
}

/** Equal-width bars, one a bin (the server's bins widen past 200 ms), and the budget marked. */
export function histogram(edges, counts, { budgetMs = null, label = "latency histogram" } = {}) {
  const width = 560;
  const height = 170;
  const pad = { left: 30, right: 22, top: 12, bottom: 34 };
  const bins = counts.length;
  if (!bins) return h("p", { class: "muted" }, "No latency measured yet.");
  const most = Math.max(1, ...counts);
  const bw = (width - pad.left - pad.right) / bins;
  const plotH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + i * bw;
  const parts = [];
  parts.push(svg("line", { x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH, class: "axis" }));
  counts.forEach((count, i) => {
    const barH = (count / most) * plotH;
    const over = budgetMs !== null && edges[i] >= budgetMs;
    parts.push(
      svg(
        "rect",
        { x: x(i) + 1, y: pad.top + plotH - barH, width: Math.max(bw - 2, 1), height: barH, class: over ? "bar over" : "bar" },
        svg("title", {}, `${edges[i]}–${edges[i + 1]} ms: ${count}`),
      ),
    );
    if (count) parts.push(svg("text", { x: x(i) + bw / 2, y: pad.top + plotH - barH - 2, class: "count" }, count));
  });
  edges.forEach((edge, i) => {
    if (i % 2 && bins > 10) return;
    parts.push(svg("text", { x: x(i), y: height - pad.bottom + 14, class: "tick" }, edge));
  });
  parts.push(svg("text", { x: width / 2, y: height - 4, class: "axis-label" }, "latency (ms)"));
  const at = budgetMs === null ? -1 : edges.indexOf(budgetMs);
  if (at >= 0) {
    parts.push(svg("line", { x1: x(at), y1: pad.top - 4, x2: x(at), y2: pad.top + plotH, class: "budget" }));
    parts.push(svg("text", { x: x(at) + 3, y: pad.top + 6, class: "budget-label" }, `budget ${budgetMs} ms`));
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, class: "histogram", role: "img", "aria-label": `${label}: ${total} latencies` },
    ...parts,
  );
}
