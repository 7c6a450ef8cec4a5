"""Evaluation speed: items/s of `deskpilot eval run` on the kb/ suite, per mode.

    .venv/bin/python bench/eval.py                       # all modes
    .venv/bin/python bench/eval.py --modes no-llm        # the non-LLM path only (about a minute)

Modes:
  no-llm       retrieval, citation check, routing and the model-free metrics; answers come from the extractive
               test model instead of an LLM, so this is the harness's own cost (target: 100 items < 2 minutes).
  local        the same with the default local LLM writing every answer (--judge none).
  local-judge  the local LLM also judges (ragas faithfulness, answer relevancy, LLM context precision/recall);
               run on --judge-items items only, it takes minutes per item on 2 cores.

Prints a table and writes JSON to bench/results/eval-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.evaluation.harness import Harness  # noqa: E402
from deskpilot.evaluation.suite import load_suite  # noqa: E402
from deskpilot.evaluation.targets import LocalTarget  # noqa: E402
from deskpilot.evaluation.workspace import TemporaryKB, build_scorer  # noqa: E402


def measure(mode: str, items: list, settings: Settings) -> dict:
    provider = "fake" if mode == "no-llm" else "local"
    settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"provider": provider})})
    with TemporaryKB(settings, [REPO / "kb"], Container) as tmp:
        tmp.ingest()
        container = tmp.container
        scorer = build_scorer("local" if mode == "local-judge" else "none", container)
        harness = Harness(LocalTarget(container.assistant, container.routing), scorer)
        started = time.perf_counter()
        run = harness.run(mode, items)
        seconds = time.perf_counter() - started
    summary = run.summary
    return {"mode": mode, "items": len(items), "seconds": round(seconds, 1), "items_per_s": round(len(items) / seconds, 3),
            "s_per_100": round(seconds / len(items) * 100, 1), "latency_p50_ms": summary["latency"]["p50_ms"],
            "hit@5": summary["retrieval"]["hit@5"], "correct_rate": summary["correct_rate"],
            "undetermined": {k: v["undetermined"] for k, v in summary["ragas"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", type=Path, default=REPO / "eval" / "suites" / "kb.jsonl")
    parser.add_argument("--modes", default="no-llm,local,local-judge")
    parser.add_argument("--items", type=int, default=100, help="items for no-llm and local")
    parser.add_argument("--judge-items", type=int, default=3, help="answerable items for local-judge")
    args = parser.parse_args()
    settings = Settings(models_dir=REPO / "data" / "models", _env_file=None)  # type: ignore[call-arg]
    suite = load_suite(args.suite)
    rows = []
    for mode in args.modes.split(","):
        if mode == "local-judge":
            items = [i for i in suite if not i.must_escalate and i.gold_answer][: args.judge_items]
        else:
            items = (suite * (1 + args.items // len(suite)))[: args.items]
        rows.append(measure(mode, items, settings))
    table = Table(title=f"Evaluation speed ({args.suite.name}, 2-core numbers in README)")
    for column in ("mode", "items", "seconds", "items/s", "s per 100 items", "latency p50 ms", "hit@5", "correct"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for r in rows:
        table.add_row(r["mode"], str(r["items"]), f"{r['seconds']:.1f}", f"{r['items_per_s']:.3f}", f"{r['s_per_100']:.0f}",
                      str(r["latency_p50_ms"]), str(r["hit@5"]), str(r["correct_rate"]))
    Console().print(table)
    out = REPO / "bench" / "results" / f"eval-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
