// Boot: ask the server whether a token is needed, log in, connect the live events and route
// /ui/... paths to views. A view is ``{ render(main, params, ctx) }`` that returns a cleanup.

import { get, onUnauthorised, token, ApiError } from "./api.js";
import { Live } from "./live.js";
import { h, fill } from "./dom.js";
import * as rigs from "./views/rigs.js";
import * as sessions from "./views/sessions.js";
import * as session from "./views/session.js";
import * as videos from "./views/videos.js";
import * as video from "./views/video.js";

const ROUTES = [
  [/^\/(?:ui\/?)?$/, rigs, "rigs"],
  [/^\/ui\/rigs\/?$/, rigs, "rigs"],
  [/^\/ui\/sessions\/?$/, sessions, "sessions"],
  [/^\/ui\/sessions\/([^/]+)\/?$/, session, "sessions"],
  [/^\/ui\/videos\/?$/, videos, "videos"],
  [/^\/ui\/videos\/([^/]+)\/?$/, video, "videos"],
];

const main = document.getElementById("main");
const liveBadge = document.getElementById("live");
const live = new Live((text, state) => {
  liveBadge.textContent = text;
  liveBadge.dataset.state = state;
});
let config = { authRequired: true, rigStaleAfterS: 15 };
let cleanup = null;

function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, "", path);
  else history.pushState({}, "", path);
  show();
}

function show() {
  cleanup?.();
  cleanup = null;
  const path = location.pathname;
  const match = ROUTES.map(([re, view, nav]) => [path.match(re), view, nav]).find(([m]) => m);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (match && link.dataset.nav === match[2]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!match) {
    fill(main, h("h1", {}, "Not found"), h("p", {}, "No view at ", h("code", {}, path), "."));
    return;
  }
  const [m, view] = match;
  const ctx = { live, config, navigate };
  const done = view.render(main, m.slice(1).map(decodeURIComponent), ctx);
  cleanup = typeof done === "function" ? done : null;
  main.focus({ preventScroll: true });
}

// Same-origin links under /ui change the view without reloading the page.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === "/" || url.pathname.startsWith("/ui"))) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", show);

function askToken(message) {
  const dialog = document.getElementById("login");
  const form = dialog.querySelector("form");
  const input = dialog.querySelector("input");
  const error = dialog.querySelector(".error");
  error.textContent = message || "";
  input.value = "";
  if (!dialog.open) dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    form.onsubmit = async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      token.set(value);
      try {
        await get("/api/rigs?limit=1");
      } catch (exc) {
        token.clear();
        error.textContent = exc instanceof ApiError && exc.status === 401 ? "That token is not valid (or revoked)." : String(exc.message);
        return;
      }
      dialog.close();
      resolve(value);
    };
  });
}

async function logIn(message) {
  const value = await askToken(message);
  live.connect(value);
  document.getElementById("logout").hidden = false;
  show();
}

async function boot() {
  try {
    config = { ...config, ...(await get("/ui/config")) };
  } catch (exc) {
    fill(main, h("p", { class: "error" }, `The server did not answer: ${exc.message}`));
    return;
  }
  const logout = document.getElementById("logout");
  logout.addEventListener("click", () => {
    token.clear();
    logIn("Logged out.");
  });
  if (!config.authRequired) {
    live.connect(null);
    show();
    return;
  }
  onUnauthorised(() => {
    token.clear();
    if (!document.getElementById("login").open) logIn("The token was refused: log in again.");
  });
  // Without a token there is nothing to show: Escape does not dismiss the login.
  document.getElementById("login").addEventListener("cancel", (event) => event.preventDefault());
  if (token.get()) {
    live.connect(token.get());
    logout.hidden = false;
    show();
  } else {
    await logIn();
  }
}

boot();
