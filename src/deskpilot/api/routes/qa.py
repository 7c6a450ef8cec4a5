"""QA: saved evaluation reports (list, the HTML page, comparisons)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from deskpilot.api.deps import QA, SettingsDep
from deskpilot.config import Settings
from deskpilot.errors import NotFoundError
from deskpilot.evaluation.metrics import metric_value
from deskpilot.evaluation.report import compare_reports, list_reports, load_report

router = APIRouter(prefix="/v1/eval", tags=["evaluation"])
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def _path(settings: Settings, name: str, suffix: str) -> Path:
    stem = name.removesuffix(suffix)
    path = Path(settings.eval.reports_dir) / f"{stem}{suffix}"
    if not _NAME_RE.match(stem) or not path.is_file():
        raise NotFoundError(f"no evaluation report {name!r}")
    return path


@router.get("/reports")
def reports(_qa: QA, settings: SettingsDep) -> dict[str, Any]:
    """Saved reports, newest first, with their headline numbers."""
    items = []
    for path in list_reports(Path(settings.eval.reports_dir))[:200]:
        try:
            data = load_report(path)
        except Exception:  # a broken file is skipped, not fatal
            continue
        summary = data["summary"]
        items.append({"name": path.stem, "suite": data.get("suite"), "finished_at": data.get("meta", {}).get("finished_at"),
                      "items": summary.get("n"), "correct_rate": summary.get("correct_rate"),
                      "hit@5": metric_value(summary, "retrieval.hit@5"),
                      "escalation_recall": metric_value(summary, "routing.escalation_recall"),
                      "false_escalation_rate": metric_value(summary, "routing.false_escalation_rate"),
                      "html_url": f"/v1/eval/reports/{path.stem}.html"})
    return {"items": items}


@router.get("/reports/{name}.html", response_class=HTMLResponse)
def report_html(name: str, _qa: QA, settings: SettingsDep) -> HTMLResponse:
    """The self-contained HTML page of a report."""
    return HTMLResponse(_path(settings, name, ".html").read_text(encoding="utf-8"))


@router.get("/reports/{name}")
def report_json(name: str, _qa: QA, settings: SettingsDep) -> dict[str, Any]:
    """A report as JSON."""
    return load_report(_path(settings, name, ".json"))


@router.get("/compare")
def compare(a: str, b: str, _qa: QA, settings: SettingsDep) -> dict[str, Any]:
    """What changed from report a to report b."""
    return compare_reports(load_report(_path(settings, a, ".json")), load_report(_path(settings, b, ".json")))
