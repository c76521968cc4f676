// Small helpers to build DOM nodes and format figures. Text always goes in as text nodes, never
// as HTML, so nothing a rig or an uploader sent can inject markup.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  append(node, children);
  return node;
}

/** Replace every child of ``node``. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const dash = "—";

export function num(value, digits = 0) {
  return value === null || value === undefined || Number.isNaN(value) ? dash : Number(value).toFixed(digits);
}

export function ms(value) {
  return value === null || value === undefined ? dash : `${Number(value).toFixed(1)} ms`;
}

export function pct(value) {
  return value === null || value === undefined ? dash : `${(100 * value).toFixed(1)} %`;
}

export function when(iso) {
  if (!iso) return dash;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? dash : date.toLocaleString();
}

export function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 1) return "just now";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export function badge(text, kind) {
  return h("span", { class: `badge badge-${kind}` }, text);
}

/** A table in a scroll box (narrow screens scroll it sideways, not the page). */
export function table(columns, rows, { caption, label, numeric = [] } = {}) {
  return h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": label || caption, tabindex: "0" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "n" : null }, c)))),
      h("tbody", {}, rows),
    ),
  );
}

export function labelled(label, value, attrs = {}) {
  return h("div", { class: "stat", ...attrs }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value" }, value));
}
