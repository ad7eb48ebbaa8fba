"""Everything one dashboard page shows for a project and window, assembled from the dashboard queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from feedback.models import Project
from feedback.services import dashboard, dashboard_activity, dashboard_review, dashboard_rollup
from feedback.services.dashboard_sql import Window, wilson
from feedback.services.dashboard_svg import Line, calibration_chart, line_chart, stacked_bars

MAX_VERSIONS_CHARTED = 6


@dataclass
class Kpi:
    """A headline figure with a short explanation underneath."""

    label: str
    value: str
    note: str = ""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _kpis(series: list[dashboard.VersionSeries], interactions: int) -> list[Kpi]:
    volume = sum(s.volume_total for s in series)
    ups = sum(s.total.ups for s in series)
    n = sum(s.total.n for s in series)
    low, high = wilson(ups, n)
    rate = ups / n if n else None
    ci = f"95% CI {_pct(low)}–{_pct(high)}" if n else "no thumbs yet"
    return [
        Kpi("Interactions", f"{interactions:,}", "logged in this range"),
        Kpi("Feedback", f"{volume:,}", f"{volume / interactions * 100:.1f}% of interactions" if interactions
            else "no interactions"),
        Kpi("Thumbs up", _pct(rate), ci),
        Kpi("Model versions", str(len(series)), "with end-user feedback"),
    ]


def _version_table(series: list[dashboard.VersionSeries]) -> list[dict[str, Any]]:
    rows = []
    for index, entry in enumerate(series):
        total = entry.total
        low, high = total.interval
        rows.append({"version": entry.version, "series": index % 8, "volume": entry.volume_total, "n": total.n,
                     "ups": total.ups, "rate": _pct(total.value),
                     "ci": f"{_pct(low)}–{_pct(high)}" if total.n else "–"})
    return rows


def overview(session: Session, project: Project, window: Window) -> dict[str, Any]:
    """The template context of the project overview page (day windows first bring the rollups up to date)."""
    if window.bucket == "day":
        dashboard_rollup.refresh(session, project.id)
    labels = window.labels()
    series = dashboard.version_series(session, project, window)
    charted = series[:MAX_VERSIONS_CHARTED]
    lines = []
    for entry in charted:
        rates = [entry.rates.get(label) for label in labels]
        values = [r.value if r and r.n else None for r in rates]
        lows = [r.interval[0] if r and r.n else None for r in rates]
        highs = [r.interval[1] if r and r.n else None for r in rates]
        lines.append(Line(entry.version, values, lows, highs, [r.n if r else 0 for r in rates]))
    bins = dashboard.calibration(session, project, window)
    interactions = dashboard.interaction_count(session, project.id, window)
    thumbs = dashboard.thumbs_keys(project)
    return {
        "project": project,
        "window": window,
        "kpis": _kpis(series, interactions),
        "versions": _version_table(series),
        "has_feedback": any(s.volume_total for s in series),
        "downs": sum(s.total.n - s.total.ups for s in series),
        "rate_chart": line_chart(labels, lines, label="Thumbs-up rate by model version with 95% intervals"),
        "volume_chart": stacked_bars(labels, [(s.version, [s.volume.get(lb, 0) for lb in labels]) for s in charted],
                                     label="End-user feedback per bucket by model version"),
        "calibration_chart": calibration_chart(
            [(b.low, b.high, b.rate.value, *b.rate.interval, b.rate.n) for b in bins],
            label="Thumbs-up rate against model confidence"),
        "calibrated_n": sum(b.rate.n for b in bins),
        "reasons": dashboard.top_negative_reasons(session, project, window),
        "comments": dashboard.recent_comments(session, project.id),
        "pipeline": dashboard_review.pipeline(session, project.id),
        "annotator_agreement": dashboard_review.annotator_agreement(session, project.id),
        "user_agreement": dashboard_review.end_user_vs_annotator(session, project.id, thumbs),
        "runs": dashboard_activity.selection_runs(session, project.id),
        "datasets": dashboard_activity.dataset_versions(session, project.id),
        "reason_labels": {r["id"]: (r.get("labels") or {}).get("en") or r["id"]
                          for r in (project.settings or {}).get("reasons", [])},
        "pct": _pct,
    }
