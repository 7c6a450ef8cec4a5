"""Ingestion benchmark on a generated help centre: first ingest, unchanged re-run, edits, deletions, memory.

    .venv/bin/python bench/ingest.py                 # about 2,000 articles + 200 solved tickets
    .venv/bin/python bench/ingest.py --docs 300      # quick check

Prints a table and writes JSON to bench/results/ingest-<time>.json. Runs in-process with the real local
embedding model (data/models from `make install`) and an embedded Chroma in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import EmbeddingSettings, IngestSettings, Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.ingest.sources import SourceSpec  # noqa: E402

AREAS = ["billing", "account", "security", "projects", "time tracking", "invoices", "integrations", "mobile app",
         "API", "notifications", "reports", "import", "export", "permissions", "calendar", "webhooks"]
OBJECTS = ["invoice", "project", "task", "timer", "workspace", "report", "member", "client", "API key", "webhook",
           "template", "dashboard", "tag", "budget", "estimate", "calendar", "file", "comment", "label", "rate"]
ACTIONS = ["create", "edit", "delete", "archive", "restore", "export", "import", "share", "duplicate", "lock",
           "approve", "assign", "schedule", "merge", "rename", "move"]
MENUS = ["Settings", "Admin", "Billing", "Projects", "Reports", "Integrations", "Security", "Profile", "Data"]
FR = ["Pour {a} un {o}, ouvrez {m} > {m2} puis cliquez sur {A}.", "Seuls les administrateurs peuvent {a} un {o}.",
      "La modification est enregistrée en {n} secondes environ.", "Vous pouvez annuler pendant {n} jours."]
EN = ["To {a} a {o}, open {m} > {m2} and click {A}.", "Only Owners and Admins can {a} a {o} on the {p} plan.",
      "Changes are saved within {n} seconds and shown to everyone in the workspace.",
      "You can undo this for {n} days from Trash.", "If the button is greyed out, check that you have the {r} role.",
      "Large workspaces with more than {n}00 {o}s may take a few minutes.",
      "The {o} keeps its history, comments and attachments.", "This is available on every plan except Free."]


def sentence(rng: random.Random, templates: list[str]) -> str:
    action, obj = rng.choice(ACTIONS), rng.choice(OBJECTS)
    return rng.choice(templates).format(a=action, A=action.capitalize(), o=obj, m=rng.choice(MENUS),
                                        m2=rng.choice(MENUS), n=rng.randint(2, 90), p=rng.choice(["Team", "Business"]),
                                        r=rng.choice(["Admin", "Owner", "Manager"]))


def article(rng: random.Random, index: int) -> str:
    french = rng.random() < 0.04
    templates = FR if french else EN
    obj, action, area = rng.choice(OBJECTS), rng.choice(ACTIONS), rng.choice(AREAS)
    title = f"{action.capitalize()} a {obj} in {area} ({index})"
    lines = ["---", f"title: {title}", f"url: https://help.example.com/articles/{index}",
             f"updated_at: 2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "---", "",
             " ".join(sentence(rng, templates) for _ in range(rng.randint(2, 4))), ""]
    for section in range(rng.randint(3, 8)):
        lines += [f"## {rng.choice(ACTIONS).capitalize()} {rng.choice(OBJECTS)}s {section + 1}", ""]
        lines.append(" ".join(sentence(rng, templates) for _ in range(rng.randint(2, 6))))
        lines.append("")
        if rng.random() < 0.6:
            lines += [f"{step}. {sentence(rng, templates)}" for step in range(1, rng.randint(3, 7))]
            lines.append("")
    return "\n".join(lines)


def tickets(rng: random.Random, count: int) -> list[dict]:
    names = ["Ana Souza", "Ben Carter", "Chloé Martin", "Dev Patel", "Eva Novak", "Femi Adeyemi"]
    out = []
    for i in range(count):
        person = rng.choice(names)
        out.append({
            "id": 50000 + i, "subject": f"Cannot {rng.choice(ACTIONS)} {rng.choice(OBJECTS)}",
            "description": f"Hi, {sentence(rng, EN)} It fails for me. Call me on +1 415-555-{rng.randint(1000, 9999)} "
                           f"or write to {person.split()[0].lower()}@customer{i}.example.",
            "status": rng.choice(["solved", "solved", "closed", "open"]), "category": rng.choice(AREAS),
            "priority": "normal", "tags": ["bench"], "requester": {"name": person, "email": f"p{i}@customer.example"},
            "assignee": {"name": "Sam Agent"}, "created_at": "2026-05-01T10:00:00Z", "solved_at": "2026-05-02T10:00:00Z",
            "comments": [{"author_role": "agent", "author_name": "Sam Agent", "public": True,
                          "body": f"Hi {person.split()[0]}, {sentence(rng, EN)} {sentence(rng, EN)}"},
                         {"author_role": "agent", "author_name": "Sam Agent", "public": False,
                          "body": "Checked the logs, known issue ORB-1234."}],
            "resolution": sentence(rng, EN),
        })
    return out


class PeakMemory:
    """Samples this process's RSS in a thread (ru_maxrss is reported too)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="keep the corpus and index in this folder")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="deskpilot-bench-"))
    articles, exports = root / "articles", root / "tickets"
    articles.mkdir(parents=True, exist_ok=True)
    exports.mkdir(exist_ok=True)
    for i in range(args.docs):
        (articles / f"article-{i:05d}.md").write_text(article(rng, i), encoding="utf-8")
    (exports / "tickets.json").write_text(json.dumps(tickets(rng, max(1, args.docs // 10))), encoding="utf-8")
    settings = Settings(data_dir=root / "data", models_dir=REPO / "data" / "models", _env_file=None,  # type: ignore[call-arg]
                        embedding=EmbeddingSettings(provider="local"),  # type: ignore[call-arg]
                        ingest=IngestSettings(terms_file=REPO / "ingest" / "terms.yaml"))  # type: ignore[call-arg]
    container = Container(settings)
    specs = [SourceSpec(path=articles), SourceSpec(path=exports, kind="ticket")]
    container.embeddings.embed_query("warm up")  # model load is not ingestion
    out: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "docs": args.docs}
    with PeakMemory() as memory:
        first = container.ingestor.run(specs)
        again = container.ingestor.run(specs)
        edited = sorted(articles.glob("*.md"))[:: 100]
        for path in edited:
            path.write_text(path.read_text().replace("click", "press", 1))
        edit = container.ingestor.run(specs)
        for path in sorted(articles.glob("*.md"))[1::100]:
            path.unlink()
        delete = container.ingestor.run(specs)
    data = container.store.collection.get(include=["documents", "metadatas"])
    tokens = [m["tokens"] for m in data["metadatas"]]
    pieces = container.embeddings.model.count_tokens(data["documents"])  # type: ignore[attr-defined]
    out.update({
        "sources": first.added, "chunks": first.chunks_embedded, "first_s": first.seconds,
        "chunks_per_s": first.chunks_embedded / first.seconds, "rerun_s": again.seconds,
        "rerun_speedup": first.seconds / again.seconds, "rerun_embedded": again.chunks_embedded,
        "edit_files": len(edited), "edit_s": edit.seconds, "edit_embedded": edit.chunks_embedded,
        "edit_updated": edit.updated, "delete_s": delete.seconds, "deleted": delete.deleted,
        "peak_rss_mb": memory.peak / 1e6, "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "avg_chunk_tokens": sum(tokens) / len(tokens),
        "truncated_share": sum(p > 256 for p in pieces) / len(pieces), "failed": len(first.failed),
    })
    table = Table(title=f"Deskpilot ingestion benchmark ({args.docs:,} articles + {args.docs // 10} tickets, 2 cores)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_row("sources / chunks", f"{out['sources']:,} / {out['chunks']:,}", "")
    table.add_row("first ingest", f"{out['first_s']:.1f} s", "")
    table.add_row("chunks/s on first ingest", f"{out['chunks_per_s']:.1f}", "≥ 50")
    table.add_row("unchanged re-run", f"{out['rerun_s']:.2f} s ({out['rerun_embedded']} embedded)", "")
    table.add_row("re-run speed-up", f"{out['rerun_speedup']:.0f}×", "≥ 50×")
    table.add_row(f"edit {len(edited)} files (1%)", f"{out['edit_s']:.2f} s, {out['edit_embedded']} chunks re-embedded", "")
    table.add_row("delete 1% of files", f"{out['delete_s']:.2f} s, {out['deleted']} deleted", "")
    table.add_row("peak memory (RSS)", f"{out['peak_rss_mb']:.0f} MB", "")
    table.add_row("average chunk size", f"{out['avg_chunk_tokens']:.0f} tokens", "")
    table.add_row("chunks over MiniLM's 256-piece window", f"{out['truncated_share']:.1%}", "")
    Console().print(table)
    path = args.json_out or REPO / "bench" / "results" / f"ingest-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"written {path}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
