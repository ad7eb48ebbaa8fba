"""HTTP blueprints. Each module owns one area; add new blueprints to BLUEPRINTS."""

from __future__ import annotations

from flask import Flask

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


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint and the JSON error handlers."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
