"""Every service is a real app with its database, bus, health and metrics wired."""

from __future__ import annotations

import importlib

import pytest

from devtools.testing.apps import running
from devtools.testing.tokens import verifier


@pytest.mark.parametrize("service", ["registry", "enterprises", "contracts", "audit"])
async def test_service_is_ready_with_health_and_metrics(backend, service):
    main = importlib.import_module(f"services.{service}.main")
    app = main.create_app(backend.settings(), verifier=verifier())
    async with running(app) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": True, "bus": True}
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "custody_http_requests_total" in metrics.text
        missing = await client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["title"] == "Not found"
        assert missing.headers["x-request-id"]
