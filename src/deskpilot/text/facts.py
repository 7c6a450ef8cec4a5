"""Disagreements between two passages that say nearly the same thing, found without a model.

- **number**: the same quantity with different values. A number (decimals, thousands separators, currency
  symbols or codes before or after, %, ranges like 3-5) is keyed by its unit: the currency, %, letters glued
  to it (10MB), or the nearest content words after it (else before it). Two numbers are the same quantity when
  their keys share a word and the content words around them (same sentence, unit words left out) overlap by
  a Jaccard index of at least 0.4, sharing two words or all of them (or, with no such words, two unit words
  match), with the same rate ("per user", "/month": required for prices, else only when both state one). A
  value inside the other side's range agrees with it. In a line of four or more values (a flattened table
  row), a value must also follow the same word (its row label) as its counterpart. Dates (ISO, numeric,
  "31 January 2026" in seven languages, 2026年1月31日), clock times and phone numbers are compared the same
  way; a date after "updated" or "published" and an example value ("for example 600") are ignored.
- **version**: "version 2.3", "v4", "1.2.3", "iOS 16", "Android 12 or later": keyed by the name next to it.
- **steps**: numbered ("1. ...", "Step 2: ...") or bulleted lists sharing steps in a different order (at least
  2 shared numbered steps, 3 bulleted ones), or numbered lists that match at >= 2 step numbers but do
  something else at another number, where neither step appears anywhere in the other list.

A value counts as disagreeing only when the other passage states no equal value for a matching quantity, so
texts that mention the same values in another order, or extra unrelated numbers, give nothing. Two values are
not the same quantity when each side has a capitalised word near it that the other lacks ("Team: 10 guests"
vs "Business: 50 guests"); in German, where every noun is capitalised, this makes matching stricter. Words are
compared by a crude stem (lower case, accents removed, a plural ending cut, first five letters); Chinese
and Japanese characters are words of their own. Function words of en, fr, de, es, it, pt and nl are ignored.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from deskpilot.text.links import LINK_RE
from deskpilot.text.words import fold

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
NUMBER_MATCH = 0.4  # least Jaccard index of the contexts of the same quantity (also dates: 0.5)
VERSION_MATCH = 0.25  # the same for versions whose names match
STEP_MATCH = 0.6  # least Jaccard index of two steps' words for "the same step"
BEFORE, AFTER = 6, 6  # context window in words
SNIPPET = 60  # characters either side of a value in the context snippets
DENSE = 4  # values in one sentence that make it a table row: a value there must follow the same word

_STOP = frozenset("""
a an the and or but if of to in on at by for from with without into onto about as is are was were be been being
it its this that these those there here you your we our us they their them he she his her i me my can could will
would shall should may might must do does did not no nor so than then too very just also only any all each every
some such more most other same own both either per via up out over under again once when where which who what
how within after before during until since between le la les un une des du de et ou mais si au aux en dans sur
par pour avec sans ce cet cette ces il elle ils elles on nous vous je tu son sa ses leur leurs votre vos notre
nos est sont être été qui que quoi dont où ne pas moins très sous après avant pendant jusqu depuis entre der die
das den dem des ein eine einen einem einer und oder aber wenn von zu im an am auf für mit ohne ist sind war sein
es sie er wir ihr ich du nicht kein keine auch nur noch bei nach aus über unter vor bis als wie dass um innerhalb
während seit zwischen el los las unos unas y o pero del al por para con sin son ser está están se su sus lo nos
mi más muy como dentro después antes durante hasta desde il lo gli una uno ed di da dei della delle nel nella
tra fra che non è sono o os as um uma ou do da dos das no na nas em com sem são não mais het een van te op aan
voor met zonder zijn dat niet ook naar uit tot の に は を が で と も や へ から まで より 的 了 在 是 和 或 及 与 也 都 就
""".split())
_CURRENCY = r"(?:US\$|R\$|A\$|C\$|[$€£¥₹₩₽]|USD|EUR|GBP|CHF|JPY|CAD|AUD|NZD|INR|BRL|MXN|SEK|NOK|DKK|PLN|CZK|ZAR|CNY|SGD)"
_MONTHS: dict[str, int] = {}
for _names in ("january february march april may june july august september october november december",
               "jan feb mar apr may jun jul aug sep oct nov dec",
               "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
               "januar februar marz april mai juni juli august september oktober november dezember",
               "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
               "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
               "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
               "januari februari maart april mei juni juli augustus september oktober november december"):
    _MONTHS.update({name: n for n, name in enumerate(_names.split(), 1)})
_MONTHS["sept"] = 9
_STAMP = frozenset({"updat", "modif", "revis", "publi", "aktua", "geand", "actua", "atual", "aggio", "bijge"})
_EXAMPLE = frozenset({"examp", "exemp", "beisp", "ejemp", "esemp", "voorb"})
_EXAMPLE_RE = re.compile(r"(?:e\.\s?g\.|z\.\s?B\.|p\.\s?ex\.|i\.\s?e\.)[^\n.;]{0,30}$", re.I)

_SENTENCE_END_RE = re.compile(r"\n|[.!?;。！？](?=\s|$)")
_WORD_RE = re.compile(rf"[{CJK}]|[^\W\d_{CJK}]+")
_DATE_RES = (
    ("ymd", re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
                       r"(?![\d.]?\d)")),
    ("ymd", re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?")),
    ("dmy?", re.compile(r"(?<![\d.])(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?![\d.]?\d)")),
    ("d_month_y", re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|er|º|\.)?\s+(?:de\s+)?([^\W\d_]{3,})\.?,?\s+"
                             r"(?:de\s+)?(\d{4})(?!\d)")),
    ("month_d_y", re.compile(r"(?<!\w)([^\W\d_]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)")),
)
_VERSION_RES = (
    re.compile(r"(?<![\w.])(?:(?:version|versión|versão|versao|versione|versie|wersja|ver\.)\s*|v\.?)(\d+(?:\.\d+){0,3})"
               r"(?![\w.]?\d)", re.I),
    re.compile(r"(?<![\w.])(\d+\.\d+\.\d+(?:\.\d+)?)(?![\w.]?\d)"),
    re.compile(r"(?<![\w.])([^\W\d_][\w+#]*)\s+(\d+(?:\.\d+){0,2})\s*(?=\+|or later|or newer|or higher|or above|and later|"
               r"and above|and newer|ou plus récent|ou ultérieur|ou supérieur|oder neuer|oder höher|und höher|o posterior|"
               r"o superior|o más reciente|ou posterior|o successivo|o superiore|of hoger|of nieuwer|of later)", re.I),
    re.compile(r"(?<![\w.])([a-z]+[A-Z][A-Za-z]*)\s?(\d+(?:\.\d+){0,2})(?![\w.]?\d)"),
)
_TIME_RES = (re.compile(r"(?<![\d:.])(\d{1,2})[:h](\d{2})(?:\s*([apAP])\.?[mM]\.?)?(?![\d:])"),
             re.compile(r"(?<![\d:.])(\d{1,2})\s*([apAP])\.?[mM]\.?(?!\w)"))
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){2,5}(?!\w)")
_NUMBER_RE = re.compile(
    rf"(?:(?P<pre>{_CURRENCY})\s?)?(?<![.,/#])(?<![^\W{CJK}])"
    r"(?P<int>\d{1,3}(?:(?P<sep>[,.\u00a0\u202f\u2009' ])\d{3})(?:(?P=sep)\d{3})*|\d+)(?:[.,](?P<frac>\d+))?"
    rf"(?:\s?(?P<post>%|‰|{_CURRENCY}(?![^\W\d_])))?(?P<glued>[^\W\d_{CJK}]{{1,4}})?(?![^\W{CJK}])")
_RANGE_GAP_RE = re.compile(r"\s*(?:-|–|—|to|à|a|bis|al|até|tot)\s*$")
_NUMBERED_RE = re.compile(r"^\s*(?:[-*•]\s+)?(\d{1,2})[.)]\s+(\S.*)$")
_STEP_WORD_RE = re.compile(r"^\s*(?:step|étape|etape|schritt|paso|passo|stap|krok|etapa|fase)\s*(\d{1,2})\s*[:.)\-–—]\s*(\S.*)$",
                           re.I)
_BULLET_RE = re.compile(r"^\s*[-*•·‣▪]\s+(\S.*)$")
_RATE_RE = re.compile(r"^[^\d.!?;:\n]{0,30}?(?:\b(?:per|pro|par|por|je)\b|/)\s*([^\W\d_]+)", re.I)


@dataclass(frozen=True)
class Disagreement:
    """One thing two passages state differently: `kind` number | version | steps, each side's value and a short
    snippet of the text around it."""

    kind: str
    value_a: str
    value_b: str
    context_a: str
    context_b: str

    def as_json(self) -> dict[str, str]:
        """`{"kind", "value_a", "value_b", "context_a", "context_b"}`."""
        return {"kind": self.kind, "value_a": self.value_a, "value_b": self.value_b, "context_a": self.context_a,
                "context_b": self.context_b}


@dataclass(frozen=True)
class Mention:
    """A value found in a passage: `kind` number | date | version, `value` comparable, `key` the stems of its
    unit or name, `context` the content stems around it (same sentence)."""

    kind: str
    value: Any
    shown: str
    key: frozenset[str]
    context: frozenset[str]
    names: frozenset[str]  # the capitalised words of the context
    rate: str  # the stem after "per" or "/" ("$12 per user"), or ""
    label: str  # in a line of many values (a flattened table row): the content word just before, else ""
    snippet: str


@dataclass(frozen=True)
class Step:
    """A list item: its number (or position in a bullet list), its text and its stems."""

    number: int
    text: str
    stems: frozenset[str]


@dataclass(frozen=True)
class Facts:
    """What a passage states: values and lists (extracted once per passage)."""

    mentions: tuple[Mention, ...]
    lists: tuple[tuple[bool, tuple[Step, ...]], ...]  # (numbered, steps)


def stem(word: str) -> str:
    """Lower case, accents removed, one plural or inflection ending cut, first five letters."""
    text = fold(word)
    if len(text) > 3 and text.endswith("s"):
        text = text[:-1]
    if len(text) > 3 and text.endswith("en"):
        text = text[:-2]
    elif len(text) > 3 and text.endswith("e"):
        text = text[:-1]
    return text[:5]


def _content(word: str) -> bool:
    return (len(word) > 1 or bool(re.match(f"[{CJK}]", word))) and word.lower() not in _STOP


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _snippet(text: str, start: int, end: int) -> str:
    left = max(text.rfind("\n", 0, start) + 1, start - SNIPPET)
    right = text.find("\n", end)
    right = min(right if right >= 0 else len(text), end + SNIPPET)
    return " ".join(text[left:right].split())


def _number(match: re.Match[str]) -> float:
    digits = re.sub(r"\D", "", match.group("int"))
    return float(f"{digits}.{match.group('frac')}" if match.group("frac") else digits)


def _date_value(form: str, groups: tuple[str, ...]) -> frozenset[tuple[int, int, int]] | None:
    if form == "ymd":
        candidates = [(int(groups[0]), int(groups[1]), int(groups[2]))]
    elif form == "dmy?":
        a, b, y = int(groups[0]), int(groups[2]), int(groups[3])
        candidates = [(y, b, a), (y, a, b)]
    else:
        day, name, year = (groups[0], groups[1], groups[2]) if form == "d_month_y" else (groups[1], groups[0], groups[2])
        month = _MONTHS.get(fold(name))
        if month is None:
            return None
        candidates = [(int(year), month, int(day))]
    valid = frozenset(c for c in candidates if 1 <= c[1] <= 12 and 1 <= c[2] <= 31)
    return valid or None


def _raw_mentions(text: str) -> Iterator[tuple[int, int, str, Any, str | None, str]]:
    """(start, end, kind, value, fixed key or None, shown) for every value, most specific patterns first."""
    work = LINK_RE.sub(lambda m: " " * len(m.group(0)), text)
    found: list[tuple[int, int, str, Any, str | None, str]] = []

    def take(start: int, end: int, kind: str, value: Any, key: str | None) -> None:
        nonlocal work
        found.append((start, end, kind, value, key, " ".join(text[start:end].split())))
        work = _blank(work, start, end)

    for line in re.finditer(r"[^\n]+", work):  # list markers are not quantities
        marker = _NUMBERED_RE.match(line.group(0)) or _STEP_WORD_RE.match(line.group(0))
        if marker:
            work = _blank(work, line.start() + marker.start(1), line.start() + marker.end(1))
    for form, pattern in _DATE_RES:
        for m in pattern.finditer(work):
            value = _date_value(form, m.groups())
            if value is not None:
                take(m.start(), m.end(), "date", value, "date")
    for index, pattern in enumerate(_VERSION_RES):
        for m in pattern.finditer(work):
            raw = m.group(m.lastindex or 1)
            parts = [int(p) for p in raw.split(".")]
            if index == 1 and len(parts) == 4 and all(p <= 255 for p in parts):
                work = _blank(work, m.start(), m.end())  # an IP address
                continue
            while len(parts) > 1 and parts[-1] == 0:
                parts.pop()
            name = stem(m.group(1)) if index >= 2 else None
            take(m.start(), m.end(), "version", tuple(parts), name)
    for clock, pattern in enumerate(_TIME_RES):
        for m in pattern.finditer(work):
            hour, minute, half = int(m.group(1)), int(m.group(2)) if clock == 0 else 0, m.group(3 - clock) or ""
            if half:
                hour = hour % 12 + (12 if half.lower() == "p" else 0)
            if hour < 24 and minute < 60:
                take(m.start(), m.end(), "number", ("time", hour * 60 + minute), "⏲")
    for m in _PHONE_RE.finditer(work):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 8 and re.search(r"[+(.-]|^0", m.group(0)):
            take(m.start(), m.end(), "number", ("phone", digits), "☎")
    for m in _NUMBER_RE.finditer(work):
        currency = (m.group("pre") or m.group("post") or "").replace("US$", "$")
        key = "¤" + currency if currency and currency not in "%‰" else currency or (
            stem(m.group("glued")) if m.group("glued") else None)
        take(m.start(), m.end(), "number", _number(m), key)
    yield from sorted(found)


def extract(text: str) -> Facts:
    """The values and lists a passage states."""
    work = LINK_RE.sub(lambda m: " " * len(m.group(0)), text)
    raw = list(_raw_mentions(text))
    for start, end, *_ in raw:
        work = _blank(work, start, end)
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(text)]
    # one stream of words and values in text order: (start, end, sentence, content word stem or "", index of value)
    stream = [(w.start(), w.end(), bisect.bisect_right(ends, w.start()), stem(w.group(0)) if _content(w.group(0)) else "",
               -1, w.group(0)[0].isupper()) for w in _WORD_RE.finditer(work)]
    stream += [(r[0], r[1], bisect.bisect_right(ends, r[0]), "", i, False) for i, r in enumerate(raw)]
    stream.sort()
    merged: list[list[Any]] = []
    for position, (start, end, kind, value, key, shown) in enumerate(raw):
        previous = merged[-1] if merged else None
        if (previous and kind == previous[2] == "number" and isinstance(value, float) and isinstance(previous[3], float)
                and _RANGE_GAP_RE.match(text[previous[1]:start]) and (key is None or key == previous[4] or
                                                                       previous[4] is None)):
            previous[1], previous[3], previous[5] = end, (previous[3], value), " ".join(text[previous[0]:end].split())
            previous[4] = key or previous[4]
            previous[6].append(position)
            continue
        merged.append([start, end, kind, value, key, shown, [position]])
    places = {item[4]: n for n, item in enumerate(stream) if item[4] >= 0}
    per_sentence = Counter(stream[places[m[6][0]]][2] for m in merged)
    mentions = []
    for start, end, kind, value, key, shown, members in merged:
        first, last = places[members[0]], places[members[-1]]
        sentence = stream[first][2]
        near = [item for item in stream[max(0, first - BEFORE * 2):first] if item[2] == sentence and item[4] < 0][-BEFORE:]
        near += [item for item in stream[last + 1:last + 1 + AFTER * 2] if item[2] == sentence and item[4] < 0][:AFTER]
        before = [item[3] for item in near if item[0] < start]
        label = "".join(_next_words(reversed(stream[max(0, first - 3):first]), sentence)[:1]) or "-"
        if key is not None:
            keys = frozenset({key})
        else:  # a unit follows its number; a name precedes its version
            following = frozenset(_next_words(stream[last + 1:last + 4], sentence))
            preceding = frozenset(_next_words(reversed(stream[max(0, first - 3):first]), sentence))
            keys = (preceding or following) if kind == "version" else (following or preceding)
            shown_end = end
            for word_start, word_end, _, word, index, _ in stream[last + 1:last + 3] if kind == "number" else ():
                if index >= 0 or word not in keys or word_start - shown_end > 1:
                    break
                shown_end = word_end
            shown = " ".join(text[start:shown_end].split())  # "30 days", not "30"
        context = frozenset(item[3] for item in near if item[3])
        names = frozenset(item[3] for item in near if item[3] and item[5])
        if (kind == "date" and context & _STAMP) or _EXAMPLE.intersection(before[-4:]) or _EXAMPLE_RE.search(
                text[max(0, start - 40):start]):
            continue  # a date stamp, or an example rather than a fact
        rate = _RATE_RE.match(text[end:end + 60])
        mentions.append(Mention(kind, value, shown, keys, context, names, stem(rate.group(1)) if rate else "",
                                label if per_sentence[sentence] >= DENSE else "", _snippet(text, start, end)))
    return Facts(tuple(mentions), tuple(_lists(text)))


def _next_words(items: Iterable[tuple[int, int, int, str, int, bool]], sentence: int) -> list[str]:
    """Up to two content words from items, stopping at a value or another sentence."""
    words: list[str] = []
    for _, _, item_sentence, word, index, _ in items:
        if item_sentence != sentence or index >= 0:
            break
        if word:
            words.append(word)
    return words[:2]


def _lists(text: str) -> Iterator[tuple[bool, tuple[Step, ...]]]:
    numbered: list[Step] = []
    bullets: list[Step] = []
    for line in text.splitlines():
        match = _NUMBERED_RE.match(line) or _STEP_WORD_RE.match(line)
        bullet = None if match else _BULLET_RE.match(line)
        if match:
            number, body = int(match.group(1)), match.group(2)
            if numbered and number != numbered[-1].number + 1:
                yield True, tuple(numbered)
                numbered = []
            numbered.append(Step(number, _plain(body), _stems(body)))
        if bullet:
            bullets.append(Step(len(bullets) + 1, _plain(bullet.group(1)), _stems(bullet.group(1))))
        elif bullets:
            yield False, tuple(bullets)
            bullets = []
    for numbered_list, items in ((True, numbered), (False, bullets)):
        if items:
            yield numbered_list, tuple(items)


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[*_`]+", "", text).split())[:120]


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _WORD_RE.findall(text) if _content(w))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _same(a: Mention, b: Mention) -> bool:
    if a.kind == "date":
        return bool(a.value & b.value)
    if isinstance(a.value, float) and isinstance(b.value, float):
        return abs(a.value - b.value) <= 1e-9 * max(1.0, abs(a.value))
    for one, other in ((a.value, b.value), (b.value, a.value)):  # a value inside a range ("90" in "7 to 365")
        if isinstance(one, float) and isinstance(other, tuple) and len(other) == 2 and isinstance(other[0], float):
            return bool(min(other) <= one <= max(other))
    return bool(a.value == b.value)


def _match(a: Mention, b: Mention) -> float | None:
    """How well two values' contexts match when they state the same quantity, else None. The contexts (unit and
    name words left out) must share two words, or be the same; with no context at all, two unit words must match."""
    named = a.key & b.key
    if a.kind != b.kind or (not named and (a.key or b.key)) or (a.names - b.context and b.names - a.context):
        return None  # another unit, or each side names something the other does not (Team vs Business)
    if a.rate != b.rate and ((a.rate and b.rate) or any(k.startswith("¤") for k in named)):
        return None  # per user vs per month; a price per user vs a total
    if (a.label or b.label) and (a.label != b.label or a.label == "-"):
        return None  # in a table row, the row label must match too
    keys = a.key | b.key
    context_a, context_b = a.context - keys, b.context - keys
    if not context_a and not context_b:
        return 1.0 if len(named) >= 2 else None
    shared = context_a & context_b
    score = _jaccard(context_a, context_b)
    least = {"date": 0.5, "version": VERSION_MATCH if named else NUMBER_MATCH}.get(a.kind, NUMBER_MATCH)
    return score if (len(shared) >= 2 or (shared and context_a == context_b)) and score >= least else None


def compare(a: Facts, b: Facts) -> list[Disagreement]:
    """Disagreements between two extracted passages (numbers and versions, then steps)."""
    pairs = []
    for i, x in enumerate(a.mentions):
        for j, y in enumerate(b.mentions):
            score = _match(x, y)
            if score is not None:
                pairs.append((score, i, j))
    agree_a = {i for _, i, j in pairs if _same(a.mentions[i], b.mentions[j])}
    agree_b = {j for _, i, j in pairs if _same(a.mentions[i], b.mentions[j])}
    found: dict[tuple[str, str, str], Disagreement] = {}
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if i in agree_a or j in agree_b or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        x, y = a.mentions[i], b.mentions[j]
        kind = "version" if x.kind == "version" else "number"
        found.setdefault((kind, x.shown, y.shown), Disagreement(kind, x.shown, y.shown, x.snippet, y.snippet))
    out = list(found.values())
    for numbered_a, steps_a in a.lists:
        for numbered_b, steps_b in b.lists:
            out += _step_disagreements(steps_a, steps_b, numbered_a and numbered_b)
    return out


def _step_disagreements(a: tuple[Step, ...], b: tuple[Step, ...], numbered: bool) -> list[Disagreement]:
    scores = sorted(((_jaccard(x.stems, y.stems) if x.stems or y.stems else float(x.text.lower() == y.text.lower()), i, j)
                     for i, x in enumerate(a) for j, y in enumerate(b)), key=lambda p: (-p[0], p[1], p[2]))
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for score, i, j in scores:
        if score >= STEP_MATCH and i not in matched and j not in taken:
            matched[i] = j
            taken.add(j)
    if len(matched) < (2 if numbered else 3) or len(matched) * 2 < min(len(a), len(b)):
        return []
    shown_a, shown_b = _list_text(a), _list_text(b)
    order = sorted(matched.items())
    for (i1, j1), (i2, j2) in itertools.pairwise(order):
        if j2 < j1:
            first, second = a[i1].text, a[i2].text
            return [Disagreement("steps", f"'{first}' before '{second}'", f"'{b[j2].text}' before '{b[j1].text}'",
                                 shown_a, shown_b)]
    if not numbered or sum(1 for i, j in matched.items() if a[i].number == b[j].number) < 2:
        return []
    by_number = {y.number: j for j, y in enumerate(b)}
    return [Disagreement("steps", f"step {x.number}: {x.text}", f"step {x.number}: {b[by_number[x.number]].text}",
                         shown_a, shown_b)
            for i, x in enumerate(a) if i not in matched and x.number in by_number and by_number[x.number] not in taken]


def _list_text(steps: tuple[Step, ...]) -> str:
    text = "; ".join(f"{s.number}. {s.text}" for s in steps)
    return text if len(text) <= 2 * SNIPPET + 40 else text[:2 * SNIPPET + 37] + "..."


def disagreements(text_a: str, text_b: str) -> list[Disagreement]:
    """What two passages state differently: numbers, versions and steps (see the module docstring).

    Args:
        text_a: one passage.
        text_b: the other passage (usually a highly similar chunk of another source).

    Returns:
        The disagreements, numbers and versions first (strongest context match first), then steps.
    """
    return compare(extract(text_a), extract(text_b))
