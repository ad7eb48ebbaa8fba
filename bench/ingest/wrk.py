"""Run /usr/bin/wrk with the bench's Lua scripts (data prepended) and read its JSON summary line."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.ingest.fixtures import Credential

WRK = "/usr/bin/wrk"
LUA_DIR = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: completed requests, seconds, error counts and wrk's own (closed-loop) latency."""

    requests: int
    seconds: float
    socket_errors: int
    status_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_string(value: str) -> str:
    return json.dumps(value)  # JSON string escapes are valid Lua for the ASCII we generate


def feedback_script(path: Path, credentials: list[Credential], target_path: str, seed: int) -> Path:
    """Write the single-feedback script with its credential table; `target_path` is the URL path posted to and
    `seed` (unique per wrk run) keeps every run's feedback new."""
    rows = ",\n".join(f'{{kind="{c.kind}", auth={_lua_string(c.authorization)}, iid={c.interaction_id}}}'
                      for c in credentials)
    path.write_text(f"creds = {{\n{rows}\n}}\npath = {_lua_string(target_path)}\nseed = {seed}\n"
                    + (LUA_DIR / "feedback.lua").read_text())
    return path


def batch_script(path: Path, ingest_keys: list[str], batch_size: int, tag: str) -> Path:
    """Write the batch script with its keys, batch size and a tag that makes external ids unique per run."""
    keys = ", ".join(_lua_string(k) for k in ingest_keys)
    path.write_text(f"ingest_keys = {{{keys}}}\nbatch_size = {batch_size}\ntag = {_lua_string(tag)}\n"
                    + (LUA_DIR / "batch.lua").read_text())
    return path


def run_wrk(url: str, script: Path, seconds: int, connections: int, threads: int = 1,
            timeout_s: int = 30) -> WrkResult:
    """Run wrk against `url` (loopback only) for `seconds` and parse the summary the script prints."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the bench only loads servers on 127.0.0.1")
    cmd = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{timeout_s}s",
           "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        requests=data["requests"], seconds=data["duration_us"] / 1e6,
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        status_errors=data["status_errors"], p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000)
