"""Property-based fuzzing of every documented operation from the generated OpenAPI document (schemathesis):
no input, valid or not, may produce a 5xx, and every error body has the documented shape."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from feedback.api.openapi import build_document
from tests.conftest import log_interaction, make_project


def _examples(backend: str) -> int:
    """FEEDBACK_FUZZ_EXAMPLES raises the count for a deeper local run; CI uses the defaults."""
    default = 25 if backend == "sqlite" else 10
    return int(os.environ.get("FEEDBACK_FUZZ_EXAMPLES", default))


# The key each operation is called with: an ingest key where that is the documented caller, else the admin key,
# so every operation's validation and handler run (with the wrong key most inputs would stop at the 403).
INGEST_TAGS = {"feedback", "interactions", "widget"}
# Operations a browser calls with an interaction's feedback token run once more with that token (and the
# widget origin): the token path resolves the interaction, checks the origin and rate-limits.
OPERATIONS = [(path, method.upper(), "ingest" if INGEST_TAGS & set(op.get("tags", ())) else "admin")
              for path, ops in build_document("fuzz")["paths"].items() for method, op in ops.items()]
OPERATIONS += [(path, method.upper(), "token") for path, ops in build_document("fuzz")["paths"].items()
               for method, op in ops.items() if {"feedbackToken": []} in op.get("security", [])]


@pytest.fixture
def fuzz_project(app):
    """A project per operation: an operation that revokes keys or erases users cannot starve the next one."""
    keys = make_project(app)
    token = log_interaction(app.test_client(), keys, external_id="fuzz-1")["feedback_token"]
    return keys, {"Authorization": f"Bearer {token}", "Origin": keys.origin}


@pytest.mark.parametrize(("path", "method", "scope"), OPERATIONS)
def test_no_server_errors(app, fuzz_project, backend, path, method, scope):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]

    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=_examples(backend),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case):
        keys, token_headers = fuzz_project
        response = case.call(headers=token_headers if scope == "token" else keys.headers(scope))
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "details"}

    check()
