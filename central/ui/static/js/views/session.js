// One test session. Running: progress over its video, TP/FP/FN and latency percentiles live from
// ``session_progress`` and ``detection_event``, and a latency histogram. Finished: the verdict
// with its criteria and why, tables by VRU type and flag, and the review player with the list of
// misses and false alarms (a click seeks the player to that frame).

import { get, getAll } from "../api.js";
import { binned, histogram, percentile } from "../charts.js";
import { badge, dash, fill, h, labelled, ms, num, pct, svg, table, when } from "../dom.js";
import { COLOURS, createPlayer } from "../player.js";
import { statusBadge, verdictBadge } from "./sessions.js";

const COUNT_FIELDS = [
  ["truePositives", "TP"],
  ["falsePositives", "FP"],
  ["falseNegatives", "FN"],
  ["repeats", "repeats"],
];

function counts(results) {
  return h(
    "div",
    { class: "stats counts" },
    COUNT_FIELDS.map(([key, label]) => labelled(label, num(results?.[key]), { dataset: { metric: key }, class: `stat stat-${label.toLowerCase()}` })),
  );
}

function head(session, video) {
  return h(
    "header",
    { class: "page-head" },
    h("p", { class: "crumbs" }, h("a", { href: "/ui/sessions" }, "Sessions"), " / "),
    h("h1", {}, session.name, " ", statusBadge(session.status), " ", verdictBadge(session.results, session.status)),
    h(
      "p",
      { class: "muted" },
      `rig ${session.rigId} · video `,
      h("a", { href: `/ui/videos/${encodeURIComponent(session.videoId)}` }, video?.filename || session.videoId),
      ` · started ${when(session.startedAt)}`,
      session.completedAt ? ` · ended ${when(session.completedAt)}` : "",
    ),
  );
}

// ------------------------------------------------------------------------------------ running

function timeline(durationMs, tracks, marks, cursorMs) {
  const width = 1000;
  const x = (t) => (Math.max(0, Math.min(t, durationMs)) / durationMs) * width;
  return svg(
    "svg",
    { viewBox: `0 0 ${width} 44`, preserveAspectRatio: "none", class: "timeline", role: "img", "aria-label": "ground-truth events (bars) and detections (ticks) over the video" },
    svg("rect", { x: 0, y: 14, width, height: 16, class: "track-bg" }),
    ...tracks.map((t) => svg("rect", { x: x(t.startMs), y: 14, width: Math.max(x(t.endMs) - x(t.startMs), 2), height: 16, class: "gt-span" }, svg("title", {}, `${t.label}`))),
    ...marks.map((m) => svg("rect", { x: x(m.tMs) - 1.5, y: 4, width: 3, height: 36, fill: COLOURS[m.verdict] || COLOURS.none }, svg("title", {}, m.label))),
    cursorMs === null ? [] : [svg("line", { x1: x(cursorMs), x2: x(cursorMs), y1: 0, y2: 44, class: "cursor" })],
  );
}

function renderRunning(root, session, video, annotations, ctx) {
  const durationMs = (video?.durationS || session.executionConfig?.testDuration || 60) * 1000;
  const budget = session.executionConfig?.maxLatencyMs ?? null;
  const tracks = trackSpans(annotations, video?.fps);
  const state = { results: session.results || {}, progress: null, latencies: [], seededCount: 0, seed: null, marks: [], cursorMs: null };
  const progressBar = h("progress", { max: "1", value: "0", "aria-label": "session progress" });
  const progressText = h("span", { class: "muted" }, "");
  const countsBox = h("div", {});
  const latencyBox = h("div", {});
  const timelineBox = h("div", {});
  root.classList.add("live-view");
  fill(
    root,
    h("section", { class: "card" }, h("h2", {}, "Live"), h("div", { class: "progress-row" }, progressBar, progressText), timelineBox, countsBox),
    h("section", { class: "card" }, h("h2", {}, "Latency"), latencyBox),
  );
  const draw = () => {
    const p = state.progress;
    if (p && typeof p.progress === "number") {
      progressBar.value = p.progress;
      progressText.textContent = `${p.elapsedS?.toFixed(1)} s of ${p.durationS} s · ${num(p.records)} record${p.records === 1 ? "" : "s"}`;
    }
    fill(
      timelineBox,
      timeline(durationMs, tracks, state.marks, state.cursorMs),
      h("div", { class: "timeline-axis muted" }, h("span", {}, "video 0 s"), h("span", {}, state.cursorMs === null ? "waiting for the first record" : `latest record at ${(state.cursorMs / 1000).toFixed(2)} s`), h("span", {}, `${(durationMs / 1000).toFixed(1)} s`)),
    );
    fill(countsBox, counts(state.results), h("p", { class: "muted" }, `accuracy so far ${pct(state.results.accuracy)} (provisional)`));
    // Exact from the live latencies when this page saw every one; else the server's figures.
    const own = state.seededCount === 0;
    const values = state.latencies;
    const stats = own
      ? { p50Ms: percentile(values, 50), p95Ms: percentile(values, 95), p99Ms: percentile(values, 99), count: values.length }
      : state.seed;
    const edges = state.seed?.histogram?.edgesMs || [];
    const hist = own ? binned(edges, values) : state.seed?.histogram?.counts || [];
    fill(
      latencyBox,
      h(
        "div",
        { class: "stats" },
        labelled("p50", ms(stats?.p50Ms), { dataset: { metric: "p50Ms" } }),
        labelled("p95", ms(stats?.p95Ms), { dataset: { metric: "p95Ms" } }),
        labelled("p99", ms(stats?.p99Ms), { dataset: { metric: "p99Ms" } }),
        labelled("latencies", num(stats?.count)),
        labelled("budget (p95)", ms(budget)),
      ),
      histogram(edges, hist, { budgetMs: budget }),
    );
  };
  let refetch = null;
  const seedLatency = () =>
    get(`/api/test-sessions/${encodeURIComponent(session.id)}/latency-metrics`).then((metrics) => {
      state.seed = metrics;
      draw();
    });
  Promise.all([get(`/api/test-sessions/${encodeURIComponent(session.id)}/detailed-results`), seedLatency()])
    .then(([detail]) => {
      state.results = { ...state.results, ...(detail.results || {}) };
      state.seededCount = state.seed?.count || 0;
      draw();
    })
    .catch((exc) => root.append(h("p", { class: "error" }, exc.message)));
  const offProgress = ctx.live.on("session_progress", (p) => {
    if (p.testSessionId !== session.id) return;
    state.progress = p;
    state.results = { ...state.results, ...p };
    draw();
  });
  const offDetections = ctx.live.on("detection_event", (event) => {
    if (event.testSessionId !== session.id) return;
    for (const d of event.detections || []) {
      if (d.matchType === "TP" && typeof d.latencyMs === "number") state.latencies.push(d.latencyMs);
      if (typeof d.tVideoMs === "number") {
        state.cursorMs = Math.max(state.cursorMs ?? 0, d.tVideoMs);
        state.marks.push({ tMs: d.tVideoMs, verdict: d.matchType, label: `${d.matchType} ${d.vruType || ""} at ${(d.tVideoMs / 1000).toFixed(2)} s` });
      }
    }
    // Opened mid-run: the server holds the latencies this page missed; ask at most once a second.
    if (state.seededCount > 0 && !refetch) refetch = setTimeout(() => seedLatency().finally(() => (refetch = null)), 1000);
    draw();
  });
  draw();
  return () => {
    offProgress();
    offDetections();
    clearTimeout(refetch);
  };
}

// ----------------------------------------------------------------------------------- finished

function trackSpans(annotations, fps) {
  const spans = new Map();
  for (const a of annotations) {
    const s = spans.get(a.detectionId) || { id: a.detectionId, vruType: a.vruType, first: a.frameNumber, last: a.frameNumber };
    s.first = Math.min(s.first, a.frameNumber);
    s.last = Math.max(s.last, a.frameNumber);
    spans.set(a.detectionId, s);
  }
  const f = fps || 25;
  return [...spans.values()].map((s) => ({ ...s, startMs: (s.first * 1000) / f, endMs: ((s.last + 1) * 1000) / f, label: `${s.id} (${s.vruType})` }));
}

function criteria(session, results) {
  const config = session.executionConfig || {};
  const p95 = results.latency?.p95Ms ?? null;
  const rows = [];
  if (config.minAccuracy !== undefined) {
    const ok = results.accuracy !== null && results.accuracy >= config.minAccuracy;
    rows.push([ok, `accuracy TP / (TP + FP + FN) = ${num(results.accuracy, 3)}`, `at least ${num(config.minAccuracy, 2)}`]);
  }
  if (config.maxLatencyMs !== undefined) {
    const ok = p95 === null || p95 <= config.maxLatencyMs;
    rows.push([ok, `p95 latency = ${ms(p95)}`, `at most ${config.maxLatencyMs} ms`]);
  }
  return h(
    "ul",
    { class: "criteria", "aria-label": "pass criteria" },
    rows.map(([ok, actual, needed]) => h("li", { class: ok ? "met" : "unmet" }, h("span", { class: "mark", "aria-hidden": "true" }, ok ? "✓" : "✗"), h("span", { class: "sr-only" }, ok ? "met: " : "not met: "), `${actual}, needed ${needed}`)),
  );
}

function verdict(session, results) {
  const failed = results.failedCriteria || [];
  const why = results.passed
    ? h("p", {}, "Passed: every criterion below is met.")
    : h("div", {}, h("p", {}, "Failed because:"), h("ul", { class: "why" }, failed.map((c) => h("li", {}, c))));
  return h(
    "section",
    { class: `card verdict ${results.passed ? "pass" : "fail"}`, "aria-labelledby": "verdict-title" },
    h("h2", { id: "verdict-title" }, "Verdict: ", results.passed ? badge("PASS", "ok") : badge("FAIL", "bad")),
    why,
    criteria(session, results),
    session.failureReason ? h("p", { class: "error" }, `session failure: ${session.failureReason}`) : null,
  );
}

function breakdown(title, rows) {
  const entries = Object.entries(rows || {});
  if (!entries.length) return null;
  return table(
    [title.split(" ")[1] === "VRU" ? "VRU type" : "flag", "ground truth", "TP", "FN", "FP", "ignored", "precision", "recall"],
    entries.map(([name, s]) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, name.replaceAll("_", " ")),
        ...[s.groundTruth, s.truePositives, s.falseNegatives, s.falsePositives, s.ignored].map((v) => h("td", { class: "n" }, num(v))),
        h("td", { class: "n" }, num(s.precision, 2)),
        h("td", { class: "n" }, num(s.recall, 2)),
      ),
    ),
    { caption: title, numeric: [1, 2, 3, 4, 5, 6, 7] },
  );
}

function renderFinished(root, session, video, annotations, ctx) {
  const id = encodeURIComponent(session.id);
  fill(root, h("p", { class: "muted" }, "Loading results…"));
  Promise.all([
    get(`/api/test-sessions/${id}/detailed-results`),
    getAll(`/api/test-sessions/${id}/detection-comparison`),
    video ? get(`/api/videos/${encodeURIComponent(video.id)}/stream-link`) : null,
  ])
    .then(([detail, rows, link]) => {
      const results = detail.results;
      if (!results) {
        fill(root, h("p", { class: "muted" }, `No results: the session is ${session.status}.`), session.failureReason ? h("p", { class: "error" }, session.failureReason) : null);
        return;
      }
      const latency = results.latency || {};
      const fps = video?.fps || 25;
      const annotationById = new Map(annotations.map((a) => [a.id, a]));
      // A ground-truth box takes the verdict given to it, or else the one given to its track.
      const byAnnotation = new Map();
      const byTrack = new Map();
      for (const r of rows) {
        const gt = annotationById.get(r.groundTruthId);
        if (!gt || !(r.matchType === "TP" || r.matchType === "FN")) continue;
        byAnnotation.set(gt.id, r.matchType);
        if (byTrack.get(gt.detectionId) !== "TP") byTrack.set(gt.detectionId, r.matchType);
      }
      const boxes = annotations.map((a) => {
        const v = byAnnotation.get(a.id) || byTrack.get(a.detectionId) || "none";
        return { frame: a.frameNumber, box: a.boundingBox, verdict: v, label: `${a.detectionId} ${v === "none" ? "" : v}`.trim() };
      });
      const frameOfRow = (r) => {
        if (typeof r.frameNumber === "number") return r.frameNumber;
        if (typeof r.tVideoMs === "number") return Math.floor((r.tVideoMs * fps) / 1000);
        return annotationById.get(r.groundTruthId)?.frameNumber ?? null;
      };
      const marks = rows
        .filter((r) => r.detectionEventId)
        .map((r) => ({ frame: frameOfRow(r), bbox: r.bbox, verdict: r.matchType, label: `${r.matchType} ${r.vruType || ""} ${num(r.confidenceScore, 2)}` }));
      const player = video
        ? createPlayer({ url: link.url, contentType: video.contentType, codec: video.codec, fps: video.fps, frameCount: video.frameCount, width: video.width, height: video.height, boxes, marks })
        : null;
      const issues = rows.filter((r) => r.matchType === "FN" || r.matchType === "FP");
      const issueList = h(
        "ol",
        { class: "issues", "aria-label": "misses and false alarms" },
        issues.map((r) => {
          const frame = frameOfRow(r);
          const gt = annotationById.get(r.groundTruthId);
          const what = r.matchType === "FN" ? `missed ${r.vruType || ""}${gt ? ` ${gt.detectionId}` : ""}` : `false alarm ${r.vruType || ""} (confidence ${num(r.confidenceScore, 2)})`;
          return h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: `issue issue-${r.matchType}`,
                dataset: { match: r.matchType, frame: frame ?? "" },
                disabled: frame === null || !player,
                onclick: () => player?.seekToFrame(frame),
              },
              h("span", { class: "badge", style: `background:${COLOURS[r.matchType]}` }, r.matchType),
              ` ${what} · frame ${frame ?? dash}`,
            ),
          );
        }),
      );
      fill(
        root,
        verdict(session, results),
        h(
          "section",
          { class: "card review", "aria-labelledby": "review-title" },
          h("h2", { id: "review-title" }, "Review"),
          h("div", { class: "review-grid" }, player ? player.node : h("p", { class: "error" }, "The session's video is gone."), h("div", {}, h("h3", {}, `Misses and false alarms (${issues.length})`), issues.length ? issueList : h("p", { class: "muted" }, "None: every event was detected and nothing else was."))),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Figures"),
          counts(results),
          h(
            "div",
            { class: "stats" },
            labelled("precision", num(results.precision, 3)),
            labelled("recall", num(results.recall, 3)),
            labelled("F1", num(results.f1, 3)),
            labelled("accuracy", num(results.accuracy, 3), { dataset: { metric: "accuracy" } }),
            labelled("AP50", num(results.ap50, 3)),
            labelled("records", num(results.recordCount)),
            labelled("mode", results.mode || dash),
          ),
          h(
            "div",
            { class: "stats" },
            labelled("latency p50", ms(latency.p50Ms), { dataset: { metric: "p50Ms" } }),
            labelled("p95", ms(latency.p95Ms), { dataset: { metric: "p95Ms" } }),
            labelled("p99", ms(latency.p99Ms), { dataset: { metric: "p99Ms" } }),
            labelled("max", ms(latency.maxMs)),
          ),
          histogram(latency.histogram?.edgesMs || [], latency.histogram?.counts || [], { budgetMs: session.executionConfig?.maxLatencyMs ?? null }),
        ),
        h("section", { class: "card" }, h("h2", {}, "By VRU type and flag"), breakdown("by VRU type", results.byVruType), breakdown("by flag (occluded, truncated, difficult)", results.byFlag)),

      );
    })
    .catch((exc) => fill(root, h("p", { class: "error" }, exc.message)));
  return null;
}

export function render(main, [sessionId], ctx) {
  const top = h("div", {});
  const body = h("div", { class: "sections" });
  fill(main, top, body, h("p", { class: "muted" }, "Loading session…"));
  let cleanup = null;
  let stopped = false;
  let status = null;
  const load = async () => {
    const session = await get(`/api/test-sessions/${encodeURIComponent(sessionId)}`);
    const [video, annotations] = await Promise.all([
      get(`/api/videos/${encodeURIComponent(session.videoId)}`).catch(() => null),
      get(`/api/videos/${encodeURIComponent(session.videoId)}/annotations`).catch(() => []),
    ]);
    if (stopped) return;
    status = session.status;
    cleanup?.();
    body.classList.remove("live-view");
    fill(main, head(session, video), body);
    cleanup = session.status === "running" ? renderRunning(body, session, video, annotations, ctx) : renderFinished(body, session, video, annotations, ctx);
  };
  ctx.live.join("session", sessionId);
  const offDone = ctx.live.on("test_completed", (event) => {
    if (event.testSessionId === sessionId) load();
  });
  // A pending session shown before it starts: its first progress turns the view live.
  const offStart = ctx.live.on("session_progress", (event) => {
    if (event.testSessionId === sessionId && status !== null && status !== "running") {
      status = "running";
      load();
    }
  });
  load().catch((exc) => fill(main, h("h1", {}, "Session"), h("p", { class: "error" }, exc.message)));
  return () => {
    stopped = true;
    offDone();
    offStart();
    cleanup?.();
  };
}
