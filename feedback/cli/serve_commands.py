"""`feedback serve` (gunicorn) and `feedback worker` (RQ workers with the scheduler)."""

from __future__ import annotations

import os
import sys

import click
from rq import Worker
from rq.utils import import_attribute

from feedback.queue import QUEUE_NAMES, get_redis, queue_name


def register(main: click.Group) -> None:
    """Add the commands to the root group."""
    main.add_command(serve)
    main.add_command(worker)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API with gunicorn (settings from the environment)."""
    args = [sys.executable, "-m", "gunicorn", "--config", "python:feedback.gunicorn_conf", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--threads", str(threads), "feedback:create_app()"]
    os.execv(sys.executable, args)


@click.command()
@click.option("--queue", "queues", multiple=True, type=click.Choice(QUEUE_NAMES),
              help="Queues to listen on (repeatable; default: all).")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduler for delayed and periodic jobs.")
@click.pass_context
def worker(ctx: click.Context, queues: tuple[str, ...], burst: bool, no_scheduler: bool) -> None:
    """Run an RQ worker inside the app context."""
    app = ctx.find_root().obj.app
    import_attribute("jobs.base.preload")(app)  # by dotted name, like every job: `feedback` never imports `jobs`
    with app.app_context():
        names = [queue_name(name) for name in (queues or QUEUE_NAMES)]
        rq_worker = Worker(names, connection=get_redis())
        stop_cron = None
        if not no_scheduler and not burst:  # periodic jobs (outbox sweep, reconcile), resolved by dotted name
            start_cron = import_attribute("jobs.scheduler.start_cron_thread")
            stop_cron = start_cron(get_redis(), app.config["SETTINGS"].queue_prefix)
        try:
            rq_worker.work(burst=burst, with_scheduler=not no_scheduler)
        finally:
            if stop_cron is not None:
                stop_cron.set()
