"""Helpers for delivery tests: connections through the API, workers in-process or as subprocesses."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import select

from feedback.db import get_db
from feedback.models import OutboxItem
from feedback.queue import get_redis, queue_name
from feedback.services.labelstudio_client import LabelStudioClient
from feedback.services.labelstudio_templates import ITEM_ID_FIELD

ROOT = Path(__file__).resolve().parents[2]


def connect(client: FlaskClient, headers: dict[str, str], url: str, token: str, **fields) -> dict:
    """Create a Label Studio connection through the API (creates the LS project and webhook)."""
    body = {"name": fields.pop("name", "review"), "url": url, "token": token} | fields
    answer = client.post("/api/v1/labelstudio/connections", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def run_worker_inline(app: Flask) -> None:
    """Drain the delivery queue in this process (the job's app is the test app)."""
    import jobs.base

    jobs.base._app = app
    with app.app_context():
        SimpleWorker([queue_name("delivery")], connection=get_redis()).work(burst=True, with_scheduler=True)


def worker_process(env: dict[str, str], burst: bool = True) -> subprocess.Popen:
    """`feedback worker --queue delivery` as a subprocess in its own session (so killpg reaches its horse)."""
    argv = [sys.executable, "-m", "feedback.cli", "worker", "--queue", "delivery"] + (["--burst"] if burst else [])
    return subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def outbox(app: Flask, project_id: int) -> list[OutboxItem]:
    """The project's outbox items in id order."""
    with app.app_context():
        session = get_db().session()
        rows = list(session.scalars(select(OutboxItem).where(OutboxItem.project_id == project_id)
                                    .order_by(OutboxItem.id).execution_options(populate_existing=True)))
        session.expunge_all()
        session.rollback()
        return rows


def ls_tasks(client: LabelStudioClient, ls_project_id: int) -> list[dict]:
    """Every task of a Label Studio project with data and predictions."""
    return [t.model_dump(mode="json") for t in client._ls.tasks.list(project=ls_project_id, fields="all",
                                                                      page_size=1000)]


def item_ids(tasks: list[dict]) -> list[str]:
    """Our outbox ids carried by the tasks (duplicates would show twice)."""
    return sorted(str(t["data"][ITEM_ID_FIELD]) for t in tasks)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (RQ's work horse runs in a session of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, found = [pid], []
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    for target in reversed(found):
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)
