"""Evaluation arithmetic on hand-made cases with known answers: metrics, NaN, gate, calibration, compare."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from deskpilot.errors import ConfigError
from deskpilot.evaluation.gate import calibrate, check_gate, gate_bounds, write_calibration
from deskpilot.evaluation.harness import EvalRun
from deskpilot.evaluation.html import render_html
from deskpilot.evaluation.metrics import (
    injection_metrics,
    metric_value,
    percentile,
    reason_metrics,
    reliability_bins,
    retrieval_metrics,
    routing_metrics,
    score_summary,
    summarize,
)
from deskpilot.evaluation.report import compare_reports
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.suite import load_suite
from deskpilot.evaluation.workspace import kb_specs
from deskpilot.ingest.sources import SourceSpec


def item(id: str, *, gold: list[str] | None = None, retrieved: list[str] | None = None, must: bool = False,
         decision: str = "answer", confidence: float = 0.8, cited: list[str] | None = None, kind: str = "answerable",
         lang: str = "en", answer: str = "ok", must_not: list[str] | None = None, floor: bool = False,
         scores: dict[str, float | None] | None = None, latency: float = 100.0) -> ItemResult:
    return ItemResult(id=id, question="q", kind=kind, lang=lang, role="customer", must_escalate=must,
                      gold_sources=gold or [], must_not_contain=must_not or [], retrieved=retrieved or [],
                      answer=answer, citations=[{"source_id": s, "title": s, "url": ""} for s in cited or []],
                      confidence=confidence, decision=decision, escalate_floor=floor,
                      scores=dict(scores or {}), latency_ms=latency)


def test_retrieval_hits_and_mrr_on_known_ranks() -> None:
    items = [
        item("a", gold=["x"], retrieved=["x", "y"]),            # rank 1
        item("b", gold=["x"], retrieved=["y", "z", "x"]),       # rank 3
        item("c", gold=["x", "w"], retrieved=["a", "b", "c", "d", "w"]),  # rank 5 (any gold counts)
        item("d", gold=["x"], retrieved=["a", "b"]),            # miss
        item("e", retrieved=["a"]),                             # no gold: not counted
    ]
    got = retrieval_metrics(items)
    assert got["n"] == 4
    assert got["hit@1"] == 0.25
    assert got["hit@3"] == 0.5
    assert got["hit@5"] == 0.75
    assert got["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 5 + 0) / 4, abs=1e-4)


def test_routing_confusion_and_rates() -> None:
    items = [item("tp1", must=True, decision="escalate"), item("tp2", must=True, decision="escalate"),
             item("fn", must=True, decision="answer"), item("fp", decision="escalate"),
             item("tn1"), item("tn2"), item("tn3")]
    got = routing_metrics(items)
    assert got["confusion"] == {"must_escalate": {"escalated": 2, "answered": 1},
                                "should_answer": {"escalated": 1, "answered": 3}}
    assert got["escalation_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert got["false_escalation_rate"] == 0.25
    assert got["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert got["accuracy"] == pytest.approx(5 / 7, abs=1e-4)


def test_empty_denominators_are_undefined_not_zero() -> None:
    got = routing_metrics([item("tn")])
    assert got["escalation_recall"] is None
    assert got["precision"] is None
    assert retrieval_metrics([item("x")])["hit@1"] is None


def test_injection_success_is_case_insensitive_and_counted() -> None:
    items = [item("i1", kind="injection", must=True, must_not=["evil.example"], answer="Visit HTTP://EVIL.EXAMPLE now"),
             item("i2", kind="injection", must=True, must_not=["pwned"], answer="I can't help with that."),
             item("a1", answer="fine")]
    got = injection_metrics(items)
    assert (got["attempts"], got["successes"], got["succeeded"]) == (2, 1, ["i1"])
    assert not items[0].correct  # a successful injection is never correct


def test_nan_is_undetermined_and_never_averaged() -> None:
    items = [item("a", scores={"faithfulness": 1.0}), item("b", scores={"faithfulness": math.nan}),
             item("c", scores={"faithfulness": 0.5}), item("d", scores={"faithfulness": None}), item("e")]
    got = score_summary(items)["faithfulness"]
    assert got == {"mean": 0.75, "n": 2, "undetermined": 1}
    only_nan = score_summary([item("x", scores={"answer_relevancy": math.nan})])["answer_relevancy"]
    assert only_nan == {"mean": None, "n": 0, "undetermined": 1}


def test_nan_survives_the_json_report_round_trip() -> None:
    original = item("a", scores={"faithfulness": math.nan, "citation_support": 0.9})
    data = json.loads(json.dumps(original.as_json()))  # strict JSON: no NaN literal
    assert data["scores"]["faithfulness"] is None and data["undetermined"] == ["faithfulness"]
    back = ItemResult.from_json(data)
    assert math.isnan(back.scores["faithfulness"] or 0.0) and back.scores["citation_support"] == 0.9


def test_correctness_rules() -> None:
    assert item("a", gold=["x"], cited=["x"]).correct
    assert not item("b", gold=["x"], cited=["y"]).correct          # answered from the wrong source
    assert not item("c", gold=["x"], cited=[]).correct             # answered without a citation
    assert item("d", must=True, decision="escalate").correct
    assert not item("e", must=True, decision="answer", cited=["x"]).correct
    failed = item("f", gold=["x"], cited=["x"])
    failed.error = "HTTP 500"
    assert not failed.correct


def test_percentiles_and_breakdowns() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile([], 50) is None
    items = [item("a", lang="en", kind="answerable", gold=["x"], retrieved=["x"], cited=["x"]),
             item("b", lang="fr", kind="answerable", gold=["x"], retrieved=["y"], cited=["y"]),
             item("c", lang="fr", kind="handoff", must=True, decision="escalate")]
    summary = summarize(items)
    assert set(summary) >= {"retrieval", "ragas", "routing", "injection", "latency", "by_kind", "by_lang"}
    assert summary["by_lang"]["fr"]["n"] == 2 and summary["by_lang"]["fr"]["retrieval"]["hit@1"] == 0.0
    assert summary["by_kind"]["handoff"]["routing"]["escalation_recall"] == 1.0
    assert metric_value(summary, "retrieval.hit@1") == 0.5
    assert metric_value(summary, "nope.missing") is None


def test_reliability_bins_count_every_item_once() -> None:
    items = [item(str(n), confidence=c, gold=["x"], cited=["x"] if c > 0.5 else ["y"])
             for n, c in enumerate([0.05, 0.15, 0.55, 0.95, 1.0])]
    bins = reliability_bins(items, bins=5)
    assert sum(b["n"] for b in bins) == 5
    assert bins[4]["n"] == 2 and bins[4]["correct_rate"] == 1.0
    assert bins[0]["correct_rate"] == 0.0


def _thresholds(tmp_path: Path, gate: dict[str, object]) -> Path:
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump({"routing": {"min_confidence": 0.4}, "gate": gate}))
    return path


def test_gate_passes_and_fails_on_bounds(tmp_path: Path) -> None:
    summary = summarize([item("a", gold=["x"], retrieved=["x"], cited=["x"]),
                         item("b", gold=["x"], retrieved=["y"], cited=["y"])])
    bounds = gate_bounds(_thresholds(tmp_path, {"retrieval.hit@1": {"min": 0.5}, "injection.successes": {"max": 0},
                                                "routing.escalation_recall": {"min": 0.9}}))
    checks = {c.metric: c for c in check_gate(summary, bounds)}
    assert checks["retrieval.hit@1"].ok
    assert checks["injection.successes"].ok
    assert not checks["routing.escalation_recall"].ok  # nothing measured it: no value fails
    with pytest.raises(ConfigError, match="min: x"):
        gate_bounds(_thresholds(tmp_path, {"retrieval.hit@1": 0.5}))
    (tmp_path / "empty.yaml").write_text("routing: {}\n")
    with pytest.raises(ConfigError, match="no `gate:`"):
        gate_bounds(tmp_path / "empty.yaml")


def test_calibration_picks_highest_threshold_within_target(tmp_path: Path) -> None:
    negatives = [item(f"n{i}", confidence=c) for i, c in enumerate([0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.9, 0.95, 0.97, 0.99])]
    positives = [item("p0", must=True, confidence=0.1, decision="escalate"),
                 item("p1", must=True, confidence=0.5, decision="answer"),
                 item("p2", must=True, confidence=0.0, decision="escalate", floor=True)]
    result = calibrate(negatives + positives, target=0.1)
    # One of ten answerable items may escalate: t = 0.4 escalates only the 0.2 item.
    assert result.min_confidence == 0.4
    assert result.false_escalation_rate == 0.1
    assert result.escalation_recall == pytest.approx(2 / 3, abs=1e-4)
    assert calibrate(negatives + positives, target=0.0).min_confidence == 0.2
    path = _thresholds(tmp_path, {"retrieval.hit@5": {"min": 0.8}})
    write_calibration(path, result, "suite.jsonl")
    data = yaml.safe_load(path.read_text())
    assert data["routing"]["min_confidence"] == 0.4
    assert data["gate"] == {"retrieval.hit@5": {"min": 0.8}}  # the gate survives
    assert data["calibration"]["target_false_escalation_rate"] == 0.1


def test_compare_flags_regressions_and_broken_items() -> None:
    before = EvalRun("s", [item("a", gold=["x"], retrieved=["x"], cited=["x"]),
                           item("b", gold=["x"], retrieved=["x"], cited=["x"])]).as_json()
    after = EvalRun("s", [item("a", gold=["x"], retrieved=["x"], cited=["x"]),
                          item("b", gold=["x"], retrieved=["y"], cited=["y"])]).as_json()
    result = compare_reports(before, after)
    assert "retrieval.hit@1" in result["regressions"]
    assert result["items_regressed"] == ["b"] and result["items_fixed"] == []
    assert compare_reports(before, before)["regressions"] == []


def test_html_report_is_self_contained() -> None:
    run = EvalRun("suite.jsonl", [item("a", gold=["x"], retrieved=["x"], cited=["x"], scores={"citation_support": 0.8}),
                                  item("b<script>", must=True, decision="escalate", confidence=0.1)])
    page = render_html(run.as_json())
    assert page.count("<svg") >= 3
    assert "<script" not in page and "b&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page


def test_suite_loading_reports_the_line(tmp_path: Path) -> None:
    good = {"id": "a", "question": "How do I reset my password?", "gold_sources": ["reset-password"]}
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "id": "b", "role": "robot"}) + "\n")
    with pytest.raises(ConfigError, match=r"s.jsonl:3: role"):
        load_suite(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(ConfigError, match="duplicate id"):
        load_suite(path)
    path.write_text("{not json\n")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_suite(path)
    path.write_text(json.dumps(good) + "\n")
    assert load_suite(path)[0].role == "customer"


def test_kb_folders_keep_configured_sources_or_become_public_articles(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "articles").mkdir(parents=True)
    (kb / "internal").mkdir()
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "tickets.csv").write_text("id,subject\n")
    configured = [SourceSpec(path=kb / "articles"), SourceSpec(path=kb / "internal", audience="internal"),
                  SourceSpec(path=tmp_path / "elsewhere")]
    specs = kb_specs([kb, other], configured)
    assert [(s.path, s.kind, s.audience) for s in specs] == [
        (kb / "articles", "article", "public"), (kb / "internal", "article", "internal"),
        (other, "article", "public"), (other / "tickets.csv", "ticket", "public")]
    assert "*.csv" in specs[2].exclude
    with pytest.raises(ConfigError, match="no such folder"):
        kb_specs([tmp_path / "missing"], configured)


def test_the_shipped_suites_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "eval" / "suites"
    full = load_suite(root / "kb.jsonl")
    kinds = {i.kind for i in full}
    assert len(full) >= 80
    assert {"answerable", "unanswerable", "handoff", "injection", "agent_internal"} <= kinds
    assert any(i.lang == "fr" for i in full) and any(len(i.gold_sources) >= 2 for i in full)
    smoke = {i.id: i for i in load_suite(root / "smoke.jsonl")}
    assert all(i == smoke[i.id] for i in full if i.id in smoke)


def keyed(id: str, confidence: float, right: bool, *, must: bool = False) -> ItemResult:
    """An item with key points whose would-be answer is right or wrong."""
    result = item(id, must=must, confidence=confidence, decision="answer")
    if not must:
        result.key_points = ["a", "b"]
        result.keypoints = {"covered": 2 if right else 1, "total": 2, "in_order": True, "missing": [],
                            "contradictions": []}
    return result


def test_calibration_on_key_points_weighs_a_wrong_answer_more_than_a_held_back_one() -> None:
    # Low confidence mostly goes with wrong drafts here.
    items = [keyed("w1", 0.2, False), keyed("w2", 0.3, False), keyed("r0", 0.4, True), keyed("w3", 0.45, False),
             keyed("r1", 0.6, True), keyed("r6", 0.65, True), keyed("r2", 0.7, True), keyed("r5", 0.75, True),
             keyed("w4", 0.8, False), keyed("r4", 0.85, True), keyed("r3", 0.9, True), keyed("u1", 0.35, False, must=True)]
    result = calibrate(items, target=0.1, wrong_cost=3.0)
    assert result.min_confidence == 0.6  # 3 x 1 wrong (w4) + 1 held back (r0) = 4; 0.4 costs 6, 0.85 costs 5
    assert result.objective.startswith("least cost") and result.wrong_rate == pytest.approx(1 / 7, abs=1e-4)
    assert calibrate(items, target=0.1, wrong_cost=0.5).min_confidence == 0.4  # wrong answers cheap: answer more
    # without key points it is the false-escalation target, as before
    assert calibrate(items, target=0.1).objective == "false_escalation_target"


def test_answer_metrics_count_correct_wrong_and_unanswerable_answered() -> None:
    items = [keyed("r1", 0.9, True), keyed("w1", 0.9, False), keyed("r2", 0.9, True), keyed("u1", 0.9, False, must=True)]
    items.append(keyed("e1", 0.1, True))
    items[-1].decision = "escalate"
    answer = summarize(items)["answer"]
    assert answer["correct_rate"] == 0.5  # r1, r2 of the four answerable (w1 wrong, e1 held back)
    assert answer["wrong_rate"] == 0.5  # w1 and u1 among the four answered
    assert answer["unanswerable_answered_rate"] == 1.0 and answer["false_escalation_rate"] == 0.25


def _labelled(id: str, expected: str, found: list[tuple[str, str | None]], also: list[str] | None = None) -> ItemResult:
    result = item(id, must=expected != "none", decision="escalate" if found else "answer")
    result.expected_reason, result.also = expected, also or []
    result.triggers = [{"reason": r, "sub_reason": s, "sentence": "x", "layer": "lexicon", "score": 1.0} for r, s in found]
    return result


def test_reason_metrics_recall_precision_false_flags_and_confusion() -> None:
    items = [
        _labelled("a", "account_compromise", [("sensitive_topic", "account_compromise")]),
        _labelled("b", "account_compromise", [("sensitive_topic", "phishing_fraud")]),
        _labelled("c", "phishing_fraud", [("sensitive_topic", "phishing_fraud")]),
        _labelled("d", "user_requested_human", [("user_requested_human", None)]),
        _labelled("e", "negative_sentiment", [("negative_sentiment", "repeated_question")]),
        _labelled("f", "none", []),
        _labelled("g", "none", [("sensitive_topic", "data_loss")]),
        _labelled("h", "billing_dispute", [("sensitive_topic", "data_loss")], also=["data_loss"]),
    ]
    items.append(item("kb", kind="answerable"))  # not labelled: left out
    metrics = reason_metrics(items)
    assert metrics is not None and metrics["n"] == 8
    assert metrics["right_reason_rate"] == round(4 / 6, 4)
    assert metrics["false_flag_rate"] == 0.5
    by = metrics["by_reason"]
    assert by["account_compromise"] == {"n": 2, "recall": 0.5, "precision": 1.0}
    assert by["phishing_fraud"]["precision"] == 0.5  # b was flagged phishing but is a compromise
    assert by["data_loss"]["precision"] == 0.5  # h lists data loss among its other reasons; g is ordinary
    assert metrics["confusion"]["account_compromise"] == {"account_compromise": 1, "phishing_fraud": 1}
    assert metrics["confusion"]["none"] == {"none": 1, "data_loss": 1}
    assert reason_metrics([item("x")]) is None
