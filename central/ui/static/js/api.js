// REST calls with the tab's token (sessionStorage: kept for this tab only, gone when it closes).

const TOKEN_KEY = "vru-central-token";

export class ApiError extends Error {
  constructor(status, detail, path) {
    super(`${path}: ${status} ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
    this.status = status;
    this.detail = detail;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

let serverOffsetMs = 0;
const unauthorisedHandlers = new Set();

/** The server's clock minus this browser's, from the Date header (to within a second). */
export function serverNow() {
  return Date.now() + serverOffsetMs;
}

export function onUnauthorised(handler) {
  unauthorisedHandlers.add(handler);
}

export async function request(path, { method = "GET", body, total = false } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) serverOffsetMs = date - Date.now();
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) unauthorisedHandlers.forEach((handler) => handler());
    throw new ApiError(response.status, data?.detail ?? response.statusText, path);
  }
  if (total) return { items: data, total: Number(response.headers.get("X-Total-Count") || data.length) };
  return data;
}

export const get = (path) => request(path);

/** Every item of a paged list, 1000 a request, up to ``cap`` items. */
export async function getAll(path, cap = 50000) {
  const items = [];
  const join = path.includes("?") ? "&" : "?";
  for (let offset = 0; offset < cap; offset += 1000) {
    const page = await request(`${path}${join}limit=1000&offset=${offset}`, { total: true });
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) break;
  }
  return items;
}
