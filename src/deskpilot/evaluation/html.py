"""The HTML form of a report: one self-contained page (inline CSS and SVG plots, no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from deskpilot.evaluation.metrics import metric_value

W, H, PAD = 360, 220, 34
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2433;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5b6475;margin-bottom:16px} table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #d9dee8;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f3f5f9}
.num{text-align:right;font-variant-numeric:tabular-nums} .bad{color:#b42318;font-weight:600} .ok{color:#067647}
.plots{display:flex;flex-wrap:wrap;gap:18px} figure{margin:0} figcaption{color:#5b6475;font-size:12px}
svg{background:#fbfcfe;border:1px solid #e3e7ef} .answer{max-width:420px;white-space:pre-wrap}
"""
HEADLINE = ("correct_rate", "answer.correct_rate", "answer.wrong_rate", "answer.false_escalation_rate",
            "answer.unanswerable_answered_rate", "answer.keypoint_coverage", "answer.judge.agreement", "grounded_rate",
            "retrieval.hit@1", "retrieval.hit@3", "retrieval.hit@5", "retrieval.mrr",
            "ragas.faithfulness", "ragas.answer_relevancy", "ragas.llm_context_precision", "ragas.llm_context_recall",
            "ragas.context_precision", "ragas.context_recall", "ragas.citation_support",
            "routing.escalation_recall", "routing.false_escalation_rate", "routing.precision", "routing.accuracy",
            "injection.attempts", "injection.successes", "latency.p50_ms", "latency.p95_ms", "latency.first_token_p50_ms")


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return escape(str(value))


def _count_or(metric: str, value: float | None) -> Any:
    return int(value) if value is not None and metric.endswith(("attempts", "successes")) else value


def _frame(title: str, body: str, x_label: str, y_label: str) -> str:
    axes = (f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#8a93a6"/>'
            f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{H - PAD}" stroke="#8a93a6"/>'
            f'<text x="{W / 2}" y="{H - 6}" font-size="11" text-anchor="middle">{escape(x_label)}</text>'
            f'<text x="10" y="{H / 2}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 10 {H / 2})">{escape(y_label)}</text>')
    return (f'<figure><svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
            f"{axes}{body}</svg><figcaption>{escape(title)}</figcaption></figure>")


def _x(frac: float) -> float:
    return PAD + frac * (W - PAD - 8)


def _y(frac: float) -> float:
    return H - PAD - frac * (H - PAD - 8)


def reliability_svg(bins: Sequence[dict[str, Any]]) -> str:
    """Confidence (x) against the share of correct outcomes (y); the diagonal is perfect calibration."""
    body = [f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="#c3c9d5" stroke-dasharray="4 3"/>']
    width = (W - PAD - 8) / max(1, len(bins))
    for i, b in enumerate(bins):
        if b["correct_rate"] is None:
            continue
        top = _y(b["correct_rate"])
        body.append(f'<rect x="{_x(b["low"]) + 2:.1f}" y="{top:.1f}" width="{width - 4:.1f}" '
                    f'height="{_y(0) - top:.1f}" fill="#7aa2e3" opacity="0.8"><title>{b["n"]} items</title></rect>')
        body.append(f'<text x="{_x(b["low"]) + width / 2:.1f}" y="{max(top - 3, 20):.1f}" font-size="10" '
                    f'text-anchor="middle">n={b["n"]}</text>')
        if b["mean_confidence"] is not None:
            body.append(f'<circle cx="{_x(b["mean_confidence"]):.1f}" cy="{top:.1f}" r="3" fill="#1d4ed8"/>')
        if i == 0:
            body.append(f'<text x="{PAD - 4}" y="{_y(1) + 4}" font-size="10" text-anchor="end">1</text>')
    body.append(f'<text x="{_x(0)}" y="{H - PAD + 12}" font-size="10" text-anchor="middle">0</text>'
                f'<text x="{_x(1)}" y="{H - PAD + 12}" font-size="10" text-anchor="middle">1</text>')
    return _frame("Reliability: confidence vs share of correct outcomes", "".join(body), "confidence", "correct")


def histogram_svg(title: str, values: Sequence[float], split: Sequence[bool] | None = None, bins: int = 10) -> str:
    """Histogram of values in [0, 1]; with split, stacked good (green) and bad (red) counts."""
    good = [0] * bins
    bad = [0] * bins
    for n, value in enumerate(values):
        slot = min(bins - 1, max(0, int(value * bins)))
        (good if split is None or split[n] else bad)[slot] += 1
    top = max([g + b for g, b in zip(good, bad, strict=True)] + [1])
    width = (W - PAD - 8) / bins
    body = []
    for i in range(bins):
        x = _x(i / bins) + 1
        for count, base, colour in ((good[i], 0, "#5aa469"), (bad[i], good[i], "#d9534f")):
            if count:
                y0, y1 = _y(base / top), _y((base + count) / top)
                body.append(f'<rect x="{x:.1f}" y="{y1:.1f}" width="{width - 2:.1f}" height="{y0 - y1:.1f}" '
                            f'fill="{colour}"><title>{count}</title></rect>')
    body.append(f'<text x="{PAD - 4}" y="{_y(1) + 4}" font-size="10" text-anchor="end">{top}</text>')
    return _frame(title, "".join(body), "score", "items")


def bars_svg(title: str, labels: Sequence[str], values: Sequence[float | None]) -> str:
    """Horizontal bars of values in [0, 1], one per label."""
    row = (H - PAD - 8) / max(1, len(labels))
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 8 + i * row
        length = (value or 0) * (W - PAD - 150)
        body.append(f'<text x="{PAD + 2}" y="{y + row * 0.65:.1f}" font-size="11">{escape(label[:16])}</text>'
                    f'<rect x="{PAD + 100}" y="{y + 2:.1f}" width="{length:.1f}" height="{max(2.0, row - 4):.1f}" '
                    f'fill="#7aa2e3"/><text x="{PAD + 104 + length:.1f}" y="{y + row * 0.65:.1f}" '
                    f'font-size="10">{_fmt(value)}</text>')
    return _frame(title, "".join(body), "", "")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _key_points(item: dict[str, Any]) -> str:
    """covered/total, what is missing or contradicted, and the judge's verdict, for one item."""
    found = item.get("keypoints")
    parts = []
    if found:
        parts.append(f"{found['covered']}/{found['total']}")
        parts += [f"missing: {escape(point)}" for point in found.get("missing", [])]
        parts += [f"<span class='bad'>{escape(c)}</span>" for c in found.get("contradictions", [])]
    if item.get("verdict"):
        parts.append(f"judge: {escape(item['verdict'])} ({escape(item.get('verdict_reason', ''))})")
    return "<br>".join(parts)


def render_html(data: dict[str, Any]) -> str:
    """The report page for a saved report object."""
    summary, items, meta = data["summary"], data["items"], data.get("meta", {})
    headline = [[f"<td>{escape(m)}</td>", f'<td class="num">{_fmt(_count_or(m, metric_value(summary, m)))}</td>']
                for m in HEADLINE if metric_value(summary, m) is not None]
    undetermined = [[f"<td>{escape(k)}</td>", f'<td class="num">{v["n"]}</td>', f'<td class="num">{v["undetermined"]}</td>']
                    for k, v in summary.get("ragas", {}).items()]
    confusion = summary["routing"]["confusion"]
    kinds = summary.get("by_kind", {})
    plots = [reliability_svg(data.get("reliability", [])),
             histogram_svg("Confidence, by outcome (green correct, red wrong)", [i["confidence"] for i in items],
                           [bool(i["correct"]) for i in items]),
             bars_svg("Correct rate by kind", list(kinds), [k["correct_rate"] for k in kinds.values()])]
    for name in ("citation_support", "faithfulness", "answer_relevancy"):
        values = [i["scores"][name] for i in items if i["scores"].get(name) is not None]
        if values:
            plots.append(histogram_svg(f"{name} scores", values))
    by = []
    for group, rows in (("kind", kinds), ("lang", summary.get("by_lang", {}))):
        for name, s in rows.items():
            by.append([f"<td>{group}</td>", f"<td>{escape(name)}</td>", f'<td class="num">{s["n"]}</td>',
                       f'<td class="num">{_fmt(s["correct_rate"])}</td>',
                       f'<td class="num">{_fmt(s["retrieval"]["hit@5"])}</td>',
                       f'<td class="num">{_fmt(s["routing"]["escalation_recall"])}</td>',
                       f'<td class="num">{_fmt(s["routing"]["false_escalation_rate"])}</td>',
                       f'<td class="num">{_fmt(s["latency"]["p50_ms"])}</td>'])
    rows = []
    for i in items:
        cls = "ok" if i["correct"] else "bad"
        cited = ", ".join(c["source_id"] for c in i["citations"])
        rows.append([f"<td>{escape(i['id'])}</td>", f"<td>{escape(i['kind'])}</td>",
                     f"<td>{escape(i['question'])}</td>", f'<td class="{cls}">{escape(i["decision"])}'
                     f'{" (must escalate)" if i["must_escalate"] else ""}</td>',
                     f"<td>{escape(', '.join(i['reasons']))}</td>", f'<td class="num">{i["confidence"]:.2f}</td>',
                     f"<td>{escape(', '.join(i['retrieved'][:5]))}</td>", f"<td>{_fmt(i.get('hit_rank'))}</td>",
                     f'<td class="answer">{escape(i["error"] or i["answer"][:600])}</td>', f"<td>{escape(cited)}</td>",
                     f"<td>{_key_points(i)}</td>"])
    title = f"Evaluation: {data.get('suite', '')}"
    return "".join([
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>",
        f"<div class='meta'>{escape(' · '.join(f'{k}: {v}' for k, v in meta.items()))}</div>",
        "<h2>Summary</h2>", _table(["metric", "value"], headline),
        "<h2>Routing</h2>", _table(["", "escalated", "answered"], [
            ["<th>must escalate</th>", f'<td class="num">{confusion["must_escalate"]["escalated"]}</td>',
             f'<td class="num bad">{confusion["must_escalate"]["answered"]}</td>'],
            ["<th>should answer</th>", f'<td class="num bad">{confusion["should_answer"]["escalated"]}</td>',
             f'<td class="num">{confusion["should_answer"]["answered"]}</td>']]),
        "<h2>Plots</h2><div class='plots'>", "".join(plots), "</div>",
        "<h2>Judge coverage</h2>", _table(["score", "determined", "undetermined (NaN)"], undetermined),
        "<h2>Breakdown</h2>", _table(["by", "group", "n", "correct", "hit@5", "esc. recall", "false esc.", "p50 ms"], by),
        "<h2>Items</h2>", _table(["id", "kind", "question", "decision", "reasons", "conf.", "retrieved", "hit",
                                  "answer", "cited", "key points"], rows),
        "</body></html>"])
