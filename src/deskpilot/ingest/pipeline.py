"""The ingestion run: discover -> skip unchanged -> load -> clean -> chunk -> embed/upsert -> delete vanished.

Idempotent and crash-safe: chunk ids are deterministic, unchanged files are skipped by hash without
being parsed, unchanged chunks of a changed source are not re-embedded, and every write to the index is
bracketed by a journal entry in the record, so an interrupted run is repaired by the next one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from deskpilot.config import IngestSettings
from deskpilot.errors import DeskpilotError, IngestionError
from deskpilot.index.documents import Chunk, Failure, SourceDocument
from deskpilot.index.store import ChunkStore
from deskpilot.index.terms import TermNormalizer
from deskpilot.ingest.chunking import Chunker
from deskpilot.ingest.clean import clean_document
from deskpilot.ingest.loaders import load_article
from deskpilot.ingest.records import FileRecord, IngestRecord, SourceRecord
from deskpilot.ingest.sources import FoundFile, SourceSpec, discover, root_key
from deskpilot.ingest.tickets import load_ticket_export
from deskpilot.ingest.vendors import load_vendor_export

logger = logging.getLogger(__name__)

PIPELINE_VERSION = "8"  # 8: a Markdown list right under a paragraph line is a list (ingest/loaders.py)


class ProgressSink(Protocol):
    """Receives progress events (the CLI draws them as rich progress bars)."""

    def start(self, label: str, total_files: int) -> None: ...

    def file_done(self, name: str) -> None: ...

    def embedded(self, n: int) -> None: ...


class _NoProgress:
    def start(self, label: str, total_files: int) -> None:
        pass

    def file_done(self, name: str) -> None:
        pass

    def embedded(self, n: int) -> None:
        pass


@dataclass
class IngestReport:
    """What a run did. `as_json` is the `deskpilot ingest --json` contract."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[Failure] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0
    skipped: int = 0
    repaired: int = 0
    redactions: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        """The JSON object printed by `deskpilot ingest --json`."""
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "failed": [f.as_dict() for f in self.failed],
                "chunks_embedded": self.chunks_embedded, "seconds": round(self.seconds, 3)}


@dataclass
class _Work:
    doc: SourceDocument
    chunks: list[Chunk]
    content_hash: str
    previous: SourceRecord | None
    root: str
    origin: str


class Ingestor:
    """Runs ingestion of sources into the chunk store and the record."""

    def __init__(self, store: ChunkStore, record: IngestRecord, chunker: Chunker, terms: TermNormalizer,
                 settings: IngestSettings, model_id: str, batch_chunks: int = 256) -> None:
        self._store = store
        self._record = record
        self._chunker = chunker
        self._terms = terms
        self._settings = settings
        self._model_id = model_id
        self._batch_chunks = batch_chunks
        self._lease: tuple[str, float] | None = None  # (token, renewed at) while this ingestor writes

    def run(self, specs: list[SourceSpec], full: bool = False, prune_other_roots: bool = False,
            progress: ProgressSink | None = None) -> IngestReport:
        """Ingest the given sources.

        Args:
            specs: sources to sync.
            full: drop the index and the record first and rebuild from scratch.
            prune_other_roots: delete sources of roots not in specs (a run over the whole sources.yaml).
            progress: optional progress sink.

        Raises:
            ConflictError: another ingestion (CLI, API job, another machine) is writing this index.
        """
        self._lease = (self._record.acquire_writer(), time.monotonic())
        try:
            return self._run(specs, full, prune_other_roots, progress or _NoProgress())
        finally:
            lease, self._lease = self._lease, None
            self._record.release_writer(lease[0])

    def _renew(self) -> None:
        """Keep the writer lease fresh on long runs (at most one database write a minute)."""
        if self._lease is not None and time.monotonic() - self._lease[1] > 60:
            self._lease = (self._record.renew_writer(self._lease[0]), time.monotonic())

    def _run(self, specs: list[SourceSpec], full: bool, prune_other_roots: bool, sink: ProgressSink) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        if full:
            self._store.reset()
            self._record.clear()
        report.repaired = self._repair()
        if prune_other_roots:
            wanted = {root_key(spec) for spec in specs}
            for root in self._record.roots() - wanted:
                report.deleted += self._delete_sources(self._record.sources(root))
                self._record.forget_files(root)
        try:
            for spec in specs:
                self._run_source(spec, report, sink)
        finally:
            if full or report.added or report.updated or report.deleted or report.repaired:
                self._record.bump_generation()
        report.seconds = time.perf_counter() - started
        return report

    # -- repair ---------------------------------------------------------------------------------

    def _repair(self) -> int:
        """Make the index and the record agree after an interrupted run; returns sources repaired."""
        repaired = 0
        for record in self._record.pending():
            self._store.delete_source(record.source_id)
            self._record.forget_sources([record.source_id])
            self._record.invalidate_files(record.root, [record.origin])
            repaired += 1
        if self._store.count() != self._record.total_chunks():
            repaired += self._reconcile()
        if repaired:
            logger.warning("repaired %d sources left inconsistent by an interrupted run", repaired)
        return repaired

    def _reconcile(self) -> int:
        """Full scan: delete index chunks no record owns; re-read sources whose chunks are missing."""
        in_index = self._store.all_ids()
        records = self._record.sources()
        owned = {chunk_id for r in records.values() for chunk_id in r.ids}
        orphans = [chunk_id for chunk_id in in_index if chunk_id not in owned]
        self._store.delete(orphans)
        broken = [r for r in records.values() if any(chunk_id not in in_index for chunk_id in r.ids)]
        for r in broken:
            self._store.delete_source(r.source_id)
            self._record.invalidate_files(r.root, [r.origin])
        self._record.forget_sources([r.source_id for r in broken])
        return len(broken) + (1 if orphans else 0)

    # -- one source root ------------------------------------------------------------------------

    def _fingerprint(self, spec: SourceSpec) -> str:
        s = self._settings
        parts = [PIPELINE_VERSION, self._model_id, s.tokenizer, str(s.chunk_size), str(s.chunk_overlap),
                 str(self._redact(spec)), self._terms.fingerprint, spec.kind, spec.audience,
                 ",".join(sorted(s.solved_statuses))]
        if spec.format != "auto":  # vendor files hold both kinds: both redaction settings apply
            parts += [spec.format, str(self._redact(spec, "article")), str(self._redact(spec, "ticket"))]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]

    def _redact(self, spec: SourceSpec, kind: str | None = None) -> bool:
        if spec.redact is not None:
            return spec.redact
        kind = kind or spec.kind
        return self._settings.redact_tickets if kind == "ticket" else self._settings.redact_articles

    def _run_source(self, spec: SourceSpec, report: IngestReport, sink: ProgressSink) -> None:
        root = root_key(spec)
        try:
            files = discover(spec)
        except DeskpilotError as exc:
            report.failed.append(Failure(spec.label, str(exc)))
            return
        sink.start(spec.label, len(files))
        single_file = spec.path.is_file()
        fingerprint = self._fingerprint(spec)
        known_files = self._record.files(root)
        existing = self._record.sources(root)
        by_origin: dict[str, list[str]] = {}
        for source_id, source in existing.items():
            by_origin.setdefault(source.origin, []).append(source_id)
        seen: set[str] = set()
        keep_origins: set[str] = set()  # origins whose sources must not be deleted this run
        queue: list[_Work] = []
        queued_files: list[FileRecord] = []

        for found in files:
            try:
                outcome = self._process_file(spec, root, found, fingerprint, known_files, existing,
                                             by_origin.get(found.rel_path, []), seen, report)
            finally:
                sink.file_done(found.rel_path)
            if outcome is None:  # failed as a whole, or unchanged
                keep_origins.add(found.rel_path)
                continue
            work, file_record = outcome
            if file_record is None:  # some rows failed: keep what the record has for this file
                keep_origins.add(found.rel_path)
            if work:
                queue.extend(work)
                if file_record is not None:
                    queued_files.append(file_record)
            elif file_record is not None:
                self._record.save_files([file_record])
            if sum(len(w.chunks) for w in queue) >= self._batch_chunks:
                self._flush(queue, queued_files, report, sink)
                queue, queued_files = [], []
        self._flush(queue, queued_files, report, sink)

        present = {f.rel_path for f in files}
        vanished = {sid: r for sid, r in existing.items()
                    if sid not in seen and r.origin not in keep_origins
                    and (not single_file or r.origin in present)}
        report.deleted += self._delete_sources(vanished)
        if not single_file:
            self._record.forget_files(root, [p for p in known_files if p not in present])

    def _process_file(self, spec: SourceSpec, root: str, found: FoundFile, fingerprint: str,
                      known_files: dict[str, FileRecord], existing: dict[str, SourceRecord],
                      from_file: list[str], seen: set[str], report: IngestReport) -> tuple[list[_Work], FileRecord | None] | None:
        """Load and chunk one file.

        Returns None when the file failed as a whole or is unchanged (its sources stay as they are);
        else the work queued and the file record to store once that work is written (None when some
        rows failed, so that the file is read and the failures reported again next time).
        """
        label = found.source_id if spec.kind == "article" and spec.format == "auto" else found.rel_path
        try:
            size = found.path.stat().st_size
            limit = int(self._settings.max_file_mb * 1024 * 1024)
            if size > limit:
                raise IngestionError(f"file is {size / 1048576:.1f} MB, over the {self._settings.max_file_mb:g} MB "
                                     "limit (DESKPILOT_INGEST__MAX_FILE_MB)")
            data = found.path.read_bytes()
        except OSError as exc:
            report.failed.append(Failure(label, f"cannot read file: {exc.strerror or exc}"))
            return None
        except IngestionError as exc:
            report.failed.append(Failure(label, str(exc)))
            return None
        file_hash = hashlib.sha256(data).hexdigest()
        known = known_files.get(found.rel_path)
        if (known is not None and known.file_hash == file_hash and known.fingerprint == fingerprint
                and all(existing[sid].state == "ok" for sid in from_file)):
            seen.update(from_file)
            report.unchanged += len(from_file)
            return None

        row_failures: list[Failure] = []
        try:
            if spec.format != "auto":
                docs, row_failures, skipped = load_vendor_export(
                    spec.format, data, found.path.name, found.path.suffix.lower(), found.path.as_posix(),
                    spec.audience, self._settings.solved_statuses, label=found.rel_path)
                report.skipped += skipped
            elif spec.kind == "article":
                docs = [load_article(found.path, data, found.source_id, found.path.as_posix(), spec.audience)]
            else:
                docs, row_failures, skipped = load_ticket_export(
                    data, found.path.name, found.path.suffix.lower(), found.path.as_posix(),
                    spec.audience, self._settings.solved_statuses, label=found.rel_path)
                report.skipped += skipped
        except DeskpilotError as exc:
            report.failed.append(Failure(label, str(exc)))
            return None
        except Exception as exc:  # a loader bug must not stop the batch
            logger.exception("unexpected error loading %s", found.path)
            report.failed.append(Failure(label, f"unexpected error: {type(exc).__name__}: {exc}"))
            return None
        report.failed.extend(row_failures)

        work: list[_Work] = []
        for doc in docs:
            if doc.source_id in seen:
                report.failed.append(Failure(doc.source_id, f"duplicate source id (again in {found.rel_path})"))
                continue
            owner = self._owner_elsewhere(doc.source_id, root)
            if owner:
                report.failed.append(Failure(doc.source_id, f"source id already used by {owner}"))
                continue
            seen.add(doc.source_id)
            report.redactions.update(clean_document(doc, self._redact(spec, doc.kind)))
            chunks = self._chunker.chunk(doc, salt=self._terms.fingerprint)
            content_hash = hashlib.sha256("\n".join(c.chunk_id for c in chunks).encode()).hexdigest()
            previous = existing.get(doc.source_id)
            if previous is not None and previous.state == "ok" and previous.content_hash == content_hash:
                report.unchanged += 1
                continue
            work.append(_Work(doc, chunks, content_hash, previous, root, found.rel_path))
        if row_failures:
            return work, None  # keep re-reading (and reporting) the file until it is fixed
        return work, FileRecord(root=root, rel_path=found.rel_path, file_hash=file_hash,
                                fingerprint=fingerprint, sources=len(docs))

    def _owner_elsewhere(self, source_id: str, root: str) -> str:
        with self._record.session() as session:
            other = session.get(SourceRecord, source_id)
            return other.root if other is not None and other.root != root else ""

    # -- writing --------------------------------------------------------------------------------

    def _flush(self, queue: list[_Work], files: list[FileRecord], report: IngestReport,
               sink: ProgressSink) -> None:
        self._renew()
        if not queue:
            if files:
                self._record.save_files(files)
            return
        records = [SourceRecord(
            source_id=w.doc.source_id, root=w.root, origin=w.origin, kind=w.doc.kind, audience=w.doc.audience,
            title=w.doc.title, content_hash=w.content_hash, chunk_ids=[c.chunk_id for c in w.chunks],
            chunk_count=len(w.chunks), state="pending", updated_at=w.doc.updated_at) for w in queue]
        self._record.mark_pending(records)
        reusable = {cid for w in queue if w.previous is not None and w.previous.state == "ok" for cid in w.previous.ids}
        to_embed = [c for w in queue for c in w.chunks if c.chunk_id not in reusable]
        self._store.upsert(to_embed, progress=sink.embedded, embed_text=self._terms.normalize)
        for w in queue:
            if w.previous is not None:
                keep = {c.chunk_id for c in w.chunks}
                self._store.delete([cid for cid in self._store.ids_of_source(w.doc.source_id) if cid not in keep])
        self._record.mark_done(records, files)
        report.chunks_embedded += len(to_embed)
        for w in queue:
            if w.previous is None:
                report.added += 1
            else:
                report.updated += 1

    def _delete_sources(self, records: dict[str, SourceRecord]) -> int:
        for source_id in records:
            self._store.delete_source(source_id)
        self._record.forget_sources(records)
        return len(records)
