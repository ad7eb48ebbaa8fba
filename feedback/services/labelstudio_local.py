"""Run a real local Label Studio server (loopback only) on a copy of the cached template data dir.

Typical use::

    server = start(port=None, data_dir=Path("/tmp/ls-data"))   # installs on first run, visible progress
    ...  # server.url, server.token
    server.stop()

``start`` on an existing data dir reuses it (a restart keeps projects and tasks); on a missing or empty one
it copies the template first. ``--debug`` makes a busy port fail loudly instead of moving to PORT+1.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from feedback.services.labelstudio_install import (
    TEMPLATE_MARKER,
    Progress,
    TemplateInfo,
    ensure_template,
    label_studio_command,
    server_env,
)

SERVER_LOG = "fl-server.log"


class LabelStudioStartError(RuntimeError):
    """The Label Studio process exited or did not become healthy in time."""


@dataclass
class LabelStudioServer:
    """Handle on a running local Label Studio: where it is, how to authenticate, how to stop it."""

    url: str
    token: str
    username: str
    password: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def log_path(self) -> Path:
        """Path of the server's combined stdout/stderr log."""
        return self.data_dir / SERVER_LOG

    def is_running(self) -> bool:
        """Tell whether the server process is still alive."""
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); safe to call twice."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __enter__(self) -> LabelStudioServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def prepare_data_dir(data_dir: Path, template: TemplateInfo) -> None:
    """Copy the template into ``data_dir`` unless it already holds a Label Studio database."""
    if data_dir.exists() and any(data_dir.glob("*.sqlite3")):
        return
    if data_dir.exists() and any(data_dir.iterdir()):
        raise LabelStudioStartError(f"{data_dir} is not empty and holds no Label Studio database")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template.path, data_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(SERVER_LOG))
    (data_dir / TEMPLATE_MARKER).unlink(missing_ok=True)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Poll ``GET /health`` until 200; raise with the log tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabelStudioStartError(
                f"Label Studio exited with {process.returncode}:\n{_log_tail(log_path)}"
            )
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.25)
    raise LabelStudioStartError(f"Label Studio not healthy after {timeout:.0f}s:\n{_log_tail(log_path)}")


def _log_tail(log_path: Path, lines: int = 40) -> str:
    if not log_path.exists():
        return "(no log)"
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def start(
    port: int | None,
    data_dir: Path,
    *,
    timeout: float = 120.0,
    progress: Progress | None = None,
) -> LabelStudioServer:
    """Start Label Studio on 127.0.0.1:``port`` (free port when None) over ``data_dir``; wait until healthy.

    Installs Label Studio and builds the template on first use. Returns a :class:`LabelStudioServer`;
    the caller must ``stop()`` it.
    """
    template = ensure_template(progress)
    data_dir = Path(data_dir).resolve()
    prepare_data_dir(data_dir, template)
    chosen = port or free_port()
    env = server_env(
        data_dir,
        {
            "LABEL_STUDIO_USERNAME": template.username,
            "LABEL_STUDIO_PASSWORD": template.password,
            "LABEL_STUDIO_USER_TOKEN": template.token,
        },
    )
    argv = [
        *label_studio_command(), "start", "--no-browser", "--internal-host", "127.0.0.1",
        "--port", str(chosen), "--debug", "--data-dir", str(data_dir),
    ]
    log = open(data_dir / SERVER_LOG, "ab")  # noqa: SIM115 - handed to the child process
    try:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=data_dir
        )
    finally:
        log.close()
    url = f"http://127.0.0.1:{chosen}"
    server = LabelStudioServer(
        url, template.token, template.username, template.password, chosen, data_dir, process
    )
    try:
        wait_healthy(url, process, server.log_path, timeout)
    except BaseException:
        server.stop()
        raise
    return server
