/* KB editor tools on /editor: content gaps (with a proposed article), knowledge hygiene (stale, undated and
 * never-cited articles; conflicting passages) and an article written from a solved ticket, edited and saved into
 * the knowledge base. editor.js wires them (wireEditorTools) and calls what it returns once a key is accepted. */
import { dpApi } from "./api.js";
import { el, safeUrl } from "./dom.js";
import { dpErrorText, dpFmtDate, dpFmtNum, dpFmtPct, dpLoadInto, dpShowError, dpSpinner } from "./staff.js";

/**
 * Wire the tools' forms and buttons; `startIngest()` runs "Ingest now" (editor.js: resolves to whether a run
 * started). Returns onReady(me), to call when the key bar accepts a key: it loads what the key's role may see.
 */
export function wireEditorTools(startIngest) {
  const byId = (id) => document.getElementById(id);
  /** Cosine similarity from which the closest article is about the topic (retrieval finds none under 0.35). */
  const CLOSE_ARTICLE = 0.6; // MiniLM: rewordings of one question average about 0.45-0.75; unrelated text can reach 0.5
  const WRITERS = ["editor", "admin"];
  const REASONS = { no_relevant_source: "No relevant source", low_support: "Answer not supported by the sources",
    low_confidence: "Low confidence" };
  const KINDS = { number: "Number", version: "Version", steps: "Steps" };
  const ORIGINS = { helpdesk: "Helpdesk", index: "Ticket export" };
  const PII = { EMAIL: "e-mail address", PHONE: "phone number", CARD: "card number", IBAN: "IBAN", IP: "IP address",
    NAME: "name" };
  const tools = { role: "", dirty: false, seq: 0, conflictsSeq: 0 };

  const plural = (n, one, many) => `${dpFmtNum(n)} ${n === 1 ? one : many || `${one}s`}`;
  const empty = (text, id) => el("p", { class: "dp-empty", id, text });
  const errorBox = (err) => el("div", { class: "dp-error", role: "alert", text: dpErrorText(err) });
  const canWrite = () => WRITERS.includes(tools.role);
  const counts = (map, label) => Object.entries(map || {}).map(([k, n]) => `${label ? label(k) : k} ${n}`).join(", ");

  /** A day (YYYY-MM-DD) as a date without a time; anything else as dpFmtDate does it. */
  function fmtDay(value) {
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
      const date = new Date(`${value}T00:00:00Z`);
      if (!Number.isNaN(date.getTime())) return date.toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" });
    }
    return dpFmtDate(value);
  }

  /** The file name the server would derive from a title (ASCII letters, digits and hyphens). */
  function slugify(text) {
    return String(text || "").normalize("NFKD").replace(/[^\x00-\x7f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80).replace(/-+$/, "");
  }

  /** A link to a source's row in the sources table (filtered to it). */
  function sourceLink(sourceId, title) {
    return el("a", { href: "#dp-sources-card", class: "dp-source-link", dataset: { sourceId },
      onclick: () => { const f = byId("dp-filter"); f.value = sourceId; f.dispatchEvent(new Event("input")); } },
    title || sourceId);
  }

  // ---- content gaps ------------------------------------------------------------------------------

  async function findGaps(event) {
    if (event) event.preventDefault();
    const button = byId("dp-gaps-find");
    const select = byId("dp-gaps-period");
    const summary = byId("dp-gaps-summary");
    button.disabled = true;
    summary.textContent = "";
    try {
      const report = await dpLoadInto(byId("dp-gaps"), "Finding content gaps",
        () => dpApi(`/v1/gaps?since=${encodeURIComponent(select.value)}`));
      renderGaps(report, select.selectedOptions[0].textContent.toLowerCase());
    } catch (_err) { /* shown in the box and the banner */ }
    finally { button.disabled = false; }
  }

  function renderGaps(report, period) {
    const clusters = report.clusters || [];
    let text = `${plural(report.total, "question")} without a good answer in the ${period}`;
    if (report.total) {
      text += `: ${plural(clusters.length, "topic")}`;
      if (report.unclustered) text += `; ${dpFmtNum(report.unclustered)} more on topics asked about too rarely to list`;
    }
    byId("dp-gaps-summary").textContent = `${text}.`;
    if (!clusters.length) { byId("dp-gaps").replaceChildren(empty("No content gaps in this period.", "dp-gaps-empty")); return; }
    byId("dp-gaps").replaceChildren(el("ol", { class: "dp-gap-list", id: "dp-gap-list" }, ...clusters.map(gapItem)));
  }

  function gapItem(gap) {
    const id = `dp-gap-${gap.rank}`;
    const proposal = el("div", { class: "dp-gap-proposal", "aria-live": "polite" });
    const button = el("button", { type: "button", class: "dp-gap-propose", "aria-describedby": `${id}-title`,
      text: "Propose an article" });
    button.addEventListener("click", () => propose(gap, proposal, button));
    if (gap.proposal) renderProposal(gap, gap.proposal, proposal);
    else if (gap.proposal_error) proposal.append(el("p", { class: "dp-fail", text: `No proposal: ${gap.proposal_error}` }));
    const distinct = gap.distinct && gap.distinct !== gap.size ? ` (${dpFmtNum(gap.distinct)} different)` : "";
    return el("li", { class: "dp-gap", id, dataset: { rank: gap.rank, size: gap.size } },
      el("h3", { id: `${id}-title`, class: "dp-gap-title" }, el("span", { class: "dp-gap-rank", text: `#${gap.rank}` }),
        ` ${gap.examples[0] || "Questions"}`),
      el("p", { class: "dp-gap-meta", text: `${plural(gap.size, "question")}${distinct} · first ${dpFmtDate(gap.first_at)}`
        + ` · last ${dpFmtDate(gap.last_at)}` }),
      el("ul", { class: "dp-chips", "aria-label": "Reasons and languages" },
        ...Object.entries(gap.reasons || {}).map(([r, n]) => el("li", { class: "dp-chip", dataset: { reason: r },
          text: `${REASONS[r] || r}: ${n}` })),
        ...Object.entries(gap.languages || {}).map(([l, n]) => el("li", { class: "dp-chip dp-chip-lang",
          dataset: { language: l }, text: `${l}: ${n}` }))),
      el("p", { class: "dp-label", id: `${id}-examples`, text: "What customers asked" }),
      el("ul", { class: "dp-gap-examples", "aria-labelledby": `${id}-examples` },
        ...gap.examples.map((q) => el("li", { text: q }))),
      closestArticle(gap.article),
      el("div", { class: "dp-row" }, button),
      proposal);
  }

  function closestArticle(article) {
    if (!article) {
      return el("p", { class: "dp-gap-article" }, el("span", { class: "dp-hint dp-hint-write", text: "No close article: write one." }));
    }
    const close = article.similarity >= CLOSE_ARTICLE;
    const url = safeUrl(article.url);
    return el("p", { class: "dp-gap-article" }, "Closest article: ",
      url ? el("a", { href: url, target: "_blank", rel: "noopener", text: article.title || article.source_id })
        : el("strong", { text: article.title || article.source_id }),
      ` (similarity ${dpFmtNum(article.similarity, 2)}) `,
      el("span", { class: `dp-hint ${close ? "dp-hint-improve" : "dp-hint-write"}`, text: close
        ? "A related article exists: check whether it should answer these." : "No close article: write one." }));
  }

  async function propose(gap, box, button) {
    button.disabled = true;
    box.replaceChildren(dpSpinner("Asking the model for a title and outline"));
    try {
      renderProposal(gap, await dpApi("/v1/gaps/propose", { body: { questions: gap.examples } }), box);
      button.textContent = "Propose again";
    } catch (err) {
      box.replaceChildren(errorBox(err));
      dpShowError(err, "Propose an article");
    } finally { button.disabled = false; }
  }

  function renderProposal(gap, proposal, box) {
    const start = el("button", { type: "button", class: "dp-gap-start dp-primary", text: "Start a draft from this" });
    start.addEventListener("click", () => {
      const markdown = `# ${proposal.title}\n\n${proposal.outline.map((item) => `## ${item}\n\n`).join("")}`;
      openEditor({ title: proposal.title, markdown, slug: slugify(proposal.title), notes: [],
        facts: [["From", `content gap #${gap.rank} (${plural(gap.size, "question")})`],
          ["Outline by", "the language model: write each section"]] });
    });
    box.replaceChildren(el("div", { class: "dp-proposal" },
      el("p", { class: "dp-label", text: "Proposed article" }),
      el("p", { class: "dp-proposal-title", text: proposal.title }),
      el("ol", { class: "dp-proposal-outline" }, ...proposal.outline.map((item) => el("li", { text: item }))),
      start));
  }

  // ---- knowledge hygiene -------------------------------------------------------------------------

  function usageTable(id, items, withCitations) {
    const head = ["Title", "Audience", "Updated", "Age (days)", ...(withCitations ? ["Citations"] : [])];
    return el("div", { class: "dp-table-wrap dp-table-short" }, el("table", { class: "dp-table", id },
      el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { scope: "col", class: i > 2 ? "dp-num" : null, text: h })))),
      el("tbody", {}, ...items.map((a) => el("tr", { dataset: { sourceId: a.source_id } },
        el("td", {}, sourceLink(a.source_id, a.title), el("code", { class: "dp-source-id", text: a.source_id })),
        el("td", {}, el("span", { class: `dp-badge dp-aud-${a.audience}`, text: a.audience || "—" })),
        el("td", { text: a.updated_at ? fmtDay(a.updated_at) : "no date" }),
        el("td", { class: "dp-num", text: dpFmtNum(a.age_days) }),
        withCitations ? el("td", { class: "dp-num", text: dpFmtNum(a.citations) }) : null)))));
  }

  function usageBlock(key, heading, items, emptyText, withCitations) {
    return [el("h3", { id: `dp-${key}-title`, text: `${heading} (${items.length})` }),
      items.length ? usageTable(`dp-${key}-table`, items, withCitations) : empty(emptyText, `dp-${key}-empty`)];
  }

  async function loadStale() {
    const box = byId("dp-hygiene-articles");
    try {
      const r = await dpLoadInto(box, "Counting citations", () => dpApi("/v1/hygiene/stale"));
      const days = Math.round((Date.parse(r.window.to) - Date.parse(r.window.from)) / 86400000);
      byId("dp-hygiene-rule").textContent = `Citations are counted over the last ${days} days (to ${fmtDay(r.today)}). `
        + `Stale: cited at least ${plural(r.min_citations, "time")} and not updated for more than ${r.stale_after_days} days.`;
      box.replaceChildren(
        ...usageBlock("stale", "Stale articles", r.stale, "No stale articles.", true),
        ...usageBlock("undated", "Often cited, no date", r.undated, "No often-cited article lacks a date.", true),
        ...usageBlock("never-cited", "Never cited", r.never_cited, "Every article was cited.", false));
      byId("dp-hygiene-status").textContent = `${plural(r.stale.length, "stale article")}, ${r.undated.length} often cited `
        + `without a date, ${r.never_cited.length} never cited.`;
    } catch (_err) { /* shown in the box and the banner */ }
  }

  /** A context snippet (cut around the value by the server) without a list marker, with ellipses where it is cut. */
  function snippet(context) {
    let text = String(context || "").trim().replace(/^[-*•+]\s+/, "");
    if (/^[a-z]/.test(text)) text = `…${text}`;
    if (text && !/[.!?:;)»"”]$/.test(text)) text += "…";
    return text;
  }

  /** The context with the disagreeing value marked (or the value after it, when the snippet does not hold it). */
  function marked(raw, value) {
    const context = snippet(raw);
    const at = value ? context.toLowerCase().indexOf(value.toLowerCase()) : -1;
    if (at < 0) return [context, value ? " → " : "", value ? el("mark", { text: value }) : null];
    return [context.slice(0, at), el("mark", { text: context.slice(at, at + value.length) }), context.slice(at + value.length)];
  }

  function side(label, ref, disagreements, key) {
    const url = safeUrl(ref.url);
    const meta = [ref.section && ref.section !== ref.title ? ref.section : "", ref.kind, ref.audience,
      ref.updated_at ? `updated ${fmtDay(ref.updated_at)}` : "no date"].filter(Boolean).join(" · ");
    return el("div", { class: "dp-side", dataset: { sourceId: ref.source_id } },
      el("p", { class: "dp-label", text: `Source ${label}` }),
      el("p", { class: "dp-side-title" }, url ? el("a", { href: url, target: "_blank", rel: "noopener", text: ref.title || ref.source_id })
        : sourceLink(ref.source_id, ref.title)),
      el("p", { class: "dp-gap-meta" }, el("code", { text: ref.source_id }), meta ? ` · ${meta}` : ""),
      el("ul", { class: "dp-contexts" }, ...disagreements.map((d) => el("li", { dataset: { kind: d.kind } },
        el("span", { class: "dp-kind", text: `${KINDS[d.kind] || d.kind}: ` }), ...marked(d[`context_${key}`] || "", d[`value_${key}`])))));
  }

  function verdict(item) {
    if (item.verdict) {
      const yes = item.verdict.conflict;
      return el("p", { class: "dp-verdict" }, el("span", { class: `dp-badge ${yes ? "dp-verdict-yes" : "dp-verdict-no"}`,
        text: yes ? "LLM: a real conflict" : "LLM: no conflict" }), ` ${item.verdict.explanation}`);
    }
    if (item.verdict_error) return el("p", { class: "dp-verdict dp-fail", text: `The LLM check failed: ${item.verdict_error}` });
    return null;
  }

  function conflictItem(item, index) {
    const kinds = [...new Set(item.disagreements.map((d) => KINDS[d.kind] || d.kind))].join(", ").toLowerCase();
    return el("li", { class: "dp-conflict", id: `dp-conflict-${index + 1}`, dataset: { a: item.a.source_id, b: item.b.source_id } },
      el("h4", { class: "dp-conflict-title" }, `${item.a.title || item.a.source_id} vs ${item.b.title || item.b.source_id}`),
      el("p", { class: "dp-gap-meta", text: `Similarity ${dpFmtPct(item.similarity)} · ${plural(item.disagreements.length, "disagreement")}`
        + (kinds ? ` (${kinds})` : "") }),
      verdict(item),
      el("div", { class: "dp-conflict-pair" }, side("A", item.a, item.disagreements, "a"), side("B", item.b, item.disagreements, "b")),
      el("details", { class: "dp-passages" }, el("summary", { text: "Full passages" }),
        el("div", { class: "dp-conflict-pair" }, el("div", { class: "dp-quote", text: item.a.text }),
          el("div", { class: "dp-quote", text: item.b.text }))));
  }

  async function loadConflicts(llm) {
    const box = byId("dp-conflicts");
    const button = byId("dp-conflicts-llm");
    const summary = byId("dp-conflicts-summary");
    button.disabled = true;
    summary.textContent = "";
    const label = llm ? "Asking the model about each pair" : "Comparing similar passages";
    const seq = ++tools.conflictsSeq; // a refresh during a slow LLM check wins
    try {
      const data = await dpLoadInto(box, label, () => dpApi(`/v1/hygiene/conflicts?limit=100&llm=${llm}`));
      if (seq !== tools.conflictsSeq) return;
      const items = (data && data.items) || [];
      if (!items.length) {
        box.replaceChildren(empty("No conflicts found.", "dp-conflicts-empty"));
        summary.textContent = "";
        return;
      }
      box.replaceChildren(el("ol", { class: "dp-conflict-list", id: "dp-conflict-list" }, ...items.map(conflictItem)));
      let text = `${plural(items.length, "pair")} of passages disagree`;
      if (llm) {
        const real = items.filter((i) => i.verdict && i.verdict.conflict).length;
        const failed = items.filter((i) => !i.verdict).length;
        text += `; the LLM calls ${real} of them real conflicts${failed ? ` (${failed} not checked: see each pair)` : ""}`;
      }
      summary.textContent = `${text}.`;
      button.disabled = false;
    } catch (_err) { if (seq === tools.conflictsSeq) button.disabled = false; }
  }

  function loadHygiene() {
    loadStale();
    loadConflicts(false);
  }

  // ---- article from a solved ticket --------------------------------------------------------------

  async function loadSolved() {
    const select = byId("dp-solved");
    const write = byId("dp-article-write");
    const status = byId("dp-solved-status");
    select.disabled = true;
    write.disabled = true;
    if (!canWrite()) {
      select.replaceChildren();
      status.replaceChildren(el("span", { id: "dp-article-role-note",
        text: "Writing articles needs an editor or admin key." }));
      return;
    }
    status.replaceChildren(dpSpinner("Loading solved tickets"));
    try {
      const items = (await dpApi("/v1/kb/solved-tickets?limit=100")).items || [];
      const group = (origin) => items.filter((t) => t.origin === origin);
      select.replaceChildren(...["helpdesk", "index"].filter((o) => group(o).length).map((o) =>
        el("optgroup", { label: o === "helpdesk" ? "Helpdesk tickets" : "Ingested ticket exports" },
          ...group(o).map((t) => el("option", { value: t.ref,
            text: `${t.subject || t.ref} · ${ORIGINS[t.origin] || t.origin} · ${fmtDay(t.solved_at)}` })))));
      if (!items.length) { status.replaceChildren(empty("No solved tickets yet.", "dp-solved-empty")); return; }
      status.textContent = `${plural(items.length, "solved ticket")}, newest first.`;
      select.disabled = false;
      write.disabled = false;
    } catch (err) {
      status.replaceChildren(errorBox(err));
      dpShowError(err, "Solved tickets");
    }
  }

  async function writeDraft(event) {
    event.preventDefault();
    const ref = byId("dp-solved").value;
    const button = byId("dp-article-write");
    const status = byId("dp-article-draft-status");
    if (!ref) return;
    button.disabled = true;
    status.replaceChildren(dpSpinner("Writing the draft (a local model takes up to a minute)"));
    try {
      const d = await dpApi("/v1/kb/drafts", { body: { ref } });
      status.replaceChildren();
      const p = d.provenance || {};
      openEditor({ title: d.title, markdown: d.markdown, slug: d.slug, notes: d.notes || [],
        facts: [["Ticket", p.ticket], ["Subject", p.subject], ["Solved", fmtDay(p.solved_at)],
          ["Written by", p.generated_by], ["Prompt", p.prompt], ["Written at", dpFmtDate(p.generated_at)],
          ["Status", p.status], ["Redacted", counts(d.redactions, (k) => PII[k] || k) || "nothing"]] });
    } catch (err) {
      status.replaceChildren(errorBox(err));
      dpShowError(err, "Write draft");
    } finally { button.disabled = false; }
  }

  /** Show a draft in the editor (asks first when unsaved edits would be lost); focus moves to its text. */
  function openEditor(draft) {
    if (tools.dirty && !window.confirm("Replace the article you are editing? Your unsaved changes are lost.")) return;
    byId("dp-article-editor").hidden = false;
    byId("dp-article-editor-title").textContent = `Draft: ${draft.title}`;
    byId("dp-article-provenance").replaceChildren(...draft.facts.filter(([, v]) => v)
      .flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    const notes = byId("dp-article-notes");
    notes.replaceChildren(...draft.notes.map((n) => el("li", { text: n })));
    notes.hidden = !draft.notes.length;
    byId("dp-article-md").value = draft.markdown;
    byId("dp-article-slug").value = draft.slug || "";
    byId("dp-article-result").replaceChildren();
    tools.dirty = false;
    if (!canWrite()) byId("dp-article-result").append(el("p", { class: "dp-muted", text: "Saving needs an editor or admin key." }));
    const text = byId("dp-article-md");
    text.scrollIntoView({ block: "center" });
    text.focus({ preventScroll: true });
    text.setSelectionRange(0, 0);
  }

  async function save(overwrite) {
    const result = byId("dp-article-result");
    const button = byId("dp-article-save");
    const seq = ++tools.seq;
    button.disabled = true;
    result.replaceChildren(dpSpinner("Saving"));
    const body = { markdown: byId("dp-article-md").value, slug: byId("dp-article-slug").value.trim() || null, overwrite };
    try {
      const saved = await dpApi("/v1/kb/articles", { body });
      if (seq !== tools.seq) return;
      tools.dirty = false;
      byId("dp-article-slug").value = saved.slug;
      renderSaved(saved);
    } catch (err) {
      if (err.status === 409) renderExists((/^(\S+\.md) already exists/.exec(err.message || "") || [])[1]);
      else { result.replaceChildren(errorBox(err)); dpShowError(err, "Save the article"); }
    } finally { button.disabled = false; }
  }

  function renderExists(file) {
    const overwrite = el("button", { type: "button", id: "dp-article-overwrite", class: "dp-danger", text: "Overwrite",
      onclick: () => save(true) });
    const cancel = el("button", { type: "button", id: "dp-article-cancel", text: "Cancel",
      onclick: () => { byId("dp-article-result").replaceChildren(); byId("dp-article-slug").focus(); } });
    byId("dp-article-result").replaceChildren(el("div", { class: "dp-confirm", id: "dp-article-exists", role: "alert" },
      el("p", {}, "An article named ", el("code", { text: file || `${byId("dp-article-slug").value || "this"}.md` }),
        " already exists in the knowledge base. Replace it, or change the file name."),
      el("div", { class: "dp-row" }, overwrite, cancel)));
    overwrite.focus();
  }

  function renderSaved(saved) {
    const pii = Object.entries(saved.pii_warnings || {});
    const status = el("span", { class: "dp-muted", id: "dp-article-ingest-status", role: "status" });
    const ingest = el("button", { type: "button", id: "dp-article-ingest", class: "dp-primary", text: "Ingest now" });
    ingest.addEventListener("click", async () => {
      ingest.disabled = true;
      status.textContent = "";
      if (await startIngest()) {
        status.replaceChildren("Ingestion started: ", el("a", { href: "#dp-ingest-title", text: "see its progress" }), ".");
      } else ingest.disabled = false;
    });
    byId("dp-article-result").replaceChildren(
      el("div", { class: "dp-notice", id: "dp-article-saved" }, saved.overwritten ? "Replaced " : "Saved ",
        el("code", { text: saved.path }), ` (${plural(saved.bytes, "byte")}).`,
        " Customers see it after the next ingestion."),
      pii.length ? el("div", { class: "dp-warnings", id: "dp-article-pii", role: "alert" },
        `It may still hold personal data: ${pii.map(([k, n]) => plural(n, PII[k] || k)).join(", ")}. `
        + "Check the text, then save again with Overwrite.") : null,
      el("div", { class: "dp-row" }, ingest, status));
  }

  // ---- wiring ------------------------------------------------------------------------------------

  byId("dp-gaps-form").addEventListener("submit", findGaps);
  byId("dp-hygiene-refresh").addEventListener("click", loadHygiene);
  byId("dp-conflicts-llm").addEventListener("click", () => loadConflicts(true));
  byId("dp-solved-form").addEventListener("submit", writeDraft);
  byId("dp-solved-refresh").addEventListener("click", loadSolved);
  byId("dp-article-md").addEventListener("input", () => { tools.dirty = true; });
  byId("dp-article-save-form").addEventListener("submit", (event) => { event.preventDefault(); save(false); });
  return (me) => {
    tools.role = (me && me.role) || "";
    loadHygiene();
    loadSolved();
  };
}
