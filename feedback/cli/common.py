"""Helpers shared by CLI commands: app context, JSON output, turning service errors into exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from sqlalchemy.orm import Session

from feedback.db import get_db
from feedback.errors import ApiError


@contextmanager
def app_session(ctx: click.Context) -> Iterator[Session]:
    """A session inside the app context; rolled back if the command fails."""
    app = ctx.find_root().obj.app
    with app.app_context():
        session = get_db().session()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


def fails_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Report service errors as a one-line message and exit status 2 instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ApiError as exc:
            details = f" ({json.dumps(exc.details, default=str)})" if exc.details else ""
            click.echo(f"error: {exc.message}{details}", err=True)
            sys.exit(2)

    return wrapper


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON."""
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))
