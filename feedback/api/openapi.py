"""The OpenAPI 3.1 document, generated from the route specs and their pydantic schemas; a docs page."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from feedback.api.spec import ROUTES, RouteSpec
from feedback.schemas.common import MAX_DB_INT, ErrorResponse

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")
REF = "#/components/schemas/{model}"
ERROR_STATUSES = {400: "Malformed request", 401: "Missing, invalid, revoked or expired credentials",
                  403: "Wrong scope, origin or token", 404: "Not found", 409: "Conflict",
                  413: "Body too large", 422: "Validation failed", 429: "Rate limited"}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"ErrorResponse": ErrorResponse}
    for spec in ROUTES:
        for model in (spec.body, spec.query, *spec.responses.values()):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _parameters(spec: RouteSpec, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    integer = {"type": "integer", "minimum": 0, "maximum": MAX_DB_INT}  # what `<int:...>` accepts
    params = [{"name": name, "in": "path", "required": True,
               "schema": dict(integer) if conv == "int" else {"type": "string"}}
              for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", spec.path)]
    if spec.query is not None:
        props = schemas[spec.query.__name__].get("properties", {})
        params += [{"name": name, "in": "query", "required": False, "schema": prop}
                   for name, prop in props.items()]
    return params


def build_document(version: str) -> dict[str, Any]:
    """The whole OpenAPI document for the registered routes."""
    models = _models()
    _, defs = models_json_schema([(m, "serialization" if m not in {s.body for s in ROUTES} else "validation")
                                  for m in models], ref_template=REF)
    schemas = defs.get("$defs", {})
    paths: dict[str, Any] = {}
    for spec in ROUTES:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", spec.path)
        op: dict[str, Any] = {"summary": spec.summary, "description": spec.description, "tags": [spec.tag],
                              "operationId": f"{spec.method}_{re.sub(r'[^a-z0-9]+', '_', path.lower())}",
                              "security": [{name: []} for name in spec.auth], "responses": {}}
        params = _parameters(spec, schemas)
        if params:
            op["parameters"] = params
        if spec.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model=spec.body.__name__)}}}}
        for status, model in spec.responses.items():
            content = {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}} if model else {}
            op["responses"][str(status)] = {"description": "Success", **({"content": content} if content else {})}
        for status, text in {**ERROR_STATUSES, **spec.errors}.items():
            op["responses"].setdefault(str(status), {"description": text, "content": {"application/json": {
                "schema": {"$ref": REF.format(model="ErrorResponse")}}}})
        paths.setdefault(path, {})[spec.method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "feedback-loop API", "version": version,
                 "description": "Human-in-the-loop feedback and annotation service for LLM applications."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key (fl_...)"},
            "feedbackToken": {"type": "http", "scheme": "bearer",
                              "description": "The per-response feedback token returned when an interaction is "
                                             "logged (also accepted as X-Feedback-Token)"}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    """The generated OpenAPI 3.1 document."""
    ext = current_app.extensions
    if "feedback.openapi" not in ext:
        ext["feedback.openapi"] = build_document(current_app.config["VERSION"])
    return ext["feedback.openapi"]


@bp.get("/docs")
def docs_page():
    """A readable page listing every operation, rendered from the same document."""
    document = openapi_json()
    html = render_template("api_docs.html", doc=document)
    return Response(html, headers={"Content-Security-Policy": "default-src 'self'; style-src 'self'"})
