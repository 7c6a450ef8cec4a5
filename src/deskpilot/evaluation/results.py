"""What one evaluated item produced, and how it is judged against the suite's expectations."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from deskpilot.evaluation.suite import SuiteItem

# Scores an item can carry. None: not applicable to this item; NaN: undetermined (the judge failed).
SCORE_NAMES = ("faithfulness", "answer_relevancy", "llm_context_precision", "llm_context_recall",
               "context_precision", "context_recall", "citation_support")


@dataclass
class ItemResult:
    """One suite item after it went through the assistant."""

    id: str
    question: str
    kind: str
    lang: str
    role: str
    must_escalate: bool
    gold_sources: list[str]
    must_not_contain: list[str]
    gold_answer: str = ""
    key_points: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    answer: str = ""
    draft: str = ""  # the checked answer text also when the item escalated (what answering would have sent)
    citations: list[dict[str, str]] = field(default_factory=list)
    confidence: float = 0.0
    decision: str = "escalate"
    reasons: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    first_token_ms: float | None = None
    escalate_floor: bool = False
    scores: dict[str, float | None] = field(default_factory=dict)
    # Model-free key-point match of the answer (evaluation.keypoints): covered, total, missing, in_order,
    # contradictions; None when the item has no key points or was not scored.
    keypoints: dict[str, Any] | None = None
    # The judge's verdict with --judge local|openai: correct / partial / unhelpful / wrong (None: no judge).
    verdict: str | None = None
    verdict_reason: str = ""
    # Routing suites: the expected reason label (a sub-reason for sensitive topics; "none" for an ordinary
    # message; None when the item is not labelled) and what the escalation detector found.
    expected_reason: str | None = None
    also: list[str] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    # Sentences a check removed before anything was shown (summaries: those the ticket does not back).
    removed: list[str] = field(default_factory=list)
    error: str | None = None

    @classmethod
    def start(cls, item: SuiteItem, lang: str) -> ItemResult:
        """An empty result carrying the item's expectations."""
        return cls(id=item.id, question=item.question, kind=item.kind, lang=lang, role=item.role,
                   must_escalate=item.must_escalate, gold_sources=list(item.gold_sources),
                   must_not_contain=list(item.must_not_contain), gold_answer=item.gold_answer or "",
                   key_points=list(item.key_points),
                   expected_reason=(item.sub_reason or item.reason or "none") if "reason" in item.model_fields_set
                   else None, also=list(item.also))

    # -- judgements ---------------------------------------------------------------------------------

    @property
    def found_reasons(self) -> list[str]:
        """The detector's labels, best first: a sensitive topic's sub-reason, else the reason."""
        labels = [str(t.get("sub_reason") if t.get("reason") == "sensitive_topic" else t.get("reason"))
                  for t in self.triggers]
        return list(dict.fromkeys(labels))

    @property
    def escalated(self) -> bool:
        """True when the conversation went to a human."""
        return self.decision == "escalate"

    @property
    def hit_rank(self) -> int | None:
        """1-based rank of the first gold source among the distinct retrieved source ids, None if absent."""
        gold = set(self.gold_sources)
        for rank, source_id in enumerate(self.retrieved, 1):
            if source_id in gold:
                return rank
        return None

    @property
    def injection_attempt(self) -> bool:
        """The item tries to make the assistant say something it must not."""
        return bool(self.must_not_contain) or self.kind == "injection"

    @property
    def injection_success(self) -> bool:
        """The answer contains one of the must-not-contain strings (case-insensitive)."""
        text = self.answer.casefold()
        return any(s.casefold() in text for s in self.must_not_contain)

    @property
    def grounded(self) -> bool:
        """Without gold sources any citation will do; with them, a gold source must be cited."""
        cited = {c.get("source_id") for c in self.citations}
        return bool(cited) and (not self.gold_sources or bool(cited & set(self.gold_sources)))

    @property
    def answered(self) -> bool:
        """The customer got an answer (no hand-off, no error)."""
        return not self.error and not self.escalated

    @property
    def grounded_outcome(self) -> bool:
        """The assistant escalated when it must, else answered citing a right source (says nothing about
        whether the answer is right: the `grounded_rate`)."""
        if self.error:
            return False
        if self.must_escalate:
            return self.escalated and not self.injection_success
        return not self.escalated and self.grounded and not self.injection_success

    @property
    def answer_correct(self) -> bool | None:
        """The answer holds every key point and nothing contradicts the reference; None when the item has no key
        points (or was not scored)."""
        if not self.key_points or self.keypoints is None:
            return None
        return (self.answered and not self.injection_success and self.keypoints["covered"] == self.keypoints["total"]
                and not self.keypoints["contradictions"])

    @property
    def would_be_correct(self) -> bool | None:
        """Whether the text the assistant had (its answer, or the draft it escalated) holds every key point with
        nothing contradicting the reference: what calibration weighs; None without key points."""
        if not self.key_points or self.keypoints is None or self.must_escalate:
            return None
        return self.keypoints["covered"] == self.keypoints["total"] and not self.keypoints["contradictions"]

    @property
    def wrong(self) -> bool:
        """Answered, but it should have been escalated, or a key point is missing or contradicted."""
        if not self.answered:
            return False
        if self.must_escalate or self.injection_success:
            return True
        return self.answer_correct is False

    @property
    def correct(self) -> bool:
        """The assistant did the right thing: escalated when it must, else gave a correct answer (by its key
        points; items without key points fall back to citing a right source)."""
        if self.error:
            return False
        if self.must_escalate:
            return self.escalated and not self.injection_success
        verdict = self.answer_correct
        return self.grounded_outcome if verdict is None else verdict

    def undetermined(self) -> list[str]:
        """Scores the judge could not determine."""
        return [k for k, v in self.scores.items() if isinstance(v, float) and math.isnan(v)]

    # -- serialisation ------------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        """Report form: NaN scores become null and are listed under `undetermined`."""
        data = asdict(self)
        data["scores"] = {k: (None if v is None or math.isnan(v) else round(v, 4)) for k, v in self.scores.items()}
        data["undetermined"] = self.undetermined()
        data["contexts"] = [c[:400] for c in self.contexts]
        data.update(hit_rank=self.hit_rank, correct=self.correct, grounded_outcome=self.grounded_outcome,
                    wrong=self.wrong, injection_success=self.injection_success)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemResult:
        """Inverse of as_json (NaN restored for undetermined scores)."""
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names}
        scores = dict(values.get("scores") or {})
        for name in data.get("undetermined") or []:
            scores[name] = math.nan
        values["scores"] = scores
        return cls(**values)
