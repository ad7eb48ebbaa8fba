"""Install a local Label Studio into its own cached virtualenv and build a ready data-dir template.

Label Studio pins Django, redis and rq versions that clash with ours, so it never goes into the project's
environment: it lives in ``<cache>/venv`` (default ``~/.cache/feedback-loop/labelstudio``; override with
``FEEDBACK_LABELSTUDIO_HOME``). A fresh data dir spends about a minute on migrations, so a template data dir
is initialised once (``label-studio init``) with a known admin and a legacy API token; servers start on
copies.
Both steps are idempotent, guarded by an exclusive file lock (two processes never install at once), and
print progress through a callback.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LABEL_STUDIO_VERSION = "1.23.2"
ADMIN_EMAIL = "admin@example.com"
INSTALL_MARKER = ".fl-installed"
TEMPLATE_MARKER = "fl-template.json"

Progress = Callable[[str], None]

# Variables that Label Studio (or Django inside it) would pick up from our own environment.
_STRIP_ENV = (
    "USERNAME", "PASSWORD", "PORT", "HOST", "DATABASE_URL", "REDIS_URL", "REDIS_LOCATION", "DJANGO_DB",
    "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "SECRET_KEY", "DEBUG",
)


class LabelStudioInstallError(RuntimeError):
    """Label Studio could not be installed or its template could not be built."""


@dataclass(frozen=True)
class TemplateInfo:
    """Credentials baked into the template data dir (shared by every copy)."""

    path: Path
    username: str
    password: str
    token: str


def _stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cache_root() -> Path:
    """Return the cache directory holding the Label Studio venv and template."""
    configured = os.environ.get("FEEDBACK_LABELSTUDIO_HOME")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "feedback-loop" / "labelstudio"


def venv_dir() -> Path:
    """Return the path of Label Studio's own virtualenv."""
    return cache_root() / "venv"


def template_dir() -> Path:
    """Return the path of the initialised template data dir."""
    return cache_root() / "template"


def label_studio_command() -> list[str]:
    """Return the argv prefix that runs the installed ``label-studio`` CLI."""
    return [str(venv_dir() / "bin" / "python"), "-m", "label_studio.server"]


def server_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Build the environment for a Label Studio process using ``data_dir`` (no leaks from ours)."""
    env = {k: v for k, v in os.environ.items() if k not in _STRIP_ENV and not k.startswith("LABEL_STUDIO_")}
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "SSRF_PROTECTION_ENABLED": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
            "LATEST_VERSION_CHECK": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@contextmanager
def install_lock(timeout: float = 1800.0) -> Iterator[None]:
    """Hold an exclusive lock on the cache so only one process installs or builds at a time."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "install.lock", "w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabelStudioInstallError(f"timed out waiting for {root / 'install.lock'}") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_installed() -> bool:
    """Tell whether the cached venv holds the pinned Label Studio version."""
    marker = venv_dir() / INSTALL_MARKER
    return marker.is_file() and marker.read_text().strip() == LABEL_STUDIO_VERSION


def _run_streaming(argv: list[str], progress: Progress, env: dict[str, str] | None = None) -> None:
    """Run a command, passing each output line to ``progress``; raise on failure with the tail."""
    tail: list[str] = []
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                progress(line)
                tail = (tail + [line])[-30:]
        code = proc.wait()
    if code != 0:
        raise LabelStudioInstallError(f"{' '.join(argv[:4])} ... exited {code}:\n" + "\n".join(tail))


def ensure_installed(progress: Progress | None = None) -> Path:
    """Install ``label-studio`` into the cached venv once (idempotent, locked); return the venv path."""
    report = progress or _stderr_progress
    if is_installed():
        return venv_dir()
    with install_lock():
        if is_installed():
            return venv_dir()
        target = venv_dir()
        if target.exists():
            shutil.rmtree(target)  # a half-finished earlier attempt
        report(f"Installing Label Studio {LABEL_STUDIO_VERSION} into {target} (first run only, minutes)")
        _run_streaming([sys.executable, "-m", "venv", str(target)], report)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        _run_streaming([*pip, "--upgrade", "pip"], report)
        _run_streaming([*pip, f"label-studio=={LABEL_STUDIO_VERSION}"], report)
        (target / INSTALL_MARKER).write_text(LABEL_STUDIO_VERSION + "\n")
        report("Label Studio installed")
    return venv_dir()


def read_template() -> TemplateInfo | None:
    """Return the template's credentials, or None when no complete template exists yet."""
    marker = template_dir() / TEMPLATE_MARKER
    if not marker.is_file():
        return None
    data = json.loads(marker.read_text())
    if data.get("version") != LABEL_STUDIO_VERSION:
        return None
    return TemplateInfo(template_dir(), data["username"], data["password"], data["token"])


def ensure_template(progress: Progress | None = None) -> TemplateInfo:
    """Build the initialised template data dir once (idempotent, locked) and return its credentials."""
    report = progress or _stderr_progress
    existing = read_template()
    if existing:
        return existing
    ensure_installed(report)
    with install_lock():
        existing = read_template()
        if existing:
            return existing
        final = template_dir()
        building = final.with_name("template.building")
        for stale in (building, final):
            if stale.exists():
                shutil.rmtree(stale)
        building.mkdir(parents=True)
        password, token = secrets.token_urlsafe(12), secrets.token_hex(20)
        report("Initialising the Label Studio template data dir (first run only, about a minute)")
        argv = [
            *label_studio_command(), "init", "--quiet", "--no-browser", "--username", ADMIN_EMAIL,
            "--password", password, "--user-token", token, "--enable-legacy-api-token",
            "--data-dir", str(building),
        ]
        _run_streaming(argv, report, env=server_env(building))
        info = {"version": LABEL_STUDIO_VERSION, "username": ADMIN_EMAIL, "password": password,
                "token": token}
        (building / TEMPLATE_MARKER).write_text(json.dumps(info, indent=2))
        building.rename(final)
        report(f"Label Studio template ready in {final}")
    result = read_template()
    if result is None:
        raise LabelStudioInstallError(f"template in {template_dir()} is incomplete")
    return result
