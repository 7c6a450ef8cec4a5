"""Run pytest with every test index on a `chroma run` server on loopback instead of the embedded store.

    .venv/bin/python tests/run_with_chroma_server.py tests/integration/test_ingest_pipeline.py ...
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def main() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="deskpilot-chroma-") as path:
        chroma = Path(sys.executable).parent / "chroma"
        server = subprocess.Popen([str(chroma), "run", "--path", path, "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                print("chroma run did not start", file=sys.stderr)
                return 1
            print(f"tests against chroma run on 127.0.0.1:{port}", flush=True)
            env = {**os.environ, "DESKPILOT_TEST_CHROMA": f"127.0.0.1:{port}"}
            return subprocess.call([sys.executable, "-m", "pytest", "-q", *sys.argv[1:]], env=env)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
