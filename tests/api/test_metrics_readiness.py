"""/readyz against real dependencies that go away and come back: a Redis server we start and stop, a
PostgreSQL database behind a TCP proxy we close, an SQLite file moved away, and Label Studio servers."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from feedback import create_app
from feedback.config import Settings
from feedback.db import get_db
from feedback.models import LabelStudioConnection
from feedback.services import migrations, projects
from tests.conftest import free_port
from tests.databases import PG_ADMIN_URL


def _wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


class RedisServer:
    """A throwaway redis-server on its own port, without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly",
                                         "no", "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
        _wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class TcpProxy:
    """Forwards a local port to PostgreSQL; `stop()` closes the port and cuts every open connection."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept() (Linux)
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets = []


def _checks(app: Flask) -> tuple[int, dict[str, dict]]:
    answer = app.test_client().get("/readyz")
    body = answer.get_json()
    assert body["status"] == ("ready" if answer.status_code == 200 else "unavailable")
    return answer.status_code, {c["name"] + (f":{c['target']}" if c["name"] == "labelstudio" else ""): c
                                for c in body["checks"]}


@pytest.fixture
def own_database(tmp_path: Path) -> str:
    """A migrated SQLite database of this test alone (readiness looks at every project's connections, so
    rows other tests leave behind must not count)."""
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    migrations.upgrade(url)
    return url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server only this test uses."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


def test_readyz_fails_while_redis_is_down_and_recovers(settings: Settings, own_redis: RedisServer,
                                                       own_database: str) -> None:
    app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{own_redis.port}/0",
                                             database_url=own_database))
    status, checks = _checks(app)
    assert status == 200 and checks["redis"]["ok"] and checks["database"]["ok"]
    own_redis.stop()
    status, checks = _checks(app)
    assert status == 503
    assert not checks["redis"]["ok"] and "ConnectionError" in checks["redis"]["detail"]
    assert checks["database"]["ok"]
    own_redis.start()
    status, checks = _checks(app)
    assert status == 200 and checks["redis"]["ok"]


@pytest.fixture
def proxied_postgres() -> Iterator[tuple[str, TcpProxy]]:
    """A migrated PostgreSQL database of this test, reached through a proxy the test can close."""
    name = f"fl_ready_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    proxy = TcpProxy(free_port(), ("127.0.0.1", int(base.rsplit(":", 1)[1])))
    try:
        migrations.upgrade(f"{base}/{name}")
        proxy.start()
        yield f"postgresql://127.0.0.1:{proxy.port}/{name}", proxy
    finally:
        proxy.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_readyz_fails_while_postgres_is_unreachable_and_recovers(settings: Settings,
                                                                 proxied_postgres: tuple[str, TcpProxy]) -> None:
    url, proxy = proxied_postgres
    app = create_app(settings.with_overrides(database_url=url))
    status, checks = _checks(app)
    assert status == 200 and checks["database"]["detail"].startswith("schema ")
    proxy.stop()
    status, checks = _checks(app)
    assert status == 503 and not checks["database"]["ok"] and "OperationalError" in checks["database"]["detail"]
    assert checks["redis"]["ok"]
    proxy.start()
    status, checks = _checks(app)
    assert status == 200 and checks["database"]["ok"]


def test_readyz_fails_while_the_sqlite_file_is_gone_and_recovers(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    migrations.upgrade(f"sqlite:///{path}")
    app = create_app(settings.with_overrides(database_url=f"sqlite:///{path}"))
    assert _checks(app)[0] == 200
    os.rename(path, tmp_path / "moved.db")
    status, checks = _checks(app)
    assert status == 503 and "missing" in checks["database"]["detail"]
    assert not path.exists()  # the probe did not create an empty database in its place
    os.rename(tmp_path / "moved.db", path)
    assert _checks(app)[0] == 200


@pytest.mark.labelstudio
def test_readyz_checks_configured_labelstudio_servers(settings: Settings, own_database: str, labelstudio) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_app(settings.with_overrides(database_url=own_database))
    with app.app_context():
        session = get_db().session()
        project, _ = projects.create_project(session, "ready", "ready")
        session.flush()
        conn = LabelStudioConnection(project_id=project.id, name="dead", url=dead, token="t", token_kind="legacy",
                                     ls_project_id=1, template="response_review")
        live = LabelStudioConnection(project_id=project.id, name="live", url=labelstudio.url, token="t",
                                     token_kind="legacy", ls_project_id=1, template="response_review")
        session.add_all([conn, live])
        session.commit()
        status, checks = _checks(app)
        assert status == 503
        assert not checks[f"labelstudio:{dead}"]["ok"]
        assert checks[f"labelstudio:{labelstudio.url}"]["ok"]
        conn.active = False
        session.commit()
        status, checks = _checks(app)
        assert status == 200 and f"labelstudio:{dead}" not in checks
