// Ground truth: the videos, each linking to its annotations over its frames.

import { get } from "../api.js";
import { fill, h, num, table, when } from "../dom.js";

export function render(main, _params, { live }) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading videos…"));
  fill(main, h("h1", {}, "Ground truth"), body);
  const load = () =>
    get("/api/videos?limit=100")
      .then((items) => {
        if (!items.length) {
          fill(body, h("p", { class: "muted" }, "No video yet."));
          return;
        }
        fill(
          body,
          table(
            ["file", "codec", "size", "frames", "fps", "duration", "uploaded"],
            items.map((v) =>
              h(
                "tr",
                { dataset: { video: v.id } },
                h("th", { scope: "row" }, h("a", { href: `/ui/videos/${encodeURIComponent(v.id)}` }, v.filename)),
                h("td", {}, `${v.codec || "?"} (${v.contentType})`),
                h("td", {}, v.width && v.height ? `${v.width}×${v.height}` : "?"),
                h("td", { class: "n" }, num(v.frameCount)),
                h("td", { class: "n" }, num(v.fps, 2)),
                h("td", { class: "n" }, v.durationS ? `${num(v.durationS, 1)} s` : "?"),
                h("td", {}, when(v.createdAt)),
              ),
            ),
            { label: "videos", numeric: [3, 4, 5] },
          ),
        );
      })
      .catch((exc) => fill(body, h("p", { class: "error" }, exc.message)));
  load();
  return live.on("video_uploaded", load);
}
