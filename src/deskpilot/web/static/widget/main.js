/* Deskpilot customer chat widget. Embed with:
 *
 *   <script src="https://HOST/static/widget.js" data-key="PUBLIC_KEY" data-api="https://HOST" defer></script>
 *
 * Attributes (all optional):
 *   data-key      public (customer-role) API key; without it the widget reads GET {api}/v1/widget/config
 *   data-api      API base URL; default: the origin this script was loaded from
 *   data-open     "true" to open the panel on load
 *   data-company  name shown in the header; default: `company` from /v1/widget/config
 *
 * Self-contained: no dependencies, no shadow DOM; every id and class starts with "dp-" and every CSS rule
 * is scoped under #dp-widget, so the host page's styles and ours do not clash.
 * JS API: window.Deskpilot.open(), .close(), .toggle(), .ask(question).
 *
 * Built: this is the entry module of static/widget/; GET /static/widget.js serves it with every module it imports
 * (../dom.js, ../http.js, ../sse.js and the widget's own) as one classic script (api/routes/pages.py). Edit these
 * modules: there is no widget.js file.
 */
import { el } from "../dom.js";
import { handoffNotice, showError, showFinal } from "./answer.js";
import { options, post, publicKey, state, streamAsk } from "./client.js";
import { icon } from "./icons.js";
import { CSS } from "./styles.js";

// ---- the panel ----------------------------------------------------------------------------------------
const ui = {};

function build() {
  if (!document.getElementById("dp-widget-style")) {
    document.head.append(el("style", { id: "dp-widget-style", text: CSS }));
  }
  ui.title = el("h2", { class: "dp-w-title", id: "dp-title", text: "Help" });
  ui.close = el("button", { type: "button", class: "dp-w-close", "aria-label": "Close chat", onclick: () => close(true) }, icon("close"));
  ui.messages = el("div", { id: "dp-messages", role: "log", "aria-live": "polite", "aria-relevant": "additions text", "aria-label": "Conversation" });
  ui.input = el("textarea", { id: "dp-input", rows: "2", maxlength: "8000", placeholder: "Ask a question…", autocomplete: "off" });
  ui.send = el("button", { id: "dp-send", type: "submit", "aria-label": "Send" }, icon("send"), el("span", { text: "Send" }));
  ui.form = el("form", { class: "dp-w-form", onsubmit: onSubmit },
    el("label", { for: "dp-input", class: "dp-w-sr", text: "Your question" }), ui.input, ui.send);
  ui.human = el("button", { id: "dp-human", type: "button", onclick: requestHuman, text: "Talk to a human" });
  ui.panel = el("section", { id: "dp-panel", class: "dp-w-panel", role: "dialog", "aria-labelledby": "dp-title", hidden: true },
    el("div", { class: "dp-w-header" }, ui.title, ui.close),
    ui.messages, ui.form,
    el("div", { class: "dp-w-footer" }, ui.human, el("span", { class: "dp-w-note", text: "Answers are AI-generated from our help centre." })));
  ui.launcher = el("button", { id: "dp-launcher", type: "button", "aria-expanded": "false", "aria-controls": "dp-panel",
    "aria-label": "Open help chat", onclick: toggle }, icon("chat"), el("span", { text: "Help" }));
  ui.root = el("div", { id: "dp-widget" }, ui.panel, ui.launcher);
  document.body.append(ui.root);

  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); ui.form.requestSubmit ? ui.form.requestSubmit() : onSubmit(event); }
  });
  ui.input.addEventListener("input", updateButtons);
  ui.panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) { event.preventDefault(); close(true); }
  });
  bubble("bot", "Hi! Ask me anything about our product. I answer from our help centre, with sources, and I can hand you to a person at any time.");
  updateButtons();
}

function showCompany() {
  if (state.company) ui.title.textContent = `${state.company} help`;
}

function open(focus = true) {
  ui.panel.hidden = false;
  ui.launcher.setAttribute("aria-expanded", "true");
  ui.launcher.setAttribute("aria-label", "Close help chat");
  if (focus) ui.input.focus();
}
function close(focusLauncher) {
  ui.panel.hidden = true;
  ui.launcher.setAttribute("aria-expanded", "false");
  ui.launcher.setAttribute("aria-label", "Open help chat");
  if (focusLauncher) ui.launcher.focus();
}
function toggle() { if (ui.panel.hidden) open(); else close(false); }

function scrollDown() { ui.messages.scrollTop = ui.messages.scrollHeight; }

function bubble(kind, text) {
  const node = el("div", { class: `dp-w-msg dp-w-${kind}`, text });
  ui.messages.append(node);
  scrollDown();
  return node;
}

function updateButtons() {
  ui.send.disabled = state.busy;
  const canHandoff = Boolean(state.conversationId) || ui.input.value.trim() !== "";
  ui.human.disabled = state.busy || state.handedOff || !canHandoff;
  ui.human.title = canHandoff ? "" : "Type your question first, then ask for a person";
}

/** Ask a question and stream the answer into a new assistant bubble. Resolves when it is done. */
async function ask(question) {
  if (state.busy || !question) return;
  state.busy = true;
  updateButtons();
  bubble("user", question);
  const node = el("div", { class: "dp-w-msg dp-w-bot dp-answer", "data-decision": "", "aria-busy": "true" },
    el("span", { class: "dp-w-typing", text: "Looking in our help centre…" }));
  ui.messages.append(node);
  scrollDown();
  let streamed = null;
  let final = null;
  let failure = null;
  try {
    await streamAsk({ question, conversation_id: state.conversationId, stream: true }, (event, payload) => {
      if (event === "token") {
        if (!streamed) { streamed = el("div", { class: "dp-w-text" }); node.replaceChildren(streamed); }
        streamed.append((payload && payload.text) || "");
        scrollDown();
      } else if (event === "final") {
        final = payload;
      } else if (event === "error") {
        failure = (payload && payload.detail) || "the assistant failed";
      }
    });
    if (final) showFinal(node, final);
    else showError(node, failure || "the answer was interrupted");
  } catch (err) {
    showError(node, err.message);
  } finally {
    node.removeAttribute("aria-busy");
    state.busy = false;
    updateButtons();
    scrollDown();
  }
}

function onSubmit(event) {
  if (event) event.preventDefault();
  const question = ui.input.value.trim();
  if (!question || state.busy) return;
  ui.input.value = "";
  ask(question);
}

/** "Talk to a human": the first question goes first when there is no conversation yet. */
async function requestHuman() {
  if (state.busy) return;
  if (!state.conversationId) {
    const question = ui.input.value.trim();
    if (!question) { ui.input.focus(); return; }
    ui.input.value = "";
    await ask(question);
    if (!state.conversationId) return; // the question failed: its error is shown
  }
  ui.human.disabled = true;
  try {
    const result = await post(`/v1/conversations/${encodeURIComponent(state.conversationId)}/handoff`, { reason: "customer request" });
    state.handedOff = true;
    const notice = handoffNotice(result && result.ticket_id);
    notice.classList.add("dp-w-msg");
    ui.messages.append(notice);
  } catch (err) {
    const node = bubble("bot", "");
    showError(node, err.message);
  } finally {
    updateButtons();
    scrollDown();
  }
}

function init() {
  build();
  showCompany(); // data-company at once; the configured company once /v1/widget/config has answered
  publicKey().then(showCompany, (err) => {
    showCompany();
    const node = bubble("bot", "");
    showError(node, `the chat cannot start (${err.message})`);
  });
  if (options.open === "true") open(false); // no focus stealing on page load
}

if (!(window.Deskpilot && window.Deskpilot.loaded)) { // included twice: the first one stays
  window.Deskpilot = { loaded: true, open: () => open(), close: () => close(false), toggle: () => toggle(), ask: (q) => ask(q) };
  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
}
