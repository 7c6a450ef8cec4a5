"""Run pytest with every test index on a `chroma run` server on loopback instead of the embedded store.

    .venv/bin/python tests/run_with_chroma_server.py tests/integration/test_ingest_pipeline.py ...
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import free_port, start_chroma


def main() -> int:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="deskpilot-chroma-") as path:
        try:
            server = start_chroma(Path(path), port)
        except RuntimeError as exc:
            print(f"chroma run did not start: {exc}", file=sys.stderr)
            return 1
        try:
            print(f"tests against chroma run on 127.0.0.1:{port}", flush=True)
            env = {**os.environ, "DESKPILOT_TEST_CHROMA": f"127.0.0.1:{port}"}
            return subprocess.call([sys.executable, "-m", "pytest", "-q", *sys.argv[1:]], env=env)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
