"""Pytest plugin: a real Label Studio server for the test session (one per xdist worker).

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.labelstudio_fixtures"]``.

Fixtures:
- ``labelstudio``: session-scoped :class:`feedback.services.labelstudio_local.LabelStudioServer` on a free
  loopback port, started from a copy of the cached template (installed on first use, a few minutes once).
- ``labelstudio_client``: session-scoped :class:`feedback.services.labelstudio_client.LabelStudioClient`
  authenticated with the server's legacy token.
- ``labelstudio_project``: function-scoped factory ``make(template="response_review", reasons=None,
  title=None) -> project id`` that deletes the projects it made at teardown.
- ``webhook_receiver``: a loopback HTTP server recording POSTs, yields ``(url, [(headers, body), ...])``.

Set ``FEEDBACK_SKIP_LABELSTUDIO=1`` to skip these tests deliberately; they are otherwise skipped only when
Label Studio cannot be installed at all (for example no package index), with the reason shown.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feedback.services.labelstudio_client import LabelStudioClient, LabelStudioError
from feedback.services.labelstudio_install import LabelStudioInstallError, ensure_template
from feedback.services.labelstudio_local import LabelStudioServer, start


@pytest.fixture(scope="session")
def labelstudio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    """Start one real Label Studio for this session (per xdist worker) and stop it afterwards."""
    if os.environ.get("FEEDBACK_SKIP_LABELSTUDIO") == "1":
        pytest.skip("FEEDBACK_SKIP_LABELSTUDIO=1: Label Studio tests skipped on request")
    try:
        ensure_template(progress=lambda line: print(f"[labelstudio] {line}", flush=True))
    except (LabelStudioInstallError, OSError) as exc:
        pytest.skip(f"Label Studio could not be installed, so its tests cannot run: {exc}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    data_dir = tmp_path_factory.mktemp(f"labelstudio-{worker}") / "data"
    server = start(None, data_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def labelstudio_client(labelstudio: LabelStudioServer) -> LabelStudioClient:
    """Return our adapter connected to the session's Label Studio with its legacy token."""
    return LabelStudioClient(labelstudio.url, labelstudio.token)


@pytest.fixture
def labelstudio_project(labelstudio_client: LabelStudioClient) -> Iterator[Callable[..., int]]:
    """Factory creating Label Studio projects from a built-in template; deletes them after the test."""
    created: list[int] = []

    def make(template: str = "response_review", reasons: list[dict] | None = None,
             title: str | None = None, label_config: str | None = None) -> int:
        project_id = labelstudio_client.create_project(
            title or f"test {uuid.uuid4().hex[:8]}", template=template, reasons=reasons,
            label_config=label_config,
        )
        created.append(project_id)
        return project_id

    yield make
    for project_id in created:
        with contextlib.suppress(LabelStudioError):  # the test may have stopped the server itself
            labelstudio_client.delete_project(project_id)


class _Capture(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((dict(self.headers.items()), body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A real HTTP server on loopback recording POSTs: yields ``(url, [(headers, body), ...])``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


