/* Agent console: escalation queue, tickets, and the assist panels (summary, suggestions, reply draft). */
import { dpApi } from "./api.js";
import { el, safeUrl } from "./dom.js";
import { dpClearError, dpFmtDate, dpFmtNum, dpKeyBar, dpLoadInto, dpShowError, dpSpinner } from "./staff.js";

const agent = {
  me: null,
  status: "open", // escalation tab
  ticketId: null, // the open ticket
  controller: null, // aborts the open ticket's slow requests when another one is opened
};

const $ = (id) => document.getElementById(id);

// ---- lists ---------------------------------------------------------------------------------------

function listItem(id, title, meta, badge) {
  const button = el("button", { type: "button", class: "dp-item", dataset: { ticketId: String(id) },
    "aria-current": String(id) === String(agent.ticketId) ? "true" : "false", onclick: () => openTicket(id) },
  el("span", { class: "dp-item-title" }, title || `Ticket #${id}`, " ", badge),
  el("span", { class: "dp-item-meta", text: meta }));
  return el("li", {}, button);
}

function badge(status) {
  return status ? el("span", { class: `dp-badge dp-${status}`, text: status }) : null;
}

/** Fetch a list into `list`: with a spinner, or quietly (periodic refresh: no flicker, errors in the banner). */
async function fetchList(list, label, path, quiet) {
  if (!quiet) return dpLoadInto(list, label, () => dpApi(path));
  try { return await dpApi(path); } catch (err) { dpShowError(err, label); throw err; }
}

async function loadQueue(quiet = false) {
  const list = $("dp-queue");
  const status = agent.status;
  try {
    const data = await fetchList(list, "Loading queue", `/v1/escalations?status=${status}`, quiet);
    if (status !== agent.status) return; // the tab changed meanwhile
    const items = (data && data.items) || [];
    list.replaceChildren(...items.map((e) => {
      const meta = [`#${e.ticket_id}`, dpFmtDate(e.created_at),
        typeof e.confidence === "number" ? `confidence ${e.confidence.toFixed(2)}` : null,
        (e.reasons || []).join(", ") || null, e.claimed_by ? `claimed by ${e.claimed_by}` : null].filter(Boolean).join(" · ");
      const li = listItem(e.ticket_id, e.subject || e.question, meta, badge(e.status));
      li.classList.add("dp-escalation");
      return li;
    }));
    if (!items.length) list.append(el("li", { class: "dp-empty", text: `No ${status} escalations.` }));
  } catch (_err) { /* shown by fetchList */ }
}

async function loadTickets(quiet = false) {
  const list = $("dp-tickets");
  try {
    const data = await fetchList(list, "Loading tickets", "/v1/tickets?status=open", quiet);
    const items = (data && data.items) || [];
    list.replaceChildren(...items.map((t) => listItem(t.id, t.subject,
      [`#${t.id}`, dpFmtDate(t.created_at), t.source].filter(Boolean).join(" · "), badge(t.status))));
    if (!items.length) list.append(el("li", { class: "dp-empty", text: "No open tickets." }));
  } catch (_err) { /* shown by fetchList */ }
}

function refreshLists(quiet = false) { loadQueue(quiet); loadTickets(quiet); }

function markCurrent() {
  document.querySelectorAll(".dp-item").forEach((b) => {
    b.setAttribute("aria-current", b.dataset.ticketId === String(agent.ticketId) ? "true" : "false");
  });
}

function selectTab(tab) {
  document.querySelectorAll('.dp-tabs [role="tab"]').forEach((t) => {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
  });
  $("dp-queue-panel").setAttribute("aria-labelledby", tab.id);
  agent.status = tab.dataset.status;
  loadQueue();
}

// ---- the ticket ----------------------------------------------------------------------------------

function field(label, value) {
  let shown = value;
  if (value === null || value === undefined || value === "") shown = "—";
  else if (Array.isArray(value)) shown = value.join("; ");
  else if (typeof value === "object" && !(value instanceof Node)) shown = JSON.stringify(value);
  return [el("dt", { text: label }), el("dd", {}, shown)];
}

function sourceLink(source, cls) {
  const url = safeUrl(source.url);
  const title = source.title || source.source_id || "source";
  return url ? el("a", { class: cls, href: url, target: "_blank", rel: "noopener noreferrer", text: title })
    : el("span", { class: cls, text: title });
}

function renderEscalation(ticket) {
  const esc = ticket.escalation;
  if (!esc) return el("p", { class: "dp-muted", id: "dp-no-escalation", text: "Not escalated: this ticket is not in the human queue." });
  const reasons = esc.reasons && esc.reasons.length ? el("ul", {}, ...esc.reasons.map((r) => el("li", { text: r }))) : "—";
  // Why a human is needed: the reason, its sub-reason and the customer's sentence that showed it.
  const why = esc.triggers && esc.triggers.length ? el("ul", { id: "dp-why" }, ...esc.triggers.map((t) => el("li", {},
    el("strong", { text: t.sub_reason ? `${t.reason} — ${t.sub_reason.replaceAll("_", " ")}` : t.reason }),
    el("span", { text: t.sentence ? ` “${t.sentence}”` : "" })))) : null;
  const tried = esc.sources_tried && esc.sources_tried.length
    ? el("ul", {}, ...esc.sources_tried.map((s) => el("li", {}, sourceLink(s, "dp-tried")))) : "none";
  const resolved = esc.status === "resolved";
  const note = el("textarea", { id: "dp-resolve-note", rows: "2", maxlength: "10000", placeholder: "Resolution note (optional)", disabled: resolved });
  return el("div", { id: "dp-escalation", class: "dp-stack" },
    el("h3", {}, "Escalation ", badge(esc.status)),
    el("dl", { class: "dp-dl" },
      ...field("Reasons", reasons),
      ...(why ? field("Why", why) : []),
      ...field("Confidence", dpFmtNum(esc.confidence, 2)),
      ...field("Summary", esc.summary),
      ...field("Sources tried", tried),
      ...field("Claimed by", esc.claimed_by)),
    el("div", { class: "dp-row" },
      el("button", { type: "button", id: "dp-claim", class: "dp-primary", disabled: resolved, onclick: () => act("claim"),
        text: esc.status === "claimed" ? "Take over" : "Claim" }),
      el("label", { for: "dp-resolve-note", class: "dp-visually-hidden", text: "Resolution note" })),
    note,
    el("div", { class: "dp-row" },
      el("button", { type: "button", id: "dp-resolve", disabled: resolved, onclick: () => act("resolve"), text: "Resolve" }),
      el("span", { id: "dp-action-status", class: "dp-muted", role: "status" })));
}

function renderTicket(ticket) {
  const thread = el("ol", { class: "dp-thread", id: "dp-thread" },
    ...(ticket.messages || []).map((m) => el("li", { class: `dp-role-${m.role}` },
      el("span", { class: "dp-who", text: `${m.role} · ${dpFmtDate(m.at)}` }), m.content)));
  if (!(ticket.messages || []).length) thread.append(el("li", { class: "dp-empty", text: "No messages." }));
  const head = el("div", { class: "dp-card", id: "dp-ticket-head" },
    el("h2", { id: "dp-ticket-subject" }, ticket.subject || `Ticket #${ticket.id}`, " ", badge(ticket.status)),
    el("p", { class: "dp-muted", text: [`#${ticket.id}`, ticket.language ? `language ${ticket.language}` : null,
      ticket.source, ticket.created_at ? `created ${dpFmtDate(ticket.created_at)}` : null].filter(Boolean).join(" · ") }),
    renderEscalation(ticket),
    el("h3", { text: "Conversation" }),
    thread);
  return head;
}

/** The assist panels: summary and suggestions load at once, the draft on demand. */
function renderPanels() {
  return [
    el("div", { class: "dp-panels" },
      el("section", { class: "dp-card", "aria-labelledby": "dp-summary-title" },
        el("h3", { id: "dp-summary-title", text: "Summary" }), el("div", { id: "dp-summary", "aria-live": "polite" })),
      el("section", { class: "dp-card", "aria-labelledby": "dp-suggest-title" },
        el("h3", { id: "dp-suggest-title", text: "Suggested articles" }), el("div", { id: "dp-suggest", "aria-live": "polite" }))),
    el("section", { class: "dp-card", "aria-labelledby": "dp-draft-title" },
      el("div", { class: "dp-row" },
        el("h3", { id: "dp-draft-title", text: "Drafted reply" }),
        el("button", { type: "button", id: "dp-draft-btn", class: "dp-primary dp-push", onclick: loadDraft, text: "Draft reply" })),
      el("div", { id: "dp-draft-box", "aria-live": "polite" },
        el("p", { class: "dp-muted", text: "A reply in the ticket's language, citing the knowledge base. Nothing is sent." }))),
  ];
}

async function loadSummary(id, signal) {
  const box = $("dp-summary");
  try {
    const s = await dpLoadInto(box, "Summarising", () => dpApi(`/v1/tickets/${id}/summary`, { method: "POST", signal }));
    if (id !== agent.ticketId) return;
    const fields = [["Problem", s.problem], ["Tried", s.tried], ["Status", s.status], ["Next action", s.next_action],
      ["Sentiment", s.sentiment]];
    // Sentences the ticket does not back (a number, address or link it does not hold): shown apart, never copied.
    if (s.unverified && s.unverified.length) fields.push(["Not in the ticket (removed)", s.unverified]);
    const text = fields.filter(([label]) => !label.startsWith("Not in the ticket"))
      .map(([label, value]) => `${label}: ${plainText(value)}`).join("\n");
    const status = el("span", { class: "dp-muted", role: "status", id: "dp-copy-summary-status" });
    const flag = flagControl("summary", id, "dp-flag-summary", "Flag summary", "What is wrong with this summary?",
      "Flagged: thank you, this helps improve the summaries.");
    box.replaceChildren(el("dl", { class: "dp-dl", id: "dp-summary-fields" }, ...fields.flatMap(([label, value]) => field(label, value))),
      el("div", { class: "dp-row" },
        el("button", { type: "button", id: "dp-copy-summary", onclick: () => copyAndReport(text, status, "summary", id), text: "Copy" }),
        flag.button, status),
      flag.form);
  } catch (_err) { /* shown */ }
}

function plainText(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.join("; ");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

async function loadSuggest(id, signal) {
  const box = $("dp-suggest");
  try {
    const data = await dpLoadInto(box, "Finding articles", () => dpApi(`/v1/tickets/${id}/suggest`, { method: "POST", signal }));
    if (id !== agent.ticketId) return;
    const items = (data && data.items) || [];
    if (!items.length) { box.replaceChildren(el("p", { class: "dp-empty", text: "No relevant article found." })); return; }
    const status = el("span", { class: "dp-muted", role: "status", id: "dp-copy-suggestion-status" });
    const flag = flagControl("suggestion", id, "dp-flag-suggestion", "Flag suggestions", "What is wrong with these suggestions?",
      "Flagged: thank you, this helps improve the suggestions.");
    box.replaceChildren(
      el("ol", { id: "dp-suggest-list" }, ...items.map((a) => {
        const url = safeUrl(a.url);
        return el("li", {}, sourceLink(a, "dp-suggestion"),
          typeof a.score === "number" ? el("span", { class: "dp-muted", text: ` (score ${a.score.toFixed(2)}) ` }) : " ",
          url ? el("button", { type: "button", class: "dp-small dp-copy-link", dataset: { sourceId: a.source_id || "" },
            "aria-label": `Copy link to ${a.title || a.source_id || "the article"}`,
            onclick: () => copyAndReport(url, status, "suggestion", id, a.source_id), text: "Copy link" }) : null);
      })),
      el("div", { class: "dp-row" }, flag.button, status),
      flag.form);
  } catch (_err) { /* shown */ }
}

async function loadDraft() {
  const id = agent.ticketId;
  const box = $("dp-draft-box");
  const button = $("dp-draft-btn");
  button.disabled = true;
  try {
    const signal = agent.controller ? agent.controller.signal : undefined;
    const d = await dpLoadInto(box, "Drafting a reply", () => dpApi(`/v1/tickets/${id}/draft`, { method: "POST", signal }));
    if (id !== agent.ticketId) return;
    renderDraft(box, id, d);
    button.textContent = "Draft again";
  } catch (_err) { /* shown */ } finally {
    if (id === agent.ticketId) button.disabled = false;
  }
}

function renderDraft(box, id, d) {
  const textarea = el("textarea", { id: "dp-draft", rows: "10", value: d.reply || "", lang: d.language || null });
  const copyStatus = el("span", { class: "dp-muted", role: "status", id: "dp-copy-status" });
  const flag = flagControl("draft", id, "dp-flag", "Flag this draft", "What is wrong with this draft?",
    "Flagged: thank you, this helps improve the drafts.");
  const sources = (d.citations || []);
  box.replaceChildren(
    el("label", { for: "dp-draft", text: `Reply${d.language ? ` (${d.language})` : ""}: edit before sending` }),
    textarea,
    el("div", { class: "dp-row" },
      el("button", { type: "button", id: "dp-copy", onclick: () => copyAndReport(textarea.value, copyStatus, "draft", id), text: "Copy" }),
      flag.button,
      copyStatus),
    flag.form,
    (d.warnings || []).length ? el("ul", { class: "dp-warnings", id: "dp-draft-warnings" },
      ...d.warnings.map((w) => el("li", { text: w }))) : "",
    el("h4", { text: "Sources" }),
    sources.length ? el("ol", { id: "dp-draft-sources" }, ...sources.map((c) => el("li", { title: c.snippet || null }, sourceLink(c, "dp-source"))))
      : el("p", { class: "dp-empty", text: "No sources cited." }),
    (d.next_steps || []).length ? el("div", {}, el("h4", { text: "Next steps" }),
      el("ul", { id: "dp-next-steps" }, ...d.next_steps.map((s) => el("li", { text: s })))) : "");
}

// ---- copy and flag (usage reporting) --------------------------------------------------------------

/** Copy `text` to the clipboard; resolves to whether it worked. */
async function copyToClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_e) { // no clipboard API outside secure contexts: copy from a hidden textarea
    const focused = document.activeElement;
    const area = el("textarea", { value: text, readonly: true, class: "dp-visually-hidden", "aria-hidden": "true", tabindex: "-1" });
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (_e2) { ok = false; }
    area.remove();
    if (focused && focused.focus) focused.focus({ preventScroll: true });
    return ok;
  }
}

/** Tell the server an output was copied (usage KPIs). Never disturbs the agent: failures go to the console only. */
function reportCopy(target, ticketId, sourceId) {
  const body = { kind: "copied", target, ticket_id: Number(ticketId) };
  if (sourceId) body.source_id = String(sourceId);
  dpApi("/v1/events", { body }).catch((err) => console.warn("deskpilot: could not report a copy", err)); // eslint-disable-line no-console
}

async function copyAndReport(text, status, target, ticketId, sourceId) {
  const ok = await copyToClipboard(text);
  status.textContent = ok ? "Copied." : "Could not copy: select the text and copy it by hand.";
  if (ok) reportCopy(target, ticketId, sourceId);
}

/**
 * A "flag" button and its form (comment + send) for a tool's output: POST /v1/feedback with rating down.
 * Ids: `${prefix}` is the button for the draft (dp-flag, dp-flag-form, …), else the form (dp-flag-summary,
 * with dp-flag-summary-btn, -comment, -send, -done).
 */
function flagControl(target, ticketId, prefix, label, question, thanks) {
  const draft = target === "draft";
  const ids = { button: draft ? prefix : `${prefix}-btn`, form: draft ? `${prefix}-form` : prefix,
    comment: `${prefix}-comment`, send: `${prefix}-send`, done: `${prefix}-done` };
  const comment = el("input", { type: "text", id: ids.comment, class: "dp-grow", maxlength: "4000", placeholder: question });
  const send = el("button", { type: "submit", id: ids.send, class: "dp-danger", text: "Send flag" });
  const form = el("form", { id: ids.form, class: "dp-row dp-flag-box", hidden: true },
    el("label", { for: ids.comment, class: "dp-visually-hidden", text: question }), comment, send);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      await dpApi("/v1/feedback", { body: { ticket_id: Number(ticketId), target, rating: "down", comment: comment.value.trim() } });
      form.replaceChildren(el("span", { class: "dp-notice", id: ids.done, role: "status", text: thanks }));
    } catch (err) {
      send.disabled = false;
      dpShowError(err, `Flag ${target === "suggestion" ? "suggestions" : target}`);
    }
  });
  const button = el("button", { type: "button", id: ids.button, class: "dp-danger", "aria-controls": ids.form,
    onclick: () => { form.hidden = false; comment.focus(); }, text: label });
  return { button, form };
}

/** Open a ticket: its thread at once, then the slow panels (each with its own spinner). */
async function openTicket(id, { panels = true } = {}) {
  const box = $("dp-ticket");
  const switching = String(id) !== String(agent.ticketId);
  if (switching && agent.controller) agent.controller.abort();
  if (switching || !agent.controller) agent.controller = new AbortController();
  agent.ticketId = id;
  markCurrent();
  history.replaceState(null, "", `#ticket=${encodeURIComponent(id)}`);
  let ticket;
  const headBox = el("div", { class: "dp-card" });
  if (panels) box.replaceChildren(headBox, ...renderPanels());
  else box.replaceChild(headBox, $("dp-ticket-head") || box.firstChild);
  try {
    ticket = await dpLoadInto(headBox, "Loading ticket", () => dpApi(`/v1/tickets/${encodeURIComponent(id)}`));
  } catch (_err) {
    return;
  }
  if (String(id) !== String(agent.ticketId)) return;
  headBox.replaceWith(renderTicket(ticket));
  if (panels) {
    if (switching) box.focus({ preventScroll: true });
    const { signal } = agent.controller;
    loadSummary(id, signal);
    loadSuggest(id, signal);
  }
}

/** Claim or resolve the open ticket's escalation, then refresh it and the queue. */
async function act(action) {
  const id = agent.ticketId;
  const status = $("dp-action-status");
  const body = action === "resolve" ? { note: ($("dp-resolve-note").value || "").trim() } : {};
  ["dp-claim", "dp-resolve"].forEach((b) => { if ($(b)) $(b).disabled = true; });
  status.replaceChildren(dpSpinner(action === "claim" ? "Claiming" : "Resolving"));
  try {
    await dpApi(`/v1/escalations/${encodeURIComponent(id)}/${action}`, { body });
    dpClearError();
    await openTicket(id, { panels: false });
    const done = $("dp-action-status");
    if (done) done.textContent = action === "claim" ? "Claimed." : "Resolved.";
    refreshLists();
  } catch (err) {
    status.textContent = "";
    ["dp-claim", "dp-resolve"].forEach((b) => { if ($(b)) $(b).disabled = false; });
    dpShowError(err, action === "claim" ? "Claim" : "Resolve");
  }
}

// ---- new ticket ----------------------------------------------------------------------------------

$("dp-new-ticket").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("dp-new-create");
  const body = { subject: $("dp-new-subject").value.trim(), body: $("dp-new-body").value.trim() };
  const language = $("dp-new-language").value.trim();
  if (language) body.language = language;
  button.disabled = true;
  try {
    const ticket = await dpApi("/v1/tickets", { body });
    event.target.reset();
    dpClearError();
    loadTickets();
    if (ticket && ticket.id !== undefined) openTicket(ticket.id);
  } catch (err) {
    dpShowError(err, "Create ticket");
  } finally {
    button.disabled = false;
  }
});

// ---- wiring --------------------------------------------------------------------------------------

document.querySelectorAll('.dp-tabs [role="tab"]').forEach((tab, i, tabs) => {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (event) => { // arrow keys move between tabs
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = tabs[(i + step + tabs.length) % tabs.length];
    next.focus();
    selectTab(next);
  });
});
$("dp-refresh").addEventListener("click", () => refreshLists());

/** `/agent#ticket=ID` opens that ticket (on load, and when the hash changes). */
function openFromHash() {
  const match = /ticket=([^&]+)/.exec(location.hash);
  const id = match && decodeURIComponent(match[1]);
  if (id && String(id) !== String(agent.ticketId)) openTicket(id);
}
window.addEventListener("hashchange", () => { if (agent.me) openFromHash(); });

dpKeyBar((me) => {
  agent.me = me;
  refreshLists();
  openFromHash();
});

// Keep the queue fresh while the page is visible.
setInterval(() => {
  // Quiet, and not while focus is in a list (replacing it would lose the focus).
  const inList = document.activeElement && document.activeElement.closest && document.activeElement.closest(".dp-list");
  if (agent.me && document.visibilityState === "visible" && !inList) refreshLists(true);
}, 30000);
