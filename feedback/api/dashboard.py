"""The operators' dashboard: HTML pages behind an admin key (session cookie or Bearer), under a strict CSP."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    after_this_request,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from feedback.db import get_read_session, get_session
from feedback.errors import ApiError, Forbidden, Unauthorized, ValidationFailed
from feedback.services import dashboard_auth, dashboard_page, projects
from feedback.services.dashboard_auth import COOKIE_NAME, SESSION_SECONDS, Operator
from feedback.services.dashboard_sql import RANGES, Window
from feedback.services.datasets import service as datasets_service

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@bp.after_request
def security_headers(response: Response) -> Response:
    """Every dashboard answer (pages, redirects, errors) carries the CSP and no-store."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _secret() -> str:
    return current_app.config["SETTINGS"].resolved_secret_key()


def _operator() -> Operator | None:
    """The signed-in operator from the Bearer header or the session cookie; None when neither is sent."""
    authorization = request.headers.get("Authorization")
    if authorization:
        return dashboard_auth.from_bearer(get_session(), authorization)
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    try:
        return dashboard_auth.from_cookie(get_session(), _secret(), cookie)
    except ApiError:
        return None


def _same_origin_post() -> None:
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
        raise Forbidden("cross-site form posts are refused", code="origin_not_allowed")


@bp.get("/login")
def login_form():
    """The sign-in page."""
    return render_template("dashboard/login.html", error=None)


@bp.post("/login")
def login():
    """Exchange an admin key for a session cookie; a wrong key shows the form again with a 401."""
    _same_origin_post()
    api_key = (request.form.get("api_key") or "").strip()
    try:
        if not api_key:
            raise ValidationFailed("enter an admin API key")
        operator, cookie = dashboard_auth.sign_in(get_session(), _secret(), api_key)
    except ApiError as exc:
        get_session().rollback()
        return render_template("dashboard/login.html", error=exc.message), exc.status
    g.operator = operator
    response = redirect(url_for("dashboard.overview"))
    response.set_cookie(COOKIE_NAME, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="Strict",
                        secure=request.is_secure, path="/dashboard")
    return response


@bp.post("/logout")
def logout():
    """End the session."""
    _same_origin_post()
    response = redirect(url_for("dashboard.login_form"))
    response.delete_cookie(COOKIE_NAME, path="/dashboard")
    return response


@bp.get("")
@bp.get("/")
def overview():
    """The project overview: feedback, model versions, calibration, review pipeline, agreement, activity."""
    operator = _operator()
    if operator is None:
        return redirect(url_for("dashboard.login_form"))
    name = request.args.get("range", "7d")
    if name not in RANGES:
        raise ValidationFailed("unknown range", details={"range": name, "allowed": list(RANGES)})
    session = get_session()
    project = projects.get_project(session, operator.project_id)
    context = dashboard_page.overview(session, project, Window.named(name))
    return render_template("dashboard/overview.html", operator=operator, ranges=list(RANGES), **context)


@bp.get("/datasets/<name>/v<int:version>.zip")
def download_dataset(name: str, version: int):
    """A dataset version's snapshot as a zip, for the signed-in operator's project."""
    operator = _operator()
    if operator is None:
        raise Unauthorized("sign in to download datasets")
    archive = datasets_service.version_zip(get_read_session(), operator.project_id, name, version)

    @after_this_request
    def _cleanup(response: Response) -> Response:
        archive.unlink(missing_ok=True)
        return response

    return send_file(archive, mimetype="application/zip", as_attachment=True,
                     download_name=f"{name}-v{version:04d}.zip")
