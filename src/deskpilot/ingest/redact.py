"""Personal-data redaction: typed placeholders for e-mails, IBANs, card numbers, IPs, phones and names.

Card numbers must pass the Luhn check and IBANs the ISO 13616 mod-97 check, so order numbers,
versions and amounts are left alone. Names come from the ticket's own fields (requester, agents).
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

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._name_re = _names_pattern(names)

    def redact(self, text: str) -> Redaction:
        """Redact `text`; returns the new text and counts per placeholder type."""
        counts: Counter[str] = Counter()

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
        if self._name_re is not None:
            sub(self._name_re, "NAME")
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
