"""The dashboard in Debian's Chromium: real data from a seeded database, no console errors, no CSP violations,
and nothing shown without signing in. Screenshots go to test-artifacts/."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.dashboard_seed import seed
from tests.conftest import ProjectKeys

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CSP_RECORDER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""


class Watched:
    """A page with its console errors, failed requests and CSP violations recorded."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 1000})
        self.context.add_init_script(CSP_RECORDER)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        # A load the browser cancels because the page navigates on (net::ERR_ABORTED, e.g. the favicon during
        # the sign-in redirect) is not a failure of the page; HTTP errors are caught by the response hook.
        self.page.on("requestfailed", lambda req: req.failure != "net::ERR_ABORTED"
                     and self.errors.append(f"failed {req.url} ({req.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and "/dashboard/login" not in r.url
                     and self.errors.append(f"{r.status} {r.url}"))

    def csp(self) -> list[dict[str, str]]:
        """CSP violations reported on the current document."""
        return self.page.evaluate("window.__csp")


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh browser profile."""
    w = Watched(browser)
    yield w
    w.context.close()


def test_unauthenticated_visitor_sees_only_the_sign_in_page(live_server: str, watched: Watched, client: FlaskClient,
                                                             app: Flask, project: ProjectKeys) -> None:
    seed(app, client, project, n=30)
    page = watched.page
    page.goto(live_server + "/dashboard")
    assert page.url == live_server + "/dashboard/login"
    assert page.get_by_label("Admin API key").is_visible()
    assert project.slug not in page.content()
    page.get_by_label("Admin API key").fill(project.ingest_key)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "the dashboard needs an admin key"
    assert page.url == live_server + "/dashboard/login"
    page.get_by_label("Admin API key").fill("fl_admin_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    assert "unknown API key" in page.get_by_role("alert").inner_text()
    assert project.slug not in page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-login-refused.png"))
    assert watched.csp() == []
    assert [e for e in watched.errors if "401" not in e and "403" not in e] == []


def test_dashboard_renders_seeded_data_under_csp(live_server: str, watched: Watched, client: FlaskClient, app: Flask,
                                                 project: ProjectKeys, tmp_path: Path) -> None:
    seeded = seed(app, client, project, snapshot_dir=tmp_path)
    page = watched.page
    page.goto(live_server + "/dashboard/login")
    page.get_by_label("Admin API key").fill(project.admin_key)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    response = page.goto(live_server + "/dashboard?range=7d")
    assert response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]

    kpis = page.locator(".kpi-value").all_inner_texts()
    assert kpis[0] == f"{seeded.interactions:,}" and kpis[1] == f"{seeded.feedback:,}"
    total_up = sum(u for u, _ in seeded.ups_by_version.values())
    total_n = sum(n for _, n in seeded.ups_by_version.values())
    assert kpis[2] == f"{total_up / total_n * 100:.1f}%"

    rows = page.locator("#versions-panel tbody tr")
    assert rows.count() == 2
    for i in range(2):
        cells = rows.nth(i).locator("td").all_inner_texts()
        ups, n = seeded.ups_by_version[cells[0].strip()]
        assert cells[2] == f"{ups / n * 100:.1f}%"
    assert page.locator("#rate-panel svg polyline").count() >= 2
    assert page.locator("#rate-panel svg polygon.band").count() >= 2
    assert page.locator("#volume-panel svg rect.bar").count() > 10
    assert page.locator("#calibration-panel svg circle.dot").count() >= 4
    assert page.locator("#reasons-panel li").count() == 4
    assert seeded.comment in page.locator("#comments-panel").inner_text()
    pipeline = page.locator("#pipeline-panel tbody tr").first.locator("td").all_inner_texts()
    assert pipeline[0].startswith(seeded.connection)
    assert pipeline[2:7] == ["60", "12", "45", "15", "3"]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)
    runs = page.locator("#runs-panel tbody tr").first.locator("td").all_inner_texts()
    assert runs[2] == "uncertainty" and runs[3:6] == ["300", "50 / 50", "48"]
    assert watched.csp() == []
    assert watched.errors == []

    # Chromium may report a download's navigation as an aborted request: not an error of the page.
    with page.expect_download() as download:
        page.locator("#datasets-panel").get_by_role("link", name="Download .zip").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert sorted(archive.namelist()) == ["support-sft-v0001/manifest.json", "support-sft-v0001/sft/train.jsonl"]
    assert [e for e in watched.errors if not e.startswith("failed ") or ".zip" not in e] == []

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    page.goto(live_server + "/dashboard")
    assert page.url == live_server + "/dashboard/login"
