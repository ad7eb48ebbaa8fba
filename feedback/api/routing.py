"""/api/v1/labelstudio/connections, /routing/*: Label Studio connections, routing rules and the outbox."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from feedback.api.request import parse_body, parse_query, principal
from feedback.api.spec import route
from feedback.db import get_read_session, get_session
from feedback.queue import enqueue
from feedback.schemas.routing import (
    AdjudicationUpdate,
    BackfillRequest,
    ConnectionCreate,
    ConnectionOut,
    JobOut,
    OutboxFilters,
    RequeueRequest,
    RetryRequest,
    RuleCreate,
    RuleOut,
    RuleUpdate,
    TokenUpdate,
)
from feedback.services import labelstudio_connections as connections
from feedback.services import outbox_admin, projects, routing, routing_rules
from feedback.services.auth import require_scope
from feedback.services.routing_views import connection_out, job_out, outbox_out, outbox_stats, rules_out

bp = Blueprint("routing", __name__, url_prefix="/api/v1")


def _admin() -> int:
    caller = principal()
    require_scope(caller, "admin")
    return caller.project_id


def _base_url() -> str:
    return current_app.config["SETTINGS"].extra.get("public_url") or request.host_url


LS_REFUSED = "Validation failed; or Label Studio refused the token or project (`labelstudio_rejected`)"
LS_INPUT = LS_REFUSED + ", or no Label Studio answers at the connection's URL (`labelstudio_unreachable`)"
LS_FAILED = "Label Studio could not be reached or failed (`labelstudio_error`); retry later"


@route(bp, "/labelstudio/connections", "POST", summary="Connect a Label Studio project", tag="routing",
       body=ConnectionCreate, responses={201: ConnectionOut}, errors={422: LS_INPUT, 502: LS_FAILED})
def create_connection():
    """Checks the token, creates the Label Studio project from a template (or attaches to `ls_project_id`)
    and registers the annotation webhook with a generated secret. The token is never returned."""
    project_id = _admin()
    body = parse_body(ConnectionCreate)
    session = get_session()
    reasons = (projects.get_project(session, project_id).settings or {}).get("reasons")
    row = connections.create_connection(session, project_id, body, _base_url(), reasons=reasons or None)
    session.commit()
    return connection_out(row), 201


@route(bp, "/labelstudio/connections", "GET", summary="List Label Studio connections", tag="routing")
def list_connections():
    """The project's connections (without tokens or secrets)."""
    return {"items": [connection_out(c) for c in connections.list_connections(get_read_session(), _admin())]}


@route(bp, "/labelstudio/connections/<int:connection_id>", "GET", summary="Get a connection", tag="routing",
       responses={200: ConnectionOut})
def get_connection(connection_id: int):
    """One connection (without its token)."""
    return connection_out(connections.get_connection(get_read_session(), _admin(), connection_id))


@route(bp, "/labelstudio/connections/<int:connection_id>", "PATCH", summary="Replace a connection's token",
       tag="routing", body=TokenUpdate, responses={200: ConnectionOut}, errors={422: LS_REFUSED, 502: LS_FAILED})
def update_connection(connection_id: int):
    """The new token is checked against Label Studio before it is stored."""
    project_id = _admin()
    body = parse_body(TokenUpdate)
    session = get_session()
    row = connections.get_connection(session, project_id, connection_id)
    connections.update_token(session, row, body.token)
    session.commit()
    return connection_out(row)


@route(bp, "/labelstudio/connections/<int:connection_id>/adjudication", "PUT",
       summary="Set where annotator disagreements go", tag="routing", body=AdjudicationUpdate,
       responses={200: ConnectionOut})
def set_adjudication(connection_id: int):
    """Interactions whose annotators disagree on the verdict are routed once to that connection's project."""
    project_id = _admin()
    body = parse_body(AdjudicationUpdate)
    session = get_session()
    row = connections.get_connection(session, project_id, connection_id)
    connections.set_adjudication(session, row, body.connection_id)
    session.commit()
    return connection_out(row)


@route(bp, "/labelstudio/connections/<int:connection_id>/webhook", "POST", summary="Re-register the webhook",
       tag="routing", responses={200: ConnectionOut},
       errors={422: LS_REFUSED, 502: LS_FAILED})
def reregister_webhook(connection_id: int):
    """A new secret replaces the old one (the old webhook is removed from Label Studio)."""
    project_id = _admin()
    session = get_session()
    row = connections.get_connection(session, project_id, connection_id)
    connections.register_webhook(session, row, row.webhook_url or _base_url().rstrip("/")
                                 + connections.WEBHOOK_PATH.format(connection_id=row.id))
    session.commit()
    return connection_out(row)


@route(bp, "/labelstudio/connections/<int:connection_id>", "DELETE", summary="Remove a connection",
       tag="routing", responses={204: None})
def delete_connection(connection_id: int):
    """Removes its rules and outbox items and its webhook; the Label Studio project stays."""
    project_id = _admin()
    session = get_session()
    connections.delete_connection(session, connections.get_connection(session, project_id, connection_id))
    session.commit()
    return "", 204


@route(bp, "/routing/rules", "POST", summary="Create a routing rule", tag="routing", body=RuleCreate,
       responses={201: RuleOut})
def create_rule():
    """Lower priority numbers are evaluated first; per connection the first matching rule wins."""
    project_id = _admin()
    body = parse_body(RuleCreate)
    session = get_session()
    rule = routing_rules.create_rule(session, project_id, body)
    session.commit()
    return rules_out(session, [rule])[0], 201


@route(bp, "/routing/rules", "GET", summary="List routing rules", tag="routing")
def list_rules():
    """Rules in evaluation order, with today's budget use."""
    session = get_session()
    return {"items": rules_out(session, routing_rules.list_rules(session, _admin()))}


@route(bp, "/routing/rules/<int:rule_id>", "GET", summary="Get a routing rule", tag="routing",
       responses={200: RuleOut})
def get_rule(rule_id: int):
    """One rule with today's budget use."""
    session = get_session()
    return rules_out(session, [routing_rules.get_rule(session, _admin(), rule_id)])[0]


@route(bp, "/routing/rules/<int:rule_id>", "PATCH", summary="Change a routing rule", tag="routing",
       body=RuleUpdate, responses={200: RuleOut})
def update_rule(rule_id: int):
    """Omitted fields keep their values; `clear_budget` removes the daily budget."""
    project_id = _admin()
    body = parse_body(RuleUpdate)
    session = get_session()
    rule = routing_rules.update_rule(session, project_id, rule_id, body)
    session.commit()
    return rules_out(session, [rule])[0]


@route(bp, "/routing/rules/<int:rule_id>", "DELETE", summary="Delete a routing rule", tag="routing",
       responses={204: None})
def delete_rule(rule_id: int):
    """Past routing decisions stay (with the rule id cleared)."""
    project_id = _admin()
    session = get_session()
    routing_rules.delete_rule(session, project_id, rule_id)
    session.commit()
    return "", 204


@route(bp, "/routing/backfill", "POST", summary="Apply the rules to past interactions", tag="routing",
       body=BackfillRequest, responses={202: JobOut})
def backfill():
    """Runs as a background job; follow it under /jobs/<id>."""
    project_id = _admin()
    body = parse_body(BackfillRequest)
    record = enqueue(get_session(), "jobs.labelstudio_delivery.backfill_rules", project_id,
                     since=body.since.isoformat() if body.since else None,
                     until=body.until.isoformat() if body.until else None, limit=body.limit, project_id=project_id)
    return job_out(record), 202


@route(bp, "/routing/requeue", "POST", summary="Send interactions to a connection again", tag="routing",
       body=RequeueRequest, responses={201: None})
def requeue():
    """The explicit operator override of "never re-queue": each interaction gets a new outbox item."""
    project_id = _admin()
    body = parse_body(RequeueRequest)
    session = get_session()
    ids = routing.requeue(session, project_id, body.connection_id, body.interaction_ids)
    session.commit()
    return {"outbox_ids": ids}, 201


@route(bp, "/routing/outbox", "GET", summary="List outbox items", tag="routing", query=OutboxFilters)
def list_outbox():
    """Routing decisions and their delivery state, newest first."""
    project_id = _admin()
    f = parse_query(OutboxFilters)
    rows = outbox_admin.list_items(get_read_session(), project_id, f.status, f.connection_id, f.interaction_id, f.limit)
    return {"items": [outbox_out(r) for r in rows]}


@route(bp, "/routing/outbox/stats", "GET", summary="Outbox counts", tag="routing")
def outbox_counts():
    """Pending, delivered and failed items per connection."""
    return outbox_stats(get_read_session(), _admin())


@route(bp, "/routing/outbox/retry", "POST", summary="Retry failed deliveries", tag="routing", body=RetryRequest)
def retry_outbox():
    """Failed items (listed, or all) go back to pending and a delivery job is enqueued."""
    project_id = _admin()
    body = parse_body(RetryRequest)
    session = get_session()
    count = outbox_admin.retry_failed(session, project_id, body.ids)
    session.commit()
    return {"retried": count}


@route(bp, "/routing/outbox/deliver", "POST", summary="Deliver pending items now", tag="routing")
def deliver_now():
    """Skips the remaining backoff of pending items and enqueues delivery."""
    project_id = _admin()
    session = get_session()
    count = outbox_admin.deliver_now(session, project_id)
    session.commit()
    return {"due_now": count}
