"""Portable SQL pieces for the dashboard's aggregations (the same results on SQLite and PostgreSQL).

Everything here builds SQLAlchemy expressions; the GROUP BY runs in the database, never in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Integer, case, cast, func, inspect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

Bucket = Literal["hour", "day"]
RANGES: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
                                "90d": timedelta(days=90)}
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Window:
    """The time range a dashboard shows and the width of one chart bucket."""

    name: str
    start: datetime
    end: datetime
    bucket: Bucket

    @classmethod
    def named(cls, name: str, now: datetime | None = None) -> Window:
        """`24h`, `7d`, `30d` or `90d` ending now; hourly buckets up to a day, daily beyond."""
        if name not in RANGES:
            raise ValueError(f"unknown range {name!r}; expected one of {sorted(RANGES)}")
        end = (now or datetime.now(UTC)).astimezone(UTC)
        span = RANGES[name]
        bucket: Bucket = "hour" if span <= timedelta(days=1) else "day"
        return cls(name, end - span, end, bucket)

    def labels(self) -> list[str]:
        """Every bucket label in the window, oldest first (so empty buckets still get a slot)."""
        step = timedelta(hours=1) if self.bucket == "hour" else timedelta(days=1)
        fmt = "%Y-%m-%d %H:00" if self.bucket == "hour" else "%Y-%m-%d"
        current = self.start.replace(minute=0, second=0, microsecond=0)
        if self.bucket == "day":
            current = current.replace(hour=0)
        out = []
        while current <= self.end:
            out.append(current.strftime(fmt))
            current += step
        return out


def dialect(session: Session) -> str:
    """`sqlite` or `postgresql`."""
    return session.get_bind().dialect.name


def bucket_expr(session: Session, column: Any, bucket: Bucket) -> ColumnElement[str]:
    """The column's UTC time truncated to the bucket, as text: `2026-01-31` or `2026-01-31 14:00`."""
    if dialect(session) == "postgresql":
        fmt = "YYYY-MM-DD HH24:00" if bucket == "hour" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", column), fmt)
    # SQLite stores these columns as ISO text (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC): a prefix is the bucket.
    if bucket == "hour":
        return func.substr(column, 1, 13).concat(":00")
    return func.substr(column, 1, 10)


def day_expr(session: Session, column: Any) -> ColumnElement[str]:
    """The UTC calendar day of a timestamp column as `YYYY-MM-DD` text."""
    return bucket_expr(session, column, "day")


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """`end - start` in seconds, as a number."""
    if dialect(session) == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def confidence_bin(session: Session, column: Any) -> ColumnElement[int]:
    """Index 0..9 of a confidence in [0, 1] (1.0 falls in the last bin)."""
    scaled = column * CALIBRATION_BINS
    floored = func.floor(scaled) if dialect(session) == "postgresql" else scaled
    index = cast(floored, Integer)
    return case((column >= 1, CALIBRATION_BINS - 1), else_=index)


def reason_values(session: Session, reasons_column: Any) -> tuple[Any, ColumnElement[str]]:
    """A table-valued function expanding a JSON list of reason ids, and the column holding each id."""
    if dialect(session) == "postgresql":
        expanded = func.jsonb_array_elements_text(reasons_column).table_valued("value").alias("reason")
    else:
        expanded = func.json_each(reasons_column).table_valued("value").alias("reason")
    return expanded, expanded.c.value


def has_table(session: Session, name: str) -> bool:
    """Whether the connected database has table `name` (parts of the schema land in later migrations)."""
    return inspect(session.connection()).has_table(name)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % by default); (0, 0) when there is no observation."""
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
