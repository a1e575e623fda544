"""The OpenAPI document describes every endpoint, body and error code."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from ztix.errors import CODES

EXPECTED = {
    ("post", "/api/v1/auth/local/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/peeringdb/start"),
    ("post", "/api/v1/auth/peeringdb/callback"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/onboarding/context"),
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/requests"),
    ("get", "/api/v1/requests/{request_id}"),
    ("post", "/api/v1/requests/{request_id}/cancel"),
    ("get", "/api/v1/admin/requests"),
    ("get", "/api/v1/admin/requests/{request_id}"),
    ("post", "/api/v1/admin/requests/{request_id}/approve"),
    ("post", "/api/v1/admin/requests/{request_id}/reject"),
    ("post", "/api/v1/admin/requests/{request_id}/retry"),
    ("get", "/api/v1/admin/audit"),
}


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op for path, item in spec["paths"].items() for method, op in item.items()
    }


def test_every_endpoint_documents_its_errors(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    ops = operations(spec)
    assert set(ops) >= EXPECTED
    for key, op in ops.items():
        assert op.get("description") or op.get("summary"), key
        problems = {s: r for s, r in op["responses"].items() if s.startswith(("4", "5"))}
        assert problems, f"{key} documents no error"
        for status, response in problems.items():
            assert "application/problem+json" in response["content"], (key, status)
            codes = re.findall(r"`([a-z_]+)`", response["description"])
            assert codes, (key, status)
            for code in codes:
                assert CODES[code].status == int(status), (key, code)


def test_request_bodies_are_described(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    create = spec["paths"]["/api/v1/requests"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"asn", "zt_network_id", "node_id"}
    assert "Problem" in spec["components"]["schemas"]


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    wrong_method = client.delete("/api/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


def test_operation_ids_are_the_handler_names(client: TestClient) -> None:
    """Stable, readable operation IDs for the generated client: the handler's name, unique."""
    spec = client.get("/api/v1/openapi.json").json()
    ids = [op["operationId"] for op in operations(spec).values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", operation_id), operation_id
        assert "api_v1" not in operation_id, operation_id
    ops = operations(spec)
    assert ops[("get", "/api/v1/admin/requests")]["operationId"] == "admin_list_requests"
    assert ops[("get", "/api/v1/requests")]["operationId"] == "list_requests"
    assert ops[("post", "/api/v1/auth/local/login")]["operationId"] == "local_login"
