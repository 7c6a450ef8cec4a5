"""`deskpilot eval`: run suites, calibrate routing, compare reports, gate releases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from deskpilot.cli.common import PROGRESS_COLUMNS, RichProgress, console, err, fail, load_settings
from deskpilot.config import Settings

app = typer.Typer(help="Evaluation: score retrieval, faithfulness and routing; gate releases.", no_args_is_help=True)

SuiteArg = Annotated[Path, typer.Argument(help="Suite file (JSONL, one item per line)")]
KbOpt = Annotated[list[Path] | None, typer.Option("--kb", help="Ingest these folders into a temporary index first")]
JudgeOpt = Annotated[str, typer.Option("--judge", help="none | local | openai (ragas LLM metrics)")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Report folder (default eval/reports)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="Evaluate a running Deskpilot over HTTP")]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="DESKPILOT_API_KEY", help="API key for --url")]
ThresholdsOpt = Annotated[Path | None, typer.Option("--thresholds", help="Default: eval/thresholds.yaml")]


@contextmanager
def _session(settings: Settings, kb: list[Path] | None, url: str | None, api_key: str | None,
             judge: str, quiet: bool) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """(target, scorer, meta) for the chosen mode; a temporary index is deleted afterwards."""
    from deskpilot.container import Container
    from deskpilot.evaluation.targets import HttpTarget, LocalTarget
    from deskpilot.evaluation.workspace import TemporaryKB, build_scorer

    meta: dict[str, Any] = {"judge": judge}
    if url:
        if kb:
            raise fail("--kb and --url cannot be combined: the server evaluates its own index")
        if not api_key:
            raise fail("--url needs --api-key (or DESKPILOT_API_KEY)")
        container = Container(settings)
        yield HttpTarget(url, api_key, timeout=settings.llm.timeout + 60), build_scorer(judge, container), meta
        return
    if kb:
        with TemporaryKB(settings, kb, Container) as tmp:
            if quiet:
                report = tmp.ingest()
            else:
                with Progress(*PROGRESS_COLUMNS, console=err, transient=True) as progress:
                    report = tmp.ingest(RichProgress(progress))
            for failure in report.failed:
                err.print(f"[yellow]not indexed:[/yellow] {failure.source}: {failure.error}", highlight=False)
            meta["kb"] = [p.as_posix() for p in kb]
            meta["kb_chunks"] = tmp.container.store.count()
            yield _local(tmp.container, meta, LocalTarget), build_scorer(judge, tmp.container), meta
        return
    container = Container(settings)
    if container.store.count() == 0:
        raise fail("the index is empty: run `deskpilot ingest` first, or pass --kb DIR")
    yield _local(container, meta, LocalTarget), build_scorer(judge, container), meta


def _local(container: Any, meta: dict[str, Any], target_cls: Any) -> Any:
    compose = container.settings.assistant.compose
    meta.update(llm=container.llm.name, embedding=container.embedding_model_id, compose=compose,
                prompt="compose" if compose == "extract" else container.prompts.get("answer").id,
                min_confidence=container.routing.min_confidence, min_fit=container.routing.min_fit)
    return target_cls(container.assistant, container.routing, tickets=container.tickets)


def _evaluate(suite: Path, kb: list[Path] | None, judge: str, url: str | None, api_key: str | None,
              quiet: bool) -> Any:
    from deskpilot.evaluation.harness import Harness
    from deskpilot.evaluation.suite import load_suite

    if judge not in ("none", "local", "openai"):
        raise fail(f"--judge must be none, local or openai, not {judge!r}")
    settings = load_settings()
    items = load_suite(suite)
    with _session(settings, kb, url, api_key, judge, quiet) as (target, scorer, meta):
        harness = Harness(target, scorer, {"suite": suite.as_posix(), **meta})
        if quiet:
            return harness.run(suite.as_posix(), items)
        with Progress(*PROGRESS_COLUMNS, console=err, transient=True) as progress:
            task = progress.add_task(f"evaluating {suite.name}", total=len(items))
            return harness.run(suite.as_posix(), items, on_item=lambda _r: progress.advance(task))


def _save(run: Any, out: Path | None) -> tuple[Path, Path]:
    from deskpilot.evaluation.report import save_report

    return save_report(run, out or load_settings().eval.reports_dir)


def _num(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) and abs(value) < 10 else f"{value}"


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"Evaluation summary ({summary['n']} items, {summary['errors']} errors)")
    for column in ("group", "metric", "value", "n", "undetermined"):
        table.add_column(column, justify="right" if column in ("value", "n", "undetermined") else "left")
    table.add_row("overall", "correct rate", _num(summary["correct_rate"]), str(summary["n"]), "")
    table.add_row("overall", "grounded rate (cites a gold source)", _num(summary["grounded_rate"]), str(summary["n"]), "")
    answer = summary["answer"]
    table.add_row("answer", "correct rate (key points)", _num(answer["correct_rate"]), str(answer["n"]), "")
    table.add_row("answer", "wrong rate (of answered)", _num(answer["wrong_rate"]), "", "")
    table.add_row("answer", "false escalation rate", _num(answer["false_escalation_rate"]), str(answer["n"]), "")
    table.add_row("answer", "unanswerable answered", _num(answer["unanswerable_answered_rate"]), "", "")
    table.add_row("answer", "key-point coverage (answered)", _num(answer["keypoint_coverage"]), str(answer["answered"]), "")
    if answer["judge"]["n"]:
        judge = answer["judge"]
        table.add_row("judge", "correct / partial / unhelpful / wrong",
                      f"{judge['correct']} / {judge['partial']} / {judge['unhelpful']} / {judge['wrong']}", str(judge["n"]), "")
        table.add_row("judge", "agreement with key points", _num(judge["agreement"]), "", "")
    retrieval = summary["retrieval"]
    for key in ("hit@1", "hit@3", "hit@5", "mrr"):
        table.add_row("retrieval", key, _num(retrieval[key]), str(retrieval["n"]), "")
    for name, score in summary["ragas"].items():
        table.add_row("ragas", name, _num(score["mean"]), str(score["n"]), str(score["undetermined"]))
    routing = summary["routing"]
    for key in ("escalation_recall", "false_escalation_rate", "precision", "accuracy"):
        table.add_row("routing", key.replace("_", " "), _num(routing[key]), str(routing["n"]), "")
    injection = summary["injection"]
    table.add_row("injection", "successes / attempts", f"{injection['successes']} / {injection['attempts']}", "", "")
    latency = summary["latency"]
    table.add_row("latency", "p50 / p95 ms", f"{_num(latency['p50_ms'])} / {_num(latency['p95_ms'])}",
                  str(latency["n"]), "")
    console.print(table)
    confusion = routing["confusion"]
    console.print(f"confusion: must escalate → escalated {confusion['must_escalate']['escalated']}, answered "
                  f"{confusion['must_escalate']['answered']}; should answer → escalated "
                  f"{confusion['should_answer']['escalated']}, answered {confusion['should_answer']['answered']}",
                  highlight=False)
    for group in ("by_kind", "by_lang"):
        breakdown = Table(title=group.replace("_", " "))
        for column in ("group", "n", "correct", "hit@5", "esc. recall", "false esc.", "p50 ms"):
            breakdown.add_column(column, justify="left" if column == "group" else "right")
        for name, s in summary[group].items():
            breakdown.add_row(name, str(s["n"]), _num(s["correct_rate"]), _num(s["retrieval"]["hit@5"]),
                              _num(s["routing"]["escalation_recall"]), _num(s["routing"]["false_escalation_rate"]),
                              _num(s["latency"]["p50_ms"]))
        console.print(breakdown)


@app.command("run")
def run_suite(suite: SuiteArg, kb: KbOpt = None, judge: JudgeOpt = "none", out: OutOpt = None,
              as_json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """Run a suite through the assistant (same code path as the service) and save a JSON + HTML report."""
    run = _evaluate(suite, kb, judge, url, api_key, as_json)
    json_path, html_path = _save(run, out)
    if as_json:
        print(json.dumps({**run.summary, "meta": run.meta, "report": json_path.as_posix()}, ensure_ascii=False))
        return
    _print_summary(run.summary)
    console.print(f"{run.meta['items_per_s']} items/s · report: {json_path} · {html_path}", highlight=False)


@app.command("gate")
def gate(suite: SuiteArg, kb: KbOpt = None, judge: JudgeOpt = "none", out: OutOpt = None, as_json: JsonOpt = False,
         url: UrlOpt = None, api_key: KeyOpt = None, thresholds: ThresholdsOpt = None) -> None:
    """Run a suite and exit 1 when any metric is outside the `gate:` bounds of eval/thresholds.yaml."""
    from deskpilot.evaluation.gate import check_gate, gate_bounds

    path = thresholds or load_settings().routing.thresholds_file or Path("eval/thresholds.yaml")
    bounds = gate_bounds(path)
    run = _evaluate(suite, kb, judge, url, api_key, as_json)
    json_path, _ = _save(run, out)
    checks = check_gate(run.summary, bounds)
    passed = all(c.ok for c in checks)
    if as_json:
        print(json.dumps({"passed": passed, "report": json_path.as_posix(), "checks": [
            {"metric": c.metric, "bound": c.bound, "limit": c.limit, "value": c.value, "ok": c.ok} for c in checks]}))
    else:
        table = Table(title=f"Release gate: {'PASSED' if passed else 'FAILED'} ({suite.name}, {len(run.items)} items)")
        for column in ("metric", "bound", "limit", "value", "result"):
            table.add_column(column)
        for c in checks:
            table.add_row(c.metric, c.bound, _num(c.limit), _num(c.value),
                          "[green]ok[/green]" if c.ok else "[red]FAIL[/red]")
        console.print(table)
        console.print(f"report: {json_path}", highlight=False)
    if not passed:
        raise typer.Exit(1)


@app.command("calibrate")
def calibrate(suite: SuiteArg, kb: KbOpt = None, url: UrlOpt = None, api_key: KeyOpt = None,
              target: Annotated[float | None, typer.Option(help="Highest false-escalation rate allowed")] = None,
              from_report: Annotated[Path | None, typer.Option(help="Fit on a saved report instead of running")] = None,
              thresholds: ThresholdsOpt = None, as_json: JsonOpt = False) -> None:
    """Fit routing's min_confidence and write it to eval/thresholds.yaml: the least cost of wrong answers and held-back
    correct ones where the suite has key points (DESKPILOT_EVAL__WRONG_ANSWER_COST), else, or with --target, the
    highest threshold within a false-escalation rate."""
    from deskpilot.evaluation.gate import calibrate as fit
    from deskpilot.evaluation.gate import write_calibration
    from deskpilot.evaluation.harness import EvalRun
    from deskpilot.evaluation.report import load_report

    settings = load_settings()
    goal = settings.eval.target_false_escalation_rate if target is None else target
    if not 0 <= goal <= 1:
        raise fail("--target must be between 0 and 1")
    path = thresholds or settings.routing.thresholds_file or Path("eval/thresholds.yaml")
    run = EvalRun.from_json(load_report(from_report)) if from_report else _evaluate(suite, kb, "none", url, api_key,
                                                                                   as_json)
    # an explicit --target asks for the false-escalation objective; otherwise key points decide by cost
    result = fit(run.items, goal, None if target is not None else settings.eval.wrong_answer_cost)
    if not result.reachable and result.objective == "false_escalation_target":
        raise fail(f"a false-escalation rate of {goal} is not reachable with the confidence threshold: other "
                   f"reasons already escalate {result.false_escalation_rate} of the answerable items; "
                   f"{path} is unchanged", 1)
    if result.objective != "false_escalation_target" and result.false_escalation_rate == 1.0:
        # Written, this would hand every question to a human. It happens when the key points call nearly every
        # answer wrong (they are stricter than a reader: a non-essential point missing fails an answer).
        raise fail(f"the least-cost threshold ({result.min_confidence}) escalates every question that should be "
                   f"answered: by this suite's key points no answer is worth showing. Read the answers against the "
                   f"references (the key points may be stricter than a reader), or fit with --target; {path} is "
                   f"unchanged", 1)
    write_calibration(path, result, suite.as_posix())
    if as_json:
        print(json.dumps({**result.as_json(), "thresholds_file": path.as_posix()}))
        return
    console.print(f"min_confidence = {result.min_confidence} ({result.objective}) written to {path}: false-escalation "
                  f"rate {_num(result.false_escalation_rate)} (target {goal}), wrong answers {_num(result.wrong_rate)}, "
                  f"escalation recall {_num(result.escalation_recall)} on {result.items} items", highlight=False)


@app.command("compare")
def compare(before: Annotated[Path, typer.Argument(help="Earlier report (JSON)")],
            after: Annotated[Path, typer.Argument(help="Later report (JSON)")], as_json: JsonOpt = False,
            fail_on_regression: Annotated[bool, typer.Option(help="Exit 1 when anything regressed")] = False) -> None:
    """Show what changed between two reports: metric deltas, regressions, items that broke or got fixed."""
    from deskpilot.evaluation.report import compare_reports, load_report

    result = compare_reports(load_report(before), load_report(after))
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        table = Table(title=f"{before.name} → {after.name}")
        for column in ("metric", "before", "after", "delta", ""):
            table.add_column(column)
        for row in result["metrics"]:
            flag = "[red]regressed[/red]" if row["regressed"] else ""
            table.add_row(row["metric"], _num(row["before"]), _num(row["after"]), _num(row["delta"]), flag)
        console.print(table)
        console.print(f"items regressed: {', '.join(result['items_regressed']) or 'none'}", highlight=False)
        console.print(f"items fixed: {', '.join(result['items_fixed']) or 'none'}", highlight=False)
    if fail_on_regression and (result["regressions"] or result["items_regressed"]):
        raise typer.Exit(1)
