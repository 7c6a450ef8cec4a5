/* HTTP helpers shared by the staff pages and the widget (bundled into widget.js).
 *
 * Errors are `Error`s whose message is the server's `detail`, with `.status` (the HTTP status, 0 when the server
 * could not be reached) and `.detail` set.
 */

export function httpError(status, message) {
  const err = new Error(message);
  err.status = status;
  err.detail = message;
  return err;
}

/** The human-readable message of an error body: FastAPI's `detail` may be a string, a list or an object. */
function detailOf(payload, fallback) {
  const detail = payload && typeof payload === "object" ? payload.detail : payload;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return fallback;
}

/**
 * The error of a non-2xx response: the body's `detail`. Without a JSON detail, `fallback` when one is given (the
 * widget: customers never see a raw body), else the start of the body or the status line (staff pages).
 */
export async function errorFrom(response, fallback) {
  const text = await response.text().catch(() => "");
  let payload = fallback ? null : text.slice(0, 300);
  try { payload = JSON.parse(text); } catch (_e) { /* not JSON */ }
  return httpError(response.status, detailOf(payload, fallback || `${response.status} ${response.statusText || "error"}`));
}

/**
 * fetch(url, init), resolving to a 2xx response. Rejects with an http error: for another status, as errorFrom
 * (with `fallback`); when the request could not be sent, with the message `unreachable(cause)`. An abort is
 * passed on as it is.
 */
export async function send(url, init, unreachable, fallback) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw httpError(0, unreachable(e && e.message ? e.message : String(e)));
  }
  if (!response.ok) throw await errorFrom(response, fallback && fallback(response));
  return response;
}
