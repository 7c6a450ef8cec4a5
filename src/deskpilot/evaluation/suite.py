"""Evaluation suites: JSONL files of questions with what a correct assistant does with each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deskpilot.domain import AnswerRole
from deskpilot.errors import ConfigError


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


class SuiteItem(BaseModel):
    """One line of a suite."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    lang: str | None = Field(None, description="Language of the question (ISO 639-1); detected when absent.")
    kind: str = Field("answerable", description="Free label used to break results down (answerable, injection, ...).")
    gold_sources: list[str] = Field(default_factory=list, description="Source ids that answer the question.")
    gold_answer: str | None = None
    key_points: list[str] = Field(
        default_factory=list, description="Facts or steps a correct answer must contain (a procedure's steps in order)."
    )
    must_escalate: bool = False
    must_not_contain: list[str] = Field(default_factory=list)
    role: AnswerRole = "customer"
    history: list[Turn] = Field(default_factory=list)
    reason: str | None = Field(
        None, description="Routing suites: the reason a human is needed (user_requested_human, negative_sentiment, "
        "sensitive_topic), or null for a question that needs none.")
    sub_reason: str | None = Field(None, description="sensitive_topic's sub-reason (account_compromise, ...).")
    also: list[str] = Field(default_factory=list, description="Other reasons or sub-reasons the message also shows.")
    task: Literal["answer", "draft", "summary"] = Field(
        "answer", description="answer: the question is asked; draft: the question is a ticket and a reply is drafted; "
        "summary: the question is a ticket and it is summarised for an agent.")

    @field_validator("gold_sources", "must_not_contain", "key_points")
    @classmethod
    def _no_blanks(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("empty string in list")
        return value


def load_suite(path: Path) -> list[SuiteItem]:
    """Read a suite; ConfigError naming the file and line of the first problem.

    Blank lines and lines starting with `//` or `#` are skipped.
    """
    if not path.is_file():
        raise ConfigError(f"suite {path} not found")
    items: list[SuiteItem] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read suite {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith(("#", "//")):
            continue
        try:
            item = SuiteItem.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"{path}:{number}: {problems}") from exc
        if item.id in seen:
            raise ConfigError(f"{path}:{number}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise ConfigError(f"suite {path} has no items")
    return items
