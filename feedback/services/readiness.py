"""Readiness checks: can this process reach its database, Redis and the Label Studio servers it delivers to?

Each check opens a fresh connection with a short timeout (a pooled connection could hide an outage) and
reports ok, latency and a one-line reason when it fails.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from feedback.models import LabelStudioConnection
from feedback.services.dashboard_sql import has_table

TIMEOUT_SECONDS = 3.0
MAX_LABELSTUDIO_CHECKS = 10


@dataclass
class Check:
    """The outcome of one dependency check."""

    name: str
    ok: bool
    latency_ms: float
    detail: str | None = None
    target: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def _timed(name: str, target: str | None, func: Any) -> Check:
    started = time.perf_counter()
    try:
        detail = func()
        ok = True
    except (SQLAlchemyError, RedisError, OSError, ValueError) as exc:
        ok, detail = False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    return Check(name, ok, round((time.perf_counter() - started) * 1000, 2), detail, target)


def check_database(engine: Engine, url: str) -> Check:
    """Open a new connection and read the schema version (fails on a missing or unmigrated database)."""

    def probe() -> str:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            path = Path(url.removeprefix("sqlite:///"))
            if not path.exists():  # connecting would silently create an empty database
                raise FileNotFoundError(f"database file {path} is missing")
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return f"schema {version}"

    return _timed("database", engine.url.render_as_string(hide_password=True), probe)


def check_redis(client: Redis) -> Check:
    """PING Redis."""

    def probe() -> str:
        if not client.ping():
            raise RedisError("PING was not answered")
        return "pong"

    return _timed("redis", None, probe)


def labelstudio_urls(session: Session) -> list[str]:
    """Distinct URLs of active Label Studio connections (none before routing is set up)."""
    if not has_table(session, "labelstudio_connections"):
        return []
    query = (select(LabelStudioConnection.url).where(LabelStudioConnection.active.is_(True)).distinct()
             .order_by(LabelStudioConnection.url).limit(MAX_LABELSTUDIO_CHECKS))
    return list(session.scalars(query))


def check_labelstudio(url: str) -> Check:
    """GET `<url>/health` (Label Studio answers 200 when up)."""

    def probe() -> str:
        health = url.rstrip("/") + "/health"
        if not health.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url}")
        try:
            with urllib.request.urlopen(health, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - checked scheme
                return f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            raise OSError(f"HTTP {exc.code} from {health}") from None

    return _timed("labelstudio", url, probe)


def summary(checks: list[Check]) -> tuple[bool, dict[str, Any]]:
    """(ready, JSON body): ready only when every check passed."""
    ready = all(c.ok for c in checks)
    return ready, {"status": "ready" if ready else "unavailable", "checks": [c.as_dict() for c in checks]}
