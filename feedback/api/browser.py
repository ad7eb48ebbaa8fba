"""App-wide hooks for the browser-facing endpoints: CORS (exact allowed origins, preflight) and rate limits.

Browser-facing paths are creating/retracting feedback and the widget configuration. For them:
- `OPTIONS` preflights are answered here: allowed when the Origin is the service's own or is allowed by
  some project or widget key (a preflight carries no credentials), else 403 without CORS headers.
- Public callers (feedback tokens, widget keys) sending a cross-origin request must come from an origin
  allowed for *their* project or key, else 403 `origin_not_allowed` before anything is written.
- Public callers are rate limited per end user and per key (token callers: per project); a denial is a 429
  with `Retry-After`. Redis being unavailable fails open (logged), never a 500.
"""

from __future__ import annotations

import logging
import os
import re

from flask import Blueprint, Flask, Response, current_app, g, request
from redis.exceptions import RedisError

from feedback.api.request import principal
from feedback.db import get_read_session
from feedback.errors import Forbidden, TooManyRequests
from feedback.queue import get_redis
from feedback.services.auth import Principal
from feedback.services.origins import KnownOrigins, normalised, principal_origins
from feedback.services.ratelimit import Limit, RateLimiter

log = logging.getLogger(__name__)

BROWSER_PATHS = re.compile(r"^/api/v1/(feedback|feedback/.+/retract|widget/config)$")
ALLOW_HEADERS = "Authorization, Content-Type, X-Feedback-Token"
DEFAULT_LIMITS = {"user": "60/60", "key": "1200/60"}


def install(bp: Blueprint) -> None:
    """Attach the hooks to every request of the app that registers `bp`."""
    bp.before_app_request(before_request)
    bp.after_app_request(after_request)
    bp.record_once(lambda state: state.app.extensions.setdefault("feedback.origins", KnownOrigins()))


def _known(app: Flask) -> KnownOrigins:
    return app.extensions.setdefault("feedback.origins", KnownOrigins())


# scheme, Host header and script root -> the normalised origin of `request.host_url` (building and parsing that
# URL on every request cost more than the lookup)
_OWN_ORIGINS: dict[str, str | None] = {}


def _own_origin() -> str | None:
    environ = request.environ
    cache_key = f"{environ.get('wsgi.url_scheme')}://{environ.get('HTTP_HOST')}/{environ.get('SCRIPT_NAME', '')}"
    own = _OWN_ORIGINS.get(cache_key, _OWN_ORIGINS)
    if own is _OWN_ORIGINS:
        if len(_OWN_ORIGINS) > 1000:  # Host headers are the caller's to choose: stay bounded
            _OWN_ORIGINS.clear()
        own = _OWN_ORIGINS[cache_key] = normalised(request.host_url)
    return own


def parse_limit(raw: str, name: str) -> tuple[int, int]:
    """`"COUNT/SECONDS"` -> (count, seconds); a bad setting is a configuration error, reported clearly."""
    count, _, window = str(raw).partition("/")
    try:
        parsed = int(count), int(window or 60)
    except ValueError as exc:
        raise ValueError(f"rate limit {name} must look like 'COUNT/SECONDS', got {raw!r}") from exc
    if parsed[0] <= 0 or parsed[1] <= 0:
        raise ValueError(f"rate limit {name} must be positive, got {raw!r}")
    return parsed


def _limit(kind: str) -> tuple[int, int]:
    settings = current_app.config["SETTINGS"]
    raw = settings.extra.get(f"widget_rate_{kind}") or os.environ.get(f"FEEDBACK_WIDGET_RATE_{kind.upper()}")
    return parse_limit(raw or DEFAULT_LIMITS[kind], kind)


def before_request() -> Response | None:
    """Answer preflights, enforce the caller's origins and the rate limits on browser-facing paths."""
    if not BROWSER_PATHS.match(request.path):
        return None
    origin = normalised(request.headers.get("Origin"))
    own = _own_origin()
    known = origin is not None and (origin == own or _known(current_app).contains(get_read_session(), origin))
    g.cors_origin = origin if known else None
    if request.method == "OPTIONS":
        return _preflight(origin, known)
    caller = principal()
    if not caller.is_public:
        return None
    if origin is not None and origin != own and origin not in principal_origins(get_read_session(), caller):
        raise Forbidden("this origin is not allowed for these credentials", code="origin_not_allowed",
                        details={"origin": origin})
    _rate_limit(caller)
    return None


def _preflight(origin: str | None, known: bool) -> Response:
    if origin is None or not known:
        g.cors_origin = None
        raise Forbidden("this origin is not allowed", code="origin_not_allowed", details={"origin": origin})
    return Response(status=204, headers={
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": "600",
    })


def _end_user(caller: Principal) -> str:
    if caller.end_user_id:
        return caller.end_user_id
    body = request.get_json(silent=True) if request.method == "POST" else None
    if isinstance(body, dict) and isinstance(body.get("end_user_id"), str) and body["end_user_id"]:
        return body["end_user_id"][:200]
    return f"ip:{request.remote_addr}"


def _rate_limit(caller: Principal) -> None:
    user_count, user_window = _limit("user")
    key_count, key_window = _limit("key")
    key_bucket = f"key:{caller.key_id}" if caller.kind == "key" else f"tokens:{caller.project_id}"
    limits = [Limit(f"user:{caller.project_id}:{_end_user(caller)}", user_count, user_window),
              Limit(key_bucket, key_count, key_window)]
    settings = current_app.config["SETTINGS"]
    try:
        decision = RateLimiter(get_redis(), settings.queue_prefix).check(limits)
    except RedisError as exc:
        log.warning("rate limiting skipped, Redis unavailable: %s", exc)
        return
    if not decision.allowed:
        scope = "end user" if decision.bucket and decision.bucket.startswith("user:") else "key"
        raise TooManyRequests(f"too many feedback requests for this {scope}; retry later",
                              details={"retry_after": decision.retry_after, "scope": scope},
                              headers={"Retry-After": str(decision.retry_after)})


def after_request(response: Response) -> Response:
    """Add CORS headers (also on errors, so the widget can read them) for allowed origins."""
    origin = g.get("cors_origin")
    if origin and BROWSER_PATHS.match(request.path):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.vary.add("Origin")
    return response

