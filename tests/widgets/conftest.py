"""Browser fixtures: the real app on a free port (live server) and Debian's Chromium through Playwright."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from feedback.db import get_db
from feedback.models import Feedback, FeedbackRevision

AXE = Path(__file__).resolve().parents[2] / "widgets" / "node_modules" / "axe-core" / "axe.min.js"

# Collects widget events and CSP violations from the first script on every page.
RECORDER = """
window.__events = []; window.__csp = [];
for (const name of ['feedback-change', 'feedback-sent', 'feedback-error'])
  document.addEventListener(name, (e) => window.__events.push({type: name, detail: JSON.parse(JSON.stringify(
    {...e.detail, response: undefined}))}));
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""


class HostPages:
    """A third-party web server on loopback serving chat pages registered by path (another origin)."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.port = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = self.pages.get(environ.get("PATH_INFO", ""))
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    def origin(self, host: str = "localhost") -> str:
        """This server's origin under `host` (localhost and 127.0.0.1 are two different origins)."""
        return f"http://{host}:{self.port}"


@pytest.fixture(scope="session")
def host_pages() -> Iterator[HostPages]:
    """A running third-party host server (for widget-key, token and CORS tests across origins)."""
    pages = HostPages()
    server = make_server("127.0.0.1", 0, pages, threaded=True)
    pages.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, name="host-pages", daemon=True)
    thread.start()
    yield pages
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (own localStorage) recording widget events and CSP violations."""
    ctx = browser.new_context()
    ctx.add_init_script(RECORDER)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    """A page in the fresh context."""
    return context.new_page()


@dataclass
class Stored:
    """What the database holds for one interaction: current feedback rows and all revisions."""

    feedback: list[Feedback]
    revisions: list[FeedbackRevision]


@pytest.fixture
def stored(app: Flask) -> Callable[[int], Stored]:
    """Read the stored feedback of an interaction (fresh session each call)."""

    def read(interaction_id: int) -> Stored:
        with app.app_context():
            session = get_db().session()
            try:
                rows = list(session.scalars(select(Feedback).where(Feedback.interaction_id == interaction_id)
                                            .order_by(Feedback.id)))
                revisions = list(session.scalars(select(FeedbackRevision).where(
                    FeedbackRevision.interaction_id == interaction_id).order_by(FeedbackRevision.id)))
                session.expunge_all()
                return Stored(rows, revisions)
            finally:
                session.close()

    return read


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1, page: Any = None) -> Any:
    """Poll `check` until it returns something truthy; fail with the last value after `timeout`.

    Pass `page` when routes are installed: waiting through Playwright lets it run the route handlers.
    """
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if page is not None:
            page.wait_for_timeout(interval * 1000)
        else:
            time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


def events(page: Any, kind: str | None = None) -> list[dict[str, Any]]:
    """Widget events recorded on the page, optionally only one type (e.g. 'feedback-sent')."""
    recorded = page.evaluate("window.__events")
    return [e for e in recorded if kind is None or e["type"] == kind]


def outbox(page: Any) -> dict[str, Any]:
    """The widget's persistent outbox in localStorage."""
    return json.loads(page.evaluate("localStorage.getItem('fbw:q') || '{}'"))


def ask(page: Any, live_server: str, question: str) -> tuple[int, Any]:
    """Open the demo, ask `question`, and return the answer's interaction id and its widget locator."""
    if not page.url.startswith(live_server + "/demo"):
        page.goto(live_server + "/demo")
    count = page.locator("feedback-widget").count()
    page.get_by_label("Your message").fill(question)
    page.get_by_label("Your message").press("Enter")
    widget = page.locator("feedback-widget").nth(count)
    widget.wait_for()
    return int(widget.get_attribute("response-id")), widget
