"""Prompt templates stored as versioned YAML files under prompts/, rendered with strict variables."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from jinja2 import Environment, StrictUndefined, Template, UndefinedError

from deskpilot.errors import PromptError

T = TypeVar("T")
_env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template compiled once (compiling costs more than rendering)."""
    return _env.from_string(source)


@dataclass(frozen=True)
class Prompt:
    """A system + user template pair with its declared variables and version."""

    name: str
    version: int
    variables: tuple[str, ...]
    system: str
    user: str

    @property
    def id(self) -> str:
        """name@version, logged with every answer."""
        return f"{self.name}@{self.version}"

    def render(self, **values: object) -> tuple[str, str]:
        """(system, user) text; every declared variable must be given, and no other."""
        given, declared = set(values), set(self.variables)
        if given != declared:
            missing, extra = sorted(declared - given), sorted(given - declared)
            raise PromptError(f"prompt {self.id}: missing variables {missing}, unexpected {extra}")
        try:
            return (_compiled(self.system).render(**values).strip(), _compiled(self.user).render(**values).strip())
        except UndefinedError as exc:
            raise PromptError(f"prompt {self.id}: {exc}") from exc


@dataclass(frozen=True)
class Phrases:
    """Fixed texts per language (prompts/<name>.yaml with `phrases: {key: {language: text}}`)."""

    name: str
    table: dict[str, dict[str, str]]

    def get(self, key: str, language: str) -> str:
        """The phrase in language, else in English."""
        entry = self.table.get(key)
        if not entry or "en" not in entry:
            raise PromptError(f"phrases {self.name}: no English text for {key!r}")
        return entry.get(language) or entry["en"]


class PromptLibrary:
    """Loads prompts/<name>.yaml on first use."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._cache: dict[str, Prompt] = {}
        self._phrases: dict[str, Phrases] = {}
        self._lock = threading.Lock()

    def phrases(self, name: str) -> Phrases:
        """The phrase table called name; PromptError when the file is missing or malformed."""
        with self._lock:
            if name not in self._phrases:
                self._phrases[name] = self._load(name, "phrase", lambda data: Phrases(name, {
                    str(k): {str(lang): str(text) for lang, text in v.items()} for k, v in data["phrases"].items()}))
            return self._phrases[name]

    def get(self, name: str) -> Prompt:
        """The prompt called name; PromptError when the file is missing or malformed."""
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._load(name, "prompt", lambda data: Prompt(
                    name=str(data["name"]), version=int(data["version"]), variables=tuple(data["variables"]),
                    system=str(data["system"]), user=str(data["user"])))
            return self._cache[name]

    def _load(self, name: str, what: str, build: Callable[[Any], T]) -> T:
        path = self._folder / f"{name}.yaml"
        try:
            return build(yaml.safe_load(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise PromptError(f"{what} file {path} not found") from exc
        except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PromptError(f"{what} file {path} is malformed: {exc}") from exc
