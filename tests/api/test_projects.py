"""Project settings and key management through the API."""

from __future__ import annotations

import uuid


def test_get_and_update_settings(client, project):
    current = client.get("/api/v1/project", headers=project.headers("admin")).get_json()
    assert current["slug"] == project.slug
    assert "helpfulness" in current["settings"]["feedback_keys"]
    settings = current["settings"] | {
        "feedback_keys": {"helpfulness": {"type": "thumbs"}, "stars": {"type": "rating", "min": 1, "max": 10}},
        "reasons": [{"id": "wrong", "labels": {"en": "Wrong", "de": "Falsch"}, "polarity": "negative"}],
        "allowed_origins": ["HTTPS://Chat.Example.com:443/"],
    }
    updated = client.patch("/api/v1/project", json={"settings": settings}, headers=project.headers("admin"))
    assert updated.status_code == 200, updated.get_json()
    data = updated.get_json()["settings"]
    assert data["allowed_origins"] == ["https://chat.example.com"]
    assert data["feedback_keys"]["stars"]["max"] == 10


def test_invalid_settings_are_rejected_and_nothing_changes(client, project):
    before = client.get("/api/v1/project", headers=project.headers("admin")).get_json()
    for bad in ({"feedback_keys": {"x": {"type": "rating", "min": 5, "max": 1}}},
                {"reasons": [{"id": "a", "labels": {"en": "A"}}, {"id": "a", "labels": {"en": "B"}}]},
                {"allowed_origins": ["not an origin"]}):
        answer = client.patch("/api/v1/project", json={"settings": bad}, headers=project.headers("admin"))
        assert answer.status_code == 422, bad
    after = client.get("/api/v1/project", headers=project.headers("admin")).get_json()
    assert after == before


def test_create_project_returns_working_admin_key(client, project):
    slug = f"new-{uuid.uuid4().hex[:8]}"
    created = client.post("/api/v1/projects", json={"slug": slug, "name": "New"}, headers=project.headers("admin"))
    assert created.status_code == 201
    secret = created.get_json()["admin_key"]["secret"]
    mine = client.get("/api/v1/project", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert mine["slug"] == slug
    duplicate = client.post("/api/v1/projects", json={"slug": slug, "name": "Again"},
                            headers=project.headers("admin"))
    assert duplicate.status_code == 409


def test_create_keys_and_list_without_secrets(client, project):
    created = client.post("/api/v1/keys", json={"name": "ci", "scopes": ["ingest"]}, headers=project.headers("admin"))
    assert created.status_code == 201 and created.get_json()["secret"].startswith("fl_ingest_")
    listed = client.get("/api/v1/keys", headers=project.headers("admin")).get_json()["items"]
    assert all("secret" not in k for k in listed)
    assert any(k["name"] == "ci" for k in listed)
    widget_without_origin = client.post("/api/v1/keys", json={"name": "w", "scopes": ["widget"]},
                                        headers=project.headers("admin"))
    assert widget_without_origin.status_code == 422
    mixed = client.post("/api/v1/keys", json={"name": "w", "scopes": ["widget", "admin"],
                                              "allowed_origins": ["https://a.example"]},
                        headers=project.headers("admin"))
    assert mixed.status_code == 422
