"""The container's two ways to change a built part: override (a test's scripted model) and forget (rebuild)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskpilot.container import Container
from tests.conftest import make_settings


def test_override_and_forget_change_only_parts_the_container_builds(tmp_path: Path) -> None:
    container = Container(make_settings(tmp_path, tmp_path / "models", llm="fake"))
    built = container.llm
    stand_in = object()
    container.override(llm=stand_in)
    assert container.llm is stand_in
    container.forget("llm")
    assert container.llm is not stand_in and container.llm is not built  # built again from the settings
    with pytest.raises(AttributeError, match="no part named 'lmm'"):
        container.override(lmm=stand_in)
    with pytest.raises(AttributeError, match="no part named 'settings'"):
        container.forget("settings")


def test_parts_given_to_the_constructor_are_used_instead_of_built(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tmp_path / "models", llm="fake")
    model = Container(settings).llm
    container = Container(settings, llm=model)
    assert container.llm is model
    assert "store" not in container.__dict__  # what is not given is still built lazily, on first use


def test_importing_deskpilot_turns_third_party_telemetry_off_unless_the_environment_says_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import os

    import deskpilot

    monkeypatch.delenv("ANONYMIZED_TELEMETRY", raising=False)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.setenv("RAGAS_DO_NOT_TRACK", "false")  # an operator's explicit choice is kept
    importlib.reload(deskpilot)
    assert (os.environ["ANONYMIZED_TELEMETRY"], os.environ["DO_NOT_TRACK"]) == ("False", "1")
    assert os.environ["RAGAS_DO_NOT_TRACK"] == "false"
