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
 */
(function () {
  "use strict";
  if (window.Deskpilot && window.Deskpilot.loaded) return; // included twice

  const script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  const data = (script && script.dataset) || {};
  const scriptOrigin = (() => { try { return new URL(script.src, location.href).origin; } catch (_e) { return location.origin; } })();
  const API = (data.api || scriptOrigin).replace(/\/+$/, "");

  const state = {
    key: data.key || "",
    company: data.company || "",
    conversationId: null,
    assistantTurns: 0, // assistant turns so far: the next one's message_index
    busy: false,
    handedOff: false,
  };

  // ---- icons (Feather icons, MIT licence), built as SVG so no font or image is needed -------------
  const ICONS = {
    chat: "M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z",
    thumb: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
    close: "M18 6 6 18M6 6l12 12",
    send: "M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z",
  };
  function icon(name, extraClass) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", `dp-w-icon${extraClass ? ` ${extraClass}` : ""}`);
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  // ---- styles (scoped under #dp-widget) -----------------------------------------------------------
  const CSS = `
#dp-widget, #dp-widget * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 15px; line-height: 1.45; letter-spacing: normal; text-transform: none; text-align: left; float: none; }
#dp-widget { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; color: #1b1f24; }
#dp-widget button { cursor: pointer; margin: 0; font-weight: 600; border-radius: 8px; border: 1px solid #c4cbd3;
  background: #fff; color: #1b1f24; padding: 6px 12px; min-height: 34px; display: inline-flex; align-items: center; gap: 6px; box-shadow: none; }
#dp-widget button:hover:not(:disabled) { background: #eef1f4; }
#dp-widget button:disabled { opacity: .55; cursor: not-allowed; }
#dp-widget :focus-visible { outline: 3px solid #7fb2ea; outline-offset: 1px; }
#dp-widget .dp-w-icon { width: 18px; height: 18px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; flex: none; }
#dp-widget #dp-launcher { position: absolute; right: 0; bottom: 0; border-radius: 999px; padding: 12px 18px; min-height: 48px;
  background: #0b5cad; border-color: #0b5cad; color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
#dp-widget #dp-launcher:hover { background: #094b8e; }
#dp-widget .dp-w-panel { position: absolute; right: 0; bottom: 64px; width: min(380px, calc(100vw - 24px));
  height: min(600px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff;
  border: 1px solid #c4cbd3; border-radius: 14px; box-shadow: 0 10px 40px rgba(0,0,0,.25); overflow: hidden; }
#dp-widget .dp-w-panel[hidden] { display: none !important; }
#dp-widget .dp-w-header { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 10px 12px;
  background: #0b5cad; color: #fff; }
#dp-widget .dp-w-title { font-weight: 700; margin: 0; font-size: 16px; color: #fff; }
#dp-widget .dp-w-header button { background: transparent; border-color: transparent; color: #fff; padding: 4px; min-height: 30px; }
#dp-widget .dp-w-header button:hover { background: rgba(255,255,255,.15); }
#dp-widget #dp-messages { flex: 1; overflow-y: auto; padding: 12px; background: #f6f7f9; display: flex; flex-direction: column; gap: 10px; }
#dp-widget .dp-w-msg { max-width: 92%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
#dp-widget .dp-w-user { align-self: flex-end; background: #0b5cad; color: #fff; border-bottom-right-radius: 4px; }
#dp-widget .dp-w-bot { align-self: flex-start; background: #fff; border: 1px solid #d8dee4; border-bottom-left-radius: 4px; }
#dp-widget .dp-w-typing { color: #57606a; font-style: italic; }
#dp-widget .dp-w-ref { color: #0b5cad; font-size: 12px; vertical-align: super; text-decoration: none; font-weight: 700; }
#dp-widget .dp-w-sources { margin: 8px 0 0; padding: 6px 0 0 20px; border-top: 1px solid #e3e7eb; white-space: normal; font-size: 13px; }
#dp-widget .dp-w-sources li { margin: 2px 0; font-size: 13px; }
#dp-widget a.dp-citation { color: #0b5cad; text-decoration: underline; font-size: 13px; }
#dp-widget .dp-handoff { margin-top: 8px; padding: 8px 10px; border-radius: 8px; background: #e6f4ea; color: #0f5223;
  border: 1px solid #1a7f37; white-space: normal; font-weight: 600; align-self: stretch; max-width: 100%; }
#dp-widget .dp-w-error { background: #fdecea; color: #b3261e; border: 1px solid #b3261e; white-space: normal; align-self: stretch; font-weight: 600; }
#dp-widget .dp-w-rate { display: flex; align-items: center; gap: 6px; margin-top: 6px; white-space: normal; }
#dp-widget .dp-w-rate button { padding: 3px 7px; min-height: 28px; border-radius: 6px; color: #57606a; }
#dp-widget .dp-w-rate button[aria-pressed="true"] { background: #e8f0fb; border-color: #0b5cad; color: #0b5cad; }
#dp-widget .dp-down .dp-w-icon { transform: rotate(180deg); }
#dp-widget .dp-w-thanks { font-size: 12px; color: #57606a; }
#dp-widget .dp-w-comment { display: flex; gap: 6px; margin-top: 6px; white-space: normal; }
#dp-widget .dp-w-comment[hidden] { display: none !important; }
#dp-widget input.dp-comment { flex: 1; min-width: 0; border: 1px solid #c4cbd3; border-radius: 6px; padding: 4px 8px; font-size: 13px; background: #fff; color: #1b1f24; }
#dp-widget .dp-w-form { display: flex; gap: 8px; padding: 10px 12px 6px; border-top: 1px solid #d8dee4; background: #fff; margin: 0; }
#dp-widget #dp-input { flex: 1; min-width: 0; resize: none; border: 1px solid #c4cbd3; border-radius: 8px; padding: 7px 9px;
  background: #fff; color: #1b1f24; max-height: 120px; margin: 0; }
#dp-widget #dp-send { background: #0b5cad; border-color: #0b5cad; color: #fff; align-self: flex-end; }
#dp-widget #dp-send:hover:not(:disabled) { background: #094b8e; }
#dp-widget .dp-w-footer { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 2px 12px 10px; background: #fff; }
#dp-widget #dp-human { font-size: 13px; padding: 4px 10px; min-height: 30px; white-space: nowrap; flex: none; }
#dp-widget .dp-w-note { font-size: 11px; color: #57606a; }
#dp-widget .dp-w-sr { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  #dp-widget { right: 10px; bottom: 10px; }
  #dp-widget .dp-w-panel { width: calc(100vw - 20px); height: calc(100vh - 90px); }
}
@media (prefers-reduced-motion: no-preference) { #dp-widget .dp-w-panel { animation: dp-w-in .15s ease-out; } }
@keyframes dp-w-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }`;

  // ---- small DOM helper -----------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function safeUrl(url) {
    if (!url) return null;
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (_e) { return null; }
  }

  // ---- HTTP ----------------------------------------------------------------------------------------
  async function errorFrom(response) {
    const text = await response.text().catch(() => "");
    let detail = "";
    try { detail = JSON.parse(text).detail; } catch (_e) { /* not JSON */ }
    if (Array.isArray(detail)) detail = detail.map((d) => (d && d.msg) || "").join("; ");
    const err = new Error(typeof detail === "string" && detail ? detail : `the server answered ${response.status}`);
    err.status = response.status;
    return err;
  }

  let keyPromise = null;
  /** The public key: data-key, else GET /v1/widget/config (which also names the company). */
  function publicKey() {
    if (!keyPromise) {
      keyPromise = (async () => {
        if (state.key && state.company) return state.key;
        try {
          const response = await fetch(`${API}/v1/widget/config`, { headers: { Accept: "application/json" } });
          if (!response.ok) throw await errorFrom(response);
          const config = await response.json();
          if (!state.company && config.company) setCompany(config.company);
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

  async function post(path, body) {
    const key = await publicKey();
    let response;
    try {
      response = await fetch(`${API}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${key}`,
          "X-Visitor-Token": visitor() },
        body: JSON.stringify(body),
      });
    } catch (_e) { throw new Error("could not reach the help service, please check your connection"); }
    if (!response.ok) throw await errorFrom(response);
    return response.json().catch(() => null);
  }

  /** Minimal SSE parsing: events separated by blank lines, `event:` and `data:` lines (\r\n or \n). */
  function sseParser(onEvent) {
    let buffer = "", event = "", lines = [];
    function line(text) {
      if (text === "") {
        if (lines.length) {
          let value = lines.join("\n");
          try { value = JSON.parse(value); } catch (_e) { /* raw */ }
          onEvent(event || "message", value);
        }
        event = ""; lines = [];
      } else if (!text.startsWith(":")) {
        const i = text.indexOf(":");
        const field = i < 0 ? text : text.slice(0, i);
        let value = i < 0 ? "" : text.slice(i + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") lines.push(value);
      }
    }
    return {
      push(chunk) {
        buffer += chunk;
        const hold = buffer.endsWith("\r") ? 1 : 0; // maybe half of a \r\n
        const parts = buffer.slice(0, buffer.length - hold).split(/\r\n|\r|\n/);
        buffer = parts.pop() + buffer.slice(buffer.length - hold);
        parts.forEach(line);
      },
      end() { buffer.split(/\r\n|\r|\n/).forEach(line); buffer = ""; line(""); },
    };
  }

  async function streamAsk(body, onEvent) {
    const key = await publicKey();
    let response;
    try {
      response = await fetch(`${API}/v1/ask`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream", Authorization: `Bearer ${key}`,
          "X-Visitor-Token": visitor() },
        body: JSON.stringify(body),
      });
    } catch (_e) { throw new Error("could not reach the help service, please check your connection"); }
    if (!response.ok) throw await errorFrom(response);
    const parser = sseParser(onEvent);
    if (!response.body || !(response.headers.get("content-type") || "").includes("text/event-stream")) {
      const text = await response.text();
      try { onEvent("final", JSON.parse(text)); } catch (_e) { parser.push(text); parser.end(); }
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  }

  // ---- DOM -----------------------------------------------------------------------------------------
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

  function setCompany(name) {
    state.company = name;
    if (ui.title) ui.title.textContent = `${name} help`;
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

  /** "[1]" / "[1, 2]" markers become links to the cited sources; the rest stays plain text. */
  function renderAnswer(target, text, citations) {
    target.replaceChildren();
    const marker = /\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]/g;
    let last = 0;
    for (let m = marker.exec(text); m; m = marker.exec(text)) {
      target.append(text.slice(last, m.index));
      m[1].split(",").map((n) => parseInt(n, 10)).forEach((n) => {
        const cite = citations[n - 1];
        const url = cite && safeUrl(cite.url);
        target.append(url
          ? el("a", { class: "dp-w-ref", href: url, target: "_blank", rel: "noopener noreferrer", title: cite.title || "", text: `[${n}]` })
          : `[${n}]`);
      });
      last = marker.lastIndex;
    }
    target.append(text.slice(last));
  }

  function handoffNotice(ticketId) {
    const ticket = ticketId !== null && ticketId !== undefined ? ` Your ticket number is #${ticketId}.` : "";
    return el("div", { class: "dp-handoff", role: "status",
      text: `A person from our team will reply here.${ticket} You can close this window; we will keep your conversation.` });
  }

  function rateButtons(node, index) {
    const conversationId = state.conversationId;
    const up = el("button", { type: "button", class: "dp-up", "aria-label": "Helpful answer", "aria-pressed": "false" }, icon("thumb"));
    const down = el("button", { type: "button", class: "dp-down", "aria-label": "Unhelpful answer", "aria-pressed": "false" }, icon("thumb"));
    const thanks = el("span", { class: "dp-w-thanks", role: "status" });
    const comment = el("input", { type: "text", class: "dp-comment", maxlength: "4000", placeholder: "What was wrong? (optional)", "aria-label": "What was wrong with this answer? (optional)" });
    const sendComment = el("button", { type: "submit", class: "dp-comment-send", text: "Send" });
    const form = el("form", { class: "dp-w-comment", hidden: true }, comment, sendComment);

    async function rate(rating, text) {
      up.disabled = down.disabled = sendComment.disabled = true;
      thanks.textContent = "";
      try {
        const body = { conversation_id: conversationId, message_index: index, rating };
        if (text) body.comment = text;
        await post("/v1/feedback", body);
        up.setAttribute("aria-pressed", String(rating === "up"));
        down.setAttribute("aria-pressed", String(rating === "down"));
        form.hidden = true;
        thanks.textContent = "Thanks for your feedback!";
      } catch (err) {
        thanks.textContent = `Feedback not sent: ${err.message}`;
      } finally {
        up.disabled = down.disabled = sendComment.disabled = false;
      }
    }
    up.addEventListener("click", () => rate("up"));
    down.addEventListener("click", () => { form.hidden = false; comment.focus(); });
    form.addEventListener("submit", (event) => { event.preventDefault(); rate("down", comment.value.trim()); });
    comment.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); form.hidden = true; down.focus(); } // closes the box, not the chat
    });
    if (!conversationId) { up.disabled = down.disabled = true; up.title = down.title = "Feedback needs a saved conversation"; }
    node.append(el("div", { class: "dp-w-rate" }, el("span", { class: "dp-w-thanks", text: "Was this helpful?" }), up, down, thanks), form);
  }

  function showFinal(node, final) {
    if (final.conversation_id) state.conversationId = final.conversation_id;
    const index = state.assistantTurns++;
    const citations = Array.isArray(final.citations) ? final.citations : [];
    node.dataset.decision = final.decision || "answer";
    node.dataset.index = String(index);
    if (typeof final.confidence === "number") node.dataset.confidence = String(final.confidence);
    const text = el("div", { class: "dp-w-text" });
    renderAnswer(text, final.answer || "", citations); // replaces the streamed text: the server may drop sentences
    node.replaceChildren(text);
    if (citations.length) {
      node.append(el("ol", { class: "dp-w-sources", "aria-label": "Sources" },
        ...citations.map((c) => {
          const url = safeUrl(c.url);
          return el("li", {}, el("a", { class: "dp-citation", href: url, target: url ? "_blank" : null,
            rel: "noopener noreferrer", title: c.snippet || null, "data-source-id": c.source_id, text: c.title || c.source_id || "Source" }));
        })));
    }
    if (final.decision === "escalate") {
      state.handedOff = Boolean(final.ticket_id !== null && final.ticket_id !== undefined);
      node.append(handoffNotice(final.ticket_id));
    }
    rateButtons(node, index);
  }

  function showError(node, message) {
    node.className = "dp-w-msg dp-w-error dp-error";
    node.removeAttribute("aria-busy");
    node.setAttribute("role", "alert");
    node.textContent = `Sorry, something went wrong: ${message}. Please try again, or ask for a person.`;
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
    if (state.company) setCompany(state.company);
    publicKey().catch((err) => {
      const node = bubble("bot", "");
      showError(node, `the chat cannot start (${err.message})`);
    });
    if (data.open === "true") open(false); // no focus stealing on page load
  }

  window.Deskpilot = { loaded: true, open: () => open(), close: () => close(false), toggle: () => toggle(), ask: (q) => ask(q) };
  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
