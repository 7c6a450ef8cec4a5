"""Routing is a pure function: every branch, reason order, thresholds, and confidence bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.assist.routing import REASONS, Signals, confidence, in_doubt, route
from deskpilot.config import RoutingSettings, load_routing
from deskpilot.errors import ConfigError

T = RoutingSettings(thresholds_file=None)
GOOD = Signals(top_relevance=0.75, support=0.8, coverage=1.0, claims_kept=2)


def test_answers_when_everything_is_fine() -> None:
    decision = route("The link is valid for 60 minutes [1].", GOOD, T)
    assert decision.kind == "answer"
    assert decision.reasons == []
    assert decision.confidence == pytest.approx(0.35 * (0.75 - 0.35) / 0.45 + 0.45 * 0.8 + 0.2 * 1.0, abs=1e-3)


@pytest.mark.parametrize(("change", "reason"), [
    ({"injection": True}, "injection_suspected"),
    ({"human_requested": True}, "user_requested_human"),
    ({"sensitive": ("security",)}, "sensitive_topic"),
    ({"negativity": 0.6}, "negative_sentiment"),
    ({"llm_failed": True}, "llm_unavailable"),
    ({"top_relevance": 0.2}, "no_relevant_source"),
    ({"not_found": True}, "no_relevant_source"),
    ({"coverage": 0.4}, "low_support"),
    ({"claims_kept": 0}, "low_support"),
    ({"support": 0.1, "coverage": 0.5, "top_relevance": 0.4}, "low_support"),
])
def test_each_reason_alone_escalates(change: dict, reason: str) -> None:
    decision = route("An answer [1].", Signals(**{**GOOD.__dict__, **change}), T)
    assert decision.kind == "escalate"
    assert decision.reasons == [reason]


def test_reasons_follow_the_fixed_order_and_low_support_only_alone() -> None:
    signals = Signals(**{**GOOD.__dict__, "injection": True, "llm_failed": True, "human_requested": True,
                         "negativity": 0.9, "coverage": 0.0})
    decision = route("", signals, T)
    assert decision.reasons == ["user_requested_human", "negative_sentiment", "injection_suspected", "llm_unavailable"]
    assert decision.reasons == [r for r in REASONS if r in decision.reasons]


def test_no_relevant_source_needs_a_search() -> None:
    decision = route("", Signals(searched=False, human_requested=True), T)
    assert decision.reasons == ["user_requested_human"]


def test_empty_answer_is_low_support() -> None:
    assert route("   ", GOOD, T).reasons == ["low_support"]


def test_confidence_is_zero_without_an_answer_and_bounded() -> None:
    assert confidence(Signals(**{**GOOD.__dict__, "llm_failed": True}), T) == 0.0
    assert confidence(Signals(**{**GOOD.__dict__, "not_found": True}), T) == 0.0
    assert confidence(Signals(**{**GOOD.__dict__, "claims_kept": 0}), T) == 0.0
    top = Signals(top_relevance=1.0, support=1.0, coverage=1.0, claims_kept=3)
    assert confidence(top, T) == 1.0


def test_thresholds_change_the_outcome() -> None:
    strict = RoutingSettings(thresholds_file=None, min_confidence=0.95)
    assert route("x [1].", GOOD, T).kind == "answer"
    assert route("x [1].", GOOD, strict).reasons == ["low_support"]
    lenient = RoutingSettings(thresholds_file=None, max_negativity=1.0)
    assert route("x [1].", Signals(**{**GOOD.__dict__, "negativity": 0.9}), lenient).kind == "answer"


def test_calibrated_thresholds_file_overrides_settings(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("routing:\n  min_confidence: 0.73\n  unknown_key: 1\n")
    loaded = load_routing(RoutingSettings(thresholds_file=path))
    assert loaded.min_confidence == 0.73
    assert loaded.min_relevance == RoutingSettings().min_relevance
    path.write_text("routing: [unclosed")
    with pytest.raises(ConfigError):
        load_routing(RoutingSettings(thresholds_file=path))
    assert load_routing(RoutingSettings(thresholds_file=tmp_path / "missing.yaml")).min_confidence == 0.5


def test_a_section_that_does_not_fit_the_question_is_no_relevant_source_and_fit_scales_confidence() -> None:
    thresholds = RoutingSettings()
    composed = {"top_relevance": 0.7, "support": 1.0, "coverage": 1.0, "claims_kept": 3}
    good = Signals(**composed, fit=0.75)
    poor = Signals(**composed, fit=thresholds.min_fit - 0.1)
    assert route("From the source.", good, thresholds).kind == "answer"
    assert route("From the source.", poor, thresholds).reasons == ["no_relevant_source"]
    middling = Signals(**composed, fit=(thresholds.min_fit + 0.8) / 2)
    assert confidence(poor, thresholds) < confidence(middling, thresholds) < confidence(good, thresholds)
    # a generated answer carries no fit (1.0): its confidence is what it was
    assert confidence(Signals(**composed), thresholds) == confidence(Signals(**composed, fit=0.8), thresholds)


def test_a_section_that_only_ties_with_another_is_less_certain_than_one_that_clearly_wins() -> None:
    thresholds = RoutingSettings()
    composed = {"top_relevance": 0.6, "support": 1.0, "coverage": 1.0, "claims_kept": 2, "fit": 0.65}
    tied, ahead, clear = (confidence(Signals(**composed, margin=m), thresholds) for m in (0.0, 0.05, 0.5))
    assert tied < ahead < clear <= 1.0
    # it won a tie on its page's search rank (a negative margin) no better than a tie
    assert confidence(Signals(**composed, margin=-0.03), thresholds) == tied
    # a generated answer carries no margin: its confidence is what it was
    generated = Signals(top_relevance=0.6, support=0.8, coverage=1.0, claims_kept=2)
    assert confidence(generated, thresholds) == pytest.approx(
        0.35 * (0.6 - thresholds.min_relevance) / (0.8 - thresholds.min_relevance) + 0.45 * 0.8 + 0.2, abs=1e-3)


def _near(check: float | None, below: bool) -> tuple[Signals, RoutingSettings]:
    """A composed answer whose confidence is just below (or above) the threshold, with the model's check."""
    signals = Signals(top_relevance=0.6, support=1.0, coverage=1.0, claims_kept=2, fit=0.6, margin=0.05, check=check)
    score = confidence(signals, T)
    return signals, T.model_copy(update={"min_confidence": score + (0.05 if below else -0.05), "answer_check": "model"})


def test_in_doubt_the_models_check_decides_either_way() -> None:
    for below in (True, False):
        signals, thresholds = _near(None, below)
        assert in_doubt("Open Settings and click Reset.", signals, thresholds)
        assert route("Open Settings and click Reset.", signals, thresholds).kind == ("escalate" if below else "answer")
        yes, no = Signals(**{**signals.__dict__, "check": 2.0}), Signals(**{**signals.__dict__, "check": -1.0})
        assert route("Open Settings and click Reset.", yes, thresholds).kind == "answer"
        assert route("Open Settings and click Reset.", no, thresholds).reasons == ["no_relevant_source"]
        # the configured odds are what a yes needs
        strict = thresholds.model_copy(update={"answer_check_min_odds": 3.0})
        assert route("Open Settings and click Reset.", yes, strict).reasons == ["no_relevant_source"]


def test_the_check_is_off_unless_configured() -> None:
    signals, thresholds = _near(None, below=True)
    assert RoutingSettings().answer_check == "off"
    assert not in_doubt("An answer.", signals, thresholds.model_copy(update={"answer_check": "off"}))


def test_far_from_the_threshold_or_for_another_reason_the_check_is_not_asked_and_not_read() -> None:
    signals, thresholds = _near(-5.0, below=False)
    clear = thresholds.model_copy(update={"min_confidence": confidence(signals, T) - 0.3})
    assert not in_doubt("An answer.", signals, clear)
    assert route("An answer.", signals, clear).kind == "answer"  # a clear answer: a stray check does not matter
    for change in ({"coverage": 0.4}, {"not_found": True}, {"human_requested": True}, {"claims_kept": 0}):
        assert not in_doubt("An answer.", Signals(**{**signals.__dict__, **change}), thresholds)
    assert not in_doubt("", signals, thresholds)
    assert not in_doubt("An answer.", signals, thresholds.model_copy(update={"answer_check": "off"}))
    assert not in_doubt("An answer.", signals, thresholds.model_copy(update={"answer_check_band": 0.0}))
