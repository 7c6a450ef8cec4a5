"""Language detection: function-word votes for short texts, langdetect (seeded) for the rest."""

from __future__ import annotations

import functools
import gzip
import json
import re
import threading
from importlib import resources

from deskpilot.text.words import fold

_lock = threading.Lock()
_ready = False

# Very frequent function words: a short question has few words, but almost always some of these.
_FUNCTION_WORDS = {
    "en": "the a an is are was do does did how what why when where which who can could i my you your it to of in on "
          "for with and or not this that have has be will would should there my me we our they them their he "
          "she his her us if any at by from about",
    "fr": "le la les un une des est sont je j tu il elle nous vous mon ma mes votre vos comment pourquoi quand où "
          "quel quelle quels est-ce que qu qui ne pas du de au aux avec pour dans sur et ou ce cette ces c",
    "de": "der die das ein eine ist sind ich du er sie wir ihr mein meine ihr ihre wie warum wann wo welche wer "
          "nicht kein keine mit für in auf und oder zu den dem des kann können habe hat",
    "es": "el la los las un una es son yo tú él ella nosotros mi mis su sus cómo como por qué cuándo dónde cuál "
          "quién no con para en sobre y o de del al puedo puede tengo",
    "it": "il lo la gli le un una è sono io tu lui lei noi mio mia suo sua come perché quando dove quale chi non "
          "con per in su e o di del della posso può ho",
    "pt": "o a os as um uma é são eu tu ele ela nós meu minha seu sua como porque quando onde qual quem não com "
          "para em sobre e ou de do da posso pode tenho",
    "nl": "de het een is zijn ik jij je hij zij wij mijn jouw hoe waarom wanneer waar welke wie niet geen met voor "
          "in op en of van kan kunnen heb heeft",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}
_TOKEN_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def _vote(text: str) -> tuple[str, int, int]:
    tokens = [t.lower() for t in _TOKEN_RE.findall(text)]
    scores = sorted(((sum(t in words for t in tokens), lang) for lang, words in _WORDS.items()), reverse=True)
    (best, lang), (second, _) = scores[0], scores[1]
    return lang, best, second


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of the text's language, or `default` when it cannot be told with confidence."""
    return _detect(" ".join(text.split())[:2000], default)


@functools.lru_cache(maxsize=8192)
def _detect(sample: str, default: str) -> str:
    """detect_language of a normalised sample (deterministic, so remembered: questions repeat)."""
    if sum(ch.isalpha() for ch in sample) < 8:
        return default
    lang, best, second = _vote(sample)
    words = len(_TOKEN_RE.findall(sample))
    if words <= 40 and best >= 2 and best >= 2 * second:
        return lang
    if words <= 3 and best == 0:
        return default  # "reset link": too little to tell, and statistics guess wildly
    global _ready
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    with _lock:
        if not _ready:
            DetectorFactory.seed = 0
            _ready = True
        try:
            candidates = detect_langs(sample)
        except LangDetectException:
            return default
    top = candidates[0]
    code = str(top.lang).split("-")[0]
    if top.prob >= 0.8:
        return code
    return lang if best >= 2 and best > second else default


# Words that only English uses among the languages above: one in a French answer is an untranslated fragment.
# (Words that are also function words elsewhere, such as "a", "in", "on", "die", are left out.)
_ENGLISH_ONLY = frozenset("the is are was does did how what why when where which who could my your it to of for with "
                          "and not this that have has be will would should there we our you can from these those "
                          "than then into been being its their them they".split())
_SCRIPTS = {"latin": re.compile(r"[A-Za-zÀ-ɏ]"), "cyrillic": re.compile(r"[Ѐ-ӿ]"), "greek": re.compile(r"[Ͱ-Ͽ]"),
            "cjk": re.compile(r"[぀-ヿ㐀-䶿一-鿿가-힯]"), "arabic": re.compile(r"[؀-ۿ]"),
            "hebrew": re.compile(r"[֐-׿]"), "devanagari": re.compile(r"[ऀ-ॿ]")}
_SCRIPT_OF = {"ru": "cyrillic", "uk": "cyrillic", "ja": "cjk", "zh": "cjk", "ko": "cjk", "ar": "arabic", "he": "hebrew",
              "hi": "devanagari"}
# Quotes, bold, links and addresses (UI labels and names stay in the KB's words). A single quote opens and closes
# only outside a word: French and Italian elisions ("l'espace ... l'account") are apostrophes, not quotes.
_QUOTED_RE = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"\n]*\"|(?<!\w)'[^'\n]*'(?!\w)|\*\*[^*]*\*\*|https?://\S+|\S+@\S+")


def script_of(language: str) -> str:
    """The writing system a language is written in (Latin for the languages not listed)."""
    return _SCRIPT_OF.get(language, "latin")


def foreign_fragments(text: str, language: str) -> list[str]:
    """What in text is not in `language`: letters of another script, and (for languages other than English)
    English-only function words outside quotes, links and addresses (UI labels may stay in the KB's words).

    Returns:
        The offending words, empty when the text reads as one language.
    """
    expected = script_of(language)
    plain = _QUOTED_RE.sub(" ", text)
    found: list[str] = []
    for word in _TOKEN_RE.findall(plain):
        scripts = {name for name, pattern in _SCRIPTS.items() if pattern.search(word)}
        if scripts - {expected} or (language != "en" and expected == "latin" and word.lower() in _ENGLISH_ONLY):
            found.append(word)
    return found


# Word frequencies of a language (pyspellchecker's lists, shipped in its wheel: en, fr, de, es, it, pt, nl and a few
# more): an English word the target language's list lacks, copied as it is from the English source into a
# translation, is a word the model did not translate ("la renewal annuelle", "Sync est bidirectionnel").
ENGLISH_WORD = 500  # times an English word occurs in the English list to count as a common English word
ENGLISH_RATIO = 50  # ...and how much more often (per word of each list) English uses it than the target language
# English words the other languages write too (their lists lack them): never counted as untranslated.
LOANWORDS = frozenset("email emails e-mail web cookie cookies spam wifi smartphone smartphones chat bug bugs newsletter "
                      "webinar streaming online offline export exports import imports mail mails".split())


@functools.lru_cache(maxsize=8)
def _frequencies(language: str) -> tuple[dict[str, int], int]:
    """A language's word counts (lower-cased words; German nouns too) and their total."""
    path = resources.files("spellchecker") / "resources" / f"{language}.json.gz"
    if not path.is_file():
        return {}, 0
    with path.open("rb") as handle:
        counts: dict[str, int] = {}
        for word, count in json.loads(gzip.decompress(handle.read())).items():
            counts[word.lower()] = counts.get(word.lower(), 0) + int(count)
    return counts, sum(counts.values())


_LIST_MARK_RE = re.compile(r"\s*(?:[-*•]|\d+[.)])?\s*")


def _starts_sentence(text: str, position: int) -> bool:
    """Whether the word at position opens a sentence, a line or a list item (a capital there says nothing)."""
    line = text[text.rfind("\n", 0, position) + 1:position]
    before = line.rstrip()
    return bool(_LIST_MARK_RE.fullmatch(line)) or before[-1:] in (".", "!", "?", ":", ";")


def untranslated_words(translated: str, source: str, language: str) -> list[str]:
    """Common English words of `source` left as they are in its translation into `language` (a Latin-script
    language with a word list): not names or UI labels (capitalised inside a sentence), acronyms, quotes or links.

    Returns:
        The words, lower-cased; empty when every word was translated or the language has no word list.
    """
    if language == "en" or script_of(language) != "latin":
        return []
    target, target_total = _frequencies(language)
    if not target:
        return []
    english, english_total = _frequencies("en")
    copied = {word.lower() for word in _TOKEN_RE.findall(source)}
    plain = _QUOTED_RE.sub(" ", translated)
    found: list[str] = []
    for match in _TOKEN_RE.finditer(plain):
        word = match.group(0)
        lower = word.lower()
        if len(lower) < 3 or word.isupper() or (word[0].isupper() and not _starts_sentence(plain, match.start())):
            continue
        if lower not in copied:  # an English word given an accent ("récovery") is still the English word
            bare = fold(lower)
            if bare == lower or bare not in copied or target.get(lower):
                continue
            lower = bare
        uses = english.get(lower, 0)
        if uses >= ENGLISH_WORD and lower not in LOANWORDS and \
                uses / english_total > ENGLISH_RATIO * target.get(lower, 0) / target_total:
            found.append(lower)
    return found
