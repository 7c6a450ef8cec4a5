"""`deskpilot search --role` takes only the roles it knows: a typo never widens what a search shows."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from deskpilot.cli import app


@pytest.mark.parametrize("role", ["agnet", "Customer", "admin ", ""])
def test_an_unknown_role_is_refused_before_anything_is_searched(role: str) -> None:
    result = CliRunner().invoke(app, ["search", "refund approval", "--role", role])
    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.output
