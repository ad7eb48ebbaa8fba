"""Prometheus metrics: request counters and latency (per process, multiprocess-safe) and pipeline gauges
computed at scrape time from the database and Redis (so every gunicorn worker reports the same values once).

With PROMETHEUS_MULTIPROC_DIR set (before start-up), counters and histograms are written to that directory by
every worker and merged at scrape time by `MultiProcessCollector`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import JobRecord, OutboxItem
from feedback.services.dashboard_sql import has_table, seconds_between

log = logging.getLogger(__name__)

REQUESTS = Counter("feedback_http_requests_total", "HTTP requests by endpoint, method and status",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("feedback_http_request_duration_seconds", "HTTP request latency by endpoint",
                    ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
INGESTED = Counter("feedback_ingested_total", "Interactions and feedback accepted (new rows or revisions)",
                   ["kind"])


# Labelled children, looked up once per (method, endpoint, status): `labels()` costs more than `inc()`. Bounded:
# endpoints are URL rules (or "<unmatched>"), methods and statuses are few.
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    """Count one finished request and record its latency."""
    children = _CHILDREN.get((method, endpoint, status))
    if children is None:
        if len(_CHILDREN) > 5000:
            _CHILDREN.clear()
        children = _CHILDREN[(method, endpoint, status)] = (REQUESTS.labels(method, endpoint, str(status)),
                                                            LATENCY.labels(method, endpoint))
    children[0].inc()
    children[1].observe(seconds)


def count_ingested(kind: str, amount: int = 1) -> None:
    """Count accepted interactions (`interaction`) or feedback revisions (`feedback`)."""
    if amount > 0:
        INGESTED.labels(kind).inc(amount)


class PipelineCollector(Collector):
    """Gauges read at scrape time: outbox depth/age, delivery failures, job durations, queue lengths."""

    def __init__(self, session: Session, redis: Redis | None, queues: dict[str, str]) -> None:
        self.session = session
        self.redis = redis
        self.queues = queues

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("feedback_dependency_up", "Whether a dependency answered this scrape",
                               labels=["dependency"])
        try:
            yield from self._database()
            up.add_metric(["database"], 1)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            self.session.rollback()
            up.add_metric(["database"], 0)
        try:
            yield from self._redis()
            up.add_metric(["redis"], 1)
        except RedisError as exc:
            log.warning("metrics: redis unavailable: %s", exc)
            up.add_metric(["redis"], 0)
        yield up

    def _database(self) -> Iterator[Metric]:
        yield from self._jobs()
        if has_table(self.session, "routing_outbox"):
            yield from self._outbox()

    def _outbox(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("feedback_outbox_items", "Routing outbox items by project and status",
                                  labels=["project_id", "status"])
        age = GaugeMetricFamily("feedback_outbox_oldest_pending_age_seconds",
                                "Age of the oldest undelivered outbox item", labels=["project_id"])
        failures = GaugeMetricFamily("feedback_labelstudio_delivery_failures",
                                     "Outbox items whose delivery to Label Studio failed: permanently (failed) "
                                     "or awaiting a retry (retrying)", labels=["project_id", "kind"])
        query = (select(OutboxItem.project_id, OutboxItem.status, func.count(),
                        func.min(OutboxItem.created_at).label("oldest"),
                        func.sum(case((OutboxItem.attempts > 0, 1), else_=0)).label("retrying"))
                 .group_by(OutboxItem.project_id, OutboxItem.status))
        now = utcnow()
        for project_id, status, count, oldest, retrying in self.session.execute(query):
            depth.add_metric([str(project_id), status], count)
            if status == "pending":
                if oldest is not None:
                    oldest = _aware(oldest)
                    age.add_metric([str(project_id)], max(0.0, (now - oldest).total_seconds()))
                failures.add_metric([str(project_id), "retrying"], int(retrying or 0))
            elif status == "failed":
                failures.add_metric([str(project_id), "failed"], count)
        yield from (depth, age, failures)

    def _jobs(self) -> Iterator[Metric]:
        states = GaugeMetricFamily("feedback_jobs", "Background jobs by name and status", labels=["job", "status"])
        for name, status, count in self.session.execute(
                select(JobRecord.name, JobRecord.status, func.count()).group_by(JobRecord.name, JobRecord.status)):
            states.add_metric([name, status], count)
        durations = SummaryMetricFamily("feedback_job_duration_seconds", "Run time of finished background jobs",
                                        labels=["job"])
        elapsed = seconds_between(self.session, JobRecord.started_at, JobRecord.finished_at)
        rows = self.session.execute(
            select(JobRecord.name, func.count(), func.sum(elapsed))
            .where(JobRecord.status == "finished", JobRecord.started_at.is_not(None),
                   JobRecord.finished_at.is_not(None))
            .group_by(JobRecord.name).order_by(JobRecord.name))
        for name, count, total in rows:
            durations.add_metric([name], count_value=count, sum_value=max(0.0, float(total or 0)))
        yield from (states, durations)

    def _redis(self) -> Iterator[Metric]:
        if self.redis is None:
            return
        length = GaugeMetricFamily("feedback_queue_length", "Jobs waiting in each RQ queue", labels=["queue"])
        running = GaugeMetricFamily("feedback_queue_started_jobs", "Jobs being run per RQ queue", labels=["queue"])
        failed = GaugeMetricFamily("feedback_queue_failed_jobs", "Jobs in each queue's failed registry",
                                   labels=["queue"])
        for short, full in self.queues.items():
            queue = Queue(full, connection=self.redis)
            length.add_metric([short], queue.count)
            running.add_metric([short], StartedJobRegistry(queue=queue).count)
            failed.add_metric([short], FailedJobRegistry(queue=queue).count)
        yield from (length, running, failed)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite returns MIN() of a datetime column as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def exposition(session: Session, redis: Redis | None, queues: dict[str, str]) -> bytes:
    """The text exposition of every metric: this process's (or all workers') plus the scrape-time gauges."""
    started = time.perf_counter()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        MultiProcessCollector(process)
    else:
        process = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(PipelineCollector(session, redis, queues))
    body = generate_latest(process) + generate_latest(scraped)
    log.debug("metrics scrape took %.1f ms", (time.perf_counter() - started) * 1000)
    return body
