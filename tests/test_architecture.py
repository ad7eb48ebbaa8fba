"""Layering rules hold: api -> services -> models -> db; nothing imports api or cli; feedback never imports jobs;
no module opens a connection at import time (importing everything touches neither Redis nor the database)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # backend-independent: runs in the SQLite pass only

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


FORBIDDEN = {
    "feedback/services": ("feedback.api", "feedback.cli", "jobs"),
    "feedback/models": ("feedback.api", "feedback.cli", "feedback.services", "jobs"),
    "feedback/schemas": ("feedback.api", "feedback.cli", "feedback.services", "jobs"),
    "feedback/api": ("feedback.cli", "jobs"),
    "jobs": ("feedback.api", "feedback.cli"),
}


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layers_point_one_way(folder):
    offenders = []
    for path in _modules(folder):
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[folder]):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_feedback_package_never_imports_jobs():
    offenders = [f"{p.relative_to(ROOT)}: {n}" for p in _modules("feedback") for n in _imports(p)
                 if n == "jobs" or n.startswith("jobs.")]
    assert offenders == []


def test_importing_everything_opens_no_connection():
    """Import every module with Redis and the database pointed at closed ports: imports must not fail or hang."""
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for folder in ("feedback", "jobs")
               for p in _modules(folder) if p.name != "__main__.py"]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nimport app\nprint('ok')\n"
    env = {"DATABASE_URL": "postgresql://127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0",
           "FEEDBACK_DATA_DIR": str(ROOT / ".pytest-import-check"), "FEEDBACK_SECRET_KEY": "x", "PATH": "/usr/bin"}
    result = subprocess.run([sys.executable, "-c", code, *modules], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
