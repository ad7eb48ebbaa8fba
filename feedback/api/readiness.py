"""GET /readyz: 200 when the database, Redis and configured Label Studio servers answer, else 503 with details."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from redis import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from feedback.db import get_session, make_engine
from feedback.queue import get_redis
from feedback.services import readiness

bp = Blueprint("readiness", __name__)


def _engine(app: Flask) -> Engine:
    """A pool-less engine for probes, so every check proves a new connection can be made."""
    engine = app.extensions.get("feedback.readiness_engine")
    if engine is None:
        url = app.config["SETTINGS"].database_url
        extra = {} if url.startswith("sqlite") else {"connect_args": {"connect_timeout": 3}}
        engine = make_engine(url, poolclass=NullPool, **extra)
        app.extensions["feedback.readiness_engine"] = engine
    return engine


def _redis(app: Flask) -> Redis:
    """A Redis client with short timeouts (the shared one may block for long on a dead server)."""
    client = app.extensions.get("feedback.readiness_redis")
    if client is None:
        url = app.config["SETTINGS"].redis_url
        client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) if url else get_redis()
        app.extensions["feedback.readiness_redis"] = client
    return client


@bp.get("/readyz")
def readyz():
    """Ready when every dependency answers; the body lists each check with its latency and any error."""
    app = current_app._get_current_object()
    database = readiness.check_database(_engine(app), app.config["SETTINGS"].database_url)
    checks = [database, readiness.check_redis(_redis(app))]
    if database.ok:
        try:
            urls = readiness.labelstudio_urls(get_session())
        except SQLAlchemyError:
            get_session().rollback()
            urls = []
        checks += [readiness.check_labelstudio(url) for url in urls]
    ready, body = readiness.summary(checks)
    return body, 200 if ready else 503, {"Cache-Control": "no-store"}
