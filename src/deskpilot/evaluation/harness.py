"""Run a suite through a target, score every item, summarise."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deskpilot.errors import DeskpilotError
from deskpilot.evaluation.metrics import reliability_bins, summarize
from deskpilot.evaluation.results import ItemResult
from deskpilot.evaluation.scoring import Scorer
from deskpilot.evaluation.suite import SuiteItem
from deskpilot.evaluation.targets import Target

logger = logging.getLogger(__name__)


@dataclass
class EvalRun:
    """A finished evaluation: items, their summary and what was evaluated."""

    suite: str
    items: list[ItemResult]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """The metrics object (see metrics.summarize)."""
        return summarize(self.items)

    def as_json(self) -> dict[str, Any]:
        """The saved report."""
        return {"suite": self.suite, "meta": self.meta, "summary": self.summary,
                "reliability": reliability_bins(self.items), "items": [i.as_json() for i in self.items]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRun:
        """Read a saved report back."""
        return cls(str(data.get("suite", "")), [ItemResult.from_json(i) for i in data.get("items") or []],
                   dict(data.get("meta") or {}))


class Harness:
    """Sends each item through the target, then scores it; one item's failure never stops the run."""

    def __init__(self, target: Target, scorer: Scorer, meta: dict[str, Any] | None = None) -> None:
        self._target = target
        self._scorer = scorer
        self._meta = dict(meta or {})

    def run(self, suite: str, items: Sequence[SuiteItem],
            on_item: Callable[[ItemResult], None] | None = None) -> EvalRun:
        """Evaluate items in order; on_item is called after each (progress)."""
        started = time.perf_counter()
        results = []
        for item in items:
            result = ItemResult.start(item, item.lang or "")
            try:
                self._target.run(item, result)
            except DeskpilotError as exc:
                result.error = str(exc)
            except Exception as exc:  # a bug or vendor error in one item must not lose the others
                logger.exception("item %s failed", item.id)
                result.error = f"{type(exc).__name__}: {exc}"
            if not result.error:
                self._scorer.score(item, result)
            results.append(result)
            if on_item is not None:
                on_item(result)
        seconds = time.perf_counter() - started
        meta = {**self._meta, "target": self._target.name, "items": len(results),
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "seconds": round(seconds, 1),
                "items_per_s": round(len(results) / seconds, 3) if seconds else None}
        return EvalRun(suite, results, meta)
