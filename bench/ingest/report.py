"""Machine facts and the printed result table of the ingest benchmark."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field

from sqlalchemy import text

from feedback.db import make_engine


@dataclass
class Figures:
    """Everything the bench measured, in report order."""

    rounds: list[tuple[float, float]] = field(default_factory=list)  # (no-op req/s, feedback req/s)
    feedback_errors: int = 0
    noop_errors: int = 0
    batch_events_per_s: float = 0.0
    batch_requests: int = 0
    batch_errors: int = 0
    batch_rows: int = 0
    batch_p50_ms: float = 0.0
    batch_p99_ms: float = 0.0
    latency_rate: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    latency_sent: int = 0
    latency_failed: int = 0
    latency_generator_late_ms: float = 0.0
    feedback_rows: int = 0
    feedback_requests: int = 0
    floor_rates: list[float] = field(default_factory=list)  # the floor app's req/s, one per round
    floor_errors: int = 0

    @property
    def ratios(self) -> list[float]:
        """Feedback throughput over no-op throughput, per round."""
        return [fb / noop for noop, fb in self.rounds if noop]

    @property
    def floor_ratios(self) -> list[float]:
        """The floor app's throughput over the same round's no-op throughput."""
        return [floor / noop for (noop, _fb), floor in zip(self.rounds, self.floor_rates, strict=True) if noop]

    @property
    def saturating_rate(self) -> float:
        """The median feedback throughput of the rounds."""
        return statistics.median(fb for _noop, fb in self.rounds) if self.rounds else 0.0


def machine_facts(database_url: str, backend: str) -> list[tuple[str, str]]:
    """Cores, load, Python, database version and its durability settings as the app's engine sees them."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if backend == "sqlite":
                version = "SQLite " + conn.exec_driver_sql("select sqlite_version()").scalar_one()
                sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                    conn.exec_driver_sql("PRAGMA synchronous").scalar_one(), "?")
                journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
                durability = f"journal_mode={journal}, synchronous={sync}"
            else:
                version = conn.execute(text("show server_version")).scalar_one()
                version = f"PostgreSQL {version}"
                durability = (f"synchronous_commit={conn.execute(text('show synchronous_commit')).scalar_one()}, "
                              f"fsync={conn.execute(text('show fsync')).scalar_one()}")
    finally:
        engine.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [("cores", str(os.cpu_count())), ("load average at start", load),
            ("python", platform.python_version()), ("backend", version), ("durability", durability)]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def render(facts: list[tuple[str, str]], server: str, figures: Figures) -> str:
    """The report: machine facts, per-round side-by-side throughput, then the three targets."""
    lines = ["feedback-loop ingest benchmark", "=" * 78]
    lines += [f"{name:<24}{value}" for name, value in facts]
    lines.append(f"{'server':<24}{server} (same config for both apps)")
    lines += ["", "single feedback POST vs no-op endpoint (wrk, side by side, alternating rounds); floor: the least a",
              "durable POST can do on this stack (bench/ingest/floor_app.py: hash auth, pydantic, one upsert in the",
              "bench's database)",
              f"{'round':<8}{'no-op req/s':>14}{'feedback req/s':>16}{'ratio':>9}{'floor req/s':>14}{'ratio':>9}"]
    floors = figures.floor_ratios if len(figures.floor_rates) == len(figures.rounds) else []
    for i, ((noop, fb), ratio) in enumerate(zip(figures.rounds, figures.ratios, strict=True), 1):
        floor = f"{figures.floor_rates[i - 1]:>14.0f}{floors[i - 1]:>8.0%}" if floors else ""
        lines.append(f"{i:<8}{noop:>14.0f}{fb:>16.0f}{ratio:>8.0%}{floor}")
    ratio = statistics.median(figures.ratios) if figures.ratios else 0.0
    lines.append(f"feedback rows written {figures.feedback_rows} for {figures.feedback_requests} counted 2xx "
                 f"requests; non-2xx/socket errors: feedback {figures.feedback_errors}, "
                 f"no-op {figures.noop_errors}, floor {figures.floor_errors}")
    lines += ["", f"batch ingestion: {figures.batch_requests} requests of 1,000 interactions, "
              f"{figures.batch_rows} rows stored, errors {figures.batch_errors}, "
              f"request p50 {figures.batch_p50_ms:.0f} ms / p99 {figures.batch_p99_ms:.0f} ms"]
    lines += ["", f"open-loop latency at {figures.latency_rate:.0f} req/s (half of the saturating "
              f"{figures.saturating_rate:.0f} req/s): {figures.latency_sent} sent, {figures.latency_failed} failed; "
              f"the generator's worst lag behind schedule {figures.latency_generator_late_ms:.1f} ms "
              "(latency counts from each scheduled time)"]
    lines += ["", f"{'target':<46}{'measured':>16}{'goal':>10}{'':>6}", "-" * 78,
              f"{'single POST / no-op (median of rounds)':<46}{ratio:>16.0%}{'>= 60%':>10}"
              f"{_verdict(ratio >= 0.6):>6}",
              f"{'  floor app / no-op (upper bound of the stack)':<46}"
              f"{statistics.median(floors) if floors else float('nan'):>16.0%}",
              f"{'batch ingestion, events/s (durable commits)':<46}{figures.batch_events_per_s:>16,.0f}"
              f"{'>= 20,000':>10}{_verdict(figures.batch_events_per_s >= 20000):>6}",
              f"{'latency p50 at half saturation':<46}{figures.latency_p50_ms:>13.1f} ms{'':>10}",
              f"{'latency p99 at half saturation':<46}{figures.latency_p99_ms:>13.1f} ms{'< 50 ms':>10}"
              f"{_verdict(figures.latency_p99_ms < 50):>6}"]
    return "\n".join(lines)
