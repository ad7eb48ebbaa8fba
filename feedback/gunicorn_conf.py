"""gunicorn settings shared by `feedback serve` and the ingest benchmark (`--config python:feedback.gunicorn_conf`).

Each worker freezes the garbage collector's view of everything that exists once the app is loaded (modules,
the app, SQLAlchemy and pydantic machinery): those objects live as long as the process, and without the freeze
every full collection walks all of them again. A 1,000-item batch allocates enough objects to trigger such
collections; freezing cut its CPU time by about 30% (`bench/ingest`).
"""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """After the worker has loaded the app: collect once, then move the survivors out of the collector's way."""
    gc.collect()
    gc.freeze()

