"""Citation check: every sentence of an answer must be supported by the source it cites.

Support is model-free: lexical recall of the sentence's content words in the chunk, agreement of its
numbers, and embedding similarity. Unsupported sentences are removed before anything is returned;
uncited sentences are attributed to the chunk that supports them best, if any does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from deskpilot.assist.prompts import PromptLibrary
from deskpilot.errors import LLMError
from deskpilot.providers.llm import LLMClient
from deskpilot.retrieval.search import RetrievedChunk
from deskpilot.text.links import LINK_RE, links
from deskpilot.text.words import tokenize

_MARKER_RE = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_SENTENCE_RE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
_LIST_PREFIX_RE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass
class Claim:
    """One sentence of an answer with the sources it cites and how well they support it."""

    text: str
    cited: list[int]
    support: float = 0.0
    supported_by: int | None = None


@dataclass
class CheckResult:
    """The checked answer: kept claims (with their source), removed claims, and the mean support."""

    kept: list[Claim] = field(default_factory=list)
    removed: list[Claim] = field(default_factory=list)
    removed_urls: list[str] = field(default_factory=list)

    @property
    def support(self) -> float:
        """Mean support of the kept claims (0 when nothing was kept)."""
        return sum(c.support for c in self.kept) / len(self.kept) if self.kept else 0.0

    @property
    def coverage(self) -> float:
        """Share of the answer's claims that survived the check."""
        total = len(self.kept) + len(self.removed)
        return len(self.kept) / total if total else 0.0


def split_claims(answer: str) -> list[Claim]:
    """Sentences (and list items) of an answer with their [n] citation markers parsed out; a sentence the
    model repeated counts once."""
    claims: list[Claim] = []
    seen: set[str] = set()
    for raw in _SENTENCE_RE.split(answer):
        cited = [int(n) for group in _MARKER_RE.findall(raw) for n in re.split(r"\s*,\s*", group)]
        text = _MARKER_RE.sub("", raw).strip()
        if len(re.sub(r"\W", "", text)) < 3 or text.lower() in seen:
            continue
        seen.add(text.lower())
        claims.append(Claim(text=text, cited=cited))
    return claims


_NEGATION_RE = re.compile(
    r"\b(not|no|never|cannot|can't|won't|isn't|aren't|doesn't|don't|didn't|without|none|nor|neither|"
    r"ne|n'|pas|jamais|aucun|aucune|sans|nicht|kein|keine|keinen|nie|niemals|ohne|nunca|sin|ningún|ninguna|"
    r"non|mai|senza|nenhum|nem|niet|geen|nooit|zonder)\b|n't\b", re.IGNORECASE)
# Sentences about the source rather than the product ("This article explains…"): not answers.
_META_RE = re.compile(r"^\W*(this|the|in this|our) (article|guide|page|document|section)\b|^\W*(cet|cette|dans cet) "
                      r"(article|guide|page)\b|^\W*(dieser|diese|in diesem) (artikel|leitfaden|seite)\b|"
                      r"^\W*(este|esta|en este) (art[ií]culo|gu[ií]a|p[aá]gina)\b", re.IGNORECASE)
# Greetings, thanks, apologies and lead-ins ("Here are the steps:") state no fact: neither kept nor flagged.
_NEUTRAL_RE = re.compile(
    r"^\W*(hi|hello|hey|dear|thanks?|thank you|best regards|regards|kind regards|cheers|sorry|we apologi[sz]e|"
    r"i'?m sorry|i am sorry|we are sorry|je suis désolée?|nous sommes désolés|es tut (mir|uns) leid|"
    r"bonjour|bonsoir|merci|cordialement|désolé|hallo|guten tag|danke|viele grüße|hola|gracias|"
    r"saludos|lo siento|ciao|grazie|olá|obrigad[oa]|hoi|bedankt)\b", re.IGNORECASE)
_PLACEHOLDER_RE = re.compile(r"\[(?:EMAIL|PHONE|NAME|CARD|IBAN|IP)\]")
_SOURCE_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")


def negated(text: str) -> bool:
    """True when the sentence contains a negation cue (en, fr, de, es, it, pt, nl)."""
    return bool(_NEGATION_RE.search(text))


def best_sentence(claim: str, source: str) -> tuple[str, float]:
    """The source sentence (or list item) that lexically supports the claim best, with its support."""
    best, score = "", -1.0
    for sentence in _SOURCE_SENTENCE_RE.split(source):
        if len(sentence.strip()) < 3 or sentence.rstrip().rstrip(":").rstrip().endswith("?"):
            continue  # a question asserts nothing, also as a merged FAQ heading line ("Do you deliver?:")
        value = lexical_support(claim, sentence)
        if value > score:
            best, score = sentence, value
    return best, max(score, 0.0)


def lexical_support(claim: str, source: str) -> float:
    """Share of the claim's content words found in the source, times the share of its numbers found there."""
    words = [w for w in tokenize(claim) if not w.isdigit()]
    source_words = set(tokenize(source))
    recall = sum(w in source_words for w in words) / len(words) if words else 1.0
    numbers = set(_NUMBER_RE.findall(_LIST_PREFIX_RE.sub("", claim)))
    if numbers:
        source_numbers = set(_NUMBER_RE.findall(source))
        recall *= (sum(n in source_numbers for n in numbers) / len(numbers)) ** 2
    return recall


def _echoes(claim: str, asked: set[str]) -> bool:
    """True when nearly every content word of the claim comes from the question (a restatement)."""
    words = set(tokenize(claim))
    return len(words) >= 4 and len(words & asked) / len(words) >= 0.8


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _headers(chunk: RetrievedChunk) -> list[str]:
    title, section = chunk.title, str(chunk.metadata.get("section") or "")
    return [title, section, f"{title} {section}"] if section else [title]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class LLMClaimJudge:
    """A second opinion on a claim the checker found supported (assistant.judge = llm): the model is asked whether
    the source states the claim. Only a clear yes (in the languages answers are written in) counts; no, unclear or
    a failed call is False."""

    YES = ("yes", "oui", "ja", "sí", "si")

    def __init__(self, llm: Callable[[], LLMClient], prompts: PromptLibrary) -> None:
        self._llm = llm
        self._prompts = prompts

    def __call__(self, claim: str, source: str) -> bool:
        system, user = self._prompts.get("judge_claim").render(claim=claim, source=source[:3000])
        try:
            verdict = self._llm().complete(system, user, max_tokens=3).strip().lower()
        except LLMError:
            return False
        return verdict.startswith(self.YES)


class CitationChecker:
    """Scores each claim against its cited chunks and drops what is not supported."""

    def __init__(self, embeddings: Embeddings, min_support: float = 0.45, lexical_weight: float = 0.6,
                 max_claims: int = 5, judge: Callable[[str, str], bool] | None = None) -> None:
        self._embeddings = embeddings
        self._judge = judge
        self.min_support = min_support
        self.max_claims = max_claims
        self._lexical_weight = lexical_weight

    def check(self, answer: str, chunks: Sequence[RetrievedChunk], question: str = "") -> CheckResult:
        """Check an answer whose markers [n] refer to chunks[n-1]. Sentences that are questions, or that
        restate the customer's question, assert nothing from the sources: they are neither kept nor counted."""
        result = CheckResult()
        asked = set(tokenize(question))
        claims = split_claims(answer)
        if not claims or not chunks:
            result.removed = claims
            return result
        # Stored chunk vectors come with the retrieval; only the claims (and chunks without one) are embedded.
        pending = [chunk.text for chunk in chunks if chunk.vector is None]
        try:
            vectors = self._embeddings.embed_documents([c.text for c in claims] + pending)
        except Exception:  # lexical support alone still decides
            vectors = []
        claim_vectors = vectors[: len(claims)]
        extra = iter(vectors[len(claims):])
        chunk_vectors = [chunk.vector if chunk.vector is not None else next(extra, []) for chunk in chunks] if vectors else []
        allowed_urls = {link for chunk in chunks for link in links(chunk.text)}
        headers = {_norm(h) for chunk in chunks for h in _headers(chunk)}
        for i, claim in enumerate(claims):
            if _norm(claim.text) in headers or _META_RE.search(claim.text):
                continue  # an echoed title, or a sentence about the article itself: not a claim
            if _NEUTRAL_RE.search(claim.text) or claim.text.rstrip().endswith((":", "?")):
                continue  # a greeting, a lead-in or a question: no fact to check
            if asked and _echoes(claim.text, asked):
                continue  # the customer's own words repeated back
            if _PLACEHOLDER_RE.search(claim.text):
                result.removed.append(claim)  # parroted from a redacted ticket: useless and confusing to a customer
                continue
            if len(result.kept) >= self.max_claims:
                result.removed.append(claim)
                continue
            for url in LINK_RE.findall(claim.text):
                if url.rstrip(".,;") not in allowed_urls:  # never pass on a link the sources do not contain
                    claim.text = claim.text.replace(url, "").strip()
                    result.removed_urls.append(url)
            cited = [n for n in claim.cited if 1 <= n <= len(chunks)]
            # The closest sentence in any source: if it says the opposite, the claim is contradicted.
            closest, closest_support = max((best_sentence(claim.text, chunk.body) for chunk in chunks),
                                           key=lambda pair: pair[1])
            contradicted = (bool(closest) and closest_support >= 0.5
                            and negated(claim.text) != negated(closest))
            vector = claim_vectors[i] if vectors else None
            scores = {n: self._support(claim.text, vector, chunk, chunk_vectors[n - 1] if vectors else None,
                                       contradicted, closest_support) for n, chunk in enumerate(chunks, 1)}
            best, best_n = max(((scores[n], n) for n in cited), default=(-1.0, None))
            if best < self.min_support:
                # Uncited, or cited to the wrong number: attribute it to the source that supports it best (the
                # citation shown is then that source, never the wrong one).
                best, best_n = max((value, n) for n, value in scores.items())
            claim.support, claim.supported_by = max(best, 0.0), best_n
            supported = claim.support >= self.min_support
            if supported and self._judge is not None and best_n is not None:
                supported = self._judge(claim.text, chunks[best_n - 1].body)
            (result.kept if supported else result.removed).append(claim)
        return result

    def _support(self, claim: str, vector: Sequence[float] | None, chunk: RetrievedChunk,
                 chunk_vector: Sequence[float] | None, contradicted: bool, closest_support: float) -> float:
        """Support of one claim by one chunk: lexical (best sentence or whole chunk) blended with cosine,
        cut when the source says the opposite."""
        sentence, sentence_support = best_sentence(claim, chunk.body)
        lexical = max(sentence_support, lexical_support(claim, chunk.body) * 0.9)
        value = self._weight(lexical, _cosine(vector, chunk_vector) if vector and chunk_vector else None)
        if contradicted and sentence_support <= closest_support:
            value *= 0.3
        elif sentence and negated(claim) != negated(sentence):
            value *= 0.3  # the closest sentence of the source says the opposite
        return value

    def _weight(self, lexical: float, cosine: float | None) -> float:
        if cosine is None:
            return lexical
        semantic = min(1.0, max(0.0, (cosine - 0.2) / 0.55))
        return self._lexical_weight * lexical + (1 - self._lexical_weight) * semantic
