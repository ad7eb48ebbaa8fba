"""An open-loop, constant-rate HTTP/1.1 load generator (asyncio, loopback only) for latency percentiles.

Requests are scheduled at fixed times t0 + i/rate whatever the server does, and each latency is measured from
the request's scheduled time, so a stalled server shows up in the percentiles (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenLoopResult:
    """Latencies (seconds, from each request's scheduled time) and the outcome counts of one run."""

    rate: float
    sent: int
    ok: int
    failed: int
    latencies: list[float]
    late_start_ms: float  # how far behind schedule the generator itself fell at worst

    def percentile(self, q: float) -> float:
        """The q-th percentile latency in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[index] * 1000


class _Pool:
    """Keep-alive connections to one host:port, opened on demand up to `limit`."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self.slots.acquire()
        if self.idle:
            return self.idle.pop()
        try:
            return await asyncio.open_connection(self.host, self.port)
        except BaseException:
            self.slots.release()
            raise

    def release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], reusable: bool) -> None:
        if reusable:
            self.idle.append(conn)
        else:
            conn[1].close()
        self.slots.release()

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(pool: _Pool, raw: bytes) -> int:
    conn = await pool.acquire()
    reader, writer = conn
    reusable = False
    try:
        writer.write(raw)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("connection closed before the answer")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        await reader.readexactly(length)
        reusable = not close
        return status
    finally:
        pool.release(conn, reusable)


async def _run(host: str, port: int, make_request: Callable[[int], bytes], rate: float, seconds: float,
               max_connections: int, request_timeout: float) -> OpenLoopResult:
    pool = _Pool(host, port, max_connections)
    total = int(rate * seconds)
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0}
    worst_late = 0.0

    async def one(raw: bytes, scheduled: float) -> None:
        try:
            status = await asyncio.wait_for(_exchange(pool, raw), request_timeout)
        except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            counts["failed"] += 1
            return
        latencies.append(time.perf_counter() - scheduled)
        counts["ok" if 200 <= status < 300 else "failed"] += 1

    tasks = []
    start = time.perf_counter() + 0.05
    for i in range(total):
        raw = make_request(i)
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            worst_late = max(worst_late, -delay)
        tasks.append(asyncio.create_task(one(raw, scheduled)))
    await asyncio.gather(*tasks)
    pool.close()
    return OpenLoopResult(rate=rate, sent=total, ok=counts["ok"], failed=counts["failed"], latencies=latencies,
                          late_start_ms=worst_late * 1000)


def run_open_loop(host: str, port: int, make_request: Callable[[int], bytes], rate: float, seconds: float,
                  max_connections: int = 128, request_timeout: float = 10.0) -> OpenLoopResult:
    """Send `rate` requests per second for `seconds` to host:port (must be loopback); `make_request(i)` builds
    the i-th raw HTTP/1.1 request."""
    if not host.startswith("127."):
        raise ValueError("the bench only loads servers on the loopback interface")
    # The generator must not pause: latency counts from each scheduled time, so a pause of this process would
    # be charged to the server. A full collection here walks every object of the bench runner (the app's
    # modules included) and stalled the event loop for 100-200 ms; collect once now and not during the run.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        return asyncio.run(_run(host, port, make_request, rate, seconds, max_connections, request_timeout))
    finally:
        gc.enable()
        gc.unfreeze()


def http_post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A raw keep-alive HTTP/1.1 POST request."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
             "Connection: keep-alive", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
