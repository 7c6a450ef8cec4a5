"""Personal-data redaction: typed placeholders for e-mails, IBANs, card numbers, IPs, phones and names.

Card numbers must pass the Luhn check and IBANs the ISO 13616 mod-97 check, so order numbers,
versions and amounts are left alone. Names come from the ticket's own fields (requester, agents) and,
when asked (`detect_names=True`), from the text itself: people who introduce themselves ("I'm Jane Doe",
"je m'appelle Marie", "ich heiße Hans Müller"), sign a message ("Thanks,\nJane") or are greeted ("Hi Maria,"),
see `introduced_names`.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
CARD_RE = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
IPV4_RE = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
PHONE_RE = re.compile(r"(?<![\w.#/-])(?:\+|00)?\(?\d[\d\s().-]{6,}\d(?![\w])")
DATE_RE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """True when the string (spaces allowed) is a well-formed IBAN with a valid mod-97 checksum."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


@dataclass
class Redaction:
    """Redacted text and how many of each kind were replaced."""

    text: str
    counts: Counter[str] = field(default_factory=Counter)


class Redactor:
    """Replaces personal data with typed placeholders such as ``[EMAIL]``."""

    def __init__(self, names: Iterable[str] = (), detect_names: bool = False) -> None:
        """A redactor for known names, optionally also for the names each text gives.

        Args:
            names: known names (requester, agents); each is replaced with its parts (3+ letters).
            detect_names: also replace the names a text introduces, signs with or greets (`introduced_names`),
                everywhere they occur in that text. Off by default (ingestion uses known names only).
        """
        self._names = [str(n) for n in names]
        self._detect = detect_names
        self._name_re = _names_pattern(self._names)

    def redact(self, text: str) -> Redaction:
        """Redact `text`; returns the new text and counts per placeholder type."""
        counts: Counter[str] = Counter()
        name_re = self._name_re
        if self._detect:
            detected = introduced_names(text)
            if detected:
                name_re = _names_pattern([*self._names, *detected])

        def sub(pattern: re.Pattern[str], label: str, keep: object = None) -> None:
            nonlocal text

            def replace(match: re.Match[str]) -> str:
                if keep is not None and not keep(match.group(0)):  # type: ignore[operator]
                    return match.group(0)
                counts[label] += 1
                return f"[{label}]"

            text = pattern.sub(replace, text)

        sub(EMAIL_RE, "EMAIL")
        sub(IBAN_RE, "IBAN", iban_valid)
        sub(CARD_RE, "CARD", lambda s: luhn_valid(re.sub(r"\D", "", s)))
        sub(IPV4_RE, "IP")
        sub(IPV6_RE, "IP", _is_ipv6)
        sub(PHONE_RE, "PHONE", _looks_like_phone)
        if name_re is not None:
            sub(name_re, "NAME")
        return Redaction(text, counts)


def _is_ipv6(candidate: str) -> bool:
    if candidate.count(":") < 2:
        return False
    try:
        return isinstance(ipaddress.ip_address(candidate), ipaddress.IPv6Address)
    except ValueError:
        return False


def _looks_like_phone(candidate: str) -> bool:
    stripped = candidate.strip(" .-")
    digits = re.sub(r"\D", "", stripped)
    if not 8 <= len(digits) <= 15 or DATE_RE.match(stripped):
        return False
    international = stripped.startswith(("+", "00"))
    grouped = bool(re.search(r"[\s().-]", stripped))
    return international or grouped


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for full names and their parts (3+ letters), longest first, whole words only."""
    variants: set[str] = set()
    for name in names:
        name = " ".join(str(name).split())
        if not name or "@" in name:
            continue
        variants.add(name)
        for part in re.split(r"[\s,]+", name):
            part = part.strip(".'")
            if len(part) >= 3 and part[0].isupper():
                variants.add(part)
                variants.add(part.upper())
    if not variants:
        return None
    ordered = sorted(variants, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(v) for v in ordered) + r")(?![\w])")


# -- names people give themselves ------------------------------------------------------------------

_WORD = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"
_RUN = rf"{_WORD}(?:[ \t]+{_WORD}){{0,5}}"  # a few words on one line; `_name_prefix` keeps the name part
_INTRO_RE = re.compile(
    r"(?<![\w'’])(?i:i['’]m|i\s+am|my\s+name\s+is|my\s+name['’]s|je\s+m['’]appelle|je\s+suis|mon\s+nom\s+est"
    r"|ich\s+bin|ich\s+hei(?:ß|ss)e|mein\s+name\s+ist|me\s+llamo|mi\s+nombre\s+es|soy|mi\s+chiamo"
    r"|il\s+mio\s+nome\s+è)[ \t]+(?P<name>" + _RUN + ")")
# "this is Urgent" is no introduction: "this is" counts only after a greeting or before "from", "here"...
_THIS_IS_RE = re.compile(r"(?<![\w'’])(?i:this\s+is|hier\s+ist)[ \t]+(?P<name>" + _RUN + ")")
_THIS_IS_AFTER_RE = re.compile(r"[ \t]*,?[ \t]*(?i:from|at|with|here|speaking|von|vom|bei|aus)\b")
_GREETING_RE = re.compile(r"\W*(?i:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|hallo|guten\s+(?:tag|morgen)"
                          r"|moin|servus)\b[^\n.!?]{0,40}$")
_CLOSING = (
    r"(?i:(?:many\s+)?thanks(?:\s+(?:again|a\s+lot|so\s+much|in\s+advance))?|thank\s+you(?:\s+(?:again|so\s+much))?"
    r"|(?:best|kind|warm|warmest)\s+regards|regards|best(?:\s+wishes)?|cheers|merci(?:\s+beaucoup|\s+d['’]avance)?"
    r"|(?:bien\s+)?cordialement|bien\s+à\s+vous|(?:viele|beste|liebe|freundliche)\s+grüße|gruß|grüße"
    r"|mit\s+freundlichen\s+grüßen|danke(?:\s+schön)?|saludos(?:\s+cordiales)?|un\s+saludo|atentamente|gracias"
    r"|(?:cordiali\s+|distinti\s+)?saluti|grazie)")
_LINE_END = r"[ \t]*[.!]?[ \t]*$"
# A closing line, then the name alone on the next line; or "Thanks, Jane" alone on its line.
_CLOSING_RE = re.compile(r"^[ \t]*" + _CLOSING + r"[ \t]*(?:[,.!]?[ \t]*\n(?:[ \t]*\n)?[ \t]*|,[ \t]*)(?P<name>"
                         + _RUN + ")" + _LINE_END, re.MULTILINE)
# "Hi Maria," / "Dear Mr Smith," / "Bonjour Marie," at the start of a line: the person greeted.
_GREETED_RE = re.compile(
    r"^\W*(?i:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|bonjour|bonsoir|salut|chère|cher|hallo"
    r"|guten\s+(?:tag|morgen)|liebe|lieber|sehr\s+geehrte|sehr\s+geehrter|hola|estimad[oa]|buongiorno|ciao|gentile)"
    r"(?:[ \t]+(?i:mr|mrs|ms|miss|dr|prof|herr|frau|monsieur|madame|mme|m|señor|señora|sr|sra|signor|signora)\.?)?"
    r"[ \t]+(?P<name>" + _RUN + r")[ \t]*[,!]", re.MULTILINE)
_PARTICLES = frozenset("de da di del della des du van von der den ter ten le la dos das y".split())
# Capitalised words that follow "I'm", "ich bin", "this is" or a closing line without being a name.
_NOT_NAMES = frozenset("""
a an the this that these those it its i im me my mine we our us you your he his she her they their them who
what when where why how which here there not no yes so just also still only really very too quite already
again always never now currently back at in on of to for from with by about as into over under after before
and or but if then because since while hi hello hey dear please sorry thanks thank regards best cheers
sir sirs madam all everyone everybody folks guys there colleagues friends
having trying looking getting using writing working running reaching contacting following asking wondering
going coming calling emailing able unable afraid sure glad happy pleased new here urgent important critical
confused stuck locked logged signed unhappy frustrated annoyed disappointed worried interested concerned
aware done finished ready available away out off down up good great fine okay ok well right wrong
customer client user admin administrator owner manager member lead head director founder ceo cto cfo
developer engineer designer consultant contractor freelancer student teacher support team service sales
billing account accounting finance it hr legal security operations ops office company business enterprise
free pro premium plan trial english french german spanish italian american british canadian european
je tu il elle nous vous ils elles le la les un une des du ce cette mon ma mes pas plus très bien aussi
encore toujours client cliente administrateur administratrice propriétaire responsable gérant gérante
merci cordialement bonjour salut désolé désolée nouveau nouvelle
ich du er sie es wir ihr mein meine dein nicht kein keine auch noch schon sehr gerade jetzt hier
kunde kundin nutzer nutzerin benutzer benutzerin inhaber inhaberin besitzer besitzerin entwickler
entwicklerin mitglied leiter leiterin geschäftsführer geschäftsführerin chef chefin neu neukunde teil seit
mitarbeiter mitarbeiterin projektleiter projektleiterin projektmanager buchhalter buchhalterin zusammen damen herren
danke gruß grüße hallo leider
yo el ella nosotros usted ustedes mi su muy también todavía ya aquí cliente administrador administradora
propietario propietaria dueño dueña nuevo nueva gracias saludos hola lo siento
io lui lei noi voi loro mio mia non anche ancora già qui amministratore amministratrice titolare
proprietario proprietaria nuovo nuova grazie saluti ciao
""".split())


def _name_like(word: str) -> bool:
    """A capitalised word with lower-case letters (not ALL CAPS), not a common word."""
    letters = re.sub(r"['’-]", "", word)
    return (len(letters) >= 2 and word[0].isupper() and any(c.islower() for c in letters)
            and word.lower() not in _NOT_NAMES)


def _name_prefix(run: str) -> tuple[str, int]:
    """The name at the start of `run` (1-3 name words, particles allowed between them) and where it ends."""
    words = list(re.finditer(_WORD, run))
    taken, end, index = 0, 0, 0
    while index < len(words) and taken < 3:
        word = words[index].group(0)
        if _name_like(word):
            taken, end = taken + 1, words[index].end()
        elif not (taken and word in _PARTICLES and _particles_then_name(words[index:])):
            break
        index += 1
    return " ".join(run[:end].split()), end


def _particles_then_name(words: list[re.Match[str]]) -> bool:
    """True when the words start with particles ("de la") followed by a name word ("Tour")."""
    for word in words:
        if _name_like(word.group(0)):
            return True
        if word.group(0) not in _PARTICLES:
            return False
    return False


def introduced_names(text: str) -> list[str]:
    """Names people give themselves in `text`, in order of appearance, without repeats.

    Found: introductions ("I'm Jane Doe", "my name is Jane", "this is Jane from Acme", "Je m'appelle Marie
    Dupont", "ich bin / heiße Hans Müller", "me llamo Ana", "mi chiamo Luca") and sign-offs (a line of one to
    three name words right after "Thanks,", "Regards,", "Best,", "Cheers,", "Merci,", "Cordialement,",
    "Gruß,", "Saludos," ..., or "Thanks, Jane" alone on a line), and people greeted at the start of a line
    ("Hi Maria,", "Dear Mr Smith,", "Bonjour Marie,"). A name is capitalised words (not ALL CAPS) that are not common words, so
    "I'm having trouble", "I'm Not able" and "this is Urgent" find nothing.
    """
    found: dict[str, int] = {}
    for match in _INTRO_RE.finditer(text):
        name, _ = _name_prefix(match.group("name"))
        if name:
            found.setdefault(name, match.start("name"))
    for match in _THIS_IS_RE.finditer(text):
        name, end = _name_prefix(match.group("name"))
        if not name:
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        after = text[match.start("name") + end:]
        if _THIS_IS_AFTER_RE.match(after) or _GREETING_RE.match(text[line_start:match.start()]):
            found.setdefault(name, match.start("name"))
    for pattern in (_CLOSING_RE, _GREETED_RE):
        for match in pattern.finditer(text):
            run = match.group("name")
            name, end = _name_prefix(run)
            if name and end == len(run.rstrip()):  # the whole line (up to the comma) is the name
                found.setdefault(name, match.start("name"))
    return sorted(found, key=found.__getitem__)
