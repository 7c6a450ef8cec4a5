"""The escalation detector: lexicon, example layer, conversation layer, and the shipped data files."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from deskpilot.assist import escalation
from deskpilot.assist.escalation import (
    LABELS,
    NOT_HELPED,
    REPEATED,
    EscalationDetector,
    ExampleClassifier,
    Lexicon,
    load_examples,
)
from deskpilot.errors import ConfigError
from tests.conftest import REPO

PROMPTS = REPO / "prompts"


def bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """A deterministic stand-in encoder: hashed word counts (similar words, similar vectors)."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            out[row, zlib.crc32(word.encode()) % 256] += 1.0
    return out


LEXICON = Lexicon({
    "user_requested_human": [r"\b(real person|human agent)\b"],
    "account_compromise": [r"\bhacked\b"],
    "data_loss": [r"\bdelete[ds]?\b.{0,30}\bproject"],
    NOT_HELPED: [r"\b(did ?n.?t|does ?n.?t) help\b"],
    "ordinary_override": [r"\bhow (do|can) i delete\b"],
})
EXAMPLES = {
    "lost_device": ["my phone was stolen on the train", "someone stole my laptop from the car",
                    "I lost my tablet at the airport"],
    "ordinary": ["how do I export my data", "where do I change my invoice address", "how do I start a timer",
                 "what does the business plan cost"],
}


def test_lexicon_triggers_name_the_sub_reason_and_the_sentence() -> None:
    detector = EscalationDetector(LEXICON, None)
    triggers = detector.detect("Hello. I think my account was hacked last night! Can you check?")
    assert [(t.reason, t.sub_reason, t.sentence, t.layer) for t in triggers] == [
        ("sensitive_topic", "account_compromise", "I think my account was hacked last night!", "lexicon")]
    assert detector.detect("I want a real person now")[0].reason == "user_requested_human"


def test_a_harmless_use_of_an_alarming_word_triggers_nothing() -> None:
    detector = EscalationDetector(LEXICON, None)
    assert detector.detect("How do I delete a project I no longer need?") == []
    assert detector.detect("Someone deleted all my projects overnight.")[0].sub_reason == "data_loss"


def test_the_example_layer_finds_a_paraphrase_the_lexicon_misses() -> None:
    examples = ExampleClassifier(EXAMPLES, bag_of_words, min_similarity=0.3, margin=0.05)
    detector = EscalationDetector(LEXICON, examples)
    found = detector.detect("Thanks for the app. Yesterday my phone was stolen at the station, what now?")
    assert [(t.sub_reason, t.layer) for t in found] == [("lost_device", "examples")]
    assert 0.3 <= found[0].score <= 1.0
    assert detector.detect("how do I export my data to a spreadsheet") == []


def test_conversation_layer_repeated_question_and_answer_not_helping() -> None:
    examples = ExampleClassifier(EXAMPLES, bag_of_words, min_similarity=0.9, margin=0.5)
    detector = EscalationDetector(LEXICON, examples, repeat_similarity=0.9)
    turns = [{"role": "user", "content": "how do I export my timesheets to excel"},
             {"role": "assistant", "content": "Open Reports and click Export."}]
    again = detector.conversation("How do I export my timesheets to Excel?", turns)
    assert again is not None and (again.reason, again.sub_reason, again.layer) == (
        "negative_sentiment", REPEATED, "conversation")
    helped = detector.conversation("Thanks. That didn't help at all.", turns)
    assert helped is not None and helped.sub_reason == NOT_HELPED and helped.sentence == "That didn't help at all."
    assert detector.conversation("And how do I add a client?", turns) is None
    assert detector.conversation("How do I export my timesheets to Excel?", turns[:1]) is None  # no answer yet
    assert detector.detect("That didn't help.") == []  # only after an answer


def test_bad_data_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bad pattern"):
        Lexicon({"safety": ["(unclosed"]})
    (tmp_path / "l.yaml").write_text("reasons:\n  sadness: {en: ['x']}\n")
    with pytest.raises(ConfigError, match="unknown reason 'sadness'"):
        Lexicon.load(tmp_path / "l.yaml")
    with pytest.raises(ConfigError, match="not found"):
        Lexicon.load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="ordinary"):
        ExampleClassifier({"safety": ["x"]}, bag_of_words, 0.5, 0.05)


def test_the_shipped_data_files_cover_every_reason_in_four_languages() -> None:
    import yaml

    for name in ("routing_lexicon.yaml", "routing_examples.yaml"):
        reasons = yaml.safe_load((PROMPTS / name).read_text())["reasons"]
        for label in LABELS:
            assert {"en", "fr", "de", "es"} <= set(reasons[label]), (name, label)
    Lexicon.load(PROMPTS / "routing_lexicon.yaml")  # every pattern compiles
    examples = load_examples(PROMPTS / "routing_examples.yaml")
    assert all(len(examples[label]) >= 40 for label in LABELS) and len(examples["ordinary"]) >= 100


@pytest.mark.parametrize(("message", "label"), [
    ("I want to speak to a real person, not a bot", "user_requested_human"),
    ("Je veux parler à un conseiller humain", "user_requested_human"),
    ("Someone logged into my account from another country and changed my email", "account_compromise"),
    ("Mi cuenta ha sido hackeada", "account_compromise"),
    ("Mein Handy wurde gestohlen und die App ist noch angemeldet", "lost_device"),
    ("I typed my card number into a fake page from an email that looked like yours", "phishing_fraud"),
    ("Vous m'avez débité deux fois ce mois-ci, je veux être remboursé", "billing_dispute"),
    ("All our projects disappeared after the update", "data_loss"),
    ("My lawyer will contact you", "legal_threat"),
    ("Quiero saber qué datos personales tienen sobre mí", "personal_data_request"),
    ("honestly it doesn't matter anymore, I've said my goodbyes", "safety"),
    ("Oh great, now it's broken again", "negative_sentiment"),
])
def test_the_shipped_lexicon_knows_the_plain_cases(message: str, label: str) -> None:
    lexicon = Lexicon.load(PROMPTS / "routing_lexicon.yaml")
    detector = EscalationDetector(lexicon, None)
    found = [t.sub_reason or t.reason for t in detector.detect(message)]
    assert label in found, (message, found)


@pytest.mark.parametrize("message", [
    "How do I delete a project I no longer need?",
    "How do I stop (kill) the running timer?",
    "What happens to my data if I cancel?",
    "How do refunds work for yearly plans?",
    "How do I turn on two-factor authentication so I don't get hacked?",
    "Comment ajouter un rôle de manager ?",
    "oh great there is one, do they accept credit cards",  # spoken customers mean it (DSTC10 turns)
    "oh perfect, thanks!",
])
def test_the_shipped_lexicon_leaves_ordinary_questions_alone(message: str) -> None:
    detector = EscalationDetector(Lexicon.load(PROMPTS / "routing_lexicon.yaml"), None)
    assert detector.detect(message) == []


class CountingEncoder:
    """bag_of_words with a name (what the on-disk cache is keyed by) and a count of the texts it embedded."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.embedded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return bag_of_words(texts)


def test_example_vectors_are_kept_between_processes_and_follow_the_examples_and_the_encoder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def classify(encoder: CountingEncoder, examples: dict[str, list[str]] = EXAMPLES) -> list[tuple[str, int, float]]:
        monkeypatch.setattr(escalation, "_POOLS", {})  # each call as a new process
        return ExampleClassifier(examples, encoder.encode, 0.3, 0.05, cache=tmp_path).classify(
            ["Yesterday my phone was stolen at the station"])

    first = CountingEncoder("bow@1")
    found = classify(first)
    assert first.embedded == 7 + 1 and [label for label, _, _ in found] == ["lost_device"]
    assert len(list(tmp_path.glob("routing-examples-*.npy"))) == 1 and not list(tmp_path.glob("*.part"))
    later = CountingEncoder("bow@1")  # another process: a new encoder object, the same model
    assert classify(later) == found and later.embedded == 1  # only the message itself
    edited = {**EXAMPLES, "ordinary": [*EXAMPLES["ordinary"], "how do I add a client"]}
    assert classify(CountingEncoder("bow@1"), edited) and len(list(tmp_path.glob("*.npy"))) == 2
    upgraded = CountingEncoder("bow@2")
    classify(upgraded)
    assert upgraded.embedded == 8  # another model's vectors are never reused
    for stored in tmp_path.glob("*.npy"):
        stored.write_bytes(b"not a numpy file")
    damaged = CountingEncoder("bow@1")
    assert classify(damaged) == found and damaged.embedded == 8  # an unreadable cache is embedded again


def test_a_cache_folder_that_cannot_be_written_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(escalation, "_POOLS", {})
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    encoder = CountingEncoder("bow@1")
    found = ExampleClassifier(EXAMPLES, encoder.encode, 0.3, 0.05, cache=blocked / "cache").classify(
        ["Yesterday my phone was stolen at the station"])
    assert [label for label, _, _ in found] == ["lost_device"] and encoder.embedded == 8
