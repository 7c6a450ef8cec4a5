"""The database locked by another writer, or a PostgreSQL server restarting under traffic: requests wait or
are retried, none fails, and every conversation turn is stored."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from deskpilot.api.app import create_app
from deskpilot.container import Container
from deskpilot.helpdesk.models import MessageRow
from deskpilot.ingest.sources import SourceSpec
from tests.conftest import KB, make_settings
from tests.postgres import _as_server_user, _binaries

pytestmark = pytest.mark.integration
QUESTION = {"question": "How long is a password reset link valid?"}


def service(tmp_path: Path, models_dir: Path, database_url: str | None = None) -> Container:
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(KB / "articles" / "reset-password.md", articles)
    settings = make_settings(tmp_path, models_dir, llm="fake")
    settings.database_url = database_url
    settings.api.rate_limit_per_minute = 0
    container = Container(settings)
    container.ingestor.run([SourceSpec(path=articles)])
    return container


def stored_messages(container: Container) -> int:
    with container.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(MessageRow)) or 0)


def test_a_locked_sqlite_database_makes_requests_wait_not_fail(tmp_path: Path, models_dir: Path) -> None:
    container = service(tmp_path, models_dir)
    with TestClient(create_app(container)) as client:
        headers = {"Authorization": f"Bearer {container.keys.create('customer', 'c')[1]}"}
        assert client.post("/v1/ask", json=QUESTION, headers=headers).status_code == 200
        locker = sqlite3.connect(tmp_path / "data" / "deskpilot.db", isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")  # another process writing a long transaction
        released = threading.Timer(1.5, lambda: locker.execute("COMMIT"))
        released.start()
        started = time.monotonic()
        response = client.post("/v1/ask", json=QUESTION, headers=headers)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started >= 1.0  # it waited for the lock
        released.join()
        locker.close()
    assert stored_messages(container) == 4  # both questions and both answers


def test_a_postgres_restart_under_traffic_loses_nothing(tmp_path: Path, models_dir: Path, postgres,  # type: ignore[no-untyped-def]
                                                         caplog: pytest.LogCaptureFixture) -> None:
    container = service(tmp_path, models_dir, postgres())
    with container.engine.connect() as connection:
        data_dir, port, sockets = (connection.execute(text(f"SHOW {name}")).scalar()
                                   for name in ("data_directory", "port", "unix_socket_directories"))
    bin_dir = _binaries()
    assert bin_dir is not None

    def pg_ctl(*args: str) -> None:
        log = str(Path(data_dir).parent / "server.log")  # the started server must not hold our pipes open
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", log, "-w", *args]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True)

    with TestClient(create_app(container)) as client:
        headers = {"Authorization": f"Bearer {container.keys.create('customer', 'c')[1]}"}
        assert client.post("/v1/ask", json=QUESTION, headers=headers).status_code == 200
        statuses: list[int] = []
        done = threading.Event()

        def traffic() -> None:
            while not done.is_set():
                statuses.append(client.post("/v1/ask", json=QUESTION, headers=headers).status_code)

        sender = threading.Thread(target=traffic)
        sender.start()
        time.sleep(0.5)
        pg_ctl("-m", "fast", "stop")
        # The server stays down for 1.5 s, within the retries' 3.7 s; a request sent now must meet it down.
        back = threading.Timer(1.5, pg_ctl, args=("-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
                                                        "-c fsync=off", "start"))
        back.start()
        statuses.append(client.post("/v1/ask", json=QUESTION, headers=headers).status_code)
        back.join()
        time.sleep(0.5)
        done.set()
        sender.join()
    assert statuses and set(statuses) == {200}, statuses
    assert stored_messages(container) == 2 * (len(statuses) + 1)
    assert "database unavailable" in caplog.text  # requests did meet the stopped server, and were retried
