"""Parsing requests (bodies and query strings through pydantic) and authenticating callers."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from feedback.db import get_read_session
from feedback.errors import BadRequest, ValidationFailed
from feedback.services.auth import Principal, authenticate

M = TypeVar("M", bound=BaseModel)
# A JSON \u0000 escape (not preceded by an escaped backslash): PostgreSQL text and JSONB cannot store NUL.
NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as JSON-safe dicts: location, message, type."""
    return [{"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in exc.errors()]


def nul_refused() -> ValidationFailed:
    """The error for text holding NUL, which PostgreSQL text and JSONB columns cannot store (body, query, path)."""
    return ValidationFailed("text may not contain NUL (\\u0000) characters", code="nul_character")


def parse_body(model: type[M]) -> M:
    """The JSON body validated as `model`; 400 for malformed JSON, 415 for other types, 422 for bad fields."""
    if not request.is_json:
        raise BadRequest("send a JSON body with 'Content-Type: application/json'", code="unsupported_media_type",
                         status=415)
    raw = request.get_data(cache=False)
    if not raw:
        raise BadRequest("the request body is empty", code="invalid_json")
    if b"\\u0000" in raw and NUL_ESCAPE.search(raw):  # the substring test is a fast filter for the regex
        raise nul_refused()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise BadRequest("the request body is not valid JSON", code="invalid_json",
                             details=validation_details(exc)) from exc
        raise ValidationFailed("the request body does not match the schema",
                               details=validation_details(exc)) from exc


def parse_query(model: type[M]) -> M:
    """The query string validated as `model` (unknown parameters are rejected)."""
    args = request.args.to_dict(flat=True)
    if any("\x00" in key or "\x00" in value for key, value in args.items()):
        raise nul_refused()
    unknown = sorted(set(args) - set(model.model_fields))
    if unknown:
        raise ValidationFailed("unknown query parameters", details={"unknown": unknown,
                                                                    "allowed": sorted(model.model_fields)})
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise ValidationFailed("invalid query parameters", details=validation_details(exc)) from exc


def principal() -> Principal:
    """The authenticated caller of this request (resolved once per request).

    Kept on the request, not on `g`: an app context (and its `g`) can outlive one request, as in tests or CLI
    code that issues several requests inside one context.
    """
    cached = request.environ.get("feedback.principal")
    if cached is None:
        cached = authenticate(get_read_session(), current_app.extensions["feedback.signer"],
                              request.headers.get("Authorization"),
                              request.headers.get("X-Feedback-Token"), request.headers.get("Origin"))
        request.environ["feedback.principal"] = cached
    return cached
