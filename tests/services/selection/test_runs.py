"""Selection runs against the real database: the pool excludes labelled, queued and already selected
interactions; runs and picks are recorded; picks become outbox items carrying the model's score."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from feedback.db import utcnow
from feedback.errors import NotFound, ValidationFailed
from feedback.models import Feedback, Interaction, LabelStudioConnection, OutboxItem, SelectionItem, SelectionRun
from feedback.services.outbox_tasks import build_tasks
from feedback.services.selection import SelectionParamsError
from feedback.services.selection.pool_data import is_bad
from feedback.services.selection.runs import feature_root, model_path, run_selection, run_summary
from tests.services.selection.davidson import _rows

N = 240


def _feedback(project_id: int, interaction_id: int, source: str, score: float, user: str = "u") -> Feedback:
    now = utcnow()
    return Feedback(project_id=project_id, interaction_id=interaction_id,
                    feedback_uid=f"{interaction_id}:helpfulness:{source}:{user}", revision=1, key="helpfulness",
                    source=source, score=score, reasons=[], meta={}, end_user_id=user, retracted=False,
                    created_at=now, updated_at=now)


@pytest.fixture
def seeded(session, project):
    """N Davidson tweets as interactions; 40 annotator-labelled, 30 with end-user thumbs, 15 already queued."""
    texts, y = _rows()
    idx = np.r_[np.arange(0, 150, 150 // 60)[:60], np.arange(150, 150 + N - 60)]
    rows = [Interaction(project_id=project.id, external_id=f"t{k}", messages=[{"role": "user", "content": "hi"}],
                        response=texts[i], model="m", model_version="v1", confidence=0.9, meta={},
                        created_at=utcnow()) for k, i in enumerate(idx)]
    session.add_all(rows)
    session.flush()
    ids = np.array([r.id for r in rows])
    bad = y[idx] == 1
    labelled = np.r_[ids[bad][:20], ids[~bad][:20]]
    for i in labelled:
        session.add(_feedback(project.id, int(i), "annotator", -1.0 if i in ids[bad] else 1.0))
    thumbs = ids[~np.isin(ids, labelled)][:30]
    for n, i in enumerate(thumbs):
        session.add(_feedback(project.id, int(i), "end_user", -1.0 if n % 3 == 0 else 1.0, user=f"e{n}"))
    conn = LabelStudioConnection(project_id=project.id, name="ls", url="http://127.0.0.1:1", token="t",
                                 token_kind="legacy", ls_project_id=1, template="response_review",
                                 created_at=utcnow(), updated_at=utcnow())
    session.add(conn)
    session.flush()
    queued = ids[~np.isin(ids, np.r_[labelled, thumbs])][:15]
    for i in queued:
        session.add(OutboxItem(project_id=project.id, interaction_id=int(i), connection_id=conn.id,
                               generation=0, trigger="interaction", reason={}, status="delivered",
                               attempts=1, next_attempt_at=utcnow(), created_at=utcnow()))
    session.commit()
    return {"ids": ids, "labelled": set(labelled.tolist()), "queued": set(queued.tolist()),
            "thumbs": set(thumbs.tolist()), "connection": conn.id}


def test_run_selects_nothing_labelled_or_queued_and_is_recorded(app, session, project, seeded, tmp_path):
    run = run_selection(session, project.id, {"strategy": "margin", "budget": 50, "seed": 3}, tmp_path,
                        route=False)
    session.commit()
    picked = set(session.scalars(select(SelectionItem.interaction_id).where(SelectionItem.run_id == run.id)))
    assert len(picked) == 50
    assert not picked & seeded["labelled"] and not picked & seeded["queued"]
    stored = session.get(SelectionRun, run.id)
    assert stored.pool_size == N - 40 - 15
    assert stored.n_strong_labels == 40 and stored.n_weak_labels == 30
    assert stored.model_version.startswith("qm-") and stored.effective_strategy == "margin"
    assert stored.params["budget"] == 50 and stored.params["random_share"] == 0.1
    assert {"train", "score", "select", "features", "wall"} <= set(stored.timings)
    assert stored.timings["new_feature_rows"] == N - 15  # pool + labelled + thumbs rows, vectorised once
    assert model_path(tmp_path, project.id, stored.model_version).is_file()
    summary = run_summary(session, stored)
    assert [i["source"] for i in summary["items"]].count("random") == 5
    assert all(0 <= i["p_bad"] <= 1 for i in summary["items"])

    again = run_selection(session, project.id, {"strategy": "diversity", "budget": 500, "seed": 3}, tmp_path,
                          route=False)
    session.commit()
    second = set(session.scalars(select(SelectionItem.interaction_id).where(SelectionItem.run_id == again.id)))
    assert again.pool_size == N - 40 - 15 - 50 and len(second) == again.pool_size
    assert not second & picked and not second & seeded["labelled"] and not second & seeded["queued"]
    assert again.timings["new_feature_rows"] == 0  # everything came from the feature cache
    assert any(feature_root(tmp_path, project.id).rglob("chunk_*.npz"))


def test_run_routes_picks_to_the_outbox_with_the_model_score(app, session, project, seeded, tmp_path):
    run = run_selection(session, project.id, {"strategy": "committee", "budget": 12, "seed": 1}, tmp_path)
    session.commit()
    assert run.connection_id == seeded["connection"] and run.routed_count == 12
    items = list(session.scalars(select(OutboxItem).where(OutboxItem.project_id == project.id,
                                                          OutboxItem.trigger == "selection")))
    assert len(items) == 12
    picks = {p.interaction_id: p for p in session.scalars(select(SelectionItem).where(
        SelectionItem.run_id == run.id))}
    for item in items:
        assert item.status == "pending" and item.generation == 0
        assert item.reason["selection_run"] == run.id
        assert item.reason["score"] == pytest.approx(picks[item.interaction_id].p_bad)
        assert picks[item.interaction_id].outbox_item_id == item.id
        assert item.interaction_id not in seeded["labelled"] | seeded["queued"]
    connection = session.get(LabelStudioConnection, run.connection_id)
    for item, task in zip(items, build_tasks(session, items, connection), strict=True):
        (prediction,) = task["predictions"]
        assert prediction["score"] == pytest.approx(picks[item.interaction_id].p_bad)
        assert prediction["model_version"] == f"quality-{run.model_version}"


def test_cold_start_project_without_labels(app, session, project, tmp_path):
    texts, _ = _rows()
    session.add_all([Interaction(project_id=project.id, external_id=f"c{i}", messages=[], response=texts[i],
                                 meta={}, created_at=utcnow()) for i in range(0, 300, 10)])
    session.commit()
    run = run_selection(session, project.id, {"budget": 8}, tmp_path)
    session.commit()
    assert run.effective_strategy == "cold_start" and run.model_version is None
    assert run.selected_count == 8 and run.connection_id is None and run.routed_count == 0


def test_bad_parameters_and_unknown_targets_are_rejected(app, session, project, seeded, tmp_path):
    with pytest.raises(SelectionParamsError, match="budget"):
        run_selection(session, project.id, {"budget": 0}, tmp_path)
    with pytest.raises(NotFound):
        run_selection(session, 10**9, {"budget": 5}, tmp_path)
    with pytest.raises(NotFound):
        run_selection(session, project.id, {"budget": 5}, tmp_path, connection_id=10**9)
    session.add(LabelStudioConnection(project_id=project.id, name="ls2", url="http://127.0.0.1:1", token="t",
                                      token_kind="legacy", ls_project_id=2, template="response_review",
                                      created_at=utcnow(), updated_at=utcnow()))
    session.commit()
    with pytest.raises(ValidationFailed, match="several active"):
        run_selection(session, project.id, {"budget": 5}, tmp_path)
    assert session.scalar(select(SelectionRun.id).where(SelectionRun.project_id == project.id)) is None


def test_scores_map_to_bad_by_the_key_scale():
    assert is_bad({"type": "thumbs"}, -1) and not is_bad({"type": "thumbs"}, 1)
    rating = {"type": "rating", "min": 1, "max": 5}
    assert is_bad(rating, 2) and not is_bad(rating, 3) and not is_bad(rating, 5)
    assert is_bad(None, -1)
