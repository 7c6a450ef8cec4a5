"""Conversation-aware retrieval on DSTC10 track 2 (../shared/benchmarks/dstc10): hit@k of the gold FAQ file.

Compares the last user turn alone with model-free ways of using the conversation; the last two (the last
three turns of both sides with the question, then the same with the page the conversation named last ranked
first: retrieval/titles.py) are what the assistant searches with, next to its LLM rewrite.

    .venv/bin/python bench/dstc10_retrieval.py [--bench ../shared/benchmarks/dstc10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import EmbeddingSettings, IngestSettings, Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.ingest.sources import SourceSpec  # noqa: E402


def distinct_sources(chunks: list) -> list[str]:
    out: list[str] = []
    for chunk in chunks:
        if chunk.source_id not in out:
            out.append(chunk.source_id)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bench", type=Path, default=REPO.parent / "shared" / "benchmarks" / "dstc10")
    args = parser.parse_args()
    items = [json.loads(line) for line in (args.bench / "suite.jsonl").read_text().splitlines() if line.strip()]
    items = [i for i in items if i.get("gold_sources")]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), models_dir=REPO / "data" / "models", _env_file=None,  # type: ignore[call-arg]
                            embedding=EmbeddingSettings(provider="local"),  # type: ignore[call-arg]
                            ingest=IngestSettings(terms_file=None))  # type: ignore[call-arg]
        container = Container(settings)
        report = container.ingestor.run([SourceSpec(path=args.bench / "kb")])
        names = ["last turn only", "with recent user turns", "with recent turns (both sides)", "recent turns as main query",
                 "with recent turns, the named page first"]
        hits = {name: [0, 0, 0] for name in names}
        for item in items:
            gold = set(item["gold_sources"])
            history = item.get("history", [])
            users = [t["content"] for t in history if t.get("role") == "user"][-2:]
            recent = " ".join(t["content"] for t in history[-3:])
            search = container.retriever.search
            variants = {
                names[0]: search(item["question"], k=10).chunks,
                names[1]: search(item["question"], k=10, extra_queries=[" ".join([*users, item["question"]])]).chunks,
                names[2]: search(item["question"], k=10, extra_queries=[f"{recent} {item['question']}"]).chunks,
                names[3]: search(f"{recent} {item['question']}", k=10).chunks,
                names[4]: search(item["question"], k=10, extra_queries=[f"{recent} {item['question']}"],
                                 prefer=container.retriever.subject(
                                     [item["question"], *(t["content"] for t in reversed(history[-8:]))])).chunks,
            }
            for name, chunks in variants.items():
                ranked = distinct_sources(chunks)
                for slot, k in enumerate((1, 3, 5)):
                    hits[name][slot] += bool(gold & set(ranked[:k]))
    table = Table(title=f"DSTC10 track 2: {len(items)} FAQ-grounded turns, {report.added} FAQ files")
    for column in ("query", "hit@1", "hit@3", "hit@5"):
        table.add_column(column)
    for name, (h1, h3, h5) in hits.items():
        table.add_row(name, *(f"{h / len(items):.0%}" for h in (h1, h3, h5)))
    Console().print(table)


if __name__ == "__main__":
    main()
