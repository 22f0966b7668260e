"""Proxy rules that need no running service: routing table, the admin ``service`` parameter,
413 body limits, 503 for a service that is down, request ids, and the merged OpenAPI document."""

from __future__ import annotations

import time

import pytest

from devtools.natsserver import free_port
from gateway.proxy import RouteError, route_for
from tests.gateway.conftest import gateway_settings, running_gateway


@pytest.mark.parametrize(
    ("path", "query", "service"),
    [
        ("/api/v1/agencies", b"", "registry"),
        ("/api/v1/agencies/1/submit", b"", "registry"),
        ("/api/v1/directory/agencies", b"", "registry"),
        ("/api/v1/policy", b"", "registry"),
        ("/api/v1/enterprises/by-uscc/x", b"", "enterprises"),
        ("/api/v1/enterprises/1/file", b"", "audit"),  # 一企一档 (D52)
        ("/api/v1/enterprises/1/files", b"", "enterprises"),
        ("/api/v1/enterprises/1/file/x", b"", "enterprises"),
        ("/api/v1/enterprises/1", b"", "enterprises"),
        ("/api/v1/contracts", b"", "contracts"),
        ("/api/v1/service-logs", b"", "audit"),
        ("/api/v1/hazards/1", b"", "audit"),
        ("/api/v1/compliance", b"", "audit"),
        ("/api/v1/audits", b"", "audit"),
        ("/api/v1/complaints", b"", "audit"),
        ("/api/v1/credit/x", b"", "audit"),
        ("/api/v1/inbox", b"", "notify"),
        ("/api/v1/inbox/summary", b"", "notify"),
        ("/api/v1/webhooks/1/deliveries", b"", "notify"),
        ("/api/v1/admin/sweep", b"service=notify", "notify"),
        ("/api/v1/inboxes", b"", None),
        ("/api/v1/admin/dlq", b"service=registry", "registry"),
        ("/api/v1/admin/sweep", b"service=audit&as_of=2026-01-01", "audit"),
        ("/api/v1/admin/audit-trail", b"service=contracts&from=3&limit=2", "contracts"),
        ("/api/v1/admin/audit-trail/heads", b"service=registry", "registry"),
        ("/api/v1/admin/accounts", b"", None),
        ("/api/v1/admin/clients", b"", None),
        ("/api/v1/admin/keys/rotate", b"", None),
        ("/api/v1/accounts", b"", None),
        ("/api/v1/me", b"", None),
        ("/oauth/token", b"", None),
        ("/", b"", "portal"),
        ("/policy", b"", "portal"),
        ("/docs", b"", "portal"),
        ("/asyncapi.json", b"", "portal"),
        ("/portal", b"", "portal"),
        ("/portal/contracts/1/sign", b"", "portal"),
        ("/portals", b"", None),
        ("/policy/x", b"", None),
        ("/api/v1/agenciesx", b"", None),
        ("/healthz", b"", None),
    ],
)
def test_routing_table(path, query, service):
    assert route_for(path, query) == service


@pytest.mark.parametrize("query", [b"", b"service=nope", b"service=registry&service=audit"])
def test_admin_paths_need_a_known_service(query):
    with pytest.raises(RouteError):
        route_for("/api/v1/admin/dlq", query)


@pytest.fixture
async def down_gateway(sqlite_backend):
    dead = {
        f"{name}_url": f"http://127.0.0.1:{free_port()}"
        for name in ("registry", "enterprises", "contracts", "audit", "notify", "portal")
    }
    async with running_gateway(gateway_settings(sqlite_backend, **dead)) as client:
        yield client


async def test_unknown_admin_service_is_a_422_problem(down_gateway):
    response = await down_gateway.get("/api/v1/admin/dlq", headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "service"


async def test_service_down_is_503_fast_with_request_id(down_gateway):
    started = time.monotonic()
    response = await down_gateway.get("/api/v1/policy", headers={"X-Request-ID": "req-123"})
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "registry"
    assert response.headers["x-request-id"] == "req-123"
    generated = await down_gateway.get("/api/v1/policy", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] and generated.headers["x-request-id"] != "bad id with spaces"


async def test_bodies_over_the_limits_are_413(down_gateway):
    big_json = b"[" + b"1," * (600 * 1024) + b"1]"
    response = await down_gateway.post(
        "/api/v1/agencies", content=big_json, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["limit_bytes"] == 1024 * 1024
    upload = await down_gateway.post(
        "/api/v1/agencies/1/documents",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert upload.status_code == 413 and upload.json()["limit_bytes"] == 10 * 1024 * 1024


async def test_merged_openapi_lists_security_and_marks_services_down(down_gateway):
    doc = (await down_gateway.get("/openapi.json")).json()
    assert "/oauth/token" in doc["paths"] and "/api/v1/accounts" in doc["paths"]
    assert {"bearerAuth", "oauth2"} <= set(doc["components"]["securitySchemes"])
    assert set(doc["x-unavailable"]) == {"registry", "enterprises", "contracts", "audit", "notify"}


async def test_gateway_health_and_unknown_routes(down_gateway):
    assert (await down_gateway.get("/healthz")).json()["status"] == "ok"
    ready = await down_gateway.get("/readyz")
    assert ready.status_code == 200 and {k: v for k, v in ready.json()["checks"].items() if k != "bus"} == {
        "database": True,
        "signing_key": True,
    }
    missing = await down_gateway.get("/api/v1/nothing", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    wrong_type = await down_gateway.post(
        "/api/v1/accounts", content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert wrong_type.status_code == 415


async def test_portal_is_proxied_and_its_client_registered(down_gateway):
    page = await down_gateway.get("/portal/dashboard")  # the portal process is down: a page, fast
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html") and "门户" in page.text
    from gateway.portal_client import PORTAL_CLIENT_ID

    client = await down_gateway.app.state.gw.store.client(PORTAL_CLIENT_ID)
    assert client is not None and client.is_public


async def test_own_endpoints_are_documented_with_models_and_problems(down_gateway):
    doc = (await down_gateway.get("/openapi.json")).json()
    signup = doc["paths"]["/api/v1/accounts"]["post"]
    assert "201" in signup["responses"] and "application/problem+json" in signup["responses"]["422"]["content"]
    created = signup["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/AccountRead")
    assert {
        "/api/v1/me",
        "/api/v1/me/clients",
        "/api/v1/admin/clients",
        "/api/v1/admin/keys/rotate",
        "/.well-known/jwks.json",
        "/oauth/authorize",
    } <= set(doc["paths"])
