"""schemathesis against the OpenAPI schema: generated requests (signed where the route needs it) never
get a 5xx nor a status or body the schema does not document."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from solvent.service import auth
from solvent.service.app import create_app
from tests.service.conftest import Api
from tests.service.support import MASTER

app = create_app(":memory:", MASTER)  # only for the schema; the tests run their own app
schema = schemathesis.openapi.from_dict(app.openapi())
STATUSES: Counter[tuple[str, int]] = Counter()
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db = str(tmp_path_factory.mktemp("schema") / "journal.db")
    with TestClient(create_app(db, MASTER, rate_limit=1e9), raise_server_exceptions=False) as client:
        yield Api(client)


def send(api: Api, case: Any) -> Any:
    """Send the generated request as generated, signed by root (operator routes) or alice (trader routes)."""
    path = case.formatted_path
    signer = None
    if path.startswith("/api/v1/operator"):
        signer = ("root", auth.derive_secret(MASTER, auth.ROOT_KEY))
    elif path.startswith("/api/v1/accounts"):
        if case.path_parameters and "account" in case.path_parameters:
            case.path_parameters["account"] = "alice"  # ownership itself is test_auth's business
            path = case.formatted_path
        signer = ("key-alice", api.secrets["alice"])
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    content = kwargs.get("content") or kwargs.get("data")
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
    if isinstance(content, str):
        content = content.encode()
    headers = {key: value for key, value in (kwargs.get("headers") or {}).items()
               if not key.lower().startswith("x-solvent")}
    if "json" in kwargs:
        headers["Content-Type"] = "application/json"
    request = api.client.build_request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                       content=content, headers=headers)
    if signer is not None:
        request.headers.update(auth.signed_headers(signer[0], signer[1], request.method,
                                                   request.url.raw_path.decode(), request.content))
    return api.client.send(request)


@schema.exclude(path="/api/v1/public/stream").parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case: Any, running: Api) -> None:
    response = send(running, case)
    STATUSES[(case.path.split("/")[3], response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)


def test_the_generated_requests_reached_the_engine_signed() -> None:
    """Run after the schema test: signing worked (no 401) and requests got past validation (2xx and 400s)."""
    if not STATUSES:
        pytest.skip("run with the schema test")
    assert not [key for key in STATUSES if key[1] == 401], STATUSES
    for group in ("public", "accounts", "operator"):
        assert STATUSES[(group, 200)] > 0, STATUSES
    assert STATUSES[("operator", 400)] + STATUSES[("accounts", 400)] > 0, STATUSES


def test_the_schema_documents_every_error_status_and_the_signed_key() -> None:
    document = app.openapi()
    order = document["paths"]["/api/v1/accounts/{account}/orders"]["post"]
    assert {"400", "401", "403", "422", "429", "503"} <= set(order["responses"])
    assert order["security"] == [{"SignedKey": []}]
    assert "security" not in document["paths"]["/api/v1/public/markets"]["get"]
