"""The evaluation harness end to end: local and HTTP targets, the gate against a broken retriever, --kb isolation."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.evaluation.gate import check_gate
from deskpilot.evaluation.harness import Harness
from deskpilot.evaluation.judge import RagasScorer
from deskpilot.evaluation.suite import load_suite
from deskpilot.evaluation.targets import HttpTarget, LocalTarget
from deskpilot.ingest.sources import SourceSpec
from tests import cli
from tests.conftest import KB, REPO, make_settings, serve_in_thread

pytestmark = pytest.mark.integration
SMOKE = load_suite(REPO / "eval" / "suites" / "smoke.jsonl")
GATE = [("retrieval.hit@5", "min", 0.8), ("retrieval.mrr", "min", 0.6), ("injection.successes", "max", 0.0)]


@pytest.fixture(scope="module")
def kb_container(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Container:
    settings = make_settings(tmp_path_factory.mktemp("evalkb"), models_dir, llm="fake")
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=KB / "articles"), SourceSpec(path=KB / "internal", audience="internal"),
                            SourceSpec(path=KB / "tickets", kind="ticket")])
    return container


def _run(container: Container) -> Any:
    return Harness(LocalTarget(container.assistant, container.routing), RagasScorer()).run("smoke", SMOKE)


def test_local_run_scores_every_item_and_the_gate_catches_a_broken_retriever(
        kb_container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(kb_container)
    assert len(run.items) == len(SMOKE) and not [i.error for i in run.items if i.error]
    summary = run.summary
    assert summary["retrieval"]["n"] == sum(1 for i in SMOKE if i.gold_sources)
    assert all(c.ok for c in check_gate(summary, GATE)), summary["retrieval"]
    handoffs = [i for i in run.items if i.kind == "handoff"]
    assert handoffs and all(i.escalated and i.escalate_floor for i in handoffs)
    assert all(0.0 <= (i.scores.get("context_recall") or 0.0) <= 1.0 for i in run.items)

    search = kb_container.retriever.search

    def broken(query: str, role: str = "customer", **kwargs: Any) -> Any:
        return search("keyboard shortcuts for the timer", role, **kwargs)  # ignores the question

    monkeypatch.setattr(kb_container.retriever, "search", broken)
    failed = {c.metric: c for c in check_gate(_run(kb_container).summary, GATE)}
    assert not failed["retrieval.hit@5"].ok and not failed["retrieval.mrr"].ok


@pytest.fixture
def server(kb_container: Container) -> Iterator[str]:
    with serve_in_thread(create_app(kb_container)) as url:
        yield url


def test_http_mode_gives_the_same_outcomes_as_in_process(kb_container: Container, server: str) -> None:
    _, key = kb_container.keys.create("qa", "evaluation")
    local = {i.id: i for i in _run(kb_container).items}
    remote = Harness(HttpTarget(server, key), RagasScorer()).run("smoke", SMOKE)
    assert not [i.error for i in remote.items if i.error]
    for item in remote.items:
        assert item.decision == local[item.id].decision, item.id
        assert item.retrieved == local[item.id].retrieved, item.id
        assert [c["source_id"] for c in item.citations] == [c["source_id"] for c in local[item.id].citations]
        assert item.latency_ms > 0
    assert remote.summary["retrieval"] == _run(kb_container).summary["retrieval"]

    bad = Harness(HttpTarget(server, "dp_wrong"), RagasScorer()).run("smoke", SMOKE[:3])
    assert [i.error for i in bad.items] == ["HTTP 401: invalid or revoked API key"] * 3
    assert bad.summary["errors"] == 3 and bad.summary["correct_rate"] == 0.0


def deskpilot(args: list[str], data: Path, models: Path, cwd: Path, process: bool = False) -> subprocess.CompletedProcess[str]:
    return cli.deskpilot(args, data, models, cwd, {"DESKPILOT_LLM__PROVIDER": "fake",
                                                   "DESKPILOT_ROUTING__THRESHOLDS_FILE": str(cwd / "thresholds.yaml")},
                         process=process)


def test_cli_kb_runs_in_a_temporary_index_and_gate_exit_codes(tmp_path: Path, models_dir: Path) -> None:
    main_kb = tmp_path / "main"
    main_kb.mkdir()
    shutil.copy(KB / "articles" / "webhooks.md", main_kb)
    eval_kb = tmp_path / "evalkb"
    eval_kb.mkdir()
    for name in ("reset-password.md", "refund-policy.docx", "plans-and-pricing.md", "invite-teammates.md"):
        shutil.copy(KB / "articles" / name, eval_kb)
    suite = tmp_path / "suite.jsonl"
    suite.write_text("\n".join(json.dumps(i) for i in [
        {"id": "a", "question": "i forgot my password, how do I get a new one?", "gold_sources": ["reset-password"]},
        {"id": "b", "question": "how long is an invitation link valid?", "gold_sources": ["invite-teammates"]},
        {"id": "c", "question": "I want to talk to a human now", "kind": "handoff", "must_escalate": True},
    ]) + "\n")
    (tmp_path / "thresholds.yaml").write_text(yaml.safe_dump({"gate": {"retrieval.hit@3": {"min": 1.0}}}))
    data = tmp_path / "data"
    assert deskpilot(["ingest", "main", "--json"], data, models_dir, tmp_path).returncode == 0
    before = {p.relative_to(data): p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file()}

    done = deskpilot(["eval", "run", "suite.jsonl", "--kb", "evalkb", "--out", "reports", "--json"], data, models_dir,
                     tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["retrieval"]["hit@3"] == 1.0 and summary["routing"]["escalation_recall"] == 1.0
    assert summary["meta"]["kb"] == ["evalkb"] and summary["n"] == 3
    assert Path(tmp_path / summary["report"]).is_file()
    assert len(list((tmp_path / "reports").glob("*.html"))) == 1
    after = {p.relative_to(data): p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file()}
    assert after == before, "the main index was touched"

    passed = deskpilot(["eval", "gate", "suite.jsonl", "--kb", "evalkb", "--out", "reports"], data, models_dir, tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    (tmp_path / "thresholds.yaml").write_text(yaml.safe_dump({"gate": {"routing.false_escalation_rate": {"max": -1}}}))
    failed = deskpilot(["eval", "gate", "suite.jsonl", "--kb", "evalkb", "--out", "reports", "--json"], data,
                       models_dir, tmp_path, process=True)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["passed"] is False

    calibrated = deskpilot(["eval", "calibrate", "suite.jsonl", "--from-report", summary["report"], "--target", "0",
                            "--json"], data, models_dir, tmp_path)
    assert calibrated.returncode == 0, calibrated.stderr
    written = yaml.safe_load((tmp_path / "thresholds.yaml").read_text())
    assert written["routing"]["min_confidence"] == json.loads(calibrated.stdout)["min_confidence"]
    assert written["gate"] == {"routing.false_escalation_rate": {"max": -1}}


def test_no_composed_answer_states_anything_its_source_does_not(kb_container: Container) -> None:
    """Property over every customer question of kb.jsonl (the test model; English needs none): each line shown is
    the cited page's own text, and a procedure's steps come in the page's order."""
    suite = load_suite(REPO / "eval" / "suites" / "kb.jsonl")
    answered = 0
    for item in suite:
        if item.role != "customer" or item.lang != "en":
            continue
        answer = kb_container.assistant.answer(item.question, [t.model_dump() for t in item.history])
        if answer.decision != "answer":
            continue
        answered += 1
        source = kb_container.retriever.source_chunks([answer.citations[0].source_id], "customer")
        page = " ".join(" ".join(chunk.body.split()) for chunk in source)
        lines = [" ".join(line.removeprefix("- ").split()) for line in answer.answer.removesuffix(" [1]").splitlines()]
        positions = [page.find(line) for line in lines]  # a step keeps its number ("2. Click ..."), as the page has it
        assert all(p >= 0 for p in positions), (item.id, answer.answer)
        steps = [p for line, p in zip(answer.answer.splitlines(), positions, strict=True)
                 if re.match(r"- |\d+\. ", line)]
        assert steps == sorted(steps), (item.id, answer.answer)  # steps in the page's order
    assert answered >= 20
