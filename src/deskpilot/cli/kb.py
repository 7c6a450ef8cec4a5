"""Commands on the index: `deskpilot ingest` (write it) and `deskpilot search` (read it as the assistant would)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deskpilot.cli.common import RichProgress, console, err, fail, load_settings

app = typer.Typer()


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Folders or files; default: every source in sources.yaml")] = None,
    kind: Annotated[str, typer.Option(help="article|ticket (with PATHs)")] = "article",
    audience: Annotated[str, typer.Option(help="public|internal (with PATHs)")] = "public",
    fmt: Annotated[str, typer.Option("--format", help="auto|zendesk|freshdesk (with PATHs): vendor export files")] = "auto",
    full: Annotated[bool, typer.Option("--full", help="Drop the index and rebuild from scratch")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table")] = False,
) -> None:
    """Ingest KB articles and solved tickets: changed files re-indexed, unchanged skipped, deleted removed."""
    from deskpilot.container import Container
    from deskpilot.ingest.sources import SourceSpec, load_sources
    from deskpilot.ingest.vendors import VENDORS

    if kind not in ("article", "ticket"):
        raise fail(f"--kind must be article or ticket, not {kind!r}")
    if audience not in ("public", "internal"):
        raise fail(f"--audience must be public or internal, not {audience!r}")
    if fmt != "auto" and fmt not in VENDORS:
        raise fail(f"--format must be auto or one of {', '.join(sorted(VENDORS))}, not {fmt!r}")
    settings = load_settings()
    try:
        if paths:
            specs = [SourceSpec(path=p, kind=kind, audience=audience, format=fmt)  # type: ignore[arg-type]
                     for p in paths]
        else:
            specs = load_sources(settings.ingest.sources_file)
        container = Container(settings)
        if as_json:
            report = container.ingestor.run(specs, full=full, prune_other_roots=not paths)
        else:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err, transient=False) as progress:
                report = container.ingestor.run(specs, full=full, prune_other_roots=not paths,
                                                progress=RichProgress(progress))
    except KeyboardInterrupt:
        raise fail("interrupted: the next `deskpilot ingest` repairs and finishes the job", 130) from None
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        table = Table(title="Ingestion summary")
        for column in ("added", "updated", "unchanged", "deleted", "failed", "chunks embedded", "seconds"):
            table.add_column(column, justify="right")
        table.add_row(str(report.added), str(report.updated), str(report.unchanged), str(report.deleted),
                      str(len(report.failed)), str(report.chunks_embedded), f"{report.seconds:.1f}")
        console.print(table)
        if report.failed:
            failures = Table(title="Failures")
            failures.add_column("source")
            failures.add_column("reason")
            for failure in report.failed:
                failures.add_row(failure.source, failure.error)
            console.print(failures)
        notes = []
        if report.skipped:
            notes.append(f"{report.skipped} unsolved tickets skipped")
        if report.redactions:
            notes.append("redacted " + ", ".join(f"{n} {k}" for k, n in sorted(report.redactions.items())))
        if report.repaired:
            notes.append(f"repaired {report.repaired} sources left by an interrupted run")
        if notes:
            console.print("; ".join(notes), highlight=False)
    if report.failed:
        raise typer.Exit(1)


class SearchRole(StrEnum):
    """Whose view of the index a search shows."""

    customer = "customer"
    agent = "agent"


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option(help="How many chunks")] = 5,
    role: Annotated[SearchRole, typer.Option(help="customer (public sources only) or agent")] = SearchRole.customer,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Semantic search over the index (the chunks the assistant would read)."""
    from deskpilot.container import Container

    if not query.strip():
        raise fail("the query is empty")
    settings = load_settings()
    # Only a staff role sees internal sources (an unknown role never reaches here: typer checks the choice).
    where = None if role is SearchRole.agent else {"audience": "public"}
    hits = Container(settings).store.search(query[:4000], k=max(1, min(k, 50)), where=where)
    if as_json:
        print(json.dumps([{"chunk_id": h.chunk_id, "source_id": h.metadata.get("source_id"),
                           "title": h.metadata.get("title"), "section": h.metadata.get("section"),
                           "url": h.metadata.get("url"), "score": round(h.score, 4)} for h in hits]))
        return
    if not hits:
        console.print("No results: is the index empty? Run `deskpilot ingest`.")
        return
    table = Table(title=f"Top {len(hits)} for: {query}")
    for column in ("#", "score", "source", "section", "snippet"):
        table.add_column(column)
    for n, hit in enumerate(hits, 1):
        body = hit.text.split("\n\n", 1)[-1].replace("\n", " ")
        table.add_row(str(n), f"{hit.score:.3f}", str(hit.metadata.get("source_id")),
                      str(hit.metadata.get("section") or ""), body[:120])
    console.print(table)
