/* Shared UI helpers of the staff pages.
 *
 *   dpShowError(err, context)       show the page's error banner (#dp-error-banner, class dp-error)
 *   dpClearError(), dpErrorText(err, context)
 *   dpKeyBar(onReady)               wire the API key field (#dp-key, #dp-key-save, #dp-role)
 *   dpSpinner(label)                a spinner with elapsed seconds (local models can take a minute)
 *   dpLoadInto(box, label, fn)      spinner in `box` while fn() runs; errors shown in `box` and the banner
 *   dpLoadRows(body, columns, label, path)   the same for a table body: GET path with a spinner in one row
 *   dpFmtDate, dpFmtNum, dpFmtPct   formatting
 * Elements are built with `el` (dom.js); requests go through api.js.
 */
import { dpApi, dpKey, dpSetKey } from "./api.js";
import { el } from "./dom.js";

/** The message shown for an API error, with a hint for the usual causes. */
export function dpErrorText(err, context) {
  const message = (err && err.message) || String(err);
  const status = err && err.status;
  let hint = "";
  if (status === 401) hint = " Enter a valid API key above.";
  else if (status === 403) hint = " Your key's role may not do this.";
  else if (status === 429) hint = " Too many requests: wait a moment and try again.";
  const prefix = context ? `${context}: ` : "";
  const code = status ? ` (HTTP ${status})` : "";
  return `${prefix}${message.replace(/[.\s]+$/, "")}${code}.${hint}`;
}

function dpBanner() {
  let banner = document.getElementById("dp-error-banner");
  if (!banner) {
    banner = el("div", { id: "dp-error-banner", class: "dp-error dp-banner", role: "alert", hidden: true });
    (document.querySelector("main") || document.body).prepend(banner);
  }
  return banner;
}

export function dpShowError(err, context) {
  if (err && err.name === "AbortError") return;
  const banner = dpBanner();
  banner.replaceChildren(
    el("span", { class: "dp-error-text", text: dpErrorText(err, context) }),
    el("button", { type: "button", "aria-label": "Dismiss error", text: "×", onclick: dpClearError }),
  );
  banner.hidden = false;
  console.warn("deskpilot:", context || "", err); // eslint-disable-line no-console
}

export function dpClearError() {
  const banner = document.getElementById("dp-error-banner");
  if (banner) { banner.hidden = true; banner.replaceChildren(); }
}

/**
 * The API key bar. Calls onReady(me) after GET /v1/me succeeds, on load (when a key is saved) and on
 * every save. `me` is {key_id, name, role}.
 */
export function dpKeyBar(onReady) {
  const input = document.getElementById("dp-key");
  const form = input.form || input.closest("form");
  const role = document.getElementById("dp-role");
  input.value = dpKey();

  async function check() {
    const key = dpKey();
    if (!key) {
      role.textContent = "No API key: paste a staff key and press Save.";
      return;
    }
    role.replaceChildren(dpSpinner("Checking key"));
    try {
      const me = await dpApi("/v1/me");
      role.replaceChildren("Signed in as ", el("strong", { text: me.name || me.key_id }), " · role ",
        el("strong", { id: "dp-role-name", text: me.role }));
      dpClearError();
      onReady(me);
    } catch (err) {
      role.textContent = "Key not accepted.";
      dpShowError(err, "API key");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    dpSetKey(input.value.trim());
    check();
  });
  check();
}

/** A spinner that counts the seconds it has been shown. */
export function dpSpinner(label) {
  const text = label || "Loading";
  const node = el("span", { class: "dp-spinner", role: "status", text: `${text}…` });
  const started = Date.now();
  const timer = setInterval(() => {
    if (!node.isConnected && Date.now() - started > 1000) { clearInterval(timer); return; }
    const s = Math.round((Date.now() - started) / 1000);
    if (s >= 2) node.textContent = `${text}… ${s} s`;
  }, 1000);
  return node;
}

/** Show a spinner in `box` while `fn()` runs; on failure show the error in `box` and in the banner. */
export async function dpLoadInto(box, label, fn) {
  box.replaceChildren(dpSpinner(label));
  try {
    return await fn();
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    box.replaceChildren(el("div", { class: "dp-error", role: "alert", text: dpErrorText(err) }));
    dpShowError(err, label);
    throw err;
  }
}

/** A table body's rows from GET `path`: a spinner (then any error) in one row across `columns` while it loads. */
export function dpLoadRows(body, columns, label, path) {
  const cell = el("td", { colspan: String(columns) });
  body.replaceChildren(el("tr", {}, cell));
  return dpLoadInto(cell, label, () => dpApi(path));
}

export function dpFmtDate(value) {
  if (value === null || value === undefined || value === "") return "—";
  let date;
  if (typeof value === "number") date = new Date(value < 1e12 ? value * 1000 : value);
  else date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function dpFmtNum(value, digits = 3) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function dpFmtPct(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value !== "number") return String(value);
  return `${(value * 100).toFixed(1)}%`;
}
