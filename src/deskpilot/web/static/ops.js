/* Operations dashboard: KPIs of a period, charts (inline SVG, no library), per-language and agent tool tables,
 * and the fallback review list with its CSV export. The period lives in the URL hash (#from=…&to=…&reason=…). */
import { dpApi, dpHeaders, dpSend } from "./api.js";
import { el, svgEl } from "./dom.js";
import { dpFmtDate, dpFmtNum, dpFmtPct, dpKeyBar, dpLoadInto, dpShowError, dpSpinner } from "./staff.js";

const $ = (id) => document.getElementById(id);
const DAY_MS = 86400000;
const ops = { from: "", to: "", reason: "", data: null, drawnWidth: 0, figures: null, review: null, svgSeq: 0 };

/** Routing reasons as people say them (short: they label chart bars and chips). */
const REASONS = {
  no_relevant_source: "No relevant source", low_support: "Low support", user_requested_human: "Asked for a person",
  negative_sentiment: "Negative sentiment", sensitive_topic: "Sensitive topic", injection_suspected: "Injection suspected",
  llm_unavailable: "LLM unavailable", action_failed: "Action failed",
};
/** Sensitive-topic sub-reasons (issue 18): what the hand-off packet names, counted on the reasons chart. */
const SUB_REASONS = {
  account_compromise: "account compromise", lost_device: "lost or stolen device", phishing_fraud: "phishing or fraud",
  billing_dispute: "billing dispute or refund demand", data_loss: "data loss", legal_threat: "legal threat",
  personal_data_request: "personal-data request", safety: "safety",
};
const KINDS = { escalation: "Escalation", thumbs_down: "Thumbs-down", agent_flag: "Agent flag" };
const TOOLS = { draft: "Drafts", summary: "Summaries", suggestion: "Suggestions" };
const SERIES = [ // stacked bottom to top
  { key: "automated", label: "Automated" }, { key: "other", label: "Other" }, { key: "escalated", label: "Escalated" }];

const reasonLabel = (r) => REASONS[r] || r;
const isoDay = (date) => date.toISOString().slice(0, 10);
const plural = (n, one, many) => `${dpFmtNum(n)} ${n === 1 ? one : many || `${one}s`}`;

function fmtMs(value) {
  if (typeof value !== "number") return "—";
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
}

function dayLabel(day) {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? day : date.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

// ---- the period --------------------------------------------------------------------------------

function presetDates(days) {
  const now = Date.now();
  return { from: isoDay(new Date(now - (days - 1) * DAY_MS)), to: isoDay(new Date(now)) };
}

function markPreset() {
  document.querySelectorAll(".dp-preset").forEach((b) => {
    const p = presetDates(Number(b.dataset.days));
    b.setAttribute("aria-pressed", String(p.from === ops.from && p.to === ops.to));
  });
}

function setPeriod(from, to) {
  ops.from = from;
  ops.to = to;
  $("dp-from").value = from;
  $("dp-to").value = to;
  markPreset();
}

function query(withReason) {
  const params = new URLSearchParams({ from: ops.from, to: ops.to });
  if (withReason && ops.reason) params.set("reason", ops.reason);
  return params.toString();
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const valid = (d) => /^\d{4}-\d{2}-\d{2}$/.test(d || "");
  if (valid(params.get("from")) && valid(params.get("to"))) setPeriod(params.get("from"), params.get("to"));
  else { const p = presetDates(7); setPeriod(p.from, p.to); }
  ops.reason = params.get("reason") || "";
  const select = $("dp-review-reason");
  select.value = ops.reason;
  if (select.value !== ops.reason) { ops.reason = ""; select.value = ""; }
}

function writeHash() {
  history.replaceState(null, "", `#${query(true)}`);
}

// ---- SVG helpers -------------------------------------------------------------------------------

/** An SVG chart whose accessible name is `summary` (role img + <title>). */
function chartFrame(width, height, summary) {
  const id = `dp-svg-title-${++ops.svgSeq}`;
  return svgEl("svg", { class: "dp-svg", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-labelledby": id, focusable: "false" }, svgEl("title", { id }, summary));
}

/** Integer axis ticks for counts: about four steps of 1, 2 or 5 × 10^k. */
function niceTicks(max) {
  if (!(max > 0)) return { top: 1, ticks: [0, 1] };
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= raw));
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  return { top, ticks };
}

/** Horizontal grid lines, tick labels and a rotated title on the left axis, a baseline and a bottom title. */
function axes(svg, m, width, height, ticks, y, yTitle, xTitle) {
  for (const t of ticks) {
    svg.append(svgEl("line", { class: t ? "dp-grid" : "dp-axis", x1: m.left, x2: width - m.right, y1: y(t), y2: y(t) }),
      svgEl("text", { class: "dp-tick", x: m.left - 6, y: y(t) + 4, "text-anchor": "end" }, dpFmtNum(t)));
  }
  svg.append(svgEl("text", { class: "dp-axis-title", transform: `translate(12 ${m.top + (height - m.top - m.bottom) / 2}) rotate(-90)`,
    "text-anchor": "middle" }, yTitle),
  svgEl("text", { class: "dp-axis-title", x: m.left + (width - m.left - m.right) / 2, y: height - 6, "text-anchor": "middle" }, xTitle));
}

/** A table only screen readers see: the chart's data (wrapped: a table grows to fit its cells, a div does not). */
function hiddenTable(caption, headers, rows) {
  return el("div", { class: "dp-visually-hidden" }, el("table", {}, el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((v, i) => el(i ? "td" : "th", i ? { text: v } : { scope: "row", text: v })))))));
}

const empty = (text) => el("p", { class: "dp-empty", text });
const chartWidth = (box) => Math.max(280, Math.floor(box.clientWidth || 600));

// ---- charts ------------------------------------------------------------------------------------

function drawDays(box, data) {
  const c = data.conversations;
  if (!c.started) { box.replaceChildren(empty("No conversations in this period.")); return; }
  const rows = (data.by_day || []).map((d) => ({ day: d.day, total: d.conversations, automated: d.automated,
    escalated: d.escalated, other: Math.max(0, d.conversations - d.automated - d.escalated) }));
  const width = chartWidth(box);
  const height = width < 500 ? 210 : 250;
  const m = { top: 12, right: 8, bottom: 44, left: 48 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const { top, ticks } = niceTicks(Math.max(...rows.map((r) => r.total)));
  const y = (v) => m.top + ph - (v / top) * ph;
  const busiest = rows.reduce((a, b) => (b.total > a.total ? b : a), rows[0]);
  const svg = chartFrame(width, height, `Conversations per day, ${dayLabel(rows[0].day)} to ${dayLabel(rows[rows.length - 1].day)}: `
    + `${plural(c.started, "conversation")}, ${dpFmtNum(c.automated)} automated, ${dpFmtNum(c.escalated)} escalated. `
    + `Busiest day ${dayLabel(busiest.day)} with ${busiest.total}.`);
  axes(svg, m, width, height, ticks, y, "Conversations", "Day (UTC)");
  const band = pw / rows.length;
  const barWidth = Math.max(1, Math.min(44, band * 0.7));
  const every = Math.max(1, Math.ceil(rows.length / Math.max(1, Math.floor(pw / 58))));
  rows.forEach((r, i) => {
    const x = m.left + i * band + (band - barWidth) / 2;
    const group = svgEl("g", { class: "dp-bar", "data-day": r.day }, svgEl("title", {},
      `${dayLabel(r.day)}: ${plural(r.total, "conversation")} (${r.automated} automated, ${r.escalated} escalated, ${r.other} other)`));
    let base = 0;
    for (const s of SERIES) {
      if (!r[s.key]) continue;
      group.append(svgEl("rect", { class: `dp-s-${s.key}`, x, y: y(base + r[s.key]), width: barWidth, height: y(base) - y(base + r[s.key]) }));
      base += r[s.key];
    }
    svg.append(group);
    if (i % every === 0) {
      svg.append(svgEl("text", { class: "dp-tick", x: m.left + i * band + band / 2, y: m.top + ph + 16, "text-anchor": "middle" }, dayLabel(r.day)));
    }
  });
  const legend = el("ul", { class: "dp-legend", "aria-hidden": "true" }, ...[...SERIES].reverse().map((s) =>
    el("li", {}, el("span", { class: `dp-swatch dp-s-${s.key}` }), s.label)));
  box.replaceChildren(svg, legend, hiddenTable("Conversations per day", ["Day", "Conversations", "Automated", "Escalated", "Other"],
    rows.map((r) => [r.day, r.total, r.automated, r.escalated, r.other])));
}

function drawReasons(box, data) {
  const esc = data.escalations;
  const entries = Object.entries(esc.by_reason || {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) { box.replaceChildren(empty("No escalations in this period.")); return; }
  const width = chartWidth(box);
  const narrow = width < 520;
  const labelWidth = narrow ? 0 : 160;
  const valueWidth = 88;
  const rowHeight = narrow ? 42 : 30;
  const barHeight = 16;
  const height = entries.length * rowHeight + 4;
  const max = Math.max(...entries.map(([, n]) => n));
  const area = width - labelWidth - valueWidth;
  const share = (r) => dpFmtPct((esc.share || {})[r]);
  const svg = chartFrame(width, height, `Escalation reasons (${plural(esc.total, "escalation")}): `
    + entries.map(([r, n]) => `${reasonLabel(r)} ${n} (${share(r)})`).join(", "));
  entries.forEach(([reason, n], i) => {
    const top = i * rowHeight + (narrow ? 20 : 7);
    const w = Math.max(2, (n / max) * area);
    svg.append(svgEl("g", { class: "dp-bar", "data-reason": reason },
      svgEl("title", {}, `${reasonLabel(reason)}: ${n} (${share(reason)} of escalations)`),
      svgEl("text", narrow ? { class: "dp-bar-label", x: 0, y: top - 5 }
        : { class: "dp-bar-label", x: labelWidth - 8, y: top + barHeight - 4, "text-anchor": "end" }, reasonLabel(reason)),
      svgEl("rect", { class: "dp-s-escalated", x: labelWidth, y: top, width: w, height: barHeight }),
      svgEl("text", { class: "dp-tick", x: labelWidth + w + 6, y: top + barHeight - 4 }, `${n} · ${share(reason)}`)));
  });
  const subs = Object.entries(esc.by_sub_reason || {}).sort((a, b) => b[1] - a[1]);
  const note = el("p", { class: "dp-muted dp-chart-note", text: "Escalations with each reason; one escalation may have several." });
  if (!subs.length) { box.replaceChildren(svg, note); return; }
  const detail = el("p", { class: "dp-chart-note", id: "dp-sub-reasons",
    text: `Sensitive topics: ${subs.map(([s, n]) => `${SUB_REASONS[s] || s} ${dpFmtNum(n)}`).join(", ")}.` });
  box.replaceChildren(svg, detail, note);
}

function drawConfidence(box, data) {
  const answers = data.answers;
  const buckets = answers.confidence.buckets || [];
  if (!answers.total) { box.replaceChildren(empty("No answers in this period.")); return; }
  const width = chartWidth(box);
  const height = 230;
  const m = { top: 12, right: 16, bottom: 44, left: 48 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const { top, ticks } = niceTicks(Math.max(...buckets.map((b) => b.count)));
  const y = (v) => m.top + ph - (v / top) * ph;
  const range = (b) => `${b.from.toFixed(1)}–${b.to.toFixed(1)}`;
  const mode = buckets.reduce((a, b) => (b.count > a.count ? b : a), buckets[0]);
  const svg = chartFrame(width, height, `Answer confidence of ${plural(answers.total, "answer")}, mean `
    + `${dpFmtNum(answers.confidence.mean, 2)}; most answers between ${range(mode)}.`);
  axes(svg, m, width, height, ticks, y, "Answers", "Confidence");
  const band = pw / buckets.length;
  const every = band < 34 ? 2 : 1;
  buckets.forEach((b, i) => {
    const x = m.left + i * band;
    if (b.count) {
      svg.append(svgEl("g", { class: "dp-bar" }, svgEl("title", {}, `${range(b)}: ${plural(b.count, "answer")}`),
        svgEl("rect", { class: "dp-s-confidence", x: x + 1, y: y(b.count), width: Math.max(1, band - 2), height: y(0) - y(b.count) })));
    }
  });
  for (let i = 0; i <= buckets.length; i += every) {
    svg.append(svgEl("text", { class: "dp-tick", x: m.left + i * band, y: m.top + ph + 16, "text-anchor": "middle" }, (i / buckets.length).toFixed(1)));
  }
  box.replaceChildren(svg, hiddenTable("Answers by confidence", ["Confidence", "Answers"], buckets.map((b) => [range(b), b.count])));
}

function drawCharts(data) {
  ops.drawnWidth = $("dp-chart-days").clientWidth;
  drawDays($("dp-chart-days"), data);
  drawReasons($("dp-chart-reasons"), data);
  drawConfidence($("dp-chart-confidence"), data);
}

// ---- KPI tiles and tables ----------------------------------------------------------------------

function tile(id, label, value, detail) {
  return el("div", { class: "dp-kpi", id: `dp-kpi-${id}` }, el("dt", { text: label }),
    el("dd", { class: "dp-kpi-value", text: value }), el("dd", { class: "dp-kpi-detail", text: detail }));
}

function renderKpis(data) {
  const c = data.conversations;
  const a = data.answers;
  const csat = data.csat;
  $("dp-kpis").replaceChildren(el("dl", { class: "dp-kpi-grid" },
    tile("started", "Conversations started", dpFmtNum(c.started), `${dpFmtNum(c.with_thumbs_down)} with a thumbs-down`),
    tile("automation", "Automation rate", dpFmtPct(c.automation_rate), `${dpFmtNum(c.automated)} automated`),
    tile("deflection", "Deflection rate", dpFmtPct(c.deflection_rate), `${dpFmtNum(c.deflected)} without a ticket`),
    tile("escalation", "Escalation rate", dpFmtPct(c.escalation_rate), `${dpFmtNum(c.escalated)} reached a person`),
    tile("csat", "CSAT", dpFmtPct(csat.score), `${dpFmtNum(csat.up)} up · ${dpFmtNum(csat.down)} down`),
    tile("latency", "Answer latency p50", fmtMs(a.latency_ms.p50), `p95 ${fmtMs(a.latency_ms.p95)}`),
    tile("confidence", "Mean confidence", dpFmtNum(a.confidence.mean, 2), `over ${plural(a.total, "answer")}`)));
}

function renderTables(data) {
  const langs = data.by_language || [];
  $("dp-languages-body").replaceChildren(...langs.map((l) => el("tr", { dataset: { language: l.language } },
    el("th", { scope: "row", text: l.language }), ...[l.conversations, l.automated, l.escalated, l.deflected]
      .map((n) => el("td", { class: "dp-num", text: dpFmtNum(n) })),
    el("td", { class: "dp-num", text: dpFmtPct(l.automation_rate) }))));
  if (!langs.length) $("dp-languages-body").append(el("tr", {}, el("td", { colspan: "6", class: "dp-empty", text: "No conversations in this period." })));
  $("dp-agents-body").replaceChildren(...Object.entries(TOOLS).map(([target, label]) => {
    const u = (data.agents || {})[target] || {};
    return el("tr", { dataset: { target } }, el("th", { scope: "row", text: label }),
      el("td", { class: "dp-num", text: dpFmtNum(u.shown) }), el("td", { class: "dp-num", text: dpFmtNum(u.copied) }),
      el("td", { class: "dp-num", text: dpFmtPct(u.copy_rate) }), el("td", { class: "dp-num", text: dpFmtNum(u.flagged) }),
      el("td", { class: "dp-num", text: dpFmtNum(u.helpful) }));
  }));
}

async function loadFigures() {
  if (ops.figures) ops.figures.abort();
  const controller = new AbortController();
  ops.figures = controller;
  const charts = ["dp-chart-days", "dp-chart-reasons", "dp-chart-confidence"].map($);
  let data;
  try {
    data = await dpLoadInto($("dp-kpis"), "Loading figures", () => dpApi(`/v1/analytics?${query(false)}`, { signal: controller.signal }));
  } catch (_err) {
    if (controller.signal.aborted) return;
    ops.data = null;
    charts.forEach((box) => box.replaceChildren());
    $("dp-languages-body").replaceChildren();
    $("dp-agents-body").replaceChildren();
    $("dp-period-label").textContent = "";
    return;
  }
  if (controller.signal.aborted) return;
  ops.data = data;
  const days = (data.by_day || []).length;
  $("dp-period-label").textContent = `Showing ${plural(days, "day")}: ${ops.from} to ${ops.to} (UTC).`;
  renderKpis(data);
  drawCharts(data);
  renderTables(data);
}

// ---- fallback review ---------------------------------------------------------------------------

function quote(label, text, cls) {
  const scrolls = text.length > 600 || text.split("\n").length > 8; // taller than the box: keyboard users scroll it
  return el("div", { class: "dp-review-block" }, el("span", { class: "dp-review-label", text: label }),
    el("div", { class: `dp-quote ${cls || ""}`, tabindex: scrolls ? "0" : null, text }));
}

function reviewItem(item) {
  const handoff = item.kind === "escalation" && item.target === "handoff";
  const kind = item.kind === "agent_flag" ? `${KINDS.agent_flag} · ${item.target}` : handoff ? "Hand-off" : KINDS[item.kind] || item.kind;
  const meta = [dpFmtDate(item.at), item.language ? `language ${item.language}` : null,
    typeof item.confidence === "number" ? `confidence ${item.confidence.toFixed(2)}` : null].filter(Boolean).join(" · ");
  const said = { thumbs_down: "Answer given", agent_flag: `Shown to the agent (${item.target})` }[item.kind]
    || (handoff ? "Customer's hand-off message" : "Said");
  const ticket = item.ticket_id !== null && item.ticket_id !== undefined
    ? el("a", { class: "dp-ticket-link dp-push", href: `/agent#ticket=${encodeURIComponent(item.ticket_id)}`, text: `Open ticket #${item.ticket_id}` }) : null;
  const sources = (item.sources || []).filter((s) => s.source_id || s.title);
  return el("li", { class: `dp-review-item dp-kind-${item.kind}`, dataset: { kind: item.kind } },
    el("div", { class: "dp-row" }, el("span", { class: `dp-badge dp-kind-badge dp-kind-${item.kind}`, text: kind }),
      el("span", { class: "dp-muted", text: meta }), ticket),
    el("p", { class: "dp-review-question" }, el("strong", { text: item.kind === "agent_flag" ? "Ticket: " : "Question: " }),
      item.question || "—"),
    item.response ? quote(said, item.response) : null,
    item.withheld_draft ? quote("Withheld draft (not sent to the customer)", item.withheld_draft, "dp-withheld") : null,
    !item.response && !item.withheld_draft && item.kind === "escalation"
      ? el("p", { class: "dp-muted", text: "No answer was drafted: the conversation went straight to a person." }) : null,
    (item.reasons || []).length ? el("ul", { class: "dp-chips", "aria-label": "Reasons" },
      ...item.reasons.map((r) => el("li", { class: "dp-chip", title: r, dataset: { reason: r }, text: reasonLabel(r) }))) : null,
    item.comment ? el("p", { class: "dp-review-comment" }, el("strong", { text: "Comment: " }), item.comment) : null,
    sources.length ? el("p", { class: "dp-review-sources" }, el("strong", { text: "Sources: " }),
      ...sources.flatMap((s, i) => [i ? ", " : "",
        s.title ? el("span", { title: s.source_id || null, text: s.title }) : el("code", { text: s.source_id })])) : null);
}

async function loadReview() {
  if (ops.review) ops.review.abort();
  const controller = new AbortController();
  ops.review = controller;
  const box = $("dp-review");
  const count = $("dp-review-count");
  count.textContent = "";
  let data;
  try {
    data = await dpLoadInto(box, "Loading the review list", () => dpApi(`/v1/review?${query(true)}&limit=500`, { signal: controller.signal }));
  } catch (_err) { return; }
  if (controller.signal.aborted) return;
  const items = (data && data.items) || [];
  count.textContent = items.length >= 500 ? "The newest 500 items (export the CSV for all)." : `${plural(items.length, "item")}.`;
  box.replaceChildren(items.length ? el("ol", { id: "dp-review-list", class: "dp-review-list" }, ...items.map(reviewItem))
    : empty(ops.reason ? "Nothing with this reason in this period." : "No escalations, thumbs-down or flags in this period."));
}

/** Download the CSV with the key in the header (never in the URL): fetch into a Blob, click an object-URL link. */
async function exportCsv() {
  const button = $("dp-export");
  const status = $("dp-export-status");
  button.disabled = true;
  status.replaceChildren(dpSpinner("Preparing the CSV"));
  try {
    const headers = dpHeaders();
    headers.Accept = "text/csv";
    const response = await dpSend(`/v1/review.csv?${query(true)}`, { headers });
    const blob = await response.blob();
    const match = /filename="?([^";]+)"?/.exec(response.headers.get("content-disposition") || "");
    const name = match ? match[1] : `deskpilot-review-${ops.from}-${ops.to}.csv`;
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    status.textContent = `Downloaded ${name}.`;
  } catch (err) {
    status.textContent = "";
    dpShowError(err, "Export CSV");
  } finally {
    button.disabled = false;
  }
}

// ---- wiring ------------------------------------------------------------------------------------

function loadAll() {
  writeHash();
  loadFigures();
  loadReview();
}

document.querySelectorAll(".dp-preset").forEach((button) => button.addEventListener("click", () => {
  const p = presetDates(Number(button.dataset.days));
  setPeriod(p.from, p.to);
  loadAll();
}));
$("dp-period-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const from = $("dp-from").value;
  const to = $("dp-to").value;
  if (!from || !to) return;
  if (from > to) { dpShowError(new Error("the period ends before it starts"), "Period"); return; }
  setPeriod(from, to);
  loadAll();
});
["dp-from", "dp-to"].forEach((id) => $(id).addEventListener("input", () => {
  document.querySelectorAll(".dp-preset").forEach((b) => b.setAttribute("aria-pressed", "false"));
}));
$("dp-review-reason").addEventListener("change", (event) => {
  ops.reason = event.target.value;
  writeHash();
  loadReview();
});
$("dp-export").addEventListener("click", exportCsv);

let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (ops.data && $("dp-chart-days").clientWidth !== ops.drawnWidth) drawCharts(ops.data);
  }, 150);
});

readHash();
dpKeyBar(loadAll);
