"""Route declarations that carry their schemas, so the OpenAPI document is generated, never hand-written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from pydantic import BaseModel


@dataclass
class RouteSpec:
    """What one endpoint accepts and answers, for the OpenAPI document."""

    path: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    auth: tuple[str, ...] = ("apiKey",)
    description: str = ""
    errors: dict[int, str] = field(default_factory=dict)  # statuses beyond the common ones, with their meaning


ROUTES: list[RouteSpec] = []


def route(bp: Blueprint, rule: str, method: str, *, summary: str, tag: str,
          body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
          responses: dict[int, type[BaseModel] | None] | None = None,
          auth: tuple[str, ...] = ("apiKey",),
          errors: dict[int, str] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view on `bp` and record its spec (the docstring becomes the description; `errors` adds error
    statuses only this endpoint answers to the common ones)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        prefix = bp.url_prefix or ""
        ROUTES.append(RouteSpec(path=prefix + rule, method=method.lower(), summary=summary, tag=tag,
                                body=body, query=query, responses=responses or {200: None}, auth=auth,
                                description=(view.__doc__ or "").strip(), errors=errors or {}))
        bp.add_url_rule(rule, view_func=view, methods=[method])
        return view

    return decorate
