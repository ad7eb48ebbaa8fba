"""Inserting many interactions in one statement per backend, with values serialised once, by hand.

Both paths run `INSERT .. ON CONFLICT (project_id, external_id) DO NOTHING RETURNING id, external_id`, so
concurrent duplicate posts never fail and never duplicate, and answer external id -> id for the rows written.
SQLAlchemy's per-value bind processing (JSON, UTC datetimes) was the largest CPU cost of a 1,000-item batch, so
the JSON and datetime values are converted here, exactly as the column types would store them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from feedback.db import dumps_json

_COLUMNS = (("external_id", "text"), ("conversation_id", "text"), ("messages", "jsonb"), ("response", "text"),
            ("model", "text"), ("model_version", "text"), ("prompt_version", "text"), ("confidence", "float8"),
            ("latency_ms", "float8"), ("prompt_tokens", "int4"), ("completion_tokens", "int4"),
            ("metadata", "jsonb"), ("end_user_id", "text"), ("created_at", "timestamptz"))
_NAMES = ", ".join(column for column, _ in _COLUMNS)
# PostgreSQL: the rows travel as one JSON array that the server unpacks (jsonb_to_recordset). Array parameters
# (unnest) cost psycopg a regex escape per text element, most of a batch's CPU; a multi-row VALUES has 15,000
# placeholders that psycopg re-parses on every execution.
_PG_RECORDSET = text(
    f"INSERT INTO interactions (project_id, {_NAMES}) SELECT :project_id, {_NAMES} "
    f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS u({', '.join(f'{c} {k}' for c, k in _COLUMNS)}) "
    "ON CONFLICT (project_id, external_id) DO NOTHING RETURNING id, external_id")
_SQLITE_ROW = "(" + ", ".join("?" * (len(_COLUMNS) + 1)) + ")"
_SQLITE_CHUNK = 500  # rows per statement: 7,500 parameters, well under SQLite's 32,766
_SQLITE_STATEMENTS: dict[int, str] = {}


def sqlite_datetime(value: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DATETIME stores it: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff`."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    v = value.astimezone(UTC)  # not strftime: glibc writes year 81 as "81", SQLAlchemy as "0081"
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"


def _sqlite_statement(count: int) -> str:
    stmt = _SQLITE_STATEMENTS.get(count)
    if stmt is None:
        stmt = _SQLITE_STATEMENTS[count] = (
            f"INSERT INTO interactions (project_id, {_NAMES}) VALUES {', '.join([_SQLITE_ROW] * count)} "
            "ON CONFLICT (project_id, external_id) DO NOTHING RETURNING id, external_id")
    return stmt


def _insert_sqlite(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    connection = session.connection()
    stamps: dict[datetime, str] = {}  # most rows of a batch share the time of receipt
    written: dict[str, int] = {}
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start:start + _SQLITE_CHUNK]
        params: list[Any] = []
        for row in chunk:
            created = row["created_at"]
            stamp = stamps.get(created)
            if stamp is None:
                stamp = stamps[created] = sqlite_datetime(created)
            params += (row["project_id"], row["external_id"], row["conversation_id"], dumps_json(row["messages"]),
                       row["response"], row["model"], row["model_version"], row["prompt_version"],
                       row["confidence"], row["latency_ms"], row["prompt_tokens"], row["completion_tokens"],
                       dumps_json(row["metadata"]), row["end_user_id"], stamp)
        result = connection.exec_driver_sql(_sqlite_statement(len(chunk)), tuple(params))
        written.update((ext, pk) for pk, ext in result)
    return written


def _insert_postgres(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    stamps: dict[datetime, str] = {}
    records = []
    for row in rows:
        created = row["created_at"]
        stamp = stamps.get(created)
        if stamp is None:
            stamp = stamps[created] = created.isoformat()
        records.append({**row, "created_at": stamp})
    params = {"project_id": rows[0]["project_id"], "rows": dumps_json(records)}
    return {ext: pk for pk, ext in session.connection().execute(_PG_RECORDSET, params).all()}


def insert_interactions(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the rows (one project, distinct external ids) that do not exist yet; external id -> new id."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _insert_postgres(session, rows)
    return _insert_sqlite(session, rows)
