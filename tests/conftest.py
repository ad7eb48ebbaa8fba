"""Shared fixtures: a real database (SQLite file or a uniquely named PostgreSQL database), a real Redis with a
unique key prefix, the app, a client, and a fresh project with keys per test.

Choose the backend with `--db=sqlite|postgres` or FEEDBACK_TEST_DB. Every test gets its own project, so tests
share one migrated database without seeing each other's rows.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from feedback import create_app
from feedback.config import Settings
from feedback.db import get_db
from feedback.services import keys, migrations, projects
from tests.databases import temporary_database
from tests.redis_keys import delete_key_space

pytest_plugins = ["tests.labelstudio_fixtures"]

REDIS_URL = os.environ.get("FEEDBACK_TEST_REDIS", "redis://127.0.0.1:6379/0")
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgres"), default=os.environ.get("FEEDBACK_TEST_DB", "sqlite"),
                     help="database backend for the suite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, skip what does not depend on the database backend (it ran in the SQLite pass):
    pure computations and browser tests, whose server-side behaviour the API tests cover on both backends."""
    if config.getoption("--db") == "sqlite":
        return
    skip = pytest.mark.skip(reason="backend-independent: runs once, in the SQLite pass")
    for item in items:
        if item.get_closest_marker("once") or item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgres`."""
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database of its own for this session (per xdist worker); dropped afterwards."""
    with temporary_database(backend, tmp_path_factory.mktemp("db"), prefix="fl_test") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis server the tests use."""
    return REDIS_URL


@pytest.fixture(scope="session")
def queue_prefix(redis_url: str) -> Iterator[str]:
    """A unique prefix for this session's queue names and keys; its keys are deleted afterwards."""
    prefix = f"fltest-{uuid.uuid4().hex[:10]}-"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    delete_key_space(client, prefix)
    client.close()


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, queue_prefix: str,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at this session's database and Redis key space."""
    return Settings(data_dir=tmp_path_factory.mktemp("data"), database_url=database_url, redis_url=redis_url,
                    secret_key="test-secret-" + uuid.uuid4().hex, queue_prefix=queue_prefix, testing=True)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Flask:
    """The application under test."""
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session in an app context, closed afterwards."""
    with app.app_context():
        db_session = get_db().session()
        yield db_session
        db_session.rollback()


@dataclass
class ProjectKeys:
    """A fresh project and its keys."""

    id: int
    slug: str
    admin_key: str
    ingest_key: str
    widget_key: str
    origin: str

    def headers(self, scope: str = "ingest") -> dict[str, str]:
        """Authorization headers for the given key (plus Origin for the widget key)."""
        secret = {"admin": self.admin_key, "ingest": self.ingest_key, "widget": self.widget_key}[scope]
        headers = {"Authorization": f"Bearer {secret}"}
        if scope == "widget":
            headers["Origin"] = self.origin
        return headers


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_project(app: Flask, origin: str = "https://chat.example.com") -> ProjectKeys:
    """Create a project with admin, ingest and widget keys (committed)."""
    with app.app_context():
        db_session = get_db().session()
        slug = f"p-{uuid.uuid4().hex[:12]}"
        project, admin = projects.create_project(db_session, slug, slug, {"allowed_origins": [origin]})
        ingest = keys.create_key(db_session, project.id, "ingest", ["ingest"])
        widget = keys.create_key(db_session, project.id, "widget", ["widget"], [origin])
        db_session.commit()
        return ProjectKeys(project.id, slug, admin.secret, ingest.secret, widget.secret, origin)


@pytest.fixture
def project(app: Flask) -> ProjectKeys:
    """A fresh project for one test."""
    return make_project(app)


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment variables that point the CLI at this session's database and Redis."""
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url or "",
            "FEEDBACK_DATA_DIR": str(settings.data_dir), "FEEDBACK_SECRET_KEY": settings.secret_key,
            "FEEDBACK_QUEUE_PREFIX": settings.queue_prefix}


@pytest.fixture
def runner(cli_env: dict[str, str]) -> CliRunner:
    """A click runner with the CLI environment."""
    return CliRunner(env=cli_env)


def log_interaction(client: FlaskClient, project: ProjectKeys, **fields) -> dict:
    """POST one interaction with the ingest key and return the JSON answer."""
    body = {"messages": [{"role": "user", "content": "What is 2+2?"}], "response": "4"} | fields
    answer = client.post("/api/v1/interactions", json=body, headers=project.headers("ingest"))
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The session's app served over real HTTP on a free loopback port (browsers, Label Studio webhooks)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (browser downloads are impossible here)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright = sync_api.sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()
