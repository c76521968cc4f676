// Sessions: every test session with its status and verdict; running ones update live from
// ``session_progress``, and a ``test_completed`` (or a session not yet listed) refetches the list.

import { get } from "../api.js";
import { badge, dash, fill, h, num, table, when } from "../dom.js";

export function statusBadge(status) {
  const kind = { running: "live", completed: "ok", stopped: "muted", failed: "bad", pending: "muted" }[status] || "muted";
  return badge(status, kind);
}

export function verdictBadge(results, status) {
  if (!results || typeof results.passed !== "boolean") return status === "running" ? badge("provisional", "muted") : dash;
  return results.passed ? badge("PASS", "ok") : badge("FAIL", "bad");
}

function row(session) {
  const r = session.results || {};
  const href = `/ui/sessions/${encodeURIComponent(session.id)}`;
  return h(
    "tr",
    { dataset: { session: session.id, status: session.status } },
    h("th", { scope: "row" }, h("a", { href }, session.name)),
    h("td", {}, session.rigId),
    h("td", {}, statusBadge(session.status)),
    h("td", {}, verdictBadge(session.results, session.status)),
    h("td", { class: "n", dataset: { count: "tp" } }, num(r.truePositives)),
    h("td", { class: "n", dataset: { count: "fp" } }, num(r.falsePositives)),
    h("td", { class: "n", dataset: { count: "fn" } }, num(r.falseNegatives)),
    h("td", {}, when(session.startedAt)),
  );
}

export function render(main, _params, { live }) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading sessions…"));
  fill(main, h("h1", {}, "Test sessions"), body);
  let sessions = [];
  let loading = null;
  const refreshedFor = new Set();
  const draw = () => {
    if (!sessions.length) {
      fill(body, h("p", { class: "muted" }, "No test session yet. Create one with POST /api/test-sessions, or run rig-central demo."));
      return;
    }
    fill(body, table(["name", "rig", "status", "verdict", "TP", "FP", "FN", "started"], sessions.map(row), { label: "test sessions", numeric: [4, 5, 6] }));
  };
  const load = () => {
    loading ??= get("/api/test-sessions?limit=100")
      .then((items) => {
        sessions = items;
        draw();
      })
      .catch((exc) => fill(body, h("p", { class: "error" }, exc.message)))
      .finally(() => {
        loading = null;
      });
  };
  load();
  const offProgress = live.on("session_progress", (progress) => {
    const session = sessions.find((s) => s.id === progress.testSessionId);
    if (!session || session.status !== "running") {
      // A session started since the list was read: read it again, once per session.
      if (!refreshedFor.has(progress.testSessionId)) load();
      refreshedFor.add(progress.testSessionId);
      return;
    }
    session.results = { ...session.results, ...progress };
    draw();
  });
  const offDone = live.on("test_completed", load);
  return () => {
    offProgress();
    offDone();
  };
}
