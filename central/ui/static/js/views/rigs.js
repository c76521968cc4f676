// Rigs: online or offline (a status older than the stale limit counts as offline), spool,
// refused records, per-channel counts and drops, last error and clock offset; live from
// ``rig_status``. A 1 s timer only re-renders "last seen"; it sends no request.

import { get, serverNow } from "../api.js";
import { normalise } from "../live.js";
import { ago, badge, dash, fill, h, labelled, num, table } from "../dom.js";

/** ``online``, ``stale`` (said online, but its heartbeat stopped) or ``offline``. */
export function rigState(rig, staleAfterS) {
  if (rig.state !== "online") return rig.state === "unknown" ? "unknown" : "offline";
  const seen = Date.parse(rig.lastSeenAt || "");
  if (Number.isNaN(seen)) return "offline";
  return (serverNow() - seen) / 1000 > staleAfterS ? "stale" : "online";
}

const STATE_BADGE = {
  online: ["online", "ok"],
  stale: ["offline (no heartbeat)", "bad"],
  offline: ["offline", "bad"],
  unknown: ["never reported", "muted"],
};

function clockOffset(rig) {
  // The rig's wall clock when it sent its status minus central's when it stored it: the clock
  // difference plus the (small) transit time.
  const wallNs = rig.lastStatus?.tWallNs;
  const seen = Date.parse(rig.lastSeenAt || "");
  if (typeof wallNs !== "number" || Number.isNaN(seen)) return dash;
  const offset = wallNs / 1e6 - seen;
  return `${offset >= 0 ? "+" : ""}${offset.toFixed(0)} ms`;
}

function rigCard(rig, staleAfterS) {
  const status = rig.lastStatus || {};
  const state = rigState(rig, staleAfterS);
  const [label, kind] = STATE_BADGE[state];
  const seen = Date.parse(rig.lastSeenAt || "");
  const channels = Object.entries(status.channels || {});
  return h(
    "article",
    { class: `card rig rig-${state}`, dataset: { rig: rig.id, state }, "aria-labelledby": `rig-${rig.id}` },
    h("header", { class: "card-head" }, h("h2", { id: `rig-${rig.id}` }, rig.id), badge(label, kind)),
    h(
      "div",
      { class: "stats" },
      labelled("last seen", Number.isNaN(seen) ? "never" : ago((serverNow() - seen) / 1000), { dataset: { field: "seen" } }),
      labelled("version", rig.version || dash),
      labelled("spool depth", status.spoolFull ? `${num(rig.spoolDepth)} (full)` : num(rig.spoolDepth), { dataset: { field: "spool" } }),
      labelled("refused records", num(status.refusedRecords ?? 0), { dataset: { field: "refused" } }),
      labelled("clock offset", clockOffset(rig), { title: "rig wall clock minus central's, at its last status" }),
      labelled("records received", num(rig.received), { dataset: { field: "received" } }),
      labelled("records lost", num(rig.lost)),
      labelled("session", status.sessionId ? h("a", { href: `/ui/sessions/${encodeURIComponent(status.sessionId)}` }, "open the session") : "none"),
    ),
    status.lastError ? h("p", { class: "error", role: "note" }, "last error: ", status.lastError) : null,
    channels.length
      ? table(
          ["channel", "role", "source", "armed", "count", "drops"],
          channels.map(([name, c]) =>
            h(
              "tr",
              { dataset: { channel: name } },
              h("th", { scope: "row" }, name),
              h("td", {}, c.role || dash),
              h("td", {}, c.source || dash),
              h("td", {}, c.armed ? "yes" : "no"),
              h("td", { class: "n" }, num(c.count)),
              h("td", { class: c.drops ? "n bad" : "n" }, num(c.drops)),
            ),
          ),
          { label: `channels of ${rig.id}`, numeric: [4, 5] },
        )
      : h("p", { class: "muted" }, "No channel figures yet."),
  );
}

export function render(main, _params, { live, config }) {
  const list = h("div", { class: "cards", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading rigs…"));
  fill(main, h("h1", {}, "Rigs"), list);
  const rigs = new Map();
  const draw = () => {
    if (!rigs.size) {
      fill(list, h("p", { class: "muted" }, "No rig has reported yet. Start a rig agent pointed at this central's broker."));
      return;
    }
    fill(list, [...rigs.values()].map((rig) => rigCard(rig, config.rigStaleAfterS)));
  };
  get("/api/rigs?limit=1000")
    .then((items) => {
      for (const rig of items) rigs.set(rig.id, { ...rig, lastStatus: normalise(rig.lastStatus) });
      draw();
    })
    .catch((exc) => fill(list, h("p", { class: "error" }, exc.message)));
  const off = live.on("rig_status", (event) => {
    const known = rigs.get(event.rigId) || { id: event.rigId, received: null, lost: null };
    if (!rigs.has(event.rigId)) {
      // A rig new since the list was read: its record counts are in REST only; read them once.
      get(`/api/rigs/${encodeURIComponent(event.rigId)}`)
        .then((rig) => {
          const now = rigs.get(rig.id);
          rigs.set(rig.id, { ...now, received: rig.received, lost: rig.lost });
          draw();
        })
        .catch(() => {});
    }
    rigs.set(event.rigId, {
      ...known,
      state: event.state,
      lastSeenAt: event.lastSeenAt,
      spoolDepth: event.spoolDepth,
      version: event.version,
      lastStatus: event.status,
    });
    draw();
  });
  // Each second: a rig whose heartbeat went stale is redrawn; the others only get their
  // "last seen" text, so keyboard focus inside a card stays where it is.
  const tick = () => {
    for (const card of list.querySelectorAll("[data-rig]")) {
      const rig = rigs.get(card.dataset.rig);
      if (!rig) continue;
      if (rigState(rig, config.rigStaleAfterS) !== card.dataset.state) {
        card.replaceWith(rigCard(rig, config.rigStaleAfterS));
        continue;
      }
      const seen = Date.parse(rig.lastSeenAt || "");
      const value = card.querySelector("[data-field=seen] .stat-value");
      if (value && !Number.isNaN(seen)) value.textContent = ago((serverNow() - seen) / 1000);
    }
  };
  const timer = setInterval(tick, 1000);
  return () => {
    off();
    clearInterval(timer);
  };
}
