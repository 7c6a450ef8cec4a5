"""Two service processes on one data dir: what one writes (conversations, escalations, claims), the other sees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deskpilot.container import Container
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, REPO, make_settings
from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("workers")
    articles = tmp / "articles"
    articles.mkdir()
    for name in ("reset-password.md", "refund-policy.docx"):
        shutil.copy(KB / "articles" / name, articles)
    container = Container(make_settings(tmp, models_dir))
    container.ingestor.run([SourceSpec(path=articles)])
    keys = {role: container.keys.create(role, f"{role} key")[1] for role in ("customer", "agent")}
    env = {**os.environ, "DESKPILOT_DATA_DIR": str(tmp / "data"), "DESKPILOT_MODELS_DIR": str(models_dir),
           "DESKPILOT_LLM__PROVIDER": "fake", "DESKPILOT_INGEST__TERMS_FILE": str(REPO / "ingest" / "terms.yaml"),
           "DESKPILOT_ASSISTANT__PROMPTS_DIR": str(REPO / "prompts")}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "deskpilot.cli", "serve", "--port", str(p)], env=env, cwd=tmp,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    for url, proc in zip(urls, procs, strict=True):
        wait_until_up(f"{url}/healthz", proc)
    yield urls, keys
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)


def test_state_written_by_one_worker_is_seen_by_the_other(workers: tuple[list[str], dict[str, str]]) -> None:
    (a, b), keys = workers
    customer = {"Authorization": f"Bearer {keys['customer']}"}
    agent = {"Authorization": f"Bearer {keys['agent']}"}
    first = httpx.post(f"{a}/v1/ask", json={"question": "How long is a password reset link valid?"}, headers=customer,
                       timeout=60).json()
    cid = first["conversation_id"]
    escalated = httpx.post(f"{b}/v1/ask", json={"question": "I will file a chargeback with my bank for this charge",
                                                 "conversation_id": cid}, headers=customer, timeout=60).json()
    assert escalated["decision"] == "escalate" and escalated["ticket_id"]
    turns = httpx.get(f"{a}/v1/conversations/{cid}", headers=customer, timeout=30).json()["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    queue = httpx.get(f"{a}/v1/escalations", headers=agent, timeout=30).json()["items"]
    assert [e["ticket_id"] for e in queue] == [escalated["ticket_id"]]
    claimed = httpx.post(f"{a}/v1/escalations/{escalated['ticket_id']}/claim", headers=agent, timeout=30)
    assert claimed.status_code == 200
    seen = httpx.get(f"{b}/v1/tickets/{escalated['ticket_id']}", headers=agent, timeout=30).json()
    assert seen["escalation"]["status"] == "claimed" and len(seen["messages"]) == 4
    assert httpx.get(f"{b}/v1/escalations?status=claimed", headers=agent, timeout=30).json()["items"]
