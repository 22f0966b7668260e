"""The count endpoints (DECISIONS D53) through the gateway, with the bad-input corpus's odd
query values in every query parameter their OpenAPI documents: never a 5xx, every refusal
problem+json; an unknown, repeated or missing dimension in ``by`` is a 422."""

from __future__ import annotations

import pytest

from tests.security.test_bad_input import ODD_QUERY
from tests.security.world import World

# fuzzing on a platform of its own, beside the matrix (tests/conftest.py)
PLATFORM_GROUP = "security-input"

COUNTS = {
    "/api/v1/agencies/counts": "bureauA",
    "/api/v1/contracts/counts": "bureauA",
    "/api/v1/supervision/counts": "bureauA",
    "/api/v1/directory/counts": "anon",  # public
}


@pytest.mark.parametrize("path", sorted(COUNTS))
async def test_odd_query_values_never_break_the_count_endpoints(world: World, openapi: dict, path: str) -> None:
    documented = [p["name"] for p in openapi["paths"][path]["get"].get("parameters", []) if p["in"] == "query"]
    assert "by" in documented
    headers = world.as_(COUNTS[path])
    for name in documented:
        for label, value in ODD_QUERY:
            r = await world.platform.client.get(f"{path}?{name}={value}", headers=headers)
            assert r.status_code < 500, (path, name, label, r.status_code, r.text[:200])
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), (path, name, label)
            if name == "by":
                assert r.status_code == 422, (path, label, r.status_code)


@pytest.mark.parametrize("path", sorted(set(COUNTS) - {"/api/v1/directory/counts"}))
async def test_by_names_known_dimensions_only(world: World, path: str) -> None:
    headers = world.as_(COUNTS[path])
    for by in ("grade", "district,district", ",", "status,", "id", "count"):
        r = await world.platform.client.get(path, params={"by": by}, headers=headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "by", (path, by, r.text[:200])
    r = await world.platform.client.get(path, params={"by": "district,status"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == ["district", "status"] and body["total"] == sum(i["count"] for i in body["items"])
    assert {i["district"] for i in body["items"]} <= {"440703"}  # bureau A: its district only
