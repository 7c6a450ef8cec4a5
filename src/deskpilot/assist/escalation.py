"""Why a human is needed: a layered detector over the customer's message and the conversation.

Layer 1, a lexicon of unmistakable phrasings per reason (prompts/routing_lexicon.yaml), matched sentence by
sentence on the text and its accent-folded form, with harmless uses of alarming words ("how do I delete a
project") cancelled by `ordinary_override` patterns. Layer 2, the nearest example messages per reason
(prompts/routing_examples.yaml) embedded with a multilingual sentence encoder: a sentence is flagged when its
closest examples of a reason are close enough and closer than the closest ordinary questions. Layer 3, the
conversation: the same question asked again after an answer, or an answer the customer says did not help.

Both data files are versioned and extend to more languages or reasons by data, not code.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from deskpilot.errors import ConfigError
from deskpilot.text.words import fold

logger = logging.getLogger(__name__)

HUMAN, NEGATIVE, SENSITIVE = "user_requested_human", "negative_sentiment", "sensitive_topic"
SUB_REASONS = ("account_compromise", "lost_device", "phishing_fraud", "billing_dispute", "data_loss", "legal_threat",
               "personal_data_request", "safety")
LABELS = (HUMAN, NEGATIVE, *SUB_REASONS)
ORDINARY = "ordinary"
OVERRIDE = "ordinary_override"
# Conversation-level sub-reasons of negative_sentiment (NOT_HELPED also has lexicon patterns: "that didn't help").
REPEATED, NOT_HELPED = "repeated_question", "answer_not_helpful"
LEXICON_LABELS = (*LABELS, NOT_HELPED)

_POOLS: dict[str, np.ndarray] = {}  # embedded example sets, by content and encoder
_POOLS_LOCK = threading.Lock()
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")
MAX_UNITS = 12  # sentences of one message looked at by the example layer
MIN_WORDS = 6  # ...and the fewest words of a sentence it looks at
TOP = 3  # a reason's score: the mean similarity of its TOP closest examples


def reason_of(label: str) -> tuple[str, str | None]:
    """(reason, sub_reason) for a detector label."""
    if label == NOT_HELPED:
        return NEGATIVE, NOT_HELPED
    return (SENSITIVE, label) if label in SUB_REASONS else (label, None)


@dataclass(frozen=True)
class Trigger:
    """One reason to hand the conversation to a human, with the sentence that showed it."""

    reason: str
    sub_reason: str | None
    sentence: str
    layer: str  # lexicon | examples | conversation
    score: float = 1.0

    def as_json(self) -> dict[str, Any]:
        """JSON form (hand-off packet, eval results)."""
        return asdict(self)


def example_units(text: str, parts: Sequence[str]) -> list[str]:
    """What the example layer compares: the message and its sentences, each of at least MIN_WORDS words (the
    vector of a few words says too little: "I forgot my password" sits near "someone changed my password")."""
    units = [s for s in parts if len(s.split()) >= MIN_WORDS][:MAX_UNITS]
    whole = [text] if len(text.split()) >= MIN_WORDS else []
    return [*whole, *units] if len(units) > 1 else whole


def sentences(text: str) -> list[str]:
    """The sentences (and lines) of a message."""
    return [s.strip() for s in _SENTENCE_RE.split(text) if s.strip()]


def _load_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        # libyaml's loader where PyYAML has it: the two routing files take 0.7 s to parse in Python, 0.1 s in C
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} file {path} not found") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("reasons"), dict):
        raise ConfigError(f"{what} file {path}: expected a mapping with `reasons:`")
    return data


def _by_language(path: Path, what: str) -> dict[str, list[str]]:
    """{label: [entries of every language]} from a `reasons: {label: {language: [...]}}` file."""
    out: dict[str, list[str]] = {}
    for label, languages in _load_yaml(path, what)["reasons"].items():
        if label not in (*LEXICON_LABELS, ORDINARY, OVERRIDE):
            raise ConfigError(f"{what} file {path}: unknown reason {label!r}; known: {', '.join(LABELS)}")
        if not isinstance(languages, dict):
            raise ConfigError(f"{what} file {path}: {label} must map languages to lists")
        out[label] = [str(entry) for entries in languages.values() for entry in entries or []]
    return out


def load_examples(path: Path) -> dict[str, list[str]]:
    """{label: example messages} of a data file (see prompts/routing_examples.yaml)."""
    return _by_language(path, "routing examples")


class Lexicon:
    """Regular expressions per label; a sentence matching an `ordinary_override` pattern triggers nothing."""

    def __init__(self, patterns: dict[str, list[str]]) -> None:
        def compiled(items: list[str], label: str) -> list[re.Pattern[str]]:
            # One pattern at a time, not one alternation per label: most patterns start with a word that `re`
            # finds by a fast literal scan, which an alternation of a hundred of them (with lookaheads) defeats.
            # On the routing suite the lexicon took 18 ms a message as alternations, about half as single patterns.
            try:
                return [re.compile(p, re.IGNORECASE) for p in items]
            except re.error as exc:
                raise ConfigError(f"routing lexicon: bad pattern for {label}: {exc}") from exc

        self._patterns = {label: found for label, items in patterns.items() if label in LEXICON_LABELS
                          if (found := compiled(items, label))}
        self._override = compiled(patterns.get(OVERRIDE, []), OVERRIDE)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """The lexicon of a data file (see prompts/routing_lexicon.yaml)."""
        return cls(_by_language(path, "routing lexicon"))

    @staticmethod
    def _forms(sentence: str) -> tuple[str, ...]:
        """The sentence, and its accent-folded form when that differs by more than case (patterns ignore case, so
        an ASCII sentence needs one search, not two: half the lexicon's time on English messages)."""
        return (sentence,) if sentence.isascii() else (sentence, fold(sentence))

    def harmless(self, sentence: str) -> bool:
        """The sentence uses an alarming word harmlessly (an ordinary question)."""
        forms = self._forms(sentence)
        return any(p.search(form) for p in self._override for form in forms)

    def labels(self, sentence: str) -> list[str]:
        """Labels whose patterns match the sentence (none when it is a harmless use)."""
        forms = self._forms(sentence)
        found = [label for label, compiled in self._patterns.items()
                 if any(p.search(form) for p in compiled for form in forms)]
        return [] if found and self.harmless(sentence) else found


class ExampleClassifier:
    """Nearest example messages per label, embedded once on first use."""

    def __init__(self, examples: dict[str, list[str]], encode: Callable[[Sequence[str]], np.ndarray],
                 min_similarity: float, margin: float, cache: Path | None = None) -> None:
        """Args:
            cache: a folder where the example vectors are kept between processes (by content and encoder name):
                embedding the few hundred examples takes about 4 s on 2 cores, at every start of a command.
        """
        self._cache = cache
        self._examples = {label: texts for label, texts in examples.items() if texts and label in (*LABELS, ORDINARY)}
        if ORDINARY not in self._examples:
            raise ConfigError("routing examples: an `ordinary` list is needed (questions that need no human)")
        self._encode = encode
        self.min_similarity = min_similarity
        self.margin = margin
        self._matrix: np.ndarray | None = None
        self._labels: list[str] = []
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length sentence vectors."""
        vectors = np.asarray(self._encode(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def _pool(self) -> tuple[np.ndarray, list[str]]:
        with self._lock:
            if self._matrix is None:
                labels = [label for label, texts in self._examples.items() for _ in texts]
                texts = [t for texts in self._examples.values() for t in texts]
                # The same examples embedded by the same encoder (its model's name; an unnamed one: the object) are
                # embedded once per process.
                owner = getattr(self._encode, "__self__", self._encode)
                name = str(getattr(owner, "name", ""))
                key = hashlib.sha256("\x00".join([*labels, *texts]).encode()).hexdigest() + f":{name or id(owner)}"
                with _POOLS_LOCK:
                    if key not in _POOLS:
                        _POOLS[key] = self._stored(labels, texts, name)
                    self._matrix = _POOLS[key]
                self._labels = labels
            return self._matrix, self._labels

    def _stored(self, labels: list[str], texts: list[str], name: str) -> np.ndarray:
        """The examples' vectors: read from the cache folder when an earlier process embedded the same examples
        with the same encoder (its model's name; an unnamed one is never cached), else embedded and written there
        (a cache that cannot be read or written is only slower)."""
        if self._cache is None or not name:
            return self.vectors(texts)
        digest = hashlib.sha256("\x00".join([name, *labels, *texts]).encode()).hexdigest()[:32]
        path = self._cache / f"routing-examples-{digest}.npy"
        try:
            stored = np.load(path, allow_pickle=False)
            if stored.shape[0] == len(texts) and stored.dtype == np.float32:
                return stored
        except (OSError, ValueError):
            pass
        vectors = self.vectors(texts)
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as handle:
                np.save(handle, vectors, allow_pickle=False)
            partial.replace(path)  # whole or not at all: another process may read it at the same time
        except OSError as exc:
            logger.info("routing examples: could not keep their vectors in %s: %s", self._cache, exc)
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
        return vectors

    def scores(self, units: Sequence[str]) -> dict[str, np.ndarray]:
        """{label: per-unit score}: the mean similarity of each unit to its TOP closest examples of the label."""
        matrix, labels = self._pool()
        sims = self.vectors(units) @ matrix.T
        names = np.array(labels)
        return {label: np.sort(sims[:, names == label], axis=1)[:, -TOP:].mean(axis=1)
                for label in dict.fromkeys(labels)}

    def classify(self, units: Sequence[str]) -> list[tuple[str, int, float]]:
        """(label, unit index, score) for each label some unit is close enough to, best unit per label."""
        if not units:
            return []
        scores = self.scores(units)
        ordinary = scores[ORDINARY]
        found: list[tuple[str, int, float]] = []
        for label, values in scores.items():
            if label == ORDINARY:
                continue
            ok = (values >= self.min_similarity) & (values - ordinary >= self.margin)
            if ok.any():
                best = int(np.argmax(np.where(ok, values, -1.0)))
                found.append((label, best, round(float(values[best]), 4)))
        return sorted(found, key=lambda f: -f[2])


class EscalationDetector:
    """Triggers for one message (and its conversation), layer by layer."""

    def __init__(self, lexicon: Lexicon, examples: ExampleClassifier | None, repeat_similarity: float = 0.9) -> None:
        self._lexicon = lexicon
        self._examples = examples
        self._repeat = repeat_similarity

    def warm_up(self) -> None:
        """Load the encoder and embed the examples now (about 3 s on 2 cores), not on a customer's question."""
        if self._examples is not None:
            self._examples.classify(["warm up"])

    def detect(self, text: str) -> list[Trigger]:
        """Reasons to hand this message to a human, each with the sentence that showed it (one per label)."""
        parts = sentences(text) or [text]
        triggers: dict[str, Trigger] = {}
        for sentence in parts:
            for label in self._lexicon.labels(sentence):
                if label == NOT_HELPED:
                    continue  # only after an answer (see conversation)
                triggers.setdefault(label, Trigger(*reason_of(label), sentence, "lexicon"))
        if self._examples is not None:
            units = example_units(text, parts)
            for label, index, score in self._examples.classify(units):
                sentence = units[index]
                if label not in triggers and not self._lexicon.harmless(sentence):
                    triggers[label] = Trigger(*reason_of(label), sentence, "examples", score)
        return list(triggers.values())

    def conversation(self, question: str, turns: Sequence[dict[str, str]]) -> Trigger | None:
        """A customer asking the same thing again after an answer, or saying it did not help.

        turns: earlier {role, content} turns, oldest first.
        """
        if not any(t.get("role") == "assistant" for t in turns):
            return None
        earlier = [t["content"] for t in turns if t.get("role") == "user" and t.get("content")]
        for sentence in sentences(question) or [question]:
            if NOT_HELPED in self._lexicon.labels(sentence):
                return Trigger(NEGATIVE, NOT_HELPED, sentence, "conversation")
        if earlier and self._examples is not None and len(question.split()) >= 3:
            vectors = self._examples.vectors([question, *earlier[-3:]])
            similarity = float(np.max(vectors[1:] @ vectors[0]))
            if similarity >= self._repeat:
                return Trigger(NEGATIVE, REPEATED, question, "conversation", round(similarity, 4))
        return None
