"""Release gate and routing calibration, both kept in eval/thresholds.yaml.

The file has three sections: `routing` (read by the service: the calibrated min_confidence), `calibration`
(what the last calibration measured) and `gate` (metric path -> {min: x} and/or {max: y}).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deskpilot.errors import ConfigError
from deskpilot.evaluation.metrics import metric_value
from deskpilot.evaluation.results import ItemResult

HEADER = """\
# What QA edits and what `deskpilot eval calibrate` writes.
# routing:     read by the service at start-up; overrides the routing settings it names.
# calibration: what the last `deskpilot eval calibrate` measured.
# gate:        `deskpilot eval gate` exits non-zero when a metric (dotted path into the run summary, e.g.
#              retrieval.hit@5, routing.false_escalation_rate, ragas.citation_support) is below min / above max.
"""


@dataclass(frozen=True)
class GateCheck:
    """One metric compared with its bound."""

    metric: str
    bound: str  # "min" or "max"
    limit: float
    value: float | None

    @property
    def ok(self) -> bool:
        """Passed; a metric without a value (nothing measured it) fails."""
        if self.value is None:
            return False
        return self.value >= self.limit if self.bound == "min" else self.value <= self.limit


def read_thresholds(path: Path) -> dict[str, Any]:
    """The thresholds file as a mapping ({} when it does not exist)."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def gate_bounds(path: Path) -> list[tuple[str, str, float]]:
    """(metric, bound, limit) triples of the file's `gate` section.

    Raises:
        ConfigError: no gate section, or a bound that is not a number.
    """
    gate = read_thresholds(path).get("gate")
    if not isinstance(gate, dict) or not gate:
        raise ConfigError(f"{path} has no `gate:` section")
    bounds = []
    for metric, spec in gate.items():
        if not isinstance(spec, dict) or not set(spec) <= {"min", "max"} or not spec:
            raise ConfigError(f"{path}: gate.{metric} must be {{min: x}} and/or {{max: y}}")
        for bound, limit in spec.items():
            try:
                bounds.append((str(metric), bound, float(limit)))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{path}: gate.{metric}.{bound} is not a number") from exc
    return bounds


def check_gate(summary: dict[str, Any], bounds: Sequence[tuple[str, str, float]]) -> list[GateCheck]:
    """Every bound checked against the run summary."""
    return [GateCheck(metric, bound, limit, metric_value(summary, metric)) for metric, bound, limit in bounds]


@dataclass(frozen=True)
class Calibration:
    """The fitted routing threshold and what it gives on the suite."""

    min_confidence: float
    target_false_escalation_rate: float
    false_escalation_rate: float | None
    escalation_recall: float | None
    reachable: bool
    items: int
    objective: str = "false_escalation_target"
    wrong_rate: float | None = None  # answered items that are wrong, at this threshold (key-point outcomes)

    def as_json(self) -> dict[str, Any]:
        """The `calibration` section."""
        return dict(self.__dict__)


def _rates(items: Sequence[ItemResult], threshold: float) -> tuple[float | None, float | None]:
    def escalates(i: ItemResult) -> bool:
        return i.escalate_floor or i.confidence < threshold

    negatives = [i for i in items if not i.must_escalate]
    positives = [i for i in items if i.must_escalate]
    fer = sum(1 for i in negatives if escalates(i)) / len(negatives) if negatives else None
    recall = sum(1 for i in positives if escalates(i)) / len(positives) if positives else None
    return fer, recall


def calibrate(items: Sequence[ItemResult], target: float, wrong_cost: float | None = None) -> Calibration:
    """The routing threshold fitted on the suite's outcomes.

    With key points (and wrong_cost), the threshold that costs least: each answer that would be wrong (a key
    point missing or contradicted, or an item that must escalate) costs wrong_cost, each correct answer held back
    costs 1. Otherwise the highest min_confidence whose false-escalation rate stays at or below target.

    An item escalates at threshold t when something other than confidence escalates it (escalate_floor) or
    its confidence is below t. Raising t can only add escalations, so the highest feasible t escalates
    the most of the must-escalate items within the allowed false escalations.
    """
    done = [i for i in items if not i.error]
    if not any(not i.must_escalate for i in done):
        raise ConfigError("calibration needs items that must not escalate")
    candidates = sorted({0.0, 1.0, *(round(i.confidence, 4) for i in done)})
    if wrong_cost is not None and any(i.would_be_correct is not None for i in done):
        return _by_cost(done, candidates, target, wrong_cost)
    best = 0.0
    for threshold in candidates:
        fer, _ = _rates(done, threshold)
        if fer is not None and fer <= target + 1e-9:
            best = threshold
    fer, recall = _rates(done, best)
    reachable = fer is not None and fer <= target + 1e-9
    return Calibration(best, target, None if fer is None else round(fer, 4),
                       None if recall is None else round(recall, 4), reachable, len(done))


def _by_cost(items: Sequence[ItemResult], candidates: Sequence[float], target: float, wrong_cost: float) -> Calibration:
    judged = [i for i in items if i.must_escalate or i.would_be_correct is not None]

    def outcome(threshold: float) -> tuple[float, int, int, int]:
        answered = [i for i in judged if not i.escalate_floor and i.confidence >= threshold]
        wrong = sum(1 for i in answered if i.must_escalate or not i.would_be_correct)
        held = sum(1 for i in judged if i.would_be_correct and i not in answered)
        return wrong_cost * wrong + held, wrong, len(answered), held

    best = min(candidates, key=lambda t: (outcome(t)[0], t))
    _, wrong, answered, _ = outcome(best)
    fer, recall = _rates(items, best)
    return Calibration(best, target, None if fer is None else round(fer, 4), None if recall is None else round(recall, 4),
                       fer is not None and fer <= target + 1e-9, len(items), f"least cost (a wrong answer costs {wrong_cost:g})",
                       round(wrong / answered, 4) if answered else None)


def write_calibration(path: Path, calibration: Calibration, suite: str) -> None:
    """Store the threshold under `routing` and the measurement under `calibration`, keeping `gate`."""
    data = read_thresholds(path)
    routing = data.get("routing")
    data["routing"] = {**(routing if isinstance(routing, dict) else {}), "min_confidence": calibration.min_confidence}
    data["calibration"] = {"suite": suite, **calibration.as_json()}
    ordered: dict[str, Any] = {k: data[k] for k in ("routing", "calibration", "gate") if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(HEADER + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
