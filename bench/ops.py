"""Operations benchmark: KPIs, the review list and its CSV, content gaps and knowledge hygiene on a seeded
database (SQLite in a temporary folder) and the sample kb. Prints a table and writes JSON to bench/results/.

    .venv/bin/python bench/ops.py                          # 100k conversations over 30 days, 2,000 gap questions
    .venv/bin/python bench/ops.py --conversations 10000 --gaps 500
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import EmbeddingSettings, IngestSettings, Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.helpdesk.models import ConversationRow, EventRow, FeedbackRow  # noqa: E402
from deskpilot.ingest.sources import SourceSpec  # noqa: E402
from deskpilot.ops.period import since  # noqa: E402
from deskpilot.ops.review import to_csv  # noqa: E402

TOPICS = ["pay with bitcoin", "change the invoice currency", "add a second company to one account",
          "use the app on a smart watch", "merge two workspaces", "export timesheets to Xero",
          "set a different time zone per project", "get a student discount", "restore a deleted teammate",
          "print a QR code for check-in"]
FRAMES = ["Can I {t}?", "How do I {t}?", "Is it possible to {t}", "is there a way to {t} please",
          "I want to {t}, how?", "Do you support a way to {t}?", "help: {t}"]
REASONS = ["no_relevant_source", "low_support", "user_requested_human", "negative_sentiment", "sensitive_topic"]
LANGUAGES = ["en"] * 6 + ["fr", "de", "es", "pt"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def seed(container: Container, conversations: int, gaps: int, rng: random.Random) -> int:
    """Conversations over the last 30 days, 1-3 answers each; `gaps` of the answers are gap questions."""
    now = datetime.now(UTC)
    rows_c, rows_e, rows_f = [], [], []
    gap_left = gaps
    for n in range(conversations):
        start = now - timedelta(seconds=rng.randrange(30 * 86400))
        cid = f"c{n:08d}"
        ticket = None
        for turn in range(rng.choice((1, 1, 2, 3))):
            at = start + timedelta(seconds=30 * turn)
            escalate = rng.random() < 0.2
            reasons = [rng.choice(REASONS)] if escalate else []
            question = "How do I reset my password?"
            if gap_left and (escalate or rng.random() < 0.05):
                question = rng.choice(FRAMES).format(t=rng.choice(TOPICS))
                reasons = ["no_relevant_source"] if escalate else []
                gap_left -= 1
            if escalate:
                ticket = n
            rows_e.append({"kind": "answer", "at": iso(at), "target": "answer", "conversation_id": cid,
                           "ticket_id": ticket if escalate else None, "key_id": "k", "role": "customer",
                           "language": rng.choice(LANGUAGES), "decision": "escalate" if escalate else "answer",
                           "reasons": reasons, "confidence": round(rng.uniform(0.1, 0.7) if escalate
                                                                                else rng.uniform(0.5, 1.0), 3),
                           "latency_ms": rng.lognormvariate(7.5, 0.5), "question": question,
                           "detail": {"cited": [] if escalate else ["reset-password"],
                                      "retrieved": ["reset-password"], "draft": ""}})
        rows_c.append({"id": cid, "key_id": "k", "role": "customer", "language": "en", "ticket_id": ticket,
                       "created_at": iso(start), "updated_at": iso(start)})
        if rng.random() < 0.1:
            rows_f.append({"target": "answer", "rating": rng.choice(("up", "up", "down")), "comment": "",
                           "conversation_id": cid, "message_index": 0, "ticket_id": None, "key_id": "k",
                           "created_at": iso(start + timedelta(minutes=2))})
    with container.sessions.begin() as session:
        for table, rows in ((ConversationRow, rows_c), (EventRow, rows_e), (FeedbackRow, rows_f)):
            for i in range(0, len(rows), 5000):
                session.execute(insert(table), rows[i:i + 5000])
    return len(rows_e)


def timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    """(result, best seconds, peak MB of Python allocations); the peak is taken on one more run under
    tracemalloc, which slows Python down too much to time with."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return result, best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--gaps", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), models_dir=REPO / "data" / "models", _env_file=None,  # type: ignore[call-arg]
                            embedding=EmbeddingSettings(), ingest=IngestSettings(terms_file=REPO / "ingest" / "terms.yaml"))
        settings.llm.provider = "fake"
        settings.assistant.prompts_dir = REPO / "prompts"
        container = Container(settings)
        kb = REPO / "kb"
        container.ingestor.run([SourceSpec(path=kb / "articles"), SourceSpec(path=kb / "internal", audience="internal"),
                                SourceSpec(path=kb / "tickets", kind="ticket")])
        t0 = time.perf_counter()
        answers = seed(container, args.conversations, args.gaps, rng)
        seeding = time.perf_counter() - t0
        rows: list[tuple[str, str, float, float]] = []
        kpis, seconds, peak = timed(lambda: container.analytics.kpis(since("30d")), 3)
        rows.append(("KPIs, 30 days", f"{kpis['conversations']['started']:,} conversations, {answers:,} answers",
                     seconds, peak))
        _, seconds, peak = timed(lambda: container.analytics.kpis(since("7d")), 3)
        rows.append(("KPIs, 7 days", "", seconds, peak))
        items, seconds, peak = timed(lambda: container.review.items(since("7d"), limit=50_000))
        rows.append(("review list, 7 days", f"{len(items):,} items (redacted)", seconds, peak))
        _, seconds, peak = timed(lambda: to_csv(items))
        rows.append(("review CSV", "", seconds, peak))
        report, seconds, peak = timed(lambda: container.gaps.report(since("30d"), propose=False))
        rows.append(("content gaps, no proposals", f"{report.total:,} questions, {len(report.clusters)} clusters "
                     f"(seeded {len(TOPICS)} topics)", seconds, peak))
        stale, seconds, peak = timed(lambda: container.hygiene.stale())
        rows.append(("stale / never cited", f"{len(stale.never_cited)} never cited", seconds, peak))
        found, seconds, peak = timed(lambda: container.hygiene.conflicts())
        rows.append(("conflicts", f"{container.store.count():,} chunks, {len(found)} conflicts", seconds, peak))
    table = Table(title=f"Operations on SQLite: {args.conversations:,} conversations seeded in {seeding:.1f} s")
    for column in ("step", "size", "seconds", "peak MB (Python)"):
        table.add_column(column)
    for step, size, seconds, peak in rows:
        table.add_row(step, size, f"{seconds:.2f}", f"{peak:.0f}")
    console.print(table)
    out = REPO / "bench" / "results" / f"ops-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"conversations": args.conversations, "answers": answers, "gaps": args.gaps,
                               "rows": [dict(zip(("step", "size", "seconds", "peak_mb"), r, strict=True))
                                        for r in rows]}, indent=2))
    console.print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
