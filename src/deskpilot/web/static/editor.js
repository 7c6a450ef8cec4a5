/* KB editor: indexed sources, and ingestion runs with live progress and their report. */
import { dpApi } from "./api.js";
import { el } from "./dom.js";
import { wireEditorTools } from "./editor-tools.js";
import { dpClearError, dpFmtDate, dpFmtNum, dpKeyBar, dpLoadRows, dpShowError, dpSpinner } from "./staff.js";

const $ = (id) => document.getElementById(id);
const editor = { sources: [], total: 0, polling: null };

// ---- sources -------------------------------------------------------------------------------------

async function loadSources() {
  try {
    const data = await dpLoadRows($("dp-sources-body"), 8, "Loading sources", "/v1/sources");
    editor.sources = (data && data.items) || [];
    editor.total = data && typeof data.total === "number" ? data.total : editor.sources.length;
    renderSources();
  } catch (_err) { $("dp-source-count").textContent = ""; }
}

function renderSources() {
  const needle = $("dp-filter").value.trim().toLowerCase();
  const rows = editor.sources.filter((s) => !needle || [s.source_id, s.title, s.kind, s.audience, s.state]
    .some((v) => String(v || "").toLowerCase().includes(needle)));
  $("dp-sources-body").replaceChildren(...rows.map((s) => el("tr", { dataset: { sourceId: s.source_id } },
    el("td", {}, el("code", { text: s.source_id })),
    el("td", { text: s.title || "—" }),
    el("td", { text: s.kind || "—" }),
    el("td", { text: s.audience || "—" }),
    el("td", {}, el("span", { class: `dp-badge dp-${s.state}`, text: s.state || "—" })),
    el("td", { class: "dp-num", text: dpFmtNum(s.chunks) }),
    el("td", { text: dpFmtDate(s.updated_at) }),
    el("td", { text: dpFmtDate(s.ingested_at) }))));
  if (!rows.length) {
    $("dp-sources-body").append(el("tr", {}, el("td", { colspan: "8", class: "dp-empty",
      text: editor.sources.length ? "No source matches the filter." : "Nothing is indexed yet: run ingestion." })));
  }
  const shown = editor.sources.length < editor.total ? ` (first ${editor.sources.length} loaded)` : "";
  $("dp-source-count").textContent = needle
    ? `${rows.length} of ${editor.total} sources match${shown}.` : `${editor.total} sources${shown}.`;
}

// ---- ingestion -----------------------------------------------------------------------------------

function renderProgress(job) {
  const box = $("dp-ingest-progress");
  const bar = $("dp-progress");
  const p = job.progress || {};
  box.hidden = false;
  if (p.files_total) { bar.max = p.files_total; bar.value = p.files_done || 0; }
  else bar.removeAttribute("value"); // indeterminate until the files are counted
  const parts = [`${job.state === "queued" ? "Queued" : "Running"}`];
  if (p.files_total) parts.push(`${p.files_done || 0} / ${p.files_total} files`);
  if (p.chunks_embedded !== undefined && p.chunks_embedded !== null) parts.push(`${p.chunks_embedded} chunks embedded`);
  if (p.current) parts.push(`now: ${p.current}`);
  $("dp-progress-text").textContent = `${parts.join(" · ")}`;
}

/** A finished job (done or failed): its report, failures in red. */
function renderReport(job, heading) {
  const box = $("dp-report");
  const r = job.report;
  const children = [el("h2", {}, heading, " ", el("span", { class: `dp-badge dp-${job.state}`, text: job.state }))];
  if (job.state === "failed" || job.error) {
    children.push(el("div", { class: "dp-error", id: "dp-job-error", role: "alert", text: `Ingestion failed: ${job.error || "unknown error"}` }));
  }
  if (r) {
    const failed = r.failed || [];
    children.push(el("dl", { class: "dp-dl", id: "dp-report-summary" },
      ...[["Added", r.added], ["Updated", r.updated], ["Unchanged", r.unchanged], ["Deleted", r.deleted],
        ["Failed", failed.length], ["Chunks embedded", r.chunks_embedded],
        ["Seconds", typeof r.seconds === "number" ? r.seconds.toFixed(1) : r.seconds]]
        .flatMap(([k, v]) => [el("dt", { text: k }),
          el("dd", { class: k === "Failed" && v ? "dp-fail" : null, text: v === undefined || v === null ? "—" : String(v) })])));
    if (failed.length) {
      children.push(el("h3", { class: "dp-fail", text: `${failed.length} failed` }),
        el("ul", { id: "dp-report-failures", class: "dp-fail" },
          ...failed.map((f) => el("li", {}, el("code", { text: f.source || "?" }), `: ${f.error || "failed"}`))));
    }
  }
  box.replaceChildren(...children);
}

function stopPolling() {
  if (editor.polling) clearTimeout(editor.polling);
  editor.polling = null;
}

/** Poll a job every second until it is done or failed. */
function poll(jobId) {
  stopPolling();
  $("dp-ingest").disabled = true;
  $("dp-report").replaceChildren();
  let failures = 0;
  const tick = async () => {
    try {
      const job = await dpApi(`/v1/ingest/${encodeURIComponent(jobId)}`);
      failures = 0;
      if (job.state === "done" || job.state === "failed") {
        stopPolling();
        $("dp-ingest-progress").hidden = true;
        $("dp-ingest").disabled = false;
        renderReport(job, "This run");
        loadSources();
        return;
      }
      renderProgress(job);
    } catch (err) {
      failures += 1;
      dpShowError(err, "Ingestion progress");
      if (failures >= 5 || err.status === 404 || err.status === 401 || err.status === 403) {
        stopPolling();
        $("dp-ingest").disabled = false;
        return;
      }
    }
    editor.polling = setTimeout(tick, 1000);
  };
  editor.polling = setTimeout(tick, 0);
}

/** Start a run (also the article editor's "Ingest now"); resolves to whether it started. */
async function startIngest() {
  const button = $("dp-ingest");
  button.disabled = true;
  try {
    const started = await dpApi("/v1/ingest", { body: { full: $("dp-ingest-full").checked } });
    dpClearError();
    renderProgress({ state: "queued", progress: {} });
    poll(started.job_id);
    return true;
  } catch (err) {
    button.disabled = false;
    dpShowError(err, "Start ingestion"); // 409: another run is in progress
    return false;
  }
}

/** The last run on load (404: none yet); a run still going is followed live. */
async function loadLatest() {
  const box = $("dp-report");
  box.replaceChildren(dpSpinner("Loading the last run"));
  try {
    const job = await dpApi("/v1/ingest/latest");
    if (!job) { box.replaceChildren(); return; }
    if (job.state === "queued" || job.state === "running") poll(job.id);
    else renderReport(job, "Last run");
  } catch (err) {
    if (err.status === 404) box.replaceChildren(el("p", { class: "dp-empty", text: "No ingestion has run from this server yet." }));
    else { box.replaceChildren(); dpShowError(err, "Last ingestion"); }
  }
}

$("dp-filter").addEventListener("input", renderSources);
$("dp-sources-refresh").addEventListener("click", loadSources);
$("dp-ingest").addEventListener("click", startIngest);
const toolsReady = wireEditorTools(startIngest);

dpKeyBar((me) => {
  loadSources();
  if (!editor.polling) loadLatest();
  toolsReady(me);
});
