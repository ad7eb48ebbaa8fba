"""Periodic jobs, run by RQ's CronScheduler in a thread of `feedback worker`.

Registered: the outbox sweep (re-kicks delivery for due items: missed kicks, retries after backoff), the
retention job (every FEEDBACK_RETENTION_INTERVAL seconds, default 6 h) and, when
present, the Label Studio reconcile job. Only one scheduler per queue prefix enqueues at a time (a Redis lock
renewed on every tick), so running several workers does not multiply periodic jobs.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any

from redis import Redis
from rq.cron import CronScheduler
from rq.utils import import_attribute

log = logging.getLogger(__name__)
SWEEP = "jobs.labelstudio_delivery.sweep_outbox"
RECONCILE = "jobs.labelstudio.reconcile_all"
RETENTION = "jobs.retention.enforce_retention"
ROLLUPS = "jobs.dashboard.refresh_rollups"
SELECTION = "jobs.selection.run_scheduled_selections"


class _ThreadCron(CronScheduler):
    """A CronScheduler that runs in a thread (no signal handlers) and enqueues only while holding the lock."""

    def __init__(self, connection: Redis, lock_key: str, stop: threading.Event) -> None:
        super().__init__(connection, name=f"feedback-cron-{uuid.uuid4().hex[:8]}")
        self.lock_key, self.stop_event, self.token = lock_key, stop, uuid.uuid4().hex

    def _install_signal_handlers(self) -> None:  # signals belong to the worker's main thread
        pass

    def _leader(self) -> bool:
        current = self.connection.get(self.lock_key)
        if current is not None and current.decode() == self.token:
            self.connection.expire(self.lock_key, 120)
            return True
        return bool(self.connection.set(self.lock_key, self.token, nx=True, ex=120))

    def enqueue_jobs(self) -> list[Any]:
        """Enqueue due jobs when this scheduler holds the lock."""
        if self.stop_event.is_set() or not self._leader():
            return []
        return super().enqueue_jobs()

    def calculate_sleep_interval(self) -> float:
        """Sleep at most a few seconds so that leadership and stop requests are noticed."""
        return min(super().calculate_sleep_interval(), 5.0)


def build_cron(connection: Redis, prefix: str, stop: threading.Event) -> CronScheduler:
    """The scheduler with this project's periodic jobs registered on the prefixed queues."""
    cron = _ThreadCron(connection, f"{prefix}cron:leader", stop)
    sweep_every = int(os.environ.get("FEEDBACK_SWEEP_INTERVAL", "15"))
    cron.register(import_attribute(SWEEP), queue_name=f"{prefix}delivery", interval=sweep_every, job_timeout=300)
    try:
        reconcile = import_attribute(RECONCILE)
    except (ImportError, AttributeError):
        log.info("no %s: reconcile is not scheduled", RECONCILE)
    else:
        every = int(os.environ.get("FEEDBACK_RECONCILE_INTERVAL", "300"))
        cron.register(reconcile, queue_name=f"{prefix}default", interval=every, job_timeout=1800)
    retention_every = int(os.environ.get("FEEDBACK_RETENTION_INTERVAL", "21600"))
    cron.register(import_attribute(RETENTION), queue_name=f"{prefix}default", interval=retention_every,
                  job_timeout=3600)
    rollups_every = int(os.environ.get("FEEDBACK_ROLLUP_INTERVAL", "300"))
    cron.register(import_attribute(ROLLUPS), queue_name=f"{prefix}default", interval=rollups_every,
                  job_timeout=3600)
    selection_every = int(os.environ.get("FEEDBACK_SELECTION_INTERVAL", "600"))
    cron.register(import_attribute(SELECTION), queue_name=f"{prefix}selection", interval=selection_every,
                  job_timeout=300)
    return cron


def start_cron_thread(connection: Redis, prefix: str) -> threading.Event:
    """Start the periodic-job scheduler in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    cron = build_cron(connection, prefix, stop)

    def run() -> None:
        cron.register_birth()
        try:
            while not stop.is_set():
                if cron.enqueue_jobs():
                    cron.save()
                cron.heartbeat()
                stop.wait(cron.calculate_sleep_interval())
        finally:
            cron.register_death()

    threading.Thread(target=run, name="feedback-cron", daemon=True).start()
    return stop
