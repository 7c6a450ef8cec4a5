"""Answer benchmark: retrieval latency at scale, local-LLM latency, and Deskpilot's overhead over an
OpenAI-compatible server on loopback. Prints a table and writes JSON to bench/results/.

    .venv/bin/python bench/answer.py                      # 10k and 100k chunks, local LLM, loopback server
    .venv/bin/python bench/answer.py --sizes 10000 --skip-server
    .venv/bin/python bench/answer.py --sizes "" --skip-server --quantization shipped   # pair with the Q4_K_M file
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import EmbeddingSettings, IngestSettings, LLMSettings, Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.ingest.sources import SourceSpec  # noqa: E402
from deskpilot.providers.model_files import local_model_file  # noqa: E402

QUESTIONS = [
    "How long is a password reset link valid?", "How do I turn on two-factor authentication?",
    "What is the API rate limit?", "How do I download an invoice?", "Can I export all my projects to CSV?",
    "How do I invite a teammate?", "What happens when my card payment fails?", "How do webhooks retry?",
    "How do I connect Slack?", "Why does the mobile app not sync my timers?", "How do I cancel my subscription?",
    "How long do you keep deleted projects?",
]
VOCAB = """
account billing password reset invoice export team project timer webhook api key plan refund
subscription member owner admin calendar sync mobile app browser cache workspace report import csv
trello slack seat role permission guest security sso saml token limit error retry payment card tax
vat download delete restore archive notification email phone android ios desktop offline
""".split()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def settings_for(data: Path, **llm: object) -> Settings:
    return Settings(data_dir=data, models_dir=REPO / "data" / "models", _env_file=None,  # type: ignore[call-arg]
                    embedding=EmbeddingSettings(provider="local"),  # type: ignore[call-arg]
                    ingest=IngestSettings(terms_file=REPO / "ingest" / "terms.yaml"),  # type: ignore[call-arg]
                    llm=LLMSettings(**llm))  # type: ignore[arg-type]


def retrieval_at_scale(size: int, queries: int, rows: list[tuple[str, str, str]], out: dict) -> None:
    rng = np.random.default_rng(size)
    pyrng = random.Random(size)
    with tempfile.TemporaryDirectory() as tmp:
        container = Container(settings_for(Path(tmp)))
        collection = container.store.collection
        started = time.perf_counter()
        for start in range(0, size, 5000):
            n = min(5000, size - start)
            vectors = rng.normal(size=(n, 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            ids = [f"doc-{(start + i) // 4}#{(start + i) % 4}:x" for i in range(n)]
            texts = [" ".join(pyrng.choices(VOCAB, k=90)) for _ in range(n)]
            metas = [{"source_id": f"doc-{(start + i) // 4}", "audience": "internal" if (start + i) % 5 == 0 else "public",
                      "kind": "article", "title": f"Doc {(start + i) // 4}", "section": "", "url": ""} for i in range(n)]
            collection.add(ids=ids, embeddings=vectors.tolist(), documents=texts, metadatas=metas)
        load_s = time.perf_counter() - started
        container.record.bump_generation()
        retriever = container.retriever
        t0 = time.perf_counter()
        retriever.search("warm up the keyword index", "customer")
        bm25_build_s = time.perf_counter() - t0
        timings, embed_timings = [], []
        for i in range(queries):
            q = QUESTIONS[i % len(QUESTIONS)] + ("" if i < len(QUESTIONS) else f" {pyrng.choice(VOCAB)}")
            t0 = time.perf_counter()
            container.embeddings.embed_query(q)
            embed_timings.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            result = retriever.search(q, "customer")
            timings.append((time.perf_counter() - t0) * 1000)
            assert all(c.metadata["audience"] == "public" for c in result.chunks)
    key = f"retrieval_{size // 1000}k"
    out[key] = {"chunks": size, "p50_ms": percentile(timings, 50), "p95_ms": percentile(timings, 95),
                "query_embedding_p50_ms": percentile(embed_timings, 50), "collection_load_s": load_s,
                "bm25_build_s": bm25_build_s}
    rows.append((f"retrieval p50 / p95 at {size:,} chunks (embed + hybrid + diversify)",
                 f"{out[key]['p50_ms']:.1f} / {out[key]['p95_ms']:.1f} ms", "target p50 ≤ 30 ms at 100k"))
    rows.append((f"  of which query embedding p50 ({size:,})", f"{out[key]['query_embedding_p50_ms']:.1f} ms", ""))
    rows.append((f"  BM25 index build ({size:,})", f"{bm25_build_s:.1f} s", "once per index change"))


def answer_runs(container: Container, questions: list[str]) -> dict[str, float]:
    firsts, totals, llms, overheads = [], [], [], []
    answered = 0
    for q in questions:
        answer = container.assistant.answer(q)
        answered += answer.decision == "answer"
        t = answer.timings
        if "first_token_ms" in t:
            firsts.append(t["first_token_ms"])
        if "llm_ms" in t:
            llms.append(t["llm_ms"])
            overheads.append(t["total_ms"] - t["llm_ms"])
        totals.append(t["total_ms"])
    return {"first_token_p50_ms": percentile(firsts, 50), "total_p50_ms": percentile(totals, 50),
            "llm_p50_ms": percentile(llms, 50), "overhead_p50_ms": percentile(overheads, 50),
            "overhead_p95_ms": percentile(overheads, 95), "answered": answered, "questions": len(questions)}


def llama_cpu_features() -> str:
    """The CPU features llama.cpp was built with (AMX_INT8 = 1 when its AMX kernels are in)."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--model", default=None, help="local model name (default: the configured default)")
    parser.add_argument("--quantization", default="auto", choices=["auto", "q8_0", "shipped"],
                        help="which local GGUF file runs (DESKPILOT_LLM__QUANTIZATION)")
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    out: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    rows: list[tuple[str, str, str]] = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        retrieval_at_scale(size, args.queries, rows, out)
    questions = QUESTIONS[: args.questions]
    if not args.skip_llm or not args.skip_server:
        tmp = Path(tempfile.mkdtemp())
        try:
            llm_kwargs: dict[str, object] = {"quantization": args.quantization}
            if args.model:
                llm_kwargs["model"] = args.model
            container = Container(settings_for(tmp, **llm_kwargs))
            container.ingestor.run([SourceSpec(path=REPO / "kb" / "articles"),
                                    SourceSpec(path=REPO / "kb" / "tickets", kind="ticket")])
            model_name = container.settings.llm.model
            if not args.skip_llm:
                container.assistant.answer("warm up: how do I reset my password?")
                result = answer_runs(container, questions)
                gguf_name = local_model_file(container.settings.model_files, model_name, args.quantization).name
                out["local_llm"] = {"model": model_name, "gguf": gguf_name, "llama_cpp_cpu": llama_cpu_features(),
                                    **result}
                rows.append((f"answer first token p50, local {model_name} (in-process)",
                             f"{result['first_token_p50_ms'] / 1000:.2f} s", "target ≤ 2 s"))
                rows.append(("answer total p50 (local)", f"{result['total_p50_ms'] / 1000:.2f} s",
                             f"{result['answered']}/{result['questions']} answered"))
                rows.append(("llama.cpp matrix kernels / model file",
                             f"{'AMX' if 'AMX_INT8 = 1' in llama_cpu_features() else 'AVX'} / "
                             f"{gguf_name.rsplit('-', 1)[-1].removesuffix('.gguf').upper()}",
                             "AMX when the CPU has it (Makefile); Q8_0 with AMX"))
            if not args.skip_server:
                port = free_port()
                gguf = local_model_file(container.settings.model_files, model_name, args.quantization)
                server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                                           "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    for _ in range(120):
                        try:
                            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                            break
                        except OSError:
                            time.sleep(0.5)
                    remote = Container(settings_for(tmp, provider="openai", base_url=f"http://127.0.0.1:{port}/v1",
                                                    model=model_name))
                    remote.assistant.answer("warm up: how do I reset my password?")
                    result = answer_runs(remote, questions)
                    out["openai_server"] = {"model": model_name, **result}
                    rows.append(("answer first token p50, OpenAI-compatible server on loopback",
                                 f"{result['first_token_p50_ms'] / 1000:.2f} s", ""))
                    rows.append(("Deskpilot overhead per answer p50 / p95 (total − LLM time)",
                                 f"{result['overhead_p50_ms']:.0f} / {result['overhead_p95_ms']:.0f} ms", "target ≤ 50 ms"))
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    table = Table(title="Deskpilot answer benchmark (2 cores)")
    for column in ("metric", "value", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(width=140).print(table)
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"answer-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
