"""Background ingestion started from the API. State, progress and report are rows in the database, so any
worker can report on a job that another worker runs."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from deskpilot.errors import ConflictError, DeskpilotError, NotFoundError
from deskpilot.helpdesk.models import IngestJobRow, now
from deskpilot.helpdesk.records import IngestJob
from deskpilot.ingest.pipeline import Ingestor, IngestReport
from deskpilot.ingest.sources import SourceSpec

logger = logging.getLogger(__name__)
STALE_SECONDS = 6 * 3600  # a "running" job not updated for this long died with its worker


class _DbProgress:
    """Progress sink that writes to the job row at most every half second."""

    def __init__(self, jobs: IngestJobs, job_id: str) -> None:
        self._jobs, self._id = jobs, job_id
        self.state: dict[str, Any] = {"files_done": 0, "files_total": 0, "chunks_embedded": 0, "current": ""}
        self._files_before = 0
        self._last = 0.0

    def start(self, label: str, total_files: int) -> None:
        self._files_before = self.state["files_done"]
        self.state.update(current=label, files_total=self._files_before + total_files)
        self._flush(force=True)

    def file_done(self, name: str) -> None:
        self.state["files_done"] += 1
        self._flush()

    def embedded(self, n: int) -> None:
        self.state["chunks_embedded"] += n
        self._flush()

    def _flush(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last > 0.5:
            self._last = time.monotonic()
            self._jobs.update(self._id, progress=dict(self.state))


class IngestJobs:
    """Start, run and report ingestion jobs (one at a time per database)."""

    def __init__(self, sessions: sessionmaker, ingestor: Callable[[], Ingestor],  # type: ignore[type-arg]
                 specs: Callable[[], list[SourceSpec]]) -> None:
        self._sessions = sessions
        self._ingestor = ingestor
        self._specs = specs

    def start(self, full: bool, key_id: str, wait: bool = False) -> str:
        """Queue a job and run it in a background thread.

        Raises:
            ConflictError: another ingestion is running.
        """
        job_id = secrets.token_hex(8)
        with self._sessions.begin() as session:
            running = session.scalar(select(IngestJobRow).where(IngestJobRow.state.in_(("queued", "running"))))
            if running is not None and not self._stale(running):
                raise ConflictError(f"ingestion job {running.id} is already {running.state}")
            if running is not None:
                running.state, running.error = "failed", "the worker running it stopped"
            session.add(IngestJobRow(id=job_id, full=full, key_id=key_id))
        thread = threading.Thread(target=self._run, args=(job_id, full), name=f"ingest-{job_id}", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return job_id

    @staticmethod
    def _stale(row: IngestJobRow) -> bool:
        return (now() - row.updated_at).total_seconds() > STALE_SECONDS

    def _run(self, job_id: str, full: bool) -> None:
        self.update(job_id, state="running")
        progress = _DbProgress(self, job_id)
        try:
            report: IngestReport = self._ingestor().run(self._specs(), full=full, prune_other_roots=True,
                                                        progress=progress)
        except DeskpilotError as exc:
            self.update(job_id, state="failed", error=str(exc), progress=progress.state)
            return
        except Exception as exc:  # the job must end in a state people can read
            logger.exception("ingestion job %s failed", job_id)
            self.update(job_id, state="failed", error=f"{type(exc).__name__}: {exc}", progress=progress.state)
            return
        self.update(job_id, state="done", report=report.as_json(), progress=progress.state)

    def update(self, job_id: str, **values: Any) -> None:
        """Write fields of a job row."""
        with self._sessions.begin() as session:
            session.execute(update(IngestJobRow).where(IngestJobRow.id == job_id).values(**values, updated_at=now()))

    def get(self, job_id: str) -> IngestJob:
        """A job's state, progress and report ("latest": the newest job).

        Raises:
            NotFoundError: no such job.
        """
        with self._sessions() as session:
            if job_id == "latest":
                row = session.scalar(select(IngestJobRow).order_by(IngestJobRow.created_at.desc()).limit(1))
            else:
                row = session.get(IngestJobRow, job_id)
            if row is None:
                raise NotFoundError(f"no ingestion job {job_id!r}")
            return IngestJob.model_validate(row)
