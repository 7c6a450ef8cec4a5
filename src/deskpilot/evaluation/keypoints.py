"""Model-free correctness of an answer: are the reference's key points in it, in order, with nothing contradicting it?

A suite item lists `key_points`: the facts or steps a correct answer must contain. Each key point is matched
against the answer's units (sentences and list items, alone or as two neighbours together, since an answer may
split one step over two lines):

- every number in the key point must appear in the unit (60 minutes is not 30 minutes);
- the unit must hold most of the key point's content words (folded, stopwords removed, stemmed, a word also
  matching another that shares its first five letters, so that "exporter"/"exportez" meet), or, with an
  embedder, be close in meaning and still share a third of them.

A procedure's key points are its steps in order: `in_order` tells whether the covered ones appear in the answer
in the same order (reported, not required: key points that are facts may come in any order). A contradiction
is a number, version or step order that the answer states differently from the reference
(`deskpilot.text.facts.disagreements` against the gold answer and the key points).

An answer is correct when every key point is covered and nothing contradicts the reference. No threshold here
was fitted to a suite item: they are the scorer's own rules, checked on the hand-made cases of its tests.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from deskpilot.text.facts import disagreements
from deskpilot.text.words import tokenize

LEXICAL = 0.6  # share of a key point's content words that a unit must hold
SEMANTIC = 0.75  # cosine at which a unit means the key point, if it also holds...
SEMANTIC_LEXICAL = 0.34  # ...at least this share of its content words
PREFIX = 5  # words sharing this many first letters count as the same word

_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+")
_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
_MARKER_RE = re.compile(r"\[\d+\]")
_BULLET_RE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def units(answer: str) -> list[str]:
    """Sentences and list items of an answer, citation markers and bullets removed."""
    out = []
    for line in _MARKER_RE.sub("", answer).splitlines():
        for piece in _SENTENCE_RE.split(_BULLET_RE.sub("", line).strip()):
            if piece.strip():
                out.append(piece.strip())
    return out


def numbers(text: str) -> set[str]:
    """Numbers as written, with thousands separators and trailing zeros of decimals normalised."""
    found = set()
    for raw in _NUMBER_RE.findall(text):
        value = raw.replace(",", ".") if re.fullmatch(r"\d+,\d{1,2}", raw) else raw.replace(",", "")
        found.add(value.rstrip("0").rstrip(".") if "." in value and ":" not in value else value)
    return found


def _words(text: str) -> set[str]:
    return {t for t in tokenize(text) if not t.isdigit()}


def _recall(point: set[str], unit: set[str]) -> float:
    if not point:
        return 1.0
    prefixes = {w[:PREFIX] for w in unit if len(w) >= PREFIX}
    hit = sum(1 for w in point if w in unit or (len(w) >= PREFIX and w[:PREFIX] in prefixes))
    return hit / len(point)


@dataclass
class PointMatch:
    """One key point against the answer."""

    point: str
    covered: bool
    lexical: float
    cosine: float | None
    unit: int | None  # index of the answer unit that covers it (None when not covered)


@dataclass
class KeyPointScore:
    """Key-point coverage of one answer."""

    points: list[PointMatch] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)

    @property
    def covered(self) -> int:
        """Key points found in the answer."""
        return sum(1 for p in self.points if p.covered)

    @property
    def coverage(self) -> float:
        """Share of key points found (1.0 when there are none)."""
        return self.covered / len(self.points) if self.points else 1.0

    @property
    def in_order(self) -> bool:
        """Whether the covered key points appear in the answer in the order they are listed."""
        positions = [p.unit for p in self.points if p.unit is not None]
        return all(a <= b for a, b in itertools.pairwise(positions))

    @property
    def correct(self) -> bool:
        """Every key point covered and nothing contradicting the reference (the order is reported apart: facts
        may come in any order, and the composer keeps a procedure's steps in their source order)."""
        return bool(self.points) and self.covered == len(self.points) and not self.contradictions

    @property
    def missing(self) -> list[str]:
        """The key points not found."""
        return [p.point for p in self.points if not p.covered]


class KeyPointScorer:
    """Scores answers against key points; `embed` (texts -> vectors) adds the meaning match."""

    def __init__(self, embed: Callable[[list[str]], list[list[float]]] | None = None) -> None:
        self._embed = embed

    def score(self, answer: str, key_points: Sequence[str], reference: str = "") -> KeyPointScore:
        """Match each key point against the answer and look for statements contradicting the reference.

        Args:
            answer: the answer shown to the customer ("" when the assistant escalated).
            key_points: what a correct answer must contain, in order for a procedure.
            reference: the gold answer (with the key points, what contradictions are looked for against).
        """
        parts = units(answer)
        windows = [(i, p) for i, p in enumerate(parts)] + [(i, f"{a} {b}") for i, (a, b) in
                                                          enumerate(itertools.pairwise(parts))]
        cosines = self._cosines(list(key_points), [w for _, w in windows])
        result = KeyPointScore()
        for k, point in enumerate(key_points):
            wanted_numbers, wanted_words = numbers(point), _words(point)
            best: tuple[float, float | None, int | None] = (0.0, None, None)
            covered = False
            for w, (index, text) in enumerate(windows):
                if not wanted_numbers <= numbers(text):
                    continue
                lexical = _recall(wanted_words, _words(text))
                cosine = None if cosines is None else float(cosines[k, w])
                hit = lexical >= LEXICAL or (cosine is not None and cosine >= SEMANTIC and lexical >= SEMANTIC_LEXICAL)
                if hit and (not covered or lexical > best[0]):
                    best, covered = (lexical, cosine, index), True
                elif not covered and lexical > best[0]:
                    best = (lexical, cosine, None)
            result.points.append(PointMatch(point, covered, round(best[0], 3),
                                            None if best[1] is None else round(best[1], 3), best[2]))
        if answer.strip():
            truth = "\n".join([reference, *key_points]).strip()
            if truth:
                result.contradictions = [f"{d.kind}: answer says {d.value_a}, reference says {d.value_b}"
                                         for d in disagreements(_MARKER_RE.sub("", answer), truth)]
        return result

    def _cosines(self, points: list[str], windows: list[str]) -> np.ndarray | None:
        if self._embed is None or not points or not windows:
            return None
        vectors = np.asarray(self._embed(points + windows), dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors[: len(points)] @ vectors[len(points):].T
