"""Helpers for tests that start real servers on loopback (chroma run, llama.cpp's OpenAI server, ...)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 120) -> None:  # type: ignore[type-arg]
    """Return once url answers.

    Raises:
        RuntimeError: the process exited, or url did not answer within `seconds` (the process is stopped).
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}") from None
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"{url} did not answer within {seconds:g} s")


def start_chroma(path: Path, port: int) -> subprocess.Popen:  # type: ignore[type-arg]
    """`chroma run` (from this virtualenv) on loopback, returned once its heartbeat answers."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        raise RuntimeError("the chroma CLI is missing from the virtualenv: run `make install`")
    process = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{port}/api/v2/heartbeat", process)
    return process
