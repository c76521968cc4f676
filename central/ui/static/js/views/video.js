// One video's ground truth over its frames, read-only: the boxes drawn on the player (solid when
// validated, dashed when not) and one row per track. Live: ``annotation_update`` refetches.

import { get } from "../api.js";
import { badge, fill, h, num, table } from "../dom.js";
import { createPlayer } from "../player.js";

function tracks(annotations) {
  const byTrack = new Map();
  for (const a of annotations) {
    const t = byTrack.get(a.detectionId) || { id: a.detectionId, vruType: a.vruType, first: a.frameNumber, last: a.frameNumber, boxes: 0, validated: 0, flags: new Set() };
    t.first = Math.min(t.first, a.frameNumber);
    t.last = Math.max(t.last, a.frameNumber);
    t.boxes += 1;
    t.validated += a.validated ? 1 : 0;
    for (const flag of ["occluded", "truncated", "difficult"]) if (a[flag]) t.flags.add(flag);
    byTrack.set(a.detectionId, t);
  }
  return [...byTrack.values()].sort((a, b) => a.first - b.first);
}

export function render(main, [videoId], { live }) {
  const id = encodeURIComponent(videoId);
  fill(main, h("p", { class: "muted" }, "Loading video…"));
  let stopped = false;
  let pending = null;
  const load = async () => {
    const [video, annotations, link] = await Promise.all([get(`/api/videos/${id}`), get(`/api/videos/${id}/annotations`), get(`/api/videos/${id}/stream-link`)]);
    if (stopped) return;
    const boxes = annotations.map((a) => ({ frame: a.frameNumber, box: a.boundingBox, verdict: "none", dashed: !a.validated, label: `${a.detectionId} ${a.vruType.replaceAll("_", " ")}` }));
    const legend = [["none", "validated", false], ["none", "not validated yet", true]];
    const player = createPlayer({ url: link.url, contentType: video.contentType, codec: video.codec, fps: video.fps, frameCount: video.frameCount, width: video.width, height: video.height, boxes, legend });
    const list = tracks(annotations);
    const validated = annotations.filter((a) => a.validated).length;
    fill(
      main,
      h(
        "header",
        { class: "page-head" },
        h("p", { class: "crumbs" }, h("a", { href: "/ui/videos" }, "Ground truth"), " / "),
        h("h1", {}, video.filename),
        h("p", { class: "muted" }, `${num(annotations.length)} boxes in ${list.length} tracks · ${validated} validated (solid), ${annotations.length - validated} not yet (dashed) · ${video.codec}, ${video.width}×${video.height}, ${num(video.fps, 2)} fps`),
      ),
      h(
        "section",
        { class: "card review" },
        h(
          "div",
          { class: "review-grid even" },
          player.node,
          list.length
            ? table(
                ["track", "VRU type", "frames", "boxes", "validated", "flags"],
                list.map((t) =>
                  h(
                    "tr",
                    { dataset: { track: t.id } },
                    h("th", { scope: "row" }, h("button", { type: "button", class: "link", onclick: () => player.seekToFrame(t.first), title: `show frame ${t.first}` }, t.id)),
                    h("td", {}, t.vruType.replaceAll("_", " ")),
                    h("td", { class: "n" }, `${t.first}–${t.last}`),
                    h("td", { class: "n" }, num(t.boxes)),
                    h("td", {}, t.validated === t.boxes ? badge("all", "ok") : `${t.validated} / ${t.boxes}`),
                    h("td", {}, [...t.flags].join(", ") || "—"),
                  ),
                ),
                { label: "tracks", numeric: [2, 3] },
              )
            : h("p", { class: "muted" }, "This video has no annotation."),
        ),
      ),
    );
  };
  live.join("video", videoId);
  const off = live.on("annotation_update", (event) => {
    if (event.videoId !== videoId || pending) return;
    pending = setTimeout(() => {
      pending = null;
      load().catch(() => {});
    }, 1000);
  });
  load().catch((exc) => fill(main, h("h1", {}, "Video"), h("p", { class: "error" }, exc.message)));
  return () => {
    stopped = true;
    off();
    clearTimeout(pending);
  };
}
