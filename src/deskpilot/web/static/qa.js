/* QA: evaluation reports (list, the HTML report in an iframe) and a comparison of two reports. */
import { dpApi } from "./api.js";
import { el } from "./dom.js";
import { dpFmtDate, dpFmtNum, dpFmtPct, dpKeyBar, dpLoadInto, dpLoadRows, dpShowError } from "./staff.js";

const $ = (id) => document.getElementById(id);
let reports = [];

let reportBlobUrl = null;

function reportPath(report) {
  return report.html_url || `/v1/eval/reports/${encodeURIComponent(report.name)}.html`;
}

/** A report in a new tab: fetched with the key in the header, opened as a local blob (no key in any URL). */
async function openInNewTab(report) {
  const tab = window.open("", "_blank");  // opened now, while the click still counts as the user's gesture
  try {
    const html = await dpApi(reportPath(report));
    const url = URL.createObjectURL(new Blob([String(html)], { type: "text/html" }));
    if (tab) tab.location.href = url; else window.open(url, "_blank");
  } catch (err) {
    if (tab) tab.close();
    dpShowError(err, "Open report");
  }
}

/** The report's HTML, fetched with the key in the Authorization header (never in a URL), shown in a sandboxed
 * frame (no scripts, no same-origin access) and offered in a new tab as a local blob. */
async function openReport(report) {
  const path = reportPath(report);
  $("dp-viewer").hidden = false;
  $("dp-viewer-title").textContent = `Report ${report.name}`;
  document.querySelectorAll("#dp-reports-body tr").forEach((tr) => tr.classList.toggle("dp-selected", tr.dataset.name === report.name));
  let html;
  try {
    html = await dpApi(path);
  } catch (err) {
    $("dp-viewer-title").textContent = `Report ${report.name}: ${err.message}`;
    return;
  }
  if (reportBlobUrl) URL.revokeObjectURL(reportBlobUrl);
  reportBlobUrl = URL.createObjectURL(new Blob([String(html)], { type: "text/html" }));
  $("dp-viewer-newtab").href = reportBlobUrl;
  $("dp-report-frame").srcdoc = String(html);
  $("dp-viewer").scrollIntoView({ behavior: "smooth", block: "start" });
}

async function loadReports() {
  const body = $("dp-reports-body");
  try {
    const data = await dpLoadRows(body, 9, "Loading reports", "/v1/eval/reports");
    reports = (data && data.items) || [];
  } catch (_err) { return; }
  body.replaceChildren(...reports.map((r) => el("tr", { dataset: { name: r.name } },
    el("td", {}, el("button", { type: "button", class: "dp-open-report", onclick: () => openReport(r), text: r.name })),
    el("td", { text: r.suite || "—" }),
    el("td", { text: dpFmtDate(r.finished_at) }),
    el("td", { class: "dp-num", text: dpFmtNum(r.items) }),
    el("td", { class: "dp-num", text: dpFmtPct(r.correct_rate) }),
    el("td", { class: "dp-num", text: dpFmtPct(r["hit@5"]) }),
    el("td", { class: "dp-num", text: dpFmtPct(r.escalation_recall) }),
    el("td", { class: "dp-num", text: dpFmtPct(r.false_escalation_rate) }),
    el("td", {}, el("button", { type: "button", class: "dp-report-newtab", onclick: () => openInNewTab(r), text: "New tab" })))));
  if (!reports.length) {
    body.append(el("tr", {}, el("td", { colspan: "9", class: "dp-empty", text: "No reports yet: run `deskpilot eval run SUITE`." })));
  }
  fillCompare();
}

/** The compare selects: before = the second newest, after = the newest. */
function fillCompare() {
  const [a, b] = [$("dp-compare-a"), $("dp-compare-b")];
  const keep = [a.value, b.value];
  for (const select of [a, b]) {
    select.replaceChildren(...reports.map((r) => el("option", { value: r.name, text: `${r.name}${r.suite ? ` (${r.suite})` : ""}` })));
  }
  const names = reports.map((r) => r.name);
  a.value = names.includes(keep[0]) ? keep[0] : (names[1] || names[0] || "");
  b.value = names.includes(keep[1]) ? keep[1] : (names[0] || "");
  $("dp-compare").disabled = reports.length < 2;
}

function itemList(id, title, items, cls) {
  if (!items || !items.length) return el("p", { class: "dp-muted", text: `${title}: none.` });
  const label = (i) => (typeof i === "string" ? i : (i && (i.id || i.name)) || JSON.stringify(i));
  return el("div", {}, el("h3", { class: cls, text: `${title} (${items.length})` }),
    el("ul", { id, class: cls }, ...items.map((i) => el("li", {}, el("code", { text: label(i) })))));
}

async function compare(event) {
  event.preventDefault();
  const a = $("dp-compare-a").value;
  const b = $("dp-compare-b").value;
  const box = $("dp-compare-result");
  if (!a || !b) return;
  let data;
  try {
    data = await dpLoadInto(box, "Comparing", () => dpApi(`/v1/eval/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`));
  } catch (_err) { return; }
  const metrics = data.metrics || [];
  const signed = (d) => (typeof d === "number" ? `${d > 0 ? "+" : ""}${dpFmtNum(d, 4)}` : "—");
  const regressions = metrics.filter((m) => m.regressed).length;
  box.replaceChildren(
    el("p", { class: regressions ? "dp-fail" : "dp-improved", id: "dp-compare-verdict",
      text: regressions ? `${regressions} metric(s) regressed from ${a} to ${b}.` : `No metric regressed from ${a} to ${b}.` }),
    el("div", { class: "dp-table-wrap" }, el("table", { class: "dp-table", id: "dp-compare-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Metric" }), el("th", { scope: "col", class: "dp-num", text: "Before" }),
        el("th", { scope: "col", class: "dp-num", text: "After" }), el("th", { scope: "col", class: "dp-num", text: "Delta" }),
        el("th", { scope: "col", text: "" }))),
      el("tbody", {}, ...metrics.map((m) => el("tr", { class: m.regressed ? "dp-regressed" : null, dataset: { metric: m.metric } },
        el("td", {}, el("code", { text: m.metric })),
        el("td", { class: "dp-num", text: dpFmtNum(m.before, 4) }),
        el("td", { class: "dp-num", text: dpFmtNum(m.after, 4) }),
        el("td", { class: "dp-num", text: signed(m.delta) }),
        el("td", { text: m.regressed ? "regressed" : "" })))))),
    itemList("dp-items-regressed", "Items that regressed", data.items_regressed, "dp-fail"),
    itemList("dp-items-fixed", "Items fixed", data.items_fixed, "dp-improved"));
}

$("dp-compare-form").addEventListener("submit", compare);
$("dp-reports-refresh").addEventListener("click", loadReports);
$("dp-viewer-close").addEventListener("click", () => {
  $("dp-viewer").hidden = true;
  $("dp-report-frame").removeAttribute("src");
});

dpKeyBar(loadReports);
