"""Language detection: function-word votes for short texts, langdetect (seeded) for the rest."""

from __future__ import annotations

import functools
import re
import threading

_lock = threading.Lock()
_ready = False

# Very frequent function words: a short question has few words, but almost always some of these.
_FUNCTION_WORDS = {
    "en": "the a an is are was do does did how what why when where which who can could i my you your it to of in on "
          "for with and or not this that have has be will would should there my me we our",
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
_QUOTED_RE = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"|'[^']*'|\*\*[^*]*\*\*|https?://\S+|\S+@\S+")


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
