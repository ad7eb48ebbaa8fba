"""HTTP blueprints. Each module owns one area; add new blueprints to BLUEPRINTS."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from feedback.api import (
    dashboard,
    demo,
    favicon,
    feedback,
    health,
    interactions,
    jobs,
    lifecycle,
    metrics,
    openapi,
    projects,
    readiness,
    routing,
    widget,
)
from feedback.api.datasets import bp as datasets_bp
from feedback.api.errors import register_error_handlers
from feedback.api.labelstudio_webhook import bp as labelstudio_webhook_bp
from feedback.api.request import nul_refused
from feedback.schemas.common import MAX_DB_INT

BLUEPRINTS = [
    metrics.bp,
    readiness.bp,
    lifecycle.bp,
    health.bp,
    interactions.bp,
    feedback.bp,
    projects.bp,
    openapi.bp,
    widget.bp,
    labelstudio_webhook_bp,
    demo.bp,
    favicon.bp,
    datasets_bp,
    dashboard.bp,
    routing.bp,
    jobs.bp,
]


def _at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0 .. `limit` (leading zeros allowed below `limit`'s length)."""
    digits = str(limit)
    parts = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, char in enumerate(digits):  # same prefix as `limit`, then a smaller digit, then anything
        if char != "0":
            rest = len(digits) - i - 1
            smaller = "0" if char == "1" else f"[0-{int(char) - 1}]"
            parts.append(digits[:i] + smaller + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in our routes: an id or version, 0 .. 2**63 - 1. A larger number matches no route (404)
    instead of reaching the database, which cannot bind it (SQLite's OverflowError, PostgreSQL's out-of-range).
    The bound is in the pattern, not only in `max`: a number that fails only `max` would still let another
    method's route match the path, and the answer would be a 405."""

    regex = _at_most(MAX_DB_INT)

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_DB_INT,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _refuse_nul(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Path segments (dataset names, end-user ids, ...) reach text columns, which cannot hold NUL on PostgreSQL."""
    if values and any(isinstance(v, str) and "\x00" in v for v in values.values()):
        raise nul_refused()


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint (their `<int:...>` segments bounded by `IdConverter`) and the JSON error handlers."""
    app.url_map.converters["int"] = IdConverter
    app.url_value_preprocessor(_refuse_nul)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
