"""The widget's service side: bundles under a stable URL and the public taxonomy/labels endpoint.

CORS and rate limits for the browser-facing endpoints are app-wide hooks from `feedback.api.browser`,
installed when this blueprint is registered.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, request

from feedback.api import browser
from feedback.api.request import parse_query, principal
from feedback.api.spec import route
from feedback.db import get_read_session
from feedback.errors import NotFound
from feedback.schemas.widget import WidgetConfig, WidgetConfigQuery
from feedback.services import projects
from feedback.services.widget_config import widget_config

bp = Blueprint("widget", __name__)
browser.install(bp)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "widget"
BUNDLES = {"feedback-widget.js", "feedback-widget.mjs"}
CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=86400"


@lru_cache(maxsize=4)
def _bundle(name: str, mtime_ns: int) -> tuple[bytes, str]:
    data = (STATIC_DIR / name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:32]


@bp.get("/widget/v1/<name>")
def bundle(name: str) -> Response:
    """Serve a built bundle (ES module or classic script) with a strong ETag and public caching."""
    path = STATIC_DIR / name
    if name not in BUNDLES or not path.is_file():
        raise NotFound(f"no widget bundle {name!r}", details={"available": sorted(BUNDLES)})
    data, etag = _bundle(name, path.stat().st_mtime_ns)
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL, "Access-Control-Allow-Origin": "*",
               "Cross-Origin-Resource-Policy": "cross-origin", "X-Content-Type-Options": "nosniff"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return Response(data, mimetype="text/javascript", headers=headers)


@route(bp, "/api/v1/widget/config", "GET", summary="Widget configuration", tag="widget",
       query=WidgetConfigQuery, responses={200: WidgetConfig}, auth=("apiKey", "feedbackToken"))
def config():
    """The reason taxonomy with labels in `lang` and the feedback keys' scales, for the widget to render.

    Accepts the same credentials as creating feedback: a feedback token or a widget key (from an allowed
    origin), as well as ingest/admin keys.
    """
    caller = principal()
    query = parse_query(WidgetConfigQuery)
    project = projects.get_project(get_read_session(), caller.project_id)
    return widget_config(project, query.lang).model_dump(mode="json")
