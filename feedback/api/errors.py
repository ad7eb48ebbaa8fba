"""Every error becomes `{"error": {"code", "message", "details"}}` with the right status; never an HTML page."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from feedback.db import get_db
from feedback.errors import ApiError

log = logging.getLogger(__name__)


def _body(status: int, code: str, message: str, details: object = None, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _rollback() -> None:
    # Nothing half-written may survive an error: drop whatever the request's session holds.
    get_db().session.rollback()


def register_error_handlers(app: Flask) -> None:
    """Install the JSON error handlers on `app`."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        _rollback()
        return _body(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        _rollback()
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                400: "bad_request", 415: "unsupported_media_type"}.get(exc.code or 500, "http_error")
        headers = dict(exc.get_headers()) if exc.code == 405 else {}
        headers.pop("Content-Type", None)
        return _body(exc.code or 500, code, exc.description or exc.name, None, headers)

    @app.errorhandler(OperationalError)
    def database_unavailable(exc: OperationalError):
        _rollback()
        log.error("database error: %s", exc)
        return _body(503, "database_unavailable", "the database is unavailable; retry later", None,
                     {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _rollback()
        log.exception("unhandled error")
        return _body(500, "internal_error", "an unexpected error occurred; it has been logged")
