"""Start and stop gunicorn servers on 127.0.0.1 with one shared worker configuration."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServerConfig:
    """The gunicorn settings every server of one bench run shares."""

    workers: int
    worker_class: str
    threads: int
    # Connections one worker holds at most. Workers race to accept, so without a cap wrk's keep-alive
    # connections could all land on one worker and the round would measure half the server (seen: the same
    # no-op endpoint at ~3,000 or ~7,000 req/s from round to round); capped at connections / workers, every
    # worker gets its share and each app is measured with its whole server.
    worker_connections: int = 1000

    def describe(self) -> str:
        """A short human-readable form for the report."""
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return (f"gunicorn {self.workers} {self.worker_class} workers{threads}, "
                f"at most {self.worker_connections} connections per worker")


@dataclass(frozen=True)
class Server:
    """A running server: its base URL and process."""

    name: str
    port: int
    process: subprocess.Popen

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(server: Server, probe_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} server exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(server.base_url + probe_path, timeout=2) as answer:
                answer.read()
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the workers are serving
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} server did not answer within {timeout:.0f} s")


@contextmanager
def gunicorn(name: str, app_spec: str, config: ServerConfig, env: dict[str, str], log_path: Path,
             probe_path: str = "/") -> Iterator[Server]:
    """Run `python -m gunicorn app_spec` on a free loopback port until the block ends (SIGTERM, then SIGKILL)."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--config", "python:feedback.gunicorn_conf",  # as `feedback serve`
           "--bind", f"127.0.0.1:{port}", "--workers", str(config.workers),
           "--worker-class", config.worker_class, "--threads", str(config.threads),
           "--worker-connections", str(config.worker_connections), "--backlog", "2048",
           "--keep-alive", "30", "--timeout", "60", "--chdir", str(REPO_ROOT), "--error-logfile", str(log_path),
           "--log-level", "warning", app_spec]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(name, port, process)
    try:
        _wait_ready(server, probe_path, timeout=60)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
