"""The site icon: /favicon.ico answers the SVG mark (no 404), and the HTML pages link it explicitly."""

from __future__ import annotations


def test_favicon_ico_answers_the_svg_icon_with_caching(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.mimetype == "image/svg+xml"
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    assert answer.data.startswith(b"<svg") and b"</svg>" in answer.data
    static = client.get("/static/favicon.svg")
    assert static.status_code == 200 and static.data == answer.data


def test_demo_and_api_docs_link_the_icon(client):
    for path in ("/demo", "/api/v1/docs"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert b'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.data, path
