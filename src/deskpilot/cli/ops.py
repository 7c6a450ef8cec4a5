"""Operations commands: `deskpilot purge`, `analytics`, `review`, `gaps`, `hygiene`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from deskpilot.cli.common import build_container, console, err
from deskpilot.ops.period import Period, between, since

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD, UTC)")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD)")]

app = typer.Typer()


def _period(start: str | None, end: str | None, ago: str | None, default_days: int) -> Period:
    return since(ago) if ago else between(start, end, default_days)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


@app.command()
def purge(
    older_than: Annotated[int | None, typer.Option(help="Days; default: DESKPILOT_OPS__RETENTION_DAYS")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go, remove nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Remove conversations, events, feedback, solved tickets and finished webhook deliveries last touched more
    than the retention period ago (customers' words are not kept for ever)."""
    report = build_container().retention.purge(older_than, dry_run=dry_run)
    if as_json:
        print(json.dumps(report.as_json()))
        return
    counts = {k: v for k, v in report.as_json().items() if k not in ("cutoff", "dry_run")}
    verb = "would remove" if dry_run else "removed"
    console.print(f"Older than {report.cutoff}: {verb} " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                                    for k, v in counts.items()), highlight=False)


@app.command()
def analytics(
    start: FromOpt = None, end: ToOpt = None,
    ago: Annotated[str | None, typer.Option("--since", help="A duration back from now: 24h, 7d, 4w")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Helpdesk KPIs of a period (default: the last 30 days)."""
    period = _period(start, end, ago, 30)
    kpis = build_container().analytics.kpis(period)
    if as_json:
        print(json.dumps(kpis, ensure_ascii=False))
        return
    c, a = kpis["conversations"], kpis["answers"]
    table = Table(title=f"KPIs {period.start[:10]} to {period.end[:10]}", show_header=False)
    rows: list[tuple[str, Any]] = [
        ("conversations started", c["started"]), ("automation rate", _pct(c["automation_rate"])),
        ("deflection rate", _pct(c["deflection_rate"])), ("conversations escalated", _pct(c["escalation_rate"])),
        ("answers", a["total"]), ("answers escalated", _pct(a["escalation_rate"])),
        ("CSAT", f"{_pct(kpis['csat']['score'])} ({kpis['csat']['up']} up, {kpis['csat']['down']} down)"),
        ("latency p50 / p95", f"{a['latency_ms']['p50']} / {a['latency_ms']['p95']} ms"),
        ("mean confidence", a["confidence"]["mean"]),
    ]
    rows += [(f"escalated: {reason}", n) for reason, n in kpis["escalations"]["by_reason"].items()]
    rows += [(f"{target}s shown / copied / flagged", f"{u['shown']} / {u['copied']} / {u['flagged']}")
             for target, u in kpis["agents"].items()]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)


@app.command()
def review(
    start: FromOpt = None, end: ToOpt = None,
    ago: Annotated[str | None, typer.Option("--since", help="A duration back from now: 24h, 7d, 4w")] = None,
    reason: Annotated[str | None, typer.Option(help="A routing reason, thumbs_down or agent_flag")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the list to this CSV file")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The fallback review list: escalations, thumbs-down answers and agents' flags (default: the last 7 days)."""
    from deskpilot.ops.review import to_csv

    period = _period(start, end, ago, 7)
    items = build_container().review.items(period, reason, limit=50_000)
    if csv is not None:
        csv.write_text(to_csv(items), encoding="utf-8")
    if as_json:
        print(json.dumps({"period": period.as_json(), "items": items}, ensure_ascii=False))
        return
    table = Table(title=f"Review {period.start[:10]} to {period.end[:10]}: {len(items)} items")
    for column in ("when", "kind", "reasons", "question", "comment"):
        table.add_column(column, overflow="fold")
    for item in items[:200]:
        table.add_row(item["at"][:16], item["kind"], ", ".join(item["reasons"]), item["question"][:160],
                      item["comment"][:80])
    console.print(table)
    if csv is not None:
        console.print(f"wrote {len(items)} items to {csv}", highlight=False)


@app.command()
def gaps(
    ago: Annotated[str, typer.Option("--since", help="A duration back from now: 24h, 7d, 4w")] = "7d",
    propose: Annotated[bool, typer.Option("--propose/--no-propose", help="Propose an article title and outline "
                                          "for the largest clusters (one LLM call each)")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Content gaps: unanswered and low-confidence questions, clustered and ranked by volume."""
    period = _period(None, None, ago, 7)
    container = build_container()
    if propose and container.settings.ops.gap_proposals:
        err.print(f"proposing articles for up to {container.settings.ops.gap_proposals} clusters with the LLM "
                  "(a local model takes 10-30 s each; --no-propose skips this)", highlight=False)
    with err.status("finding content gaps"):
        report = container.gaps.report(period, propose).as_json()
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    console.print(f"{report['total']} gap questions from {period.start[:10]} to {period.end[:10]}: "
                  f"{len(report['clusters'])} clusters, {report['unclustered']} questions on their own", highlight=False)
    for cluster in report["clusters"]:
        proposal = cluster["proposal"]
        heading = proposal["title"] if proposal else "(no proposal)"
        console.print(f"\n[bold]{cluster['rank']}. {heading}[/bold] · {cluster['size']} questions · "
                      f"{', '.join(f'{k} {v}' for k, v in cluster['reasons'].items())}", highlight=False)
        for example in cluster["examples"]:
            console.print(f"  - {example}", highlight=False)
        if proposal:
            console.print("  Outline: " + " / ".join(proposal["outline"]), highlight=False)
        elif cluster["proposal_error"]:
            console.print(f"  proposal failed: {cluster['proposal_error']}", style="yellow", highlight=False)
        if cluster["article"]:
            article = cluster["article"]
            console.print(f"  Closest article: {article['title']} ({article['source_id']}, similarity "
                          f"{article['similarity']:.2f})", style="dim", highlight=False)


@app.command()
def hygiene(
    llm_check: Annotated[bool, typer.Option("--llm-check", help="Ask the LLM whether each conflict is real (slow)")] = False,
    limit: Annotated[int, typer.Option(help="Most conflicts listed")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Knowledge hygiene: stale, undated and never-cited articles, and sources that contradict each other."""
    container = build_container()
    stale = container.hygiene.stale().as_json()
    conflicts = [c.as_json() for c in container.hygiene.conflicts(llm_check, limit)]
    if as_json:
        print(json.dumps({**stale, "conflicts": conflicts}, ensure_ascii=False))
        return
    window = f"{stale['window']['from'][:10]} to {stale['window']['to'][:10]}"
    for name, label in (("stale", f"Stale: cited at least {stale['min_citations']} times ({window}), not updated for "
                         f"{stale['stale_after_days']} days"), ("undated", "Often cited, no date known"),
                        ("never_cited", f"Never cited ({window})")):
        table = Table(title=f"{label}: {len(stale[name])}")
        for column in ("source", "title", "audience", "updated", "citations"):
            table.add_column(column, overflow="fold")
        for a in stale[name][:100]:
            table.add_row(a["source_id"], a["title"], a["audience"], a["updated_at"] or "–", str(a["citations"]))
        console.print(table)
    console.print(f"\n[bold]Conflicts: {len(conflicts)}[/bold]", highlight=False)
    for c in conflicts:
        found = "; ".join(f"{d['kind']} {d['value_a']} vs {d['value_b']}" for d in c["disagreements"])
        verdict = c["verdict"]
        judged = f" · LLM: {'conflict' if verdict['conflict'] else 'no conflict'}" if verdict else ""
        console.print(f"- {c['a']['source_id']} vs {c['b']['source_id']} (similarity {c['similarity']:.2f}): "
                      f"{found}{judged}", highlight=False)
