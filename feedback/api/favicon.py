"""The site icon: `/favicon.ico` answers the service's SVG mark, so browsers stop logging a 404.

Pages also link it explicitly (`<link rel="icon" href="/static/favicon.svg">`); this route covers the
browsers' automatic request and pages that do not link an icon.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response

bp = Blueprint("favicon", __name__)

ICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"


@lru_cache(maxsize=1)
def _icon() -> bytes:
    return ICON.read_bytes()


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The SVG icon (browsers accept SVG content at the conventional .ico address), cached for a day."""
    return Response(_icon(), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
