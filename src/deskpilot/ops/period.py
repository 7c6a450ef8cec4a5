"""Time periods of reports: `--since 7d`, or `from`/`to` dates (UTC), as ISO 8601 strings (UTC, seconds), which
the stored times (`db.UtcDateTime` columns) compare with as times."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from deskpilot.errors import InvalidInputError

_SINCE_RE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.I)
MAX_PERIOD = timedelta(days=3660)  # a report over more than ten years would build a row per day for nothing
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; `start` and `end` are ISO 8601 strings, as the API writes the stored times."""

    start: str
    end: str

    @property
    def days(self) -> list[str]:
        """Every UTC day the period touches (YYYY-MM-DD), oldest first."""
        first = datetime.fromisoformat(self.start).date()
        last = (datetime.fromisoformat(self.end) - timedelta(seconds=1)).date()
        return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    def as_json(self) -> dict[str, str]:
        """`{"from", "to"}`."""
        return {"from": self.start, "to": self.end}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse(value: str, end: bool) -> datetime:
    """A date (YYYY-MM-DD: its start, or the start of the next day for an end) or an ISO datetime."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO 8601 time)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def since(text: str, now: datetime | None = None) -> Period:
    """The period from `text` ago (e.g. 7d, 24h, 2w) until now.

    Raises:
        InvalidInputError: not a number followed by h, d or w.
    """
    match = _SINCE_RE.match(text or "")
    if not match:
        raise InvalidInputError(f"not a duration: {text!r} (use e.g. 24h, 7d or 4w)")
    moment = now or datetime.now(UTC)
    length = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if length > MAX_PERIOD:
        raise InvalidInputError(f"the period {text.strip()!r} is longer than ten years")
    return Period(_iso(moment - length), _iso(moment + timedelta(seconds=1)))


def between(start: str | None, end: str | None, default_days: int = 30, now: datetime | None = None) -> Period:
    """The period from `start` to `end` inclusive of the end date (`to=2026-11-29` includes that day).
    Without `end`: until now; without `start`: `default_days` before the end.

    Raises:
        InvalidInputError: a value is not a date, or the period ends before it starts.
    """
    stop = _parse(end, True) if end else (now or datetime.now(UTC)) + timedelta(seconds=1)
    begin = _parse(start, False) if start else stop - timedelta(days=default_days)
    if begin >= stop:
        raise InvalidInputError(f"the period ends before it starts ({begin.date()} to {stop.date()})")
    if stop - begin > MAX_PERIOD:
        raise InvalidInputError("the period is longer than ten years")
    return Period(_iso(begin), _iso(stop))
