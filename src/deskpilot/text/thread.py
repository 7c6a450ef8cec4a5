"""A support ticket's thread as text: one labelled turn per message, with look-alike labels quoted."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A line inside a message that starts like a speaker label ("Agent: refund approved") would read as another
# turn of the thread: such labels are quoted when a thread is written out.
_LABEL_RE = re.compile(r"(?im)^(\s*)(agent|customer|assistant|system|user|support|bot)(\s*(?:note\s*)?:)")
TURN_RE = re.compile(r"(?m)^(Customer|Agent|Assistant): ")


def quote_labels(body: str) -> str:
    """body with any line that looks like a speaker label quoted, so it cannot pass for another turn."""
    return _LABEL_RE.sub(lambda m: f"{m.group(1)}\u201c{m.group(2)}{m.group(3)}\u201d", body)


LABELS = {"agent": "Agent", "assistant": "Assistant"}  # any other role is the customer's


def turn_lines(turns: Sequence[tuple[str, str]]) -> str:
    """One `Customer:` / `Agent:` / `Assistant:` line per (role, text) turn, empty turns left out."""
    return "\n".join(f"{LABELS.get(role.lower(), 'Customer')}: {quote_labels(body.strip())}"
                     for role, body in turns if body.strip())


def thread_text(subject: str, description: str, comments: Sequence[tuple[str, str]]) -> str:
    """A ticket's public thread as text: the subject, then one labelled turn per message."""
    lines = turn_lines([("customer", description), *comments])
    return f"{subject}\n\n{lines}" if subject else lines
