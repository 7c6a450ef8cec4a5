"""Load test of the service on loopback: concurrent clients mixing suggest and ask.

    .venv/bin/python bench/load.py                          # 50 clients, 2 minutes, 1 worker
    .venv/bin/python bench/load.py --clients 50 --seconds 30 --workers 2
    .venv/bin/python bench/load.py --fresh                  # every suggest on a ticket never seen before
    .venv/bin/python bench/load.py --clients 20 --seconds 600 --workers 2   # soak: watch the memory line

The server runs as a separate process (`deskpilot serve`) with the fake LLM, so what is measured is the
server itself: auth, database, retrieval (query embedding + hybrid search) and JSON/SSE, not generation.
By default suggest goes to 20 tickets over and over (agents reopening their queue), which the retrieval
caches serve; `--fresh` gives every suggest a ticket with new text, so each one embeds and searches.
The clients use aiohttp (httpx's own overhead capped a client process near 350 requests/s here).
Prints requests/s and latency p50/p95 per route, and writes JSON to bench/results/load-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from deskpilot.config import Settings  # noqa: E402
from deskpilot.container import Container  # noqa: E402
from deskpilot.evaluation.metrics import percentile  # noqa: E402
from deskpilot.evaluation.suite import load_suite  # noqa: E402
from deskpilot.ingest.sources import SourceSpec  # noqa: E402


def prepare(data: Path, fresh: int = 0) -> tuple[dict[str, str], list[int]]:
    """Ingest kb/, create keys and tickets (20, or `fresh` with distinct texts); returns keys and ticket ids."""
    settings = Settings(data_dir=data, models_dir=REPO / "data" / "models", _env_file=None)  # type: ignore[call-arg]
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=REPO / "kb" / "articles"),
                            SourceSpec(path=REPO / "kb" / "internal", audience="internal"),
                            SourceSpec(path=REPO / "kb" / "tickets", kind="ticket")])
    keys = {role: container.keys.create(role, f"load {role}")[1] for role in ("customer", "agent")}
    questions = [i.question for i in load_suite(REPO / "eval" / "suites" / "kb.jsonl") if i.kind == "answerable"]
    if not fresh:
        return keys, [container.helpdesk.create_ticket(q[:60], q) for q in questions[:20]]
    rng, texts = random.Random(3), set()
    while len(texts) < fresh:  # two or three customer questions in one ticket: about a million combinations
        texts.add(" Also: ".join(rng.sample(questions, rng.choice((2, 3)))))
    return keys, [container.helpdesk.create_ticket(t[:60], t) for t in sorted(texts, key=lambda _: rng.random())]


async def client(http: aiohttp.ClientSession, url: str, keys: dict[str, str], pick: Callable[[], int],
                 questions: list[str], until: float, share_ask: float, results: dict[str, list[tuple[float, int]]],
                 rng: random.Random) -> None:
    while time.monotonic() < until:
        if rng.random() < share_ask:
            route, path, body, role = "POST /v1/ask", "/v1/ask", {"question": rng.choice(questions)}, "customer"
        else:
            route, path, body, role = "POST /v1/tickets/{id}/suggest", f"/v1/tickets/{pick()}/suggest", None, "agent"
        started = time.perf_counter()
        try:
            async with http.post(url + path, json=body, headers={"Authorization": f"Bearer {keys[role]}"}) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError):
            status = 599
        results[route].append((time.perf_counter() - started, status))


def server_rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes, MB."""
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 1e6
    except psutil.Error:
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--ask-share", type=float, default=0.3, help="share of requests that are ask")
    parser.add_argument("--fresh", action="store_true", help="every suggest on a ticket whose text is new")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="deskpilot-load-") as tmp:
        data = Path(tmp) / "data"
        console.print("preparing: ingesting kb/ ...")
        keys, tickets = prepare(data, 40_000 if args.fresh else 0)
        questions = [i.question for i in load_suite(REPO / "eval" / "suites" / "kb.jsonl")]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {**os.environ, "DESKPILOT_DATA_DIR": str(data), "DESKPILOT_MODELS_DIR": str(REPO / "data" / "models"),
               "DESKPILOT_LLM__PROVIDER": "fake", "DESKPILOT_API__RATE_LIMIT_PER_MINUTE": "0",
               "DESKPILOT_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "deskpilot.cli", "serve", "--port", str(port), "--workers",
                                   str(args.workers)], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.3)
            for ticket in tickets[:3]:  # warm up each route once
                httpx.post(f"{url}/v1/tickets/{ticket}/suggest", headers={"Authorization": f"Bearer {keys['agent']}"},
                           timeout=60)
            console.print(f"{args.clients} clients for {args.seconds:.0f} s against {args.workers} worker(s) ...")
            results: dict[str, list[tuple[float, int]]] = defaultdict(list)
            rng = random.Random(7)
            unseen = itertools.cycle(tickets[3:])  # fresh: each ticket once (the pool outlasts the run)
            pick = (lambda: next(unseen)) if args.fresh else (lambda: rng.choice(tickets))
            until = time.monotonic() + args.seconds

            async def run_all() -> None:
                limits = aiohttp.TCPConnector(limit=args.clients)
                async with aiohttp.ClientSession(connector=limits, timeout=aiohttp.ClientTimeout(total=60)) as http:
                    await asyncio.gather(*(client(http, url, keys, pick, questions, until, args.ask_share, results,
                                                  random.Random(rng.random())) for _ in range(args.clients)))

            memory: list[tuple[float, float]] = []  # (seconds into the run, server RSS in MB, all workers)
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.wait(5):
                    memory.append((time.monotonic() - started, server_rss_mb(server.pid)))

            started = time.monotonic()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            asyncio.run(run_all())
            elapsed = time.monotonic() - started
            sampling.set()
        finally:
            server.terminate()
            server.wait(timeout=30)
    rows = []
    for route, values in sorted(results.items()):
        latencies = [v * 1000 for v, _ in values]
        statuses: dict[int, int] = defaultdict(int)
        for _, status in values:
            statuses[status] += 1
        rows.append({"route": route, "requests": len(values), "per_s": round(len(values) / elapsed, 1),
                     "p50_ms": round(percentile(latencies, 50) or 0.0, 1), "p95_ms": round(percentile(latencies, 95) or 0.0, 1),
                     "server_errors": sum(n for s, n in statuses.items() if s >= 500), "statuses": dict(statuses)})
    total = sum(r["requests"] for r in rows)
    table = Table(title=f"Load: {args.clients} clients, {elapsed:.0f} s, {args.workers} worker(s), fake LLM, "
                        f"{'fresh tickets' if args.fresh else '20 tickets reopened'}; {total / elapsed:.1f} requests/s in all")
    for column in ("route", "requests", "requests/s", "p50 ms", "p95 ms", "5xx", "statuses"):
        table.add_column(column, justify="left" if column in ("route", "statuses") else "right")
    for r in rows:
        table.add_row(r["route"], str(r["requests"]), f"{r['per_s']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
                      str(r["server_errors"]), json.dumps(r["statuses"]))
    console.print(table)
    warm = [mb for at, mb in memory if at >= min(60.0, elapsed / 4)]  # after caches and the BM25 index are built
    rss = {"after_warmup_mb": round(warm[0], 1), "end_mb": round(warm[-1], 1), "max_mb": round(max(warm), 1),
           "growth_mb": round(warm[-1] - warm[0], 1)} if warm else {}
    if rss:
        console.print(f"server memory (all workers): {rss['after_warmup_mb']:.0f} MB after warm-up, {rss['end_mb']:.0f} MB "
                      f"at the end (growth {rss['growth_mb']:+.0f} MB), max {rss['max_mb']:.0f} MB")
    out = REPO / "bench" / "results" / f"load-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"clients": args.clients, "seconds": elapsed, "workers": args.workers, "fresh": args.fresh,
                               "routes": rows, "memory": rss, "memory_samples": memory},
                              indent=1))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
