"""feedback-loop: human-in-the-loop feedback and annotation service for LLM applications."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask

from feedback.api import json_provider, register_blueprints
from feedback.config import Settings
from feedback.db import Database
from feedback.services.tokens import TokenSigner

try:
    __version__ = version("feedback-loop")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the Flask app. Opens no connection: the database and Redis are reached on first use."""
    settings = (settings or Settings.from_env()).with_overrides(**overrides)
    app = Flask(__name__)
    app.config.update(
        SETTINGS=settings,
        VERSION=__version__,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        TESTING=settings.testing,
        JSON_SORT_KEYS=False,
    )
    json_provider.install(app)  # orjson, compact, keys in insertion order
    Database().init_app(app)
    app.extensions["feedback.signer"] = TokenSigner(settings.resolved_secret_key(), settings.token_ttl_seconds)

    register_blueprints(app)
    return app
