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
