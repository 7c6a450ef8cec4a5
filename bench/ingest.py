"""Ingestion benchmark on a generated help centre: first ingest, unchanged re-run, 1% edits, 1% deletions.

    .venv/bin/python bench/ingest.py                      # about 2,000 articles + 200 tickets (a few minutes)
    .venv/bin/python bench/ingest.py --docs 200           # quick check
    .venv/bin/python bench/ingest.py --docs 300 --profile bench/results/ingest.prof   # cProfile the first run

Runs in-process with the real local embedding model (data/models from `make install`), an embedded Chroma and
a SQLite record in a fresh temporary data dir. The corpus is deterministic for a given --seed. Prints a table and
writes the same numbers as JSON to bench/results/ingest-<time>.json.

The time split of the first run comes from wrapping collaborators of the container at runtime (chunker,
term normaliser, embeddings, ONNX session, chunk store, the ingestor's per-file step); nothing under src/ changes.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import IngestSettings, Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.ingest.sources import SourceSpec  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_corpus import edit_files, write_corpus  # noqa: E402

# -- measuring ----------------------------------------------------------------------------------------------------

class PeakMemory:
    """Samples this process's RSS in a thread every 20 ms; `peak` is the highest seen since the last reset."""

    def __init__(self) -> None:
        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.02)

    def reset(self) -> int:
        """Current RSS, which becomes the new peak."""
        self.peak = self._process.memory_info().rss
        return self.peak

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class Timers:
    """Wall time accumulated by wrapped callables, by name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.parallel = 1

    def wrap(self, owner: Any, attribute: str, name: str, count: Callable[..., int] | None = None) -> bool:
        """Replace owner.attribute (a bound method) by a timed version on the instance; False when impossible."""
        original = getattr(owner, attribute, None)
        if original is None:
            return False

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1
                if count is not None:
                    self.items[name] += count(*args, **kwargs)

        try:
            setattr(owner, attribute, timed)
        except (AttributeError, TypeError):
            return False
        return True

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.items.clear()


def instrument(container: Container, timers: Timers) -> list[str]:
    """Time the steps of a run by wrapping the container's collaborators; returns what could not be wrapped."""
    ingestor = container.ingestor
    missing = []
    wanted = [(ingestor, "_process_file", "file step (read, hash, parse, clean, chunk)", None),
              (container.chunker, "chunk", "chunk", None),
              (container.terms, "normalize", "term normalisation", None),
              (container.store, "upsert", "store upsert (normalise + embed + Chroma write)", None),
              (container.embeddings, "embed_documents", "embed", lambda texts: len(texts))]
    model = getattr(container.embeddings, "model", None)
    if model is not None:
        # Batches run on one single-threaded session per CPU side by side: this sums thread-seconds, which
        # time_split divides by the thread count to get wall time.
        wanted.append((model, "_run", "onnx inference", None))
        timers.parallel = max(1, int(getattr(model, "_threads", 1)))
    for owner, attribute, name, count in wanted:
        if not timers.wrap(owner, attribute, name, count):
            missing.append(name)
    return missing


def time_split(total: float, timers: Timers) -> dict[str, float]:
    """The first run's seconds by step; each step excludes the steps nested in it."""
    s = timers.seconds
    file_step, chunk = s["file step (read, hash, parse, clean, chunk)"], s["chunk"]
    upsert, embed, normalise = (s["store upsert (normalise + embed + Chroma write)"], s["embed"],
                                s["term normalisation"])
    onnx = min(embed, s["onnx inference"] / timers.parallel) if embed else s["onnx inference"]
    return {
        "read + parse + clean (Markdown, tickets, redaction, language)": file_step - chunk,
        "chunk (tiktoken)": chunk,
        "term normalisation": normalise,
        "embed: ONNX inference": onnx,
        "embed: tokenise + batch + pool": embed - onnx if onnx else embed,
        "Chroma write": upsert - embed - normalise,
        "record, discovery, other": total - file_step - upsert,
    }


def run(container: Container, specs: list[SourceSpec]) -> tuple[Any, float]:
    started = time.perf_counter()
    report = container.ingestor.run(specs)
    return report, time.perf_counter() - started


def chunk_count(container: Container, source_ids: list[str]) -> int:
    """Chunks stored for these sources (ids only: reading every chunk would move the memory peak)."""
    return len(container.store.collection.get(where={"source_id": {"$in": source_ids}}, include=[])["ids"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000, help="articles to generate (tickets: 10%% of that)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed (same seed, same corpus)")
    parser.add_argument("--keep", type=Path, default=None, help="write corpus and data dir to this (new or empty) folder "
                        "and keep them")
    parser.add_argument("--json-out", type=Path, default=None, help="JSON path (default bench/results/ingest-<time>.json)")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the first ingest into this .prof file")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep} is not empty")
    root = (args.keep or Path(tempfile.mkdtemp(prefix="deskpilot-bench-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    console = Console()
    if not console.is_terminal:  # piped or logged: keep one table row per line
        console = Console(width=140)
    try:
        out = bench(args, root, console)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print_table(console, out)
    path = args.json_out or REPO / "bench" / "results" / f"ingest-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(f"written {path}")


def bench(args: argparse.Namespace, root: Path, console: Console) -> dict[str, Any]:
    """Generate the corpus, run the four ingests and collect every number."""
    started = time.perf_counter()
    corpus = write_corpus(root, args.docs, args.seed)
    corpus["generate_s"] = time.perf_counter() - started
    articles, exports = root / "articles", root / "tickets"
    console.print(f"corpus: {corpus['articles']:,} articles ({corpus['french_articles']} French), "
                  f"{corpus['tickets']} tickets, {corpus['corpus_mb']:.1f} MB in {root}")
    settings = Settings(data_dir=root / "data", models_dir=REPO / "data" / "models", _env_file=None,  # type: ignore[call-arg]
                        # the default terms file is relative to the working directory; pin the repo's
                        ingest=IngestSettings(terms_file=REPO / "ingest" / "terms.yaml"))  # type: ignore[call-arg]
    container = Container(settings)
    specs = [SourceSpec(path=articles, kind="article"), SourceSpec(path=exports, kind="ticket")]
    emb = settings.embedding
    out: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "seed": args.seed, "cpus": os.cpu_count(),
        "config": {"embedding": f"{emb.provider}:{emb.model}", "quantize": emb.quantize, "threads": emb.threads,
                   "batch_size": emb.batch_size, "upsert_batch": settings.index.upsert_batch,
                   "chunk_size": settings.ingest.chunk_size, "chunk_overlap": settings.ingest.chunk_overlap},
        "corpus": corpus, "profiled": bool(args.profile),
    }
    timers = Timers()
    with PeakMemory() as memory:
        rss_start = memory.reset()
        started = time.perf_counter()
        container.embeddings.embed_query("warm up")  # model load is reported on its own, not as ingestion
        out["model_load_s"] = time.perf_counter() - started
        out["not_instrumented"] = instrument(container, timers)
        rss_before = memory.reset()

        console.print("first ingest ...")
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        first, first_s = run(container, specs)
        if profiler:
            profiler.disable()
            args.profile.parent.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(str(args.profile))
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
            console.print(text.getvalue(), markup=False, highlight=False)
        out["first"] = {"seconds": first_s, "report_seconds": first.seconds, "added": first.added,
                        "chunks_embedded": first.chunks_embedded, "chunks_per_s": first.chunks_embedded / first_s,
                        "chunks_per_s_with_model_load": first.chunks_embedded / (first_s + out["model_load_s"]),
                        "skipped_unsolved": first.skipped, "failed": [f.as_dict() for f in first.failed],
                        "redactions": dict(first.redactions), "peak_rss_mb": memory.peak / 2**20,
                        "split_s": time_split(first_s, timers), "embed_calls": timers.calls["embed"],
                        "texts_embedded": timers.items["embed"], "embed_s": timers.seconds["embed"]}
        timers.reset()

        console.print("unchanged re-run ...")
        memory.reset()
        again, again_s = run(container, specs)
        out["rerun"] = {"seconds": again_s, "chunks_embedded": again.chunks_embedded, "unchanged": again.unchanged,
                        "speedup": first_s / again_s, "peak_rss_mb": memory.peak / 2**20}

        rng = random.Random(args.seed + 1)
        files = sorted(articles.rglob("*.md"))
        n = max(1, len(files) // 100)
        picked = rng.sample(files, 2 * n)
        edited, deleted = picked[:n], picked[n:]
        edited_chunks = chunk_count(container, [p.relative_to(articles).with_suffix("").as_posix() for p in edited])
        edit_files(edited, rng)
        console.print(f"edit {n} files ...")
        memory.reset()
        edit, edit_s = run(container, specs)
        out["edit"] = {"files": n, "seconds": edit_s, "updated": edit.updated, "chunks_embedded": edit.chunks_embedded,
                       "chunks_of_edited_sources_before": edited_chunks, "peak_rss_mb": memory.peak / 2**20}

        for path in deleted:
            path.unlink()
        console.print(f"delete {n} files ...")
        memory.reset()
        gone, gone_s = run(container, specs)
        out["delete"] = {"files": n, "seconds": gone_s, "deleted": gone.deleted, "chunks_embedded": gone.chunks_embedded,
                         "peak_rss_mb": memory.peak / 2**20}
        out["peak_rss_mb"] = max(out[phase]["peak_rss_mb"] for phase in ("first", "rerun", "edit", "delete"))
    out["rss_start_mb"], out["rss_after_model_load_mb"] = rss_start / 2**20, rss_before / 2**20
    out["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    data = container.store.collection.get(include=["documents", "metadatas"])
    docs, metas = data["documents"] or [], data["metadatas"] or []
    tokens = sorted(int(m["tokens"]) for m in metas)
    model = container.embeddings.model  # type: ignore[attr-defined]
    pieces = model.count_tokens([container.terms.normalize(d) for d in docs])  # what was embedded
    window = model.max_tokens
    embed_s = out["first"]["embed_s"]
    out["chunks"] = {
        "in_index": len(docs), "avg_tokens": sum(tokens) / len(tokens), "p95_tokens": tokens[int(0.95 * (len(tokens) - 1))],
        "max_tokens": tokens[-1], "avg_word_pieces": sum(pieces) / len(pieces), "window": window,
        "over_window_share": sum(p > window for p in pieces) / len(pieces),
        # the index after edits and deletions is within 1% of what the first run embedded
        "word_pieces_per_embed_s": sum(min(p, window) for p in pieces) / embed_s if embed_s else None,
        "languages": dict(Counter(str(m.get("language")) for m in metas)),
        "kinds": dict(Counter(str(m.get("kind")) for m in metas)),
    }
    return out


def print_table(console: Console, out: dict[str, Any]) -> None:
    c, first, chunks = out["corpus"], out["first"], out["chunks"]
    pieces_s = chunks["word_pieces_per_embed_s"]
    table = Table(title=f"Deskpilot ingestion benchmark: {c['articles']:,} articles + {c['tickets']} tickets, "
                        f"seed {out['seed']}, {out['cpus']} CPUs")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    rows = [
        ("corpus", f"{c['articles']:,} articles ({c['french_articles']} fr), {c['tickets']} tickets "
                   f"({c['solved_tickets']} solved), {c['corpus_mb']:.1f} MB", ""),
        ("words per article (avg / min / max)", f"{c['avg_words']:.0f} / {c['min_words']} / {c['max_words']}", ""),
        ("model load (not in first ingest)", f"{out['model_load_s']:.2f} s", ""),
        ("first ingest", f"{first['seconds']:.1f} s ({first['added']:,} sources)", ""),
        ("chunks embedded", f"{first['chunks_embedded']:,}", ""),
        ("chunks/s, first ingest", f"{first['chunks_per_s']:.1f}", "≥ 50"),
        ("chunks/s incl. model load", f"{first['chunks_per_s_with_model_load']:.1f}", ""),
    ]
    for step, seconds in first["split_s"].items():
        rows.append((f"  first ingest: {step}", f"{seconds:.1f} s ({seconds / first['seconds']:.0%})", ""))
    rows += [
        ("unchanged re-run", f"{out['rerun']['seconds']:.2f} s ({out['rerun']['chunks_embedded']} embedded)", ""),
        ("re-run speed-up (first / re-run)", f"{out['rerun']['speedup']:,.0f}×", "≥ 50×"),
        (f"edit {out['edit']['files']} files (1%)",
         f"{out['edit']['seconds']:.2f} s, {out['edit']['chunks_embedded']} chunks re-embedded "
         f"(of {out['edit']['chunks_of_edited_sources_before']})", ""),
        (f"delete {out['delete']['files']} files (1%)",
         f"{out['delete']['seconds']:.2f} s, {out['delete']['deleted']} sources removed", ""),
        ("RSS after imports + model load", f"{out['rss_after_model_load_mb']:,.0f} MiB", ""),
        ("peak RSS (psutil): first / re-run / edit / delete",
         " / ".join(f"{out[p]['peak_rss_mb']:,.0f}" for p in ("first", "rerun", "edit", "delete")) + " MiB", ""),
        ("peak RSS of the process (ru_maxrss)", f"{out['ru_maxrss_mb']:,.0f} MiB", ""),
        ("chunk size, tiktoken (avg / p95 / max)",
         f"{chunks['avg_tokens']:.0f} / {chunks['p95_tokens']} / {chunks['max_tokens']}", ""),
        ("avg word pieces per embedded chunk", f"{chunks['avg_word_pieces']:.0f}", ""),
        ("embedding throughput (word pieces / s of embed)", f"{pieces_s:,.0f}" if pieces_s else "n/a", ""),
        (f"chunks over the model's {chunks['window']}-piece window", f"{chunks['over_window_share']:.2%}", ""),
        ("redactions in tickets", ", ".join(f"{k} {v}" for k, v in sorted(first["redactions"].items())) or "none", ""),
        ("failures / unsolved tickets skipped", f"{len(first['failed'])} / {first['skipped_unsolved']}", ""),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if out["profiled"]:
        console.print("[yellow]first-ingest times include cProfile overhead: compare only runs without --profile[/]")


if __name__ == "__main__":
    main()
