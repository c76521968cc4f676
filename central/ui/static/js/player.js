// The review player: the video (the Range stream, through a signed stream link) with a canvas
// over it on which each frame's ground-truth boxes and detections are drawn, coloured by verdict.

import { h } from "./dom.js";

export const COLOURS = { TP: "#2f9e5c", FN: "#d94545", FP: "#e48a00", repeat: "#8a93a0", ignored: "#8a93a0", none: "#3b82d6" };
const HOLD_S = 0.5; // a detection is an instant: keep it drawn this long so it can be seen

/**
 * ``boxes``: ground truth ``[{frame, box: {x, y, width, height}, label, verdict, dashed}]``;
 * ``marks``: detections ``[{frame, bbox: [x, y, w, h] | null, label, verdict}]``.
 * Returns ``{ node, seekToFrame(frame), redraw() }``.
 */
const VERDICT_LEGEND = [["TP", "detected (TP)"], ["FN", "missed (FN)"], ["FP", "false alarm (FP)"], ["repeat", "repeat"], ["none", "ground truth"]];

export function createPlayer({ url, contentType, codec, fps, frameCount, width, height, boxes = [], marks = [], legend = VERDICT_LEGEND }) {
  fps = fps || 25;
  const byFrame = new Map();
  for (const b of boxes) {
    if (!byFrame.has(b.frame)) byFrame.set(b.frame, []);
    byFrame.get(b.frame).push(b);
  }
  const holdFrames = Math.max(1, Math.round(HOLD_S * fps));
  const video = h("video", { controls: true, muted: true, playsinline: true, preload: "auto", "aria-label": "session video" });
  const canvas = h("canvas", { class: "overlay", "aria-hidden": "true" });
  const readout = h("output", { class: "frame-readout", "aria-live": "off", dataset: { frame: "0" } }, "frame 0");
  if (width && height) video.style.aspectRatio = `${width} / ${height}`;
  const stage = h("div", { class: "stage" }, video, canvas);
  const prev = h("button", { type: "button", onclick: () => step(-1), title: "previous frame (,)" }, "◀ frame");
  const next = h("button", { type: "button", onclick: () => step(1), title: "next frame (.)" }, "frame ▶");
  const legendList = h(
    "ul",
    { class: "legend", "aria-label": "colours" },
    legend.map(([k, text, dashed]) =>
      h("li", {}, h("span", { class: dashed ? "swatch dashed" : "swatch", style: `${dashed ? "border-color" : "background"}:${COLOURS[k]}` }), text),
    ),
  );
  const node = h("div", { class: "player", tabindex: "-1" }, stage, h("div", { class: "player-bar" }, prev, next, readout), legendList);
  let frame = 0;

  const unplayable = (why) => {
    stage.replaceWith(
      h(
        "div",
        { class: "notice unplayable", role: "alert" },
        h("p", {}, h("strong", {}, "This browser cannot play this video"), ` (${codec || "unknown codec"} in ${contentType || "an unknown container"}).`),
        h("p", {}, "Re-encode it as VP9/WebM or H.264/MP4 to review it here; the lists beside it still work."),
        h("p", { class: "muted small" }, `The browser said: ${why}`),
      ),
    );
    prev.disabled = next.disabled = true;
  };
  if (contentType && video.canPlayType(contentType) === "") unplayable("the container is not supported");
  video.addEventListener("error", () => unplayable(video.error?.message || "it failed to decode"));
  video.src = url;

  function frameOf(seconds) {
    const f = Math.floor(seconds * fps + 1e-6);
    return Math.max(0, frameCount ? Math.min(f, frameCount - 1) : f);
  }

  function step(delta) {
    seekToFrame(frame + delta);
  }

  function seekToFrame(target) {
    video.pause();
    const f = Math.max(0, frameCount ? Math.min(target, frameCount - 1) : target);
    video.currentTime = (f + 0.5) / fps;
    show(f);
  }

  function show(f) {
    frame = f;
    readout.dataset.frame = String(f);
    readout.textContent = `frame ${f}${frameCount ? ` / ${frameCount - 1}` : ""} · ${(f / fps).toFixed(2)} s`;
    draw();
  }

  function draw() {
    const rect = video.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
    canvas.style.width = `${rect.width}px`;
    canvas.style.height = `${rect.height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, rect.width, rect.height);
    const vw = video.videoWidth || width;
    const vh = video.videoHeight || height;
    if (!vw || !vh) return;
    // The picture is letterboxed inside the element: map video pixels to that box.
    const scale = Math.min(rect.width / vw, rect.height / vh);
    const ox = (rect.width - vw * scale) / 2;
    const oy = (rect.height - vh * scale) / 2;
    ctx.font = "12px system-ui, sans-serif";
    ctx.lineWidth = 2;
    const rectAt = (x, y, w, hgt, colour, label, dashed) => {
      ctx.strokeStyle = colour;
      ctx.setLineDash(dashed ? [5, 3] : []);
      ctx.strokeRect(ox + x * scale, oy + y * scale, w * scale, hgt * scale);
      if (label) {
        const tw = ctx.measureText(label).width + 6;
        const ly = Math.max(oy + y * scale - 16, 0);
        ctx.fillStyle = colour;
        ctx.fillRect(ox + x * scale, ly, tw, 16);
        ctx.fillStyle = "#fff";
        ctx.fillText(label, ox + x * scale + 3, ly + 12);
      }
    };
    for (const b of byFrame.get(frame) || []) {
      rectAt(b.box.x, b.box.y, b.box.width, b.box.height, COLOURS[b.verdict] || COLOURS.none, b.label, b.dashed);
    }
    let chip = 0;
    for (const m of marks) {
      if (m.frame === null || frame < m.frame || frame >= m.frame + holdFrames) continue;
      const colour = COLOURS[m.verdict] || COLOURS.none;
      if (m.bbox) {
        rectAt(m.bbox[0], m.bbox[1], m.bbox[2], m.bbox[3], colour, null, true);
      }
      // Every detection also gets a chip at the top: a temporal signal has no box to draw.
      const tw = ctx.measureText(m.label).width + 10;
      ctx.setLineDash([]);
      ctx.fillStyle = colour;
      ctx.fillRect(6, 6 + chip * 20, tw, 18);
      ctx.fillStyle = "#fff";
      ctx.fillText(m.label, 11, 19 + chip * 20);
      chip += 1;
    }
  }

  const onFrame = (_now, metadata) => {
    show(frameOf(metadata.mediaTime));
    video.requestVideoFrameCallback(onFrame);
  };
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) video.requestVideoFrameCallback(onFrame);
  else video.addEventListener("timeupdate", () => show(frameOf(video.currentTime)));
  video.addEventListener("seeked", () => show(frameOf(video.currentTime)));
  video.addEventListener("loadedmetadata", draw);
  new ResizeObserver(draw).observe(video);
  node.addEventListener("keydown", (event) => {
    if (event.key === "," || event.key === ".") {
      event.preventDefault();
      step(event.key === "," ? -1 : 1);
    }
  });
  return { node, seekToFrame, redraw: draw, get frame() { return frame; } };
}
