"""Flask's JSON responses written by orjson: the same JSON for what our endpoints return, several times faster.

Flask's own provider (the standard `json` module) was a visible part of every ingest request and most of a
1,000-result batch answer's serialisation. Values orjson does not take the way Flask does (datetimes, which Flask
writes as HTTP dates; dataclasses; UUIDs and decimals via Flask's `default`) are passed to Flask's `default`, and
anything orjson refuses (integers beyond 64 bits, non-string keys) falls back to Flask's provider.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    """Compact JSON through orjson; pretty-printed or unusual output through Flask's default provider."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise `obj`; keyword arguments other than compact separators use the standard encoder."""
        if not kwargs or kwargs == {"separators": (",", ":")}:
            try:
                return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
            except TypeError:
                pass
        return super().dumps(obj, **kwargs)


def install(app: Flask) -> None:
    """Make `app` answer JSON through orjson, keeping its compact and unsorted settings."""
    provider = OrjsonProvider(app)
    provider.sort_keys = False
    provider.compact = True
    app.json = provider
