"""Retries (429 with Retry-After, 500), no retry on 400/403, and rejected credentials, against the real app."""

from __future__ import annotations

import json
import time
from html import escape

import pytest
from itsdangerous import TimestampSigner

from feedback.services.tokens import TokenSigner
from tests.conftest import log_interaction, make_project
from tests.widgets.conftest import ask, events, outbox, wait_for

pytestmark = [pytest.mark.browser]


def _fail_first(page, status, headers=None):
    """Answer the first feedback POST with `status`, let the following ones through; returns the log."""
    seen = []

    def handle(route):
        seen.append(time.monotonic())
        if len(seen) == 1:
            route.fulfill(status=status, headers=headers or {}, content_type="application/json",
                          body=json.dumps({"error": {"code": "injected", "message": "injected", "details": None}}))
        else:
            route.continue_()

    page.route("**/api/v1/feedback", handle)
    return seen


@pytest.mark.parametrize(("status", "headers"), [(429, {"Retry-After": "1"}), (500, {}), (503, {}), (408, {})])
def test_transient_errors_are_retried_until_stored(page, live_server, stored, status, headers):
    iid, widget = ask(page, live_server, "what is an llm")
    seen = _fail_first(page, status, headers)
    widget.locator("[part~=thumb-up]").click()
    row = wait_for(lambda: stored(iid).feedback, page=page)[0]
    assert (row.score, row.revision) == (1.0, 1)
    assert len(seen) == 2
    if "Retry-After" in headers:
        assert seen[1] - seen[0] >= 0.95  # waited as the server asked
    error = events(page, "feedback-error")[0]["detail"]
    assert (error["status"], error["retry"]) == (status, True)
    wait_for(lambda: events(page, "feedback-sent"), page=page)
    assert outbox(page) == {}


@pytest.mark.parametrize("status", [400, 403])
def test_client_errors_are_dropped_without_retry(page, live_server, stored, status):
    iid, widget = ask(page, live_server, "what is python")
    seen = []
    page.route("**/api/v1/feedback", lambda route: (seen.append(1), route.fulfill(
        status=status, content_type="application/json",
        body='{"error": {"code": "injected", "message": "injected", "details": null}}')))
    widget.locator("[part~=thumb-up]").click()
    wait_for(lambda: events(page, "feedback-error"), page=page)
    page.wait_for_timeout(2500)  # longer than the first backoff: a retry would have happened
    assert len(seen) == 1
    assert stored(iid).feedback == []
    assert outbox(page) == {}
    error = events(page, "feedback-error")[0]["detail"]
    assert (error["status"], error["retry"]) == (status, False)
    assert widget.get_by_role("status").text_content() == "Feedback could not be sent"


def _host_page(page, host_pages, live_server, origin, attrs):
    """Open a third-party chat page at `origin` embedding the widget from the live server."""
    attributes = " ".join(f'{k}="{escape(str(v))}"' for k, v in attrs.items())
    html = (f'<!doctype html><html lang="en"><head><title>host</title>'
            f'<script type="module" src="{live_server}/widget/v1/feedback-widget.mjs"></script></head>'
            f'<body><main><p>An answer.</p><feedback-widget endpoint="{live_server}" {attributes}>'
            f'</feedback-widget></main></body></html>')
    path = f"/chat-{time.time_ns()}"
    host_pages.pages[path] = html
    page.goto(origin + path)
    widget = page.locator("feedback-widget")
    widget.locator("[part~=thumb-up]").wait_for()
    return widget


def test_widget_key_from_an_allowed_origin_is_stored(page, app, client, live_server, host_pages, stored):
    origin = host_pages.origin()
    project = make_project(app, origin=origin)
    interaction = log_interaction(client, project)
    widget = _host_page(page, host_pages, live_server, origin, {"response-id": interaction["id"],
                                                    "widget-key": project.widget_key, "user-id": "u-42"})
    widget.locator("[part~=thumb-down]").click()
    row = wait_for(lambda: stored(interaction["id"]).feedback)[0]
    assert (row.score, row.end_user_id) == (-1.0, "u-42")


def test_widget_key_from_a_foreign_origin_is_rejected(page, app, client, live_server, host_pages, stored):
    project = make_project(app, origin=host_pages.origin())
    interaction = log_interaction(client, project)
    foreign = host_pages.origin("127.0.0.1")
    widget = _host_page(page, host_pages, live_server, foreign,
                        {"response-id": interaction["id"], "widget-key": project.widget_key})
    widget.locator("[part~=thumb-up]").click()
    error = wait_for(lambda: events(page, "feedback-error"), page=page)[0]["detail"]
    assert error["status"] == 0  # the preflight was refused: the browser never sent the vote
    page.wait_for_timeout(500)
    assert stored(interaction["id"]).feedback == []
    # The same request sent without a browser is refused by the server too.
    answer = client.post("/api/v1/feedback", json={"interaction_id": interaction["id"], "score": 1},
                         headers=project.headers("widget") | {"Origin": foreign})
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "origin_not_allowed"


def test_token_for_another_interaction_is_rejected(page, app, client, live_server, host_pages, stored):
    origin = host_pages.origin()
    project = make_project(app, origin=origin)
    first, second = log_interaction(client, project), log_interaction(client, project)
    widget = _host_page(page, host_pages, live_server, origin,
                        {"response-id": first["id"], "token": second["feedback_token"]})
    widget.locator("[part~=thumb-up]").click()
    error = wait_for(lambda: events(page, "feedback-error"), page=page)[0]["detail"]
    assert (error["status"], error["retry"]) == (403, False)
    assert stored(first["id"]).feedback == [] and stored(second["id"]).feedback == []


def test_expired_token_is_rejected(page, app, client, live_server, host_pages, stored):
    origin = host_pages.origin()
    project = make_project(app, origin=origin)
    interaction = log_interaction(client, project)
    settings = app.config["SETTINGS"]
    signer = TokenSigner(settings.resolved_secret_key(), settings.token_ttl_seconds)
    real = TimestampSigner.get_timestamp
    try:
        TimestampSigner.get_timestamp = lambda self: int(time.time()) - settings.token_ttl_seconds - 60
        expired = signer.mint(project.id, interaction["id"], "u-1")
    finally:
        TimestampSigner.get_timestamp = real
    widget = _host_page(page, host_pages, live_server, origin, {"response-id": interaction["id"], "token": expired})
    widget.locator("[part~=thumb-up]").click()
    error = wait_for(lambda: events(page, "feedback-error"), page=page)[0]["detail"]
    assert (error["status"], error["retry"]) == (401, False)
    assert stored(interaction["id"]).feedback == []
