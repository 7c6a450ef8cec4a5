"""`deskpilot` run as its users run it: in a process of its own, or in the test process.

A command in a fresh process spends about 5 s (2 cores) importing LangChain, Chroma and the model runtimes and
loading the model files before it does its work. Tests that run a dozen commands run them in this process instead,
through the same `app` and the same settings read from the environment, so that cost is paid once per test session;
each test file keeps at least one command in a real process (the entry point, one-line errors on stderr, nothing
but JSON on stdout).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import REPO


def environment(data: Path, models: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What a KB editor's shell would hold: the data and model folders, the repository's terms and prompts."""
    return {"DESKPILOT_DATA_DIR": str(data), "DESKPILOT_MODELS_DIR": str(models),
            "DESKPILOT_INGEST__TERMS_FILE": str(REPO / "ingest" / "terms.yaml"),
            "DESKPILOT_ASSISTANT__PROMPTS_DIR": str(REPO / "prompts"), **(extra or {})}


def deskpilot(args: Sequence[str], data: Path, models: Path, cwd: Path, extra_env: dict[str, str] | None = None,
              process: bool = False) -> subprocess.CompletedProcess[str]:
    """`deskpilot ARGS` with data and models (and extra_env) in the environment and cwd as working directory.

    Args:
        process: run `python -m deskpilot.cli` in a new process (else in this one; an exception the command does
            not handle fails the test with its traceback).
    """
    env = environment(data, models, extra_env)
    if process:
        return subprocess.run([sys.executable, "-m", "deskpilot.cli", *args], capture_output=True, text=True,
                              cwd=cwd, env={**os.environ, **env}, timeout=600)
    from deskpilot.cli import app
    from deskpilot.config import get_settings

    saved, here = dict(os.environ), Path.cwd()
    os.environ.update(env)
    os.chdir(cwd)
    get_settings.cache_clear()  # the settings are read once per process: read them again from this environment
    try:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
