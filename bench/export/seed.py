"""Bench data: N interactions, each with one end-user thumbs feedback (every 7th with a correction).

Rows are bulk-loaded with the driver directly (executemany on SQLite, COPY on PostgreSQL): the bench measures
the export, not the ingest API.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

WORDS = tuple(
    [
        "account",
        "billing",
        "invoice",
        "refund",
        "shipping",
        "order",
        "password",
        "reset",
        "widget",
        "dashboard",
        "export",
        "report",
        "team",
        "storage",
        "upgrade",
        "plan",
        "discount",
        "warranty",
        "delivery",
        "return",
        "support",
        "ticket",
        "login",
        "email",
        "profile",
        "settings",
        "api",
        "key",
        "token",
        "webhook",
        "quota",
        "limit",
        "region",
        "backup",
        "restore",
        "sync",
        "mobile",
        "desktop",
        "browser",
        "cache",
    ]
)
BASE = datetime(2024, 1, 1, tzinfo=UTC)


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(
        rng.choice(WORDS) + (str(rng.randrange(1000)) if rng.random() < 0.2 else "") for _ in range(n)
    )


def rows(n: int, project_id: int, seed: int = 7) -> Iterator[tuple[tuple, tuple]]:
    """(interaction row, feedback row) tuples with ids 1..n."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        created = BASE + timedelta(seconds=i * 3)
        messages = json.dumps(
            [
                {"role": "system", "content": "You are a helpful support assistant."},
                {"role": "user", "content": f"#{i} {_sentence(rng, 24)}?"},
            ]
        )
        response = f"{_sentence(rng, 48)}."
        if i % 50 == 0:
            response += f" Reach us at help{i}@example.com or +1 415 555 {i % 10000:04d}."
        model = ("gpt-4o-mini", "llama-3-70b", "claude-haiku")[i % 3]
        meta = json.dumps({"channel": "web", "tags": ["beta"] if i % 10 == 0 else []})
        interaction = (
            i,
            project_id,
            f"ext-{i}",
            f"conv-{i // 3}",
            messages,
            response,
            model,
            "2024-07",
            meta,
            created,
        )
        score = -1.0 if rng.random() < 0.3 else 1.0
        correction = f"Corrected: {_sentence(rng, 20)}." if i % 7 == 0 else None
        feedback = (
            i,
            project_id,
            i,
            f"{i}:helpfulness:end_user:u{i % 5000}",
            1,
            "helpfulness",
            "end_user",
            score,
            "[]",
            correction,
            f"u{i % 5000}",
            "{}",
            False,
            created,
            created,
        )
        yield interaction, feedback


INTERACTION_COLUMNS = (
    "id",
    "project_id",
    "external_id",
    "conversation_id",
    "messages",
    "response",
    "model",
    "model_version",
    "metadata",
    "created_at",
)
FEEDBACK_COLUMNS = (
    "id",
    "project_id",
    "interaction_id",
    "feedback_uid",
    "revision",
    "key",
    "source",
    "score",
    "reasons",
    "correction",
    "end_user_id",
    "metadata",
    "retracted",
    "created_at",
    "updated_at",
)


def load_sqlite(path: str, n: int, project_id: int) -> None:
    """Bulk insert into an SQLite file (timestamps in the app's stored text form)."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    batch_i, batch_f = [], []

    def flush() -> None:
        conn.executemany(
            f"INSERT INTO interactions ({','.join(INTERACTION_COLUMNS)}) VALUES "
            f"({','.join('?' * len(INTERACTION_COLUMNS))})",
            batch_i,
        )
        conn.executemany(
            f"INSERT INTO feedback ({','.join(FEEDBACK_COLUMNS)}) VALUES "
            f"({','.join('?' * len(FEEDBACK_COLUMNS))})",
            batch_f,
        )
        batch_i.clear()
        batch_f.clear()

    for interaction, feedback in rows(n, project_id):
        batch_i.append(interaction[:-1] + (_sqlite_time(interaction[-1]),))
        batch_f.append(feedback[:-2] + (_sqlite_time(feedback[-2]), _sqlite_time(feedback[-1])))
        if len(batch_i) >= 20_000:
            flush()
    flush()
    conn.commit()
    conn.close()


def _sqlite_time(value: datetime) -> str:
    return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_postgres(url: str, n: int, project_id: int) -> None:
    """COPY into PostgreSQL and move the id sequences past the loaded ids."""
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY interactions ({','.join(INTERACTION_COLUMNS)}) FROM STDIN") as copy:
            for interaction, _ in rows(n, project_id):
                copy.write_row(interaction)
        with cur.copy(f"COPY feedback ({','.join(FEEDBACK_COLUMNS)}) FROM STDIN") as copy:
            for _, feedback in rows(n, project_id):
                copy.write_row(feedback)
        for table in ("interactions", "feedback"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})")
        cur.execute("ANALYZE")
