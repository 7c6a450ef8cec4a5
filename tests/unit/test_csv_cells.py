"""The review list's CSV cells: customer text never becomes a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from deskpilot.ops.review import to_csv


@pytest.mark.parametrize("typed", ["=HYPERLINK(\"http://evil.example\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                                   "\t=1+1", "\r=1+1", "\n=1+1", " =1+1", "\u00a0=1+1", "\uff1d1+1", "\uff0b1", "\uff20A1"])
def test_text_that_starts_like_a_formula_is_quoted(typed: str) -> None:
    row = next(csv.DictReader(io.StringIO(to_csv([{"question": typed, "reasons": [], "sources": []}]))))
    assert row["question"] == "'" + typed


def test_ordinary_text_is_left_alone() -> None:
    row = next(csv.DictReader(io.StringIO(to_csv([{"question": "How do I export = my data?", "reasons": [], "sources": []}]))))
    assert row["question"] == "How do I export = my data?"
