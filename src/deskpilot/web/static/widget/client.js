/* The widget's side of the API: where it is (the script's data-api, else the origin the script came from), the
 * public key, this browser's visitor id, and the requests (JSON, and the answer's event stream). */
import { send } from "../http.js";
import { readEvents } from "../sse.js";

// Read while the bundle runs: document.currentScript is only set during a classic script's first run.
const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
/** The script tag's data-* attributes (data-key, data-api, data-open, data-company). */
export const options = (script && script.dataset) || {};
const scriptOrigin = (() => { try { return new URL(script.src, location.href).origin; } catch (_e) { return location.origin; } })();
const API = (options.api || scriptOrigin).replace(/\/+$/, "");
const UNREACHABLE = () => "could not reach the help service, please check your connection";
const ANSWERED = (response) => `the server answered ${response.status}`; // customers never see a raw body

export const state = {
  key: options.key || "",
  company: options.company || "",
  conversationId: null,
  assistantTurns: 0, // assistant turns so far: the next one's message_index
  busy: false,
  handedOff: false,
};

let keyPromise = null;
/** The public key: data-key, else GET /v1/widget/config (which also names the company, into state.company). */
export function publicKey() {
  if (!keyPromise) {
    keyPromise = (async () => {
      if (state.key && state.company) return state.key;
      try {
        const response = await send(`${API}/v1/widget/config`, { headers: { Accept: "application/json" } }, UNREACHABLE, ANSWERED);
        const config = await response.json();
        if (!state.company && config.company) state.company = config.company;
        if (!state.key) state.key = config.public_key || "";
      } catch (err) {
        if (!state.key) { keyPromise = null; throw err; }
      }
      if (!state.key) throw new Error("the chat is not configured yet (no public key)");
      return state.key;
    })();
  }
  return keyPromise;
}

/** This browser's random visitor id: its conversations are bound to it, so nobody else can read or continue
 * them even with their id. Kept in localStorage (a fresh one per page load where storage is blocked). */
let visitorToken = null;
function visitor() {
  if (visitorToken) return visitorToken;
  try { visitorToken = window.localStorage.getItem("deskpilot.visitor"); } catch (_e) { visitorToken = null; }
  if (!visitorToken || visitorToken.length < 16) {
    const bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    visitorToken = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    try { window.localStorage.setItem("deskpilot.visitor", visitorToken); } catch (_e) { /* storage blocked */ }
  }
  return visitorToken;
}

/** POST `body` as JSON with the public key and the visitor id, accepting `accept`; rejects on any non-2xx. */
async function request(path, body, accept) {
  const key = await publicKey();
  return send(`${API}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: accept, Authorization: `Bearer ${key}`, "X-Visitor-Token": visitor() },
    body: JSON.stringify(body),
  }, UNREACHABLE, ANSWERED);
}

export async function post(path, body) {
  const response = await request(path, body, "application/json");
  return response.json().catch(() => null);
}

/** Ask through POST /v1/ask with `stream: true`: onEvent(name, data) for each event (token, final, error). */
export async function streamAsk(body, onEvent) {
  await readEvents(await request("/v1/ask", body, "text/event-stream"), onEvent);
}
