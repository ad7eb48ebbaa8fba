"""Request instrumentation for every endpoint (request ids, JSON access log, Prometheus counters) and /metrics.

Registering this blueprint installs app-wide hooks and the JSON log handler; nothing else needs wiring.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from feedback.db import get_session
from feedback.logging_setup import REQUEST_ID_HEADER, configure_logging, request_id_from
from feedback.queue import QUEUE_NAMES, get_redis, queue_name
from feedback.services import metrics

bp = Blueprint("metrics", __name__)
access_log = logging.getLogger("feedback.access")

BATCH_CREATED = "feedback.batch_created"  # request.environ key: interactions a batch request created
# Endpoints whose success means new rows: endpoint -> (kind, status that counts).
INGEST_ENDPOINTS = {
    "interactions.create_interaction": ("interaction", 201),
    "feedback.create_feedback": ("feedback", 201),
    "feedback.retract_feedback": ("feedback", 201),
}


def _install(app: Flask) -> None:
    configure_logging()
    app.before_request(_start)
    app.after_request(_finish)


bp.record_once(lambda state: _install(state.app))


def _start() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _endpoint() -> str:
    return request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def _count_ingest(response: Response) -> None:
    batch_created = request.environ.get(BATCH_CREATED)  # set by the batch endpoint: its answer is not re-read
    if batch_created is not None and response.status_code == 200:
        metrics.count_ingested("interaction", batch_created)
        return
    kind, status = INGEST_ENDPOINTS.get(request.endpoint or "", (None, None))
    if kind and response.status_code == status:
        metrics.count_ingested(kind)


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    request_id = g.get("request_id") or request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    if started is None:
        return response
    seconds = time.perf_counter() - started
    metrics.observe_request(request.method, _endpoint(), response.status_code, seconds)
    _count_ingest(response)
    access_log.info("%s %s %s", request.method, request.path, response.status_code,
                    extra={"method": request.method, "path": request.path, "endpoint": _endpoint(),
                           "status": response.status_code, "duration_ms": round(seconds * 1000, 2),
                           "remote_addr": request.remote_addr})
    return response


@bp.get("/metrics")
def scrape():
    """Prometheus text exposition (no auth: bind it to an internal network or protect it at the proxy)."""
    settings = current_app.config["SETTINGS"]
    try:
        redis = get_redis()
    except RedisError:
        redis = None
    queues = {name: queue_name(name, settings) for name in QUEUE_NAMES}
    body = metrics.exposition(get_session(), redis, queues)
    response = Response(body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
