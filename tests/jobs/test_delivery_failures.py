"""Delivery survives Label Studio being down and a worker being killed mid-job, without duplicates."""

from __future__ import annotations

import signal
import time

from rq.registry import StartedJobRegistry

from feedback.db import get_db
from feedback.models import JobRecord
from feedback.queue import get_redis, queue_name
from feedback.services.labelstudio_local import start
from tests.conftest import log_interaction
from tests.jobs.delivery_helpers import (
    connect,
    item_ids,
    kill_tree,
    ls_tasks,
    outbox,
    run_worker_inline,
    worker_process,
)
from tests.labelstudio_proxy import proxy, set_hook
from tests.routing_helpers import add_rule


def test_label_studio_down_delays_and_loses_nothing(app, client, project, labelstudio, tmp_path):
    server = start(None, tmp_path / "ls")  # our own server: this test stops it
    try:
        admin = project.headers("admin")
        conn = connect(client, admin, server.url, server.token, register_webhook=False)
        add_rule(client, admin, conn["id"], conditions={"confidence_below": 0.5})
        server.stop()
        logged = [log_interaction(client, project, confidence=0.1)["id"] for _ in range(30)]
        run_worker_inline(app)
        items = outbox(app, project.id)
        assert len(items) == 30 and {i.status for i in items} == {"pending"}
        assert all(i.attempts == 1 and "Unreachable" in (i.last_error or "") for i in items)
        server = start(server.port, server.data_dir)
        assert client.post("/api/v1/routing/outbox/deliver", headers=admin).get_json() == {"due_now": 30}
        run_worker_inline(app)
        items = outbox(app, project.id)
        assert {i.status for i in items} == {"delivered"} and sorted(i.interaction_id for i in items) == logged
        from feedback.services.labelstudio_client import LabelStudioClient
        tasks = ls_tasks(LabelStudioClient(server.url, server.token), conn["ls_project_id"])
        assert item_ids(tasks) == sorted(str(i.id) for i in items)
    finally:
        server.stop()


def test_worker_killed_after_import_rerun_adopts_tasks(app, client, project, labelstudio, labelstudio_client,
                                                       cli_env):
    admin = project.headers("admin")
    with proxy(labelstudio.url) as front:
        conn = connect(client, admin, front.url, labelstudio.token, register_webhook=False)
        try:
            add_rule(client, admin, conn["id"], conditions={"confidence_below": 0.5})
            for _ in range(40):
                log_interaction(client, project, confidence=0.1)
            worker = worker_process(cli_env)
            set_hook(front, rf"POST /api/projects/{conn['ls_project_id']}/import",
                     lambda: kill_tree(worker.pid))
            worker.wait(60)
            assert worker.returncode == -signal.SIGKILL
            assert len(ls_tasks(labelstudio_client, conn["ls_project_id"])) == 40  # imported ...
            assert {i.status for i in outbox(app, project.id)} == {"pending"}  # ... but never marked
            with app.app_context():
                registry = StartedJobRegistry(queue_name("delivery"), connection=get_redis())
                assert len(registry.get_job_ids(cleanup=False)) == 1
                registry.cleanup(time.time() + 10_000)  # what RQ does once the dead worker's heartbeat expires
            time.sleep(2.5)  # the first retry is scheduled 2 s later
            rerun = worker_process(cli_env)
            assert rerun.wait(60) == 0, rerun.stdout.read().decode()[-3000:]
            items = outbox(app, project.id)
            assert {i.status for i in items} == {"delivered"}
            tasks = ls_tasks(labelstudio_client, conn["ls_project_id"])
            assert item_ids(tasks) == sorted(str(i.id) for i in items)  # 40 tasks, none twice
            with app.app_context():
                record = get_db().session().query(JobRecord).filter_by(
                    project_id=project.id, name="jobs.labelstudio_delivery.deliver_outbox").one()
                assert record.status == "finished" and record.result["adopted"] == 40
                assert record.result["imported"] == 0
        finally:
            labelstudio_client.delete_project(conn["ls_project_id"])
