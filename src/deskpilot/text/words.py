"""Words, the same way everywhere: accent folding, the stopwords, a light stem, and the tokens that BM25, the
citation check, the composer and the key-point scorer compare. Pure functions, no model."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

_WORD_RE = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
# Short, language-neutral stopword lists (en, fr, de, es): enough to keep BM25 from matching on glue words.
_STOPWORDS_TEXT = """
a an and are as at be been but by can could did do does for from had has have how i if in into is
it its me my no not of on or our so than that the their them then there these they this to too was
we were what when where which who why will with would you your yours am any all also just about
after before up out le la les un une des du de et ou est sont pour dans sur par avec ce cette ces
qui que quoi comment je tu il elle nous vous ils elles mon ma mes votre vos notre nos pas ne plus
au aux en se sa son ses y a été être der die das ein eine und oder ist sind für mit auf im in zu
den dem des ich du er sie wir ihr nicht wie was el la los las un una y o es son para con por en de
del que como yo tu mi su sus no se al lo
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def fold(text: str) -> str:
    """Lower-case and strip accents (é -> e), so that accent-less queries still match."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(token: str) -> str:
    """A light, language-neutral suffix strip (plurals, -ing, -ed) so that refund/refunds/refunded meet."""
    if len(token) <= 3 or not token.isalpha():
        return token
    for suffix in ("ing", "ed"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    if token.endswith(("s", "x")) and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Word tokens for BM25 and support checks: folded, stopwords removed, lightly stemmed; numbers and
    codes kept (ERR_SYNC_409 -> err, sync, 409)."""
    return list(_tokens(text)) if len(text) <= 2000 else _tokenize(text)


@functools.lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    """Tokens of short texts (sentences and chunks met again by every support check), remembered."""
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[str]:
    return [stem(t) for t in _WORD_RE.findall(fold(text)) if t not in STOPWORDS]


@functools.lru_cache(maxsize=16384)
def compounds(text: str) -> Mapping[str, tuple[str, ...]]:
    """The words of text that others write as one word, as tokenize() would write that one word, each with its own
    tokens: two words in a row ("log in" -> login, "wi fi" -> wifi, "master card" -> mastercard; a stopword such as
    "in" has no token) and a hyphenated word ("e-mail" -> email, "check-in" -> checkin). Read-only: it is cached."""
    raw = _WORD_RE.findall(fold(text))
    found: dict[str, tuple[str, ...]] = {}
    for first, second in itertools.pairwise(raw):
        if first.isalpha() and second.isalpha():
            found[stem(first + second)] = tuple(stem(w) for w in (first, second) if w not in STOPWORDS)
    for word in raw:
        if "-" in word and word.replace("-", "").isalpha():
            found[stem(word.replace("-", ""))] = (stem(word),)
    return MappingProxyType(found)
