"""The model-free key-point scorer on hand-made cases: covered, missing, reordered steps, numbers, contradictions."""

from __future__ import annotations

from deskpilot.evaluation.keypoints import KeyPointScorer, numbers, units

RESET = ["Click 'Forgot password?' on the sign-in page", "Enter your e-mail address and click 'Send reset link'",
         "Click 'Choose a new password' in the e-mail", "The link is valid for 60 minutes"]
REFERENCE = ("On the sign-in page click 'Forgot password?', enter your e-mail address and click 'Send reset link'. "
             "Open the e-mail and click 'Choose a new password'. The link is valid for 60 minutes.")


def test_an_answer_with_every_key_point_is_correct() -> None:
    answer = ("- Go to the sign-in page and click Forgot password? [1]\n- Enter the e-mail address you sign in with and "
              "click Send reset link.\n- Open the e-mail and click Choose a new password.\nA reset link is valid for "
              "60 minutes and can be used only once. [1]")
    score = KeyPointScorer().score(answer, RESET, REFERENCE)
    assert [p.covered for p in score.points] == [True, True, True, True]
    assert score.in_order and score.correct and score.contradictions == []


def test_a_missing_step_is_named_and_the_answer_is_not_correct() -> None:
    answer = "Click Forgot password? on the sign-in page, then click Choose a new password in the e-mail."
    score = KeyPointScorer().score(answer, RESET, REFERENCE)
    assert score.missing == [RESET[1], RESET[3]]
    assert score.coverage == 0.5 and not score.correct


def test_a_different_number_does_not_cover_the_point_and_contradicts_the_reference() -> None:
    answer = ("Click Forgot password? on the sign-in page. Enter your e-mail address and click Send reset link. "
              "Click Choose a new password in the e-mail. The link is valid for 30 minutes.")
    score = KeyPointScorer().score(answer, RESET, REFERENCE)
    assert score.missing == [RESET[3]]
    assert any("30 minutes" in c and "60 minutes" in c for c in score.contradictions)


def test_reordered_steps_are_covered_but_reported_out_of_order() -> None:
    steps = ["Go to Admin > Data > Export", "Choose CSV or JSON", "Click Start export"]
    answer = "Click Start export.\nChoose CSV or JSON.\nGo to Admin > Data > Export."
    score = KeyPointScorer().score(answer, steps)
    assert score.covered == 3 and not score.in_order
    assert score.correct  # facts may come in any order; the order is reported apart


def test_an_escalation_covers_nothing() -> None:
    score = KeyPointScorer().score("", RESET, REFERENCE)
    assert score.covered == 0 and not score.correct and score.contradictions == []


def test_a_meaning_match_needs_the_embedder_and_some_shared_words() -> None:
    point = "Exports are ready within a few minutes"
    answer = "Most exports are prepared quickly, usually in minutes."
    without = KeyPointScorer().score(answer, [point])
    assert not without.points[0].covered  # 2 of 4 content words: below the lexical rule

    def embed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]  # every text means the same

    assert KeyPointScorer(embed).score(answer, [point]).points[0].covered


def test_french_inflections_meet_on_their_first_letters() -> None:
    point = "Choisissez le format JSON et cochez « Inclure les pièces jointes »"
    answer = "Choisir le format JSON, puis cocher Inclure les pièces jointes."
    assert KeyPointScorer().score(answer, [point]).points[0].covered


def test_units_and_numbers() -> None:
    assert units("- First step. [1]\n2. Second step\nA fact. Another fact!") == \
        ["First step.", "Second step", "A fact.", "Another fact!"]
    assert numbers("valid for 24 hours, $1,000.00 or 2,5 %; at 09:30") == {"24", "1000", "2.5", "09:30"}
