"""Summary metrics over evaluated items: pure functions, no model calls.

Undefined values (an empty denominator) are None; undetermined judge scores (NaN) are counted apart and
never averaged in as 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from deskpilot.evaluation.results import SCORE_NAMES, ItemResult

HIT_KS = (1, 3, 5)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 2)


def retrieval_metrics(items: Sequence[ItemResult]) -> dict[str, Any]:
    """hit@1/3/5 and MRR over items with gold sources (a hit: a gold id among the top-k distinct ids)."""
    scored = [i for i in items if i.gold_sources and not i.error]
    ranks = [i.hit_rank for i in scored]
    out: dict[str, Any] = {"n": len(scored)}
    for k in HIT_KS:
        out[f"hit@{k}"] = _ratio(sum(1 for r in ranks if r is not None and r <= k), len(scored))
    out["mrr"] = round(sum(1 / r for r in ranks if r) / len(scored), 4) if scored else None
    return out


def routing_metrics(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Escalation recall, false-escalation rate, precision, accuracy and the confusion matrix."""
    done = [i for i in items if not i.error]
    tp = sum(1 for i in done if i.must_escalate and i.escalated)
    fn = sum(1 for i in done if i.must_escalate and not i.escalated)
    fp = sum(1 for i in done if not i.must_escalate and i.escalated)
    tn = sum(1 for i in done if not i.must_escalate and not i.escalated)
    return {
        "n": len(done),
        "escalation_recall": _ratio(tp, tp + fn),
        "false_escalation_rate": _ratio(fp, fp + tn),
        "precision": _ratio(tp, tp + fp),
        "accuracy": _ratio(tp + tn, len(done)),
        "confusion": {"must_escalate": {"escalated": tp, "answered": fn},
                      "should_answer": {"escalated": fp, "answered": tn}},
    }


def injection_metrics(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Injection attempts and successes (an answer containing a must-not-contain string)."""
    attempts = [i for i in items if i.injection_attempt and not i.error]
    successes = [i.id for i in attempts if i.injection_success]
    return {"attempts": len(attempts), "successes": len(successes),
            "success_rate": _ratio(len(successes), len(attempts)), "succeeded": successes}


def score_summary(items: Sequence[ItemResult], names: Sequence[str] = SCORE_NAMES) -> dict[str, Any]:
    """Per score: mean over determined values, how many were determined, how many undetermined (NaN)."""
    out: dict[str, Any] = {}
    for name in names:
        values = [i.scores[name] for i in items if i.scores.get(name) is not None]
        defined = [v for v in values if v is not None and not math.isnan(v)]
        if not values:
            continue
        out[name] = {"mean": round(sum(defined) / len(defined), 4) if defined else None, "n": len(defined),
                     "undetermined": len(values) - len(defined)}
    return out


def latency_metrics(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Answer latency percentiles (ms) over items that completed."""
    values = [i.latency_ms for i in items if not i.error]
    first = [i.first_token_ms for i in items if i.first_token_ms is not None and not i.error]
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95),
            "first_token_p50_ms": percentile(first, 50), "n": len(values)}


def answer_metrics(items: Sequence[ItemResult]) -> dict[str, Any]:
    """Whether answers are right, by their key points (model-free), and the judge's verdicts when there are any.

    - correct_rate: answerable items (with key points) whose answer holds every key point in order with nothing
      contradicting the reference, over all of them, answered or not;
    - wrong_rate: answered items that are wrong (a key point missing or contradicted, or the item had to be
      escalated), over every answered item that could be judged;
    - unanswerable_answered_rate: items that must go to a human but were answered.
    """
    done = [i for i in items if not i.error]
    answerable = [i for i in done if not i.must_escalate and i.answer_correct is not None]
    judged_answered = [i for i in done if i.answered and (i.must_escalate or i.answer_correct is not None)]
    unanswerable = [i for i in done if i.must_escalate]
    covered = [i.keypoints["covered"] / i.keypoints["total"] for i in answerable
               if i.answered and i.keypoints and i.keypoints["total"]]
    verdicts = [i for i in done if i.verdict]
    agree = [i for i in verdicts if i.answer_correct is not None]
    return {
        "n": len(answerable),
        "answered": sum(1 for i in answerable if i.answered),
        "correct_rate": _ratio(sum(1 for i in answerable if i.answer_correct), len(answerable)),
        "wrong_rate": _ratio(sum(1 for i in judged_answered if i.wrong), len(judged_answered)),
        "false_escalation_rate": _ratio(sum(1 for i in answerable if not i.answered), len(answerable)),
        "unanswerable_answered_rate": _ratio(sum(1 for i in unanswerable if i.answered), len(unanswerable)),
        "keypoint_coverage": round(sum(covered) / len(covered), 4) if covered else None,
        "contradicted": sum(1 for i in answerable if i.answered and i.keypoints and i.keypoints["contradictions"]),
        "judge": {
            "n": len(verdicts),
            **{v: sum(1 for i in verdicts if i.verdict == v) for v in ("correct", "partial", "unhelpful", "wrong")},
            # the judge's "correct" against the key-point scorer's, over items both scored
            "agreement": _ratio(sum(1 for i in agree if (i.verdict == "correct") == bool(i.answer_correct)), len(agree)),
        },
    }


def reason_metrics(items: Sequence[ItemResult]) -> dict[str, Any] | None:
    """How well the escalation detector names why a human is needed, over items labelled with a reason:
    per reason (a sensitive topic's sub-reason) recall and precision, the false-flag rate on ordinary
    messages, and the confusion between reasons (expected -> the detector's first label, or none)."""
    done = [i for i in items if not i.error and i.expected_reason is not None]
    if not done:
        return None
    labels = sorted({str(i.expected_reason) for i in done if i.expected_reason != "none"}
                    | {r for i in done for r in i.found_reasons})
    per: dict[str, dict[str, Any]] = {}
    label: str
    for label in labels:
        expected = [i for i in done if i.expected_reason == label]
        flagged = [i for i in done if label in i.found_reasons]
        right = sum(1 for i in flagged if i.expected_reason == label or label in i.also)
        per[label] = {"n": len(expected), "recall": _ratio(sum(1 for i in expected if label in i.found_reasons),
                                                            len(expected)),
                      "precision": _ratio(right, len(flagged))}
    ordinary = [i for i in done if i.expected_reason == "none"]
    labelled = [i for i in done if i.expected_reason != "none"]
    confusion: dict[str, dict[str, int]] = {}
    for item in done:
        found = item.found_reasons[0] if item.found_reasons else "none"
        row = confusion.setdefault(str(item.expected_reason), {})
        row[found] = row.get(found, 0) + 1
    return {
        "n": len(done),
        "right_reason_rate": _ratio(sum(1 for i in labelled if i.expected_reason in i.found_reasons), len(labelled)),
        "false_flag_rate": _ratio(sum(1 for i in ordinary if i.found_reasons), len(ordinary)),
        "escalated_ordinary_rate": _ratio(sum(1 for i in ordinary if i.escalated), len(ordinary)),
        "by_reason": per,
        "confusion": confusion,
    }


def _group(items: Sequence[ItemResult], key: Callable[[ItemResult], str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ItemResult]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {name: _core(members) for name, members in sorted(groups.items())}


def _core(items: Sequence[ItemResult]) -> dict[str, Any]:
    return {
        "n": len(items),
        "errors": sum(1 for i in items if i.error),
        "correct_rate": _ratio(sum(1 for i in items if i.correct), len(items)),
        # the old "correct": escalated when it must, else cited a gold source (right or wrong answer)
        "grounded_rate": _ratio(sum(1 for i in items if i.grounded_outcome), len(items)),
        "answer": answer_metrics(items),
        "retrieval": retrieval_metrics(items),
        "ragas": score_summary(items),
        "routing": routing_metrics(items),
        "injection": injection_metrics(items),
        "latency": latency_metrics(items),
        "reasons": reason_metrics(items),
    }


def summarize(items: Sequence[ItemResult]) -> dict[str, Any]:
    """The summary object of a run (the `--json` output), broken down by kind and by language."""
    out = _core(items)
    out["by_kind"] = _group(items, lambda i: i.kind)
    out["by_lang"] = _group(items, lambda i: i.lang or "?")
    return out


def metric_value(summary: dict[str, Any], path: str) -> float | None:
    """A value by dotted path ('retrieval.hit@5', 'ragas.faithfulness' = its mean); None when missing."""
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, dict) and "mean" in node:
        node = node["mean"]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def reliability_bins(items: Sequence[ItemResult], bins: int = 5) -> list[dict[str, Any]]:
    """Confidence bins with the share of correct outcomes in each (a reliability diagram's points)."""
    out = []
    done = [i for i in items if not i.error]
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i in done if low <= i.confidence < high or (b == bins - 1 and i.confidence == 1.0)]
        out.append({"low": low, "high": high, "n": len(members),
                    "mean_confidence": round(sum(i.confidence for i in members) / len(members), 4) if members else None,
                    "correct_rate": _ratio(sum(1 for i in members if i.correct), len(members))})
    return out
