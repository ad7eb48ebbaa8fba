"""Agreement over stored annotations: annotator verdicts per task, end-user thumbs versus annotators."""

from __future__ import annotations

import pytest

from feedback.db import get_db
from feedback.models import LabelStudioConnection
from feedback.services.agreement import fleiss_kappa, krippendorff_alpha
from feedback.services.agreement_report import end_user_agreement, verdict_agreement
from feedback.services.annotation_store import store_annotation
from feedback.services.annotations import NormalisedAnnotation
from tests.conftest import log_interaction
from tests.routing_helpers import add_connection, thumbs


def test_verdict_agreement_and_end_user_agreement_per_model_version(app, client, project):
    connection_id = add_connection(app, project.id, ls_project_id=77)
    interactions = [log_interaction(client, project, model_version=f"v{i % 2}")["id"] for i in range(4)]
    # task -> verdicts by three annotators; task 3 has a single verdict (no overlap)
    verdicts = {0: ["bad", "bad", "bad"], 1: ["good", "bad", "good"], 2: ["good", "good", "bad"], 3: ["bad"]}
    with app.app_context():
        session = get_db().session()
        connection = session.get(LabelStudioConnection, connection_id)
        annotation_id = 1000
        for task, labels in verdicts.items():
            for annotator, verdict in enumerate(labels):
                annotation_id += 1
                norm = NormalisedAnnotation(annotation_id=annotation_id, task_id=500 + task, ls_project_id=77,
                                            item_id=None, verdict=verdict, annotator_id=annotator)
                store_annotation(session, connection, norm, via="webhook", interaction_hint=interactions[task])
        cancelled = NormalisedAnnotation(annotation_id=9999, task_id=500, ls_project_id=77, item_id=None,
                                         was_cancelled=True, annotator_id=7)
        store_annotation(session, connection, cancelled, via="webhook", interaction_hint=interactions[0])
        session.commit()

    thumbs(client, project.headers(), interactions[0], -1)  # v0, majority bad: agree
    thumbs(client, project.headers(), interactions[1], -1)  # v1, majority good: disagree
    thumbs(client, project.headers(), interactions[2], 1)   # v0, majority good: agree
    thumbs(client, project.headers(), interactions[3], 1)   # v1, majority bad: disagree

    with app.app_context():
        session = get_db().session()
        report = verdict_agreement(session, project.id)
        by_version = end_user_agreement(session, project.id)
        session.rollback()

    matrix = [[0, 3], [2, 1], [2, 1]]  # good, bad counts of the overlapping tasks
    assert report["tasks"] == 4 and report["tasks_with_overlap"] == 3
    assert report["fleiss_kappa"] == pytest.approx(fleiss_kappa(matrix))
    assert report["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(matrix))
    assert [(d["interaction_id"], d["good"], d["bad"]) for d in report["disagreements"]] == [
        (interactions[1], 2, 1), (interactions[2], 2, 1)]
    assert by_version == [
        {"model_version": "v0", "pairs": 2, "agreed": 2, "rate": 1.0},
        {"model_version": "v1", "pairs": 2, "agreed": 0, "rate": 0.0},
    ]
