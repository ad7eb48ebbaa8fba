"""A bench-only Flask app: the least a durable single-feedback POST can do, to measure the stack's floor.

`POST /floor` hashes the Authorization header (the cost of an API-key lookup), validates the body with a small
pydantic model, and upserts one row into its own SQLite file (WAL, synchronous=NORMAL: the app's durability)
in a BEGIN IMMEDIATE ... COMMIT transaction on a per-thread connection, then answers a small JSON object.
It has no key table, token checks, origin checks, rate limit, revision history, access log, metrics, error
envelope or grouping of commits: the real endpoint can only cost more, so its ratio to the no-op endpoint is
an upper bound for the real endpoint's ratio on this stack (gunicorn + Flask + pydantic + SQLite).
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


def create_app() -> Flask:
    """The floor app; its SQLite file is $FLOOR_DB (default: floor.db in the working directory)."""
    app = Flask(__name__)
    app.json.compact = True
    path = os.environ.get("FLOOR_DB", "floor.db")

    @app.post("/floor")
    def floor():
        """Authenticate by hash, validate, upsert one row durably and answer 201."""
        caller = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()[:16]
        body = FloorBody.model_validate_json(request.get_data(cache=False))
        uid = f"{body.interaction_id}:{body.key}:{body.end_user_id or caller}"
        conn = _connection(path)
        conn.execute("BEGIN IMMEDIATE")
        try:
            revision = conn.execute(_UPSERT, (uid, body.interaction_id, body.key, body.score,
                                              body.comment)).fetchone()[0]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return {"feedback_id": uid, "revision": revision, "applied": True}, 201

    @app.get("/floor")
    def ready():
        """Readiness probe for the bench runner."""
        return {"ok": True}

    return app
