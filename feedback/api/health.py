"""Process liveness."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 while the process can answer requests."""
    return {"status": "ok", "version": current_app.config["VERSION"]}
