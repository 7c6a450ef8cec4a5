/* QA: evaluation reports (list, the HTML report in an iframe) and a comparison of two reports. */
"use strict";

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
  const cell = dpEl("td", { colspan: "9" });
  body.replaceChildren(dpEl("tr", {}, cell));
  try {
    const data = await dpLoadInto(cell, "Loading reports", () => dpApi("/v1/eval/reports"));
    reports = (data && data.items) || [];
  } catch (_err) { return; }
  body.replaceChildren(...reports.map((r) => dpEl("tr", { dataset: { name: r.name } },
    dpEl("td", {}, dpEl("button", { type: "button", class: "dp-open-report", onclick: () => openReport(r), text: r.name })),
    dpEl("td", { text: r.suite || "—" }),
    dpEl("td", { text: dpFmtDate(r.finished_at) }),
    dpEl("td", { class: "dp-num", text: dpFmtNum(r.items) }),
    dpEl("td", { class: "dp-num", text: dpFmtPct(r.correct_rate) }),
    dpEl("td", { class: "dp-num", text: dpFmtPct(r["hit@5"]) }),
    dpEl("td", { class: "dp-num", text: dpFmtPct(r.escalation_recall) }),
    dpEl("td", { class: "dp-num", text: dpFmtPct(r.false_escalation_rate) }),
    dpEl("td", {}, dpEl("button", { type: "button", class: "dp-report-newtab", onclick: () => openInNewTab(r), text: "New tab" })))));
  if (!reports.length) {
    body.append(dpEl("tr", {}, dpEl("td", { colspan: "9", class: "dp-empty", text: "No reports yet: run `deskpilot eval run SUITE`." })));
  }
  fillCompare();
}

/** The compare selects: before = the second newest, after = the newest. */
function fillCompare() {
  const [a, b] = [$("dp-compare-a"), $("dp-compare-b")];
  const keep = [a.value, b.value];
  for (const select of [a, b]) {
    select.replaceChildren(...reports.map((r) => dpEl("option", { value: r.name, text: `${r.name}${r.suite ? ` (${r.suite})` : ""}` })));
  }
  const names = reports.map((r) => r.name);
  a.value = names.includes(keep[0]) ? keep[0] : (names[1] || names[0] || "");
  b.value = names.includes(keep[1]) ? keep[1] : (names[0] || "");
  $("dp-compare").disabled = reports.length < 2;
}

function itemList(id, title, items, cls) {
  if (!items || !items.length) return dpEl("p", { class: "dp-muted", text: `${title}: none.` });
  const label = (i) => (typeof i === "string" ? i : (i && (i.id || i.name)) || JSON.stringify(i));
  return dpEl("div", {}, dpEl("h3", { class: cls, text: `${title} (${items.length})` }),
    dpEl("ul", { id, class: cls }, ...items.map((i) => dpEl("li", {}, dpEl("code", { text: label(i) })))));
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
    dpEl("p", { class: regressions ? "dp-fail" : "dp-improved", id: "dp-compare-verdict",
      text: regressions ? `${regressions} metric(s) regressed from ${a} to ${b}.` : `No metric regressed from ${a} to ${b}.` }),
    dpEl("div", { class: "dp-table-wrap" }, dpEl("table", { class: "dp-table", id: "dp-compare-table" },
      dpEl("thead", {}, dpEl("tr", {}, dpEl("th", { scope: "col", text: "Metric" }), dpEl("th", { scope: "col", class: "dp-num", text: "Before" }),
        dpEl("th", { scope: "col", class: "dp-num", text: "After" }), dpEl("th", { scope: "col", class: "dp-num", text: "Delta" }),
        dpEl("th", { scope: "col", text: "" }))),
      dpEl("tbody", {}, ...metrics.map((m) => dpEl("tr", { class: m.regressed ? "dp-regressed" : null, dataset: { metric: m.metric } },
        dpEl("td", {}, dpEl("code", { text: m.metric })),
        dpEl("td", { class: "dp-num", text: dpFmtNum(m.before, 4) }),
        dpEl("td", { class: "dp-num", text: dpFmtNum(m.after, 4) }),
        dpEl("td", { class: "dp-num", text: signed(m.delta) }),
        dpEl("td", { text: m.regressed ? "regressed" : "" })))))),
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
