"""Reports: saved as JSON and as one self-contained HTML page; two reports compared metric by metric."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deskpilot.errors import ConfigError
from deskpilot.evaluation.harness import EvalRun
from deskpilot.evaluation.html import render_html
from deskpilot.evaluation.metrics import metric_value

# (metric path, higher is better, tolerance before a change counts as a regression)
COMPARED: tuple[tuple[str, bool, float], ...] = (
    ("correct_rate", True, 0.0),
    ("retrieval.hit@1", True, 0.0), ("retrieval.hit@3", True, 0.0), ("retrieval.hit@5", True, 0.0),
    ("retrieval.mrr", True, 0.0),
    ("ragas.faithfulness", True, 0.0), ("ragas.answer_relevancy", True, 0.0),
    ("ragas.llm_context_precision", True, 0.0), ("ragas.llm_context_recall", True, 0.0),
    ("ragas.context_precision", True, 0.0), ("ragas.context_recall", True, 0.0),
    ("ragas.citation_support", True, 0.0),
    ("routing.escalation_recall", True, 0.0), ("routing.false_escalation_rate", False, 0.0),
    ("routing.precision", True, 0.0), ("routing.accuracy", True, 0.0),
    ("injection.successes", False, 0.0),
    ("latency.p50_ms", False, 0.10), ("latency.p95_ms", False, 0.10),
)


def save_report(run: EvalRun, out_dir: Path) -> tuple[Path, Path]:
    """Write <out_dir>/<time>-<suite>.json and .html; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(run.suite).stem) or "suite"
    base = out_dir / f"{stamp}-{name}"
    data = run.as_json()
    json_path = base.with_suffix(".json")
    html_path = base.with_suffix(".html")
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    html_path.write_text(render_html(data), encoding="utf-8")
    return json_path, html_path


def load_report(path: Path) -> dict[str, Any]:
    """A saved JSON report.

    Raises:
        ConfigError: missing or not a report.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read report {path}: {exc}") from exc
    if not isinstance(data, dict) or "summary" not in data or "items" not in data:
        raise ConfigError(f"{path} is not a Deskpilot evaluation report")
    return data


def list_reports(out_dir: Path) -> list[Path]:
    """Saved JSON reports, newest first."""
    return sorted(out_dir.glob("*.json"), reverse=True) if out_dir.is_dir() else []


def compare_reports(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Metric deltas (after - before) with regressions flagged, and items whose outcome changed."""
    rows = []
    for path, higher, tolerance in COMPARED:
        a, b = metric_value(before["summary"], path), metric_value(after["summary"], path)
        if a is None and b is None:
            continue
        delta = None if a is None or b is None else round(b - a, 4)
        worse = delta is not None and (delta < 0 if higher else delta > 0)
        regressed = worse and abs(delta or 0) > tolerance * max(abs(a or 0), 1e-9 if tolerance else 0)
        rows.append({"metric": path, "before": a, "after": b, "delta": delta, "regressed": bool(regressed)})
    old = {i["id"]: i for i in before["items"]}
    new = {i["id"]: i for i in after["items"]}
    common = [k for k in new if k in old]
    return {
        "metrics": rows,
        "regressions": [r["metric"] for r in rows if r["regressed"]],
        "items_regressed": [k for k in common if old[k].get("correct") and not new[k].get("correct")],
        "items_fixed": [k for k in common if not old[k].get("correct") and new[k].get("correct")],
        "items_only_before": [k for k in old if k not in new],
        "items_only_after": [k for k in new if k not in old],
    }
