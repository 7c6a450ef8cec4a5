"""`deskpilot eval calibrate --from-report`: the threshold is written, unless it would hand every question to a human."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from deskpilot.cli import app
from deskpilot.evaluation.harness import EvalRun
from deskpilot.evaluation.results import ItemResult

THRESHOLDS = "routing:\n  min_confidence: 0.5\ngate:\n  answer.wrong_rate:\n    max: 0.2\n"


def _item(id: str, confidence: float, right: bool, must: bool = False) -> ItemResult:
    covered = 2 if right else 1
    return ItemResult(id=id, question="q", kind="answerable", lang="en", role="customer", must_escalate=must,
                      gold_sources=[], must_not_contain=[], retrieved=[], answer="an answer", citations=[],
                      confidence=confidence, decision="answer", key_points=["a", "b"],
                      keypoints={"covered": covered, "total": 2, "missing": [], "in_order": True, "contradictions": []})


def _calibrate(tmp_path: Path, items: list[ItemResult]) -> tuple[int, str, dict]:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(EvalRun("suite.jsonl", items).as_json()), encoding="utf-8")
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(THRESHOLDS, encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "calibrate", "suite.jsonl", "--from-report", str(report),
                                      "--thresholds", str(thresholds), "--json"])
    return result.exit_code, result.output, yaml.safe_load(thresholds.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _no_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout, no eval/thresholds.yaml of the repo


def test_the_least_cost_threshold_is_written_with_what_it_measured(tmp_path: Path) -> None:
    items = [_item("w1", 0.2, False), _item("r1", 0.6, True), _item("r2", 0.7, True), _item("r3", 0.9, True)]
    code, output, written = _calibrate(tmp_path, items)
    assert code == 0, output
    assert written["routing"]["min_confidence"] == 0.6  # the wrong answer (0.2) held back, the right ones shown
    assert written["calibration"]["wrong_rate"] == 0.0 and written["gate"] == {"answer.wrong_rate": {"max": 0.2}}


def test_a_threshold_that_escalates_every_answerable_question_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    # By the key points every answer is wrong: the least cost is to answer nothing. Written, the service would hand
    # every question to a human; the file keeps its threshold and the reason is said.
    items = [_item("w1", 0.4, False), _item("w2", 0.6, False), _item("w3", 0.8, False)]
    code, output, written = _calibrate(tmp_path, items)
    assert code == 1
    assert "escalates every question" in output and "unchanged" in output
    assert written == yaml.safe_load(THRESHOLDS)
