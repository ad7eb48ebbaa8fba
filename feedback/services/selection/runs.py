"""A recorded selection run for one project: build the pool, train, select, record, hand to the outbox.

`run_selection` works in the caller's transaction (the caller commits). Picked items become routing-outbox
items (trigger "selection", generation 0: an interaction reaches a connection at most once) on the project's
Label Studio connection; their `reason` carries the run id, the pick's source and the model's P(bad), which
the task builder can use as the prediction score. Without a connection the run is recorded only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import NotFound, ValidationFailed
from feedback.models import JobRecord, LabelStudioConnection, OutboxItem, Project, SelectionItem, SelectionRun
from feedback.queue import enqueue
from feedback.services.routing import lock_project, mark_pending
from feedback.services.selection.feature_store import FeatureStore
from feedback.services.selection.model import TrainingSet, combine_labels
from feedback.services.selection.params import SelectionParams, parse_params
from feedback.services.selection.pool_data import fetch_inputs, load_signals, pool_ids
from feedback.services.selection.selector import Pool, SelectionResult
from feedback.services.selection.selector import select as select_batch
from feedback.services.sql import dialect_insert

TRIGGER = "selection"


def feature_root(data_dir: Path | str, project_id: int) -> Path:
    """Where a project's cached feature rows live."""
    return Path(data_dir) / "features" / f"project-{project_id}"


def model_path(data_dir: Path | str, project_id: int, version: str) -> Path:
    """Where a trained quality model is kept (one file per version)."""
    return Path(data_dir) / "models" / f"project-{project_id}" / f"{version}.joblib"


def resolve_connection(session: Session, project_id: int, connection_id: int | None) -> LabelStudioConnection | None:
    """The connection to route to: the named one, else the project's only active one, else None."""
    if connection_id is not None:
        conn = session.get(LabelStudioConnection, connection_id)
        if conn is None or conn.project_id != project_id:
            raise NotFound(f"no Label Studio connection {connection_id} in this project",
                           code="connection_not_found")
        if not conn.active:
            raise ValidationFailed(f"Label Studio connection {connection_id} is not active")
        return conn
    active = list(session.scalars(select(LabelStudioConnection).where(
        LabelStudioConnection.project_id == project_id, LabelStudioConnection.active.is_(True))))
    if len(active) > 1:
        raise ValidationFailed("the project has several active Label Studio connections: name one",
                               details={"connections": sorted(c.id for c in active)})
    return active[0] if active else None


def _route(session: Session, run: SelectionRun, result: SelectionResult,
           connection: LabelStudioConnection) -> dict[int, int]:
    now = utcnow()
    rows = []
    for rank, item in enumerate(result.items()):
        rows.append({"project_id": run.project_id, "interaction_id": item["id"], "connection_id": connection.id,
                     "rule_id": None, "generation": 0, "trigger": TRIGGER,
                     "reason": {"selection_run": run.id, "rank": rank, "source": item["source"],
                                "strategy": run.effective_strategy, "score": item["p_bad"],
                                "model_version": run.model_version},
                     "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now})
    if not rows:
        return {}
    table = OutboxItem.__table__
    stmt = dialect_insert(session, table).on_conflict_do_nothing(
        index_elements=["connection_id", "interaction_id", "generation"]).returning(
        table.c.id, table.c.interaction_id)
    created = {interaction_id: item_id for item_id, interaction_id in session.execute(stmt, rows).all()}
    if created:
        mark_pending(session, {connection.id})
    return created


def run_selection(session: Session, project_id: int, raw_params: SelectionParams | dict[str, Any],
                  data_dir: Path | str, *, connection_id: int | None = None, route: bool = True) -> SelectionRun:
    """Select the next batch of a project and record it (and route it when a connection exists)."""
    params = parse_params(raw_params)
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}", code="project_not_found")
    connection = resolve_connection(session, project_id, connection_id) if route else None
    lock_project(session, project_id)
    started = time.perf_counter()
    signals = load_signals(session, project)
    ids = pool_ids(session, project_id, signals)
    strong, weak = signals.strong, signals.weak()
    train_ids, y, w, is_strong = combine_labels(strong, weak, params.thumbs_weight)
    store = FeatureStore(feature_root(data_dir, project_id))
    needed = np.union1d(ids, train_ids)
    t_feat = time.perf_counter()
    new_rows = store.ensure(needed, lambda missing: fetch_inputs(session, project_id, missing))
    _, X_pool = store.load(ids)
    _, X_train = store.load(train_ids)
    features_s = time.perf_counter() - t_feat
    pool = Pool(ids, X_pool,
                thumbs_down=np.array([signals.thumbs_down.get(int(i), 0) for i in ids], dtype=np.float64),
                thumbs_up=np.array([signals.thumbs_up.get(int(i), 0) for i in ids], dtype=np.float64))
    training = TrainingSet(X_train, y, w, is_strong, ids=train_ids)
    result = select_batch(pool, params, training=training)
    if result.model is not None:
        result.model.save(model_path(data_dir, project_id, result.model.version))
    run = SelectionRun(
        project_id=project_id, strategy=params.strategy, effective_strategy=result.effective_strategy,
        budget=params.budget, seed=params.seed, params=params.model_dump(mode="json"),
        model_version=result.model.version if result.model else None,
        model_metrics=result.model.metrics if result.model else {},
        n_strong_labels=int(is_strong.sum()), n_weak_labels=int((~is_strong).sum()),
        pool_size=result.pool_size, selected_count=int(result.ids.shape[0]), routed_count=0,
        connection_id=connection.id if connection else None, timings={}, created_at=utcnow())
    session.add(run)
    session.flush()
    routed = _route(session, run, result, connection) if connection is not None else {}
    for rank, item in enumerate(result.items()):
        session.add(SelectionItem(run_id=run.id, project_id=project_id, interaction_id=item["id"], rank=rank,
                                  source=item["source"], p_bad=item["p_bad"], score=item["score"],
                                  outbox_item_id=routed.get(item["id"])))
    run.routed_count = len(routed)
    run.timings = {**{k: round(v, 4) for k, v in result.timings.items()}, "features": round(features_s, 4),
                   "new_feature_rows": new_rows, "wall": round(time.perf_counter() - started, 4)}
    session.flush()
    return run


def run_summary(session: Session, run: SelectionRun) -> dict[str, Any]:
    """A JSON-friendly view of a run and its picks (for the CLI and job results)."""
    items = session.scalars(select(SelectionItem).where(SelectionItem.run_id == run.id)
                            .order_by(SelectionItem.rank))
    return {
        "id": run.id, "project_id": run.project_id, "strategy": run.strategy,
        "effective_strategy": run.effective_strategy, "budget": run.budget, "seed": run.seed,
        "model_version": run.model_version, "model_metrics": run.model_metrics,
        "labels": {"annotator": run.n_strong_labels, "thumbs": run.n_weak_labels},
        "pool_size": run.pool_size, "selected": run.selected_count, "routed": run.routed_count,
        "connection_id": run.connection_id, "timings": run.timings,
        "items": [{"interaction_id": i.interaction_id, "source": i.source, "p_bad": i.p_bad, "score": i.score,
                   "outbox_item_id": i.outbox_item_id} for i in items],
    }


SELECTION_JOB = "jobs.selection.run_selection"


def enqueue_selection(session: Session, project_id: int, raw_params: SelectionParams | dict[str, Any],
                      connection_id: int | None = None) -> JobRecord:
    """Validate now (bad parameters fail the caller, not the job) and enqueue the selection job."""
    params = parse_params(raw_params)
    if session.get(Project, project_id) is None:
        raise NotFound(f"no project {project_id}", code="project_not_found")
    return enqueue(session, SELECTION_JOB, project_id, params.model_dump(mode="json"), connection_id,
                   project_id=project_id, retries=0, timeout=1800)
