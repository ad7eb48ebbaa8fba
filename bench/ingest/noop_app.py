"""A bench-only Flask app that answers POST with a small JSON body: the baseline for the ingest benchmark."""

from __future__ import annotations

from flask import Flask, request


def create_app() -> Flask:
    """A Flask app with one endpoint that reads the body and answers a small JSON object, and nothing else."""
    app = Flask(__name__)
    app.json.compact = True

    @app.post("/noop")
    def noop():
        """Read the request body and answer 201 with a fixed JSON object."""
        request.get_data(cache=False)
        return {"ok": True, "applied": True}, 201

    @app.get("/noop")
    def ready():
        """Readiness probe for the bench runner."""
        return {"ok": True}

    return app
