"""Which pages a conversation names: the knowledge base's titles found in a turn's words.

A follow-up rarely repeats what it is about ("do they take Mastercard?"): the page was named turns earlier, as
often by the assistant ("I recommend the Exploratorium") as by the customer, and spoken or typed loosely ("the
palace of fine art", "super duper burgers" for "Super Duper Burgers - Union Square", "s. f. citadel" for "SF
Citadel", "three d" for "3D").
A title is named when its words, or the words of its name before a qualifier (" - Union Square", "(hotel)",
", a Joie de Vivre Hotel"), appear in a row in the turn, lightly stemmed and compared with the spaces taken out,
so "dragon eats" names "DragonEats" and "market place" names "Marketplace". Pure: no model, no index.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

from deskpilot.text.words import STOPWORDS, fold, stem

_PIECE_RE = re.compile(r"[^\W_]+", re.UNICODE)
_QUALIFIER_RE = re.compile(r"\s+[-–—|]\s+|:\s+|,\s+|\s*\(")
_LONGEST = 8  # words: the longest name looked for
_SHORTEST = 5  # characters: a shorter one-word name ("Ramp", "Help") says too little on its own
AMBIGUOUS = 4  # a turn naming more pages than this names none of them in particular
# Spoken turns write numbers out ("the museum of three d. illusions" for "Museum Of 3D Illusions"): English numbers
# up to twenty are read as digits, in titles and turns alike.
_NUMBERS = {word: str(n) for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}


def _pieces(text: str) -> list[tuple[str, str]]:
    """The words of text, each as written (folded) and lightly stemmed."""
    text = fold(text).replace("'", "").replace("’", "").replace("&", " and ")
    words = [_NUMBERS.get(word, word) for word in _PIECE_RE.findall(text)]
    return [(word, stem(word)) for word in words]


def _words(text: str) -> list[str]:
    return [stemmed for _, stemmed in _pieces(text)]


def _names(title: str) -> set[tuple[str, ...]]:
    """The title's names, as words: the whole title and its name before a qualifier (one word before " - ",
    "|" or "(", two or more before ", " or ": "), each without a leading stopword too when two words are left
    ("The Big Four" is also "big four", "The Ramp" is not "ramp")."""
    title = re.sub(r"\s*\([^)]*\)\s*$", "", title).strip()
    qualifier = _QUALIFIER_RE.search(title)
    head = title[:qualifier.start()] if qualifier else title
    listed = qualifier is not None and qualifier.group(0).strip()[:1] in (":", ",")
    names: set[tuple[str, ...]] = set()
    # "Inserting, Editing, Saving Bitmaps" is not named by "inserting", nor "Billing: refunds" by "billing"
    for form, least in ((title, 1), (head, 2 if listed else 1)):
        words = _words(form)
        if len(words) < least:
            continue
        while words:
            joined = "".join(words)
            if len(words) <= _LONGEST and (len(words) > 1 or len(joined) >= _SHORTEST) and joined not in STOPWORDS:
                names.add(tuple(words))
            if words[0] not in STOPWORDS or len(words) < 3:
                break
            words = words[1:]
    return names


class TitleNames:
    """Titles by the names that refer to them."""

    def __init__(self, titles: Mapping[str, str]) -> None:
        """Args: titles: source id -> title.

        A name made only of words that many titles use ("Inserting Tables" where 32 titles say "inserting" and 54
        "tables") names a kind of page, not one: a name needs a word found in at most 1% of the titles (3 in a
        small knowledge base)."""
        names = {source_id: _names(title) for source_id, title in titles.items()}
        used = Counter(word for title in titles.values() for word in set(_words(title)))
        rare = max(3, len(titles) // 100)
        self._words = {source_id: set(_words(title)) - STOPWORDS for source_id, title in titles.items()}
        self._sources: dict[str, set[str]] = {}
        for source_id, forms in names.items():
            for words in forms:
                if min(used[word] for word in words) <= rare:
                    self._sources.setdefault("".join(words), set()).add(source_id)

    def _matches(self, words: Sequence[str]) -> Iterator[tuple[int, int, set[str]]]:
        """(first word, word after the last, sources) of every name in words."""
        for start in range(len(words)):
            joined = ""
            for end in range(start, min(start + _LONGEST, len(words))):
                joined += words[end]
                sources = self._sources.get(joined)
                if sources:
                    yield start, end + 1, sources

    def named(self, text: str) -> list[tuple[str, int]]:
        """The sources text names, with the length of the longest name it used for each, longest first."""
        words = _words(text)
        found: dict[str, int] = {}
        for start, end, sources in self._matches(words):
            for source_id in sources:
                found[source_id] = max(found.get(source_id, 0), len("".join(words[start:end])))
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))

    def unnamed(self, text: str, sources: Collection[str]) -> str:
        """What text asks about these sources: text without their names (lower-cased, accents and punctuation
        taken out), or text itself when it names none of them."""
        pieces = _pieces(text)
        named = {i for start, end, found in self._matches([stemmed for _, stemmed in pieces])
                 if found & set(sources) for i in range(start, end)}
        return " ".join(word for i, (word, _) in enumerate(pieces) if i not in named) if named else text

    def subject(self, turns: Iterable[str]) -> list[str]:
        """The pages a conversation is about: those named by the latest turn that names any (turns latest first),
        the longest names winning when a turn names many; none when it names too many to tell. Pages that share
        the name ("Super Duper Burgers - Union Square" and "- Castro") are told apart by the rest of their titles'
        words in the conversation ("... in union square")."""
        turns = list(turns)
        for turn in turns:
            named = self.named(turn)
            if not named:
                continue
            longest = named[0][1]
            best = [source_id for source_id, length in named if length == longest]
            if len(best) > 1:
                said = set(_words(" ".join(turns)))
                overlap = {source_id: len(self._words.get(source_id, set()) & said) for source_id in best}
                best = [source_id for source_id in best if overlap[source_id] == max(overlap.values())]
            pages = [source_id for source_id, length in named if length < longest] if len(named) <= AMBIGUOUS else []
            return [*best, *pages] if len(best) <= AMBIGUOUS else []
        return []
