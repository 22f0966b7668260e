"""The registry through the real gateway (real processes, OAuth2 client-credentials tokens, real
HTTP, real NATS), on SQLite and on PostgreSQL: filing, documents, review authorization, the public
directory and CSV, the public policy, and the rule that anonymous callers see only public data."""

from __future__ import annotations

import csv
import io

import pytest

from devtools.testing.platform import started_platform
from devtools.testing.wait import eventually
from tests.registry.factories import PDF, agency_body, new_uscc


@pytest.fixture
async def platform(backend, tmp_path):
    async with started_platform(
        backend.settings(auth_rate_limit=1000, proxy_rate_burst=10_000, proxy_rate_per_second=10_000), tmp_path / "logs"
    ) as running:
        yield running


async def test_filing_review_and_directory_through_the_gateway(platform):
    api = platform.client
    uscc = new_uscc()
    agency = await platform.actor("agency", org_uscc=uscc)
    stranger = await platform.actor("agency", org_uscc=new_uscc())
    district = await platform.actor("bureau", district="440703")
    other_district = await platform.actor("bureau", district="440704")

    assert (await api.get("/api/v1/policy")).json()["filing_validity_years"] == 3
    assert (await api.post("/api/v1/agencies", json=agency_body(new_uscc()), headers=agency.headers)).status_code == 403
    r = await api.post(
        "/api/v1/agencies", json=agency_body(uscc, name="江门市网关安全技术服务有限公司"), headers=agency.headers
    )
    assert r.status_code == 201, r.text
    record = r.json()
    path = f"/api/v1/agencies/{record['id']}"
    bad = await api.post(
        "/api/v1/agencies", json={**agency_body(new_uscc()), "uscc": "91440703MA00000000"}, headers=agency.headers
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"

    r = await api.post(
        f"{path}/documents",
        files={"file": ("licence.pdf", PDF, "application/pdf")},
        data={"kind": "business_license"},
        headers=agency.headers,
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        f"{path}/documents",
        files={"file": ("licence.pdf", b"GIF89a not a pdf", "application/pdf")},
        data={"kind": "business_license"},
        headers=agency.headers,
    )
    assert r.status_code == 415, r.text

    r = await api.post(f"{path}/submit", headers=agency.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted", r.text
    review = {"decision": "approve", "comments": "材料齐全"}
    assert (await api.post(f"{path}/review", json=review, headers=other_district.headers)).status_code == 403
    assert (await api.post(f"{path}/review", json=review, headers=agency.headers)).status_code == 403
    r = await api.post(f"{path}/review", json=review, headers=district.headers)
    assert r.status_code == 200, r.text
    assert r.json()["filing_no"].startswith("JM-TG-"), r.text
    assert (await api.post(f"{path}/review", json=review, headers=district.headers)).status_code == 409

    assert (await api.get(path)).status_code == 401
    public = (await api.get(path, headers=stranger.headers)).json()
    assert public["registered_engineers"]
    assert "contact_phone" not in public
    full = await api.get(path, headers=district.headers)
    assert full.json()["contact_phone"]
    assert full.headers["etag"] == f'"{full.json()["version"]}"'

    async def listed():
        d = await api.get("/api/v1/directory/agencies", params={"district": "440704", "q": "网关"})
        return d.json()["items"]

    items = await eventually(listed, timeout=10)
    assert [i["id"] for i in items] == [record["id"]]
    assert items[0]["remaining_capacity"] == 30
    r = await api.get("/api/v1/directory/agencies", params={"q": "网关"}, headers={"Accept": "text/csv"})
    assert r.status_code == 200
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[1][1] == "江门市网关安全技术服务有限公司"

    r = await api.post(f"{path}/suspend", json={"reason": "暂停整顿"}, headers=district.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "suspended"
    assert (await api.get("/api/v1/directory/agencies", params={"q": "网关"})).json()["items"] == []
