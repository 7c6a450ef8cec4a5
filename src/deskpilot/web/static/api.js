/* Deskpilot API helpers for the staff pages (agent console, KB editor, operations, QA).
 *
 *   dpKey()                     the staff API key saved in localStorage ('deskpilot.key'), or ''
 *   dpSetKey(key)               save it (an empty value removes it)
 *   dpHeaders(key, json)        the request headers: Accept JSON, the key as `Authorization: Bearer <key>`
 *   dpApi(path, opts)           fetch JSON with the key; throws on non-2xx
 *   dpStream(path, body, key, onEvent, signal)   POST and read a text/event-stream response
 *   dpSend(path, init)          fetch with the staff pages' message when the server cannot be reached
 *
 * Errors thrown are `Error`s whose message is the server's `detail`, with `.status` (HTTP status, 0 for network
 * failures) and `.detail` set (http.js).
 */
import { send } from "./http.js";
import { readEvents } from "./sse.js";

const DP_KEY_NAME = "deskpilot.key";

/** The saved staff key: one key per browser. */
export function dpKey() {
  try { return localStorage.getItem(DP_KEY_NAME) || ""; } catch (_e) { return ""; }
}

export function dpSetKey(key) {
  try {
    if (key) localStorage.setItem(DP_KEY_NAME, key.trim());
    else localStorage.removeItem(DP_KEY_NAME);
  } catch (_e) { /* storage disabled: the key lives only in the page */ }
}

export function dpHeaders(key, json) {
  const headers = { Accept: "application/json" };
  if (json) headers["Content-Type"] = "application/json";
  const k = key === undefined ? dpKey() : key;
  if (k) headers.Authorization = `Bearer ${k}`;
  return headers;
}

export function dpSend(path, init) {
  return send(path, init, (cause) => `could not reach the server (${cause})`);
}

/**
 * fetch JSON. opts: {method, body, key, signal}. `key` defaults to the saved key; `method` to POST
 * when there is a body, else GET. Resolves to the parsed JSON (or null for an empty body).
 */
export async function dpApi(path, opts = {}) {
  const hasBody = opts.body !== undefined;
  const response = await dpSend(path, {
    method: opts.method || (hasBody ? "POST" : "GET"),
    headers: dpHeaders(opts.key, hasBody),
    body: hasBody ? JSON.stringify(opts.body) : undefined,
    signal: opts.signal,
  });
  const text = await response.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch (_e) { return text; }
}

/**
 * POST `body` as JSON to `path` and read the event stream: onEvent(name, data) for each event.
 * Resolves when the stream ends; rejects (like dpApi) on a non-2xx status or a network error.
 */
export async function dpStream(path, body, key, onEvent, signal) {
  const headers = dpHeaders(key, true);
  headers.Accept = "text/event-stream";
  const response = await dpSend(path, { method: "POST", headers, body: JSON.stringify(body), signal });
  await readEvents(response, onEvent);
}
