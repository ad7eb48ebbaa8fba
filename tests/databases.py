"""Throwaway databases for tests and benchmarks: an SQLite file, or a uniquely named PostgreSQL database that is
dropped afterwards (servers outlive a run, so nothing may assume an empty server or leave databases behind)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("FEEDBACK_TEST_PG_ADMIN", "postgresql://127.0.0.1:5432/test")


@contextmanager
def temporary_database(backend: str, workdir: Path, prefix: str = "fl_tmp") -> Iterator[str]:
    """Yield the URL of a new empty database; it is removed afterwards (PostgreSQL: dropped WITH FORCE)."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{prefix}.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
