"""The OpenAPI document is generated from the schemas, valid OpenAPI 3.1, and rendered as a docs page."""

from __future__ import annotations

from openapi_spec_validator import validate


def test_document_is_valid_openapi_31(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    post = document["paths"]["/api/v1/feedback"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/FeedbackCreate")
    assert {"apiKey", "feedbackToken"} <= {next(iter(s)) for s in post["security"]}
    props = document["components"]["schemas"]["InteractionCreate"]["properties"]
    assert props["confidence"]["anyOf"][0]["maximum"] == 1.0
    assert "422" in post["responses"] and "413" in post["responses"]
    download = document["paths"]["/api/v1/datasets/{name}/versions/{version}/download"]["get"]["responses"]
    assert download["410"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "410" not in post["responses"]  # endpoint-specific statuses stay on their endpoint


def test_docs_page_lists_operations(client):
    answer = client.get("/api/v1/docs")
    assert answer.status_code == 200 and "text/html" in answer.content_type
    html = answer.get_data(as_text=True)
    assert "/api/v1/interactions/batch" in html and "FeedbackCreate" in html
    assert "'unsafe-inline'" not in answer.headers["Content-Security-Policy"]
    assert "<script" not in html and "style=" not in html
