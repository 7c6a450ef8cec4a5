/* Deskpilot API helpers for the staff pages (agent console, KB editor, QA).
 *
 *   dpKey()                     the staff API key saved in localStorage ('deskpilot.key'), or ''
 *   dpSetKey(key)               save it (an empty value removes it)
 *   dpApi(path, opts)           fetch JSON with `Authorization: Bearer <key>`; throws on non-2xx
 *   dpStream(path, body, key, onEvent)   POST and read a text/event-stream response
 *
 * Errors thrown by dpApi / dpStream are `Error`s whose message is the server's `detail`, with
 * `.status` (HTTP status, 0 for network failures) and `.detail` set.
 */
"use strict";

const DP_KEY_NAME = "deskpilot.key";

/** The saved staff key. `role` is accepted for symmetry with the widget and ignored: one key per browser. */
function dpKey(role) { // eslint-disable-line no-unused-vars
  try { return localStorage.getItem(DP_KEY_NAME) || ""; } catch (_e) { return ""; }
}

function dpSetKey(key) {
  try {
    if (key) localStorage.setItem(DP_KEY_NAME, key.trim());
    else localStorage.removeItem(DP_KEY_NAME);
  } catch (_e) { /* storage disabled: the key lives only in the page */ }
}

/** The human-readable message of an error body: FastAPI's `detail` may be a string, a list or an object. */
function dpDetail(payload, fallback) {
  const detail = payload && typeof payload === "object" ? payload.detail : payload;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return fallback;
}

function dpHttpError(status, message) {
  const err = new Error(message);
  err.status = status;
  err.detail = message;
  return err;
}

async function dpErrorFrom(response) {
  let payload = null;
  const text = await response.text().catch(() => "");
  try { payload = JSON.parse(text); } catch (_e) { payload = text.slice(0, 300); }
  const fallback = `${response.status} ${response.statusText || "error"}`;
  return dpHttpError(response.status, dpDetail(payload, fallback));
}

function dpHeaders(key, json) {
  const headers = { Accept: "application/json" };
  if (json) headers["Content-Type"] = "application/json";
  const k = key === undefined ? dpKey() : key;
  if (k) headers.Authorization = `Bearer ${k}`;
  return headers;
}

/**
 * fetch JSON. opts: {method, body, key, signal}. `key` defaults to the saved key; `method` to POST
 * when there is a body, else GET. Resolves to the parsed JSON (or null for an empty body).
 */
async function dpApi(path, opts = {}) {
  const hasBody = opts.body !== undefined;
  const method = opts.method || (hasBody ? "POST" : "GET");
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: dpHeaders(opts.key, hasBody),
      body: hasBody ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
    });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw dpHttpError(0, `could not reach the server (${e && e.message ? e.message : e})`);
  }
  if (!response.ok) throw await dpErrorFrom(response);
  const text = await response.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch (_e) { return text; }
}

/**
 * A Server-Sent Events parser: feed it text chunks, it calls onEvent(name, data) for each event.
 * Handles \n, \r\n and \r line ends (sse-starlette sends \r\n), comments (`: ping`), multi-line data.
 * `data` is parsed as JSON when it can be, else given as the raw string.
 */
function dpSseParser(onEvent) {
  let buffer = "";
  let event = "";
  let data = [];
  function line(text) {
    if (text === "") { // blank line: dispatch
      if (data.length) {
        const raw = data.join("\n");
        let value = raw;
        try { value = JSON.parse(raw); } catch (_e) { /* keep the raw string */ }
        onEvent(event || "message", value);
      }
      event = ""; data = [];
      return;
    }
    if (text.startsWith(":")) return; // comment / keep-alive
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return {
    push(chunk) {
      buffer += chunk;
      // A trailing \r may be the first half of \r\n: keep it until the next chunk.
      const hold = buffer.endsWith("\r") ? 1 : 0;
      const usable = buffer.slice(0, buffer.length - hold);
      const parts = usable.split(/\r\n|\r|\n/);
      const rest = parts.pop(); // incomplete last line
      buffer = rest + buffer.slice(buffer.length - hold);
      for (const p of parts) line(p);
    },
    end() {
      if (buffer) { const parts = buffer.split(/\r\n|\r|\n/); buffer = ""; for (const p of parts) line(p); }
      line(""); // dispatch whatever is pending
    },
  };
}

/**
 * POST `body` as JSON to `path` and read the event stream: onEvent(name, data) for each event.
 * Resolves when the stream ends; rejects (like dpApi) on a non-2xx status or a network error.
 */
async function dpStream(path, body, key, onEvent, signal) {
  let response;
  try {
    const headers = dpHeaders(key, true);
    headers.Accept = "text/event-stream";
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body), signal });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw dpHttpError(0, `could not reach the server (${e && e.message ? e.message : e})`);
  }
  if (!response.ok) throw await dpErrorFrom(response);
  const parser = dpSseParser(onEvent);
  const type = response.headers.get("content-type") || "";
  if (!response.body || !type.includes("text/event-stream")) {
    // A server (or proxy) that answered with plain JSON: hand it over as the final event.
    const text = await response.text();
    try { onEvent("final", JSON.parse(text)); } catch (_e) { parser.push(text); parser.end(); }
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}
