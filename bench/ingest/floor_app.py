"""A bench-only Flask app: the least a durable single-feedback POST can do, to measure the stack's floor.

`POST /floor` hashes the Authorization header (the cost of an API-key lookup), validates the body with a small
pydantic model, and upserts one row in one transaction on a per-thread connection, then answers a small JSON
object. `$FLOOR_DB` picks the database the bench runs on: a SQLite file (WAL, synchronous=NORMAL, BEGIN
IMMEDIATE ... COMMIT: the app's durability) or a `postgresql://` URL (psycopg, a `floor_feedback` table in the
bench database, committed as the server is configured: synchronous_commit=on).
It has no key table, token checks, origin checks, rate limit, revision history, access log, metrics, error
envelope or grouping of commits: the real endpoint can only cost more, except that it groups the commits of
concurrent requests (`feedback.group_commit`), so the floor's ratio to the no-op endpoint bounds what the
features leave on this stack (gunicorn + Flask + pydantic + the database).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading

from flask import Flask, request
from pydantic import BaseModel

_local = threading.local()
_SCHEMA = ("CREATE TABLE IF NOT EXISTS feedback (uid TEXT PRIMARY KEY, interaction_id INTEGER, key TEXT, "
           "score REAL, comment TEXT, revision INTEGER NOT NULL)")
_UPSERT = ("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (uid) DO UPDATE SET "
           "revision = revision + 1, score = excluded.score, comment = excluded.comment RETURNING revision")
_PG_SCHEMA = _SCHEMA.replace("TABLE IF NOT EXISTS feedback", "TABLE IF NOT EXISTS floor_feedback").replace(
    "score REAL", "score DOUBLE PRECISION")
_PG_UPSERT = (_UPSERT.replace("INTO feedback", "INTO floor_feedback").replace("?", "%s")
              .replace("revision = revision + 1", "revision = floor_feedback.revision + 1"))


class FloorBody(BaseModel):
    """The fields the bench's wrk script sends."""

    interaction_id: int | None = None
    key: str = "helpfulness"
    score: float | None = None
    end_user_id: str | None = None
    reasons: list[str] = []
    comment: str | None = None


def _connection(path: str) -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute(_SCHEMA)
    return conn


def _pg_connection(url: str):  # noqa: ANN202 - psycopg is imported only for a PostgreSQL floor
    conn = getattr(_local, "conn", None)
    if conn is None:
        import psycopg

        conn = _local.conn = psycopg.connect(url)
        with conn.transaction():  # workers start together: one creates the table
            conn.execute("SELECT pg_advisory_xact_lock(7150)")
            conn.execute(_PG_SCHEMA)
    return conn


def _upsert_sqlite(path: str, values: tuple) -> int:
    conn = _connection(path)
    conn.execute("BEGIN IMMEDIATE")
    try:
        revision = conn.execute(_UPSERT, values).fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return revision


def _upsert_postgres(url: str, values: tuple) -> int:
    conn = _pg_connection(url)
    with conn.transaction():
        return conn.execute(_PG_UPSERT, values).fetchone()[0]


def create_app() -> Flask:
    """The floor app; its database is $FLOOR_DB: a SQLite path (default floor.db) or a postgresql:// URL."""
    app = Flask(__name__)
    app.json.compact = True
    target = os.environ.get("FLOOR_DB", "floor.db")
    upsert = _upsert_postgres if target.startswith("postgresql://") else _upsert_sqlite

    @app.post("/floor")
    def floor():
        """Authenticate by hash, validate, upsert one row durably and answer 201."""
        caller = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()[:16]
        body = FloorBody.model_validate_json(request.get_data(cache=False))
        uid = f"{body.interaction_id}:{body.key}:{body.end_user_id or caller}"
        revision = upsert(target, (uid, body.interaction_id, body.key, body.score, body.comment))
        return {"feedback_id": uid, "revision": revision, "applied": True}, 201

    @app.get("/floor")
    def ready():
        """Readiness probe for the bench runner."""
        return {"ok": True}

    return app
