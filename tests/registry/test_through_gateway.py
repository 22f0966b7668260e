"""The registry through the real gateway (real processes, OAuth2 client-credentials tokens, real
HTTP, real NATS), on SQLite and on PostgreSQL: filing, documents, review authorization, the public
directory and CSV, the list's history and its Atom feed, the public policy, and the rule that anonymous callers see only public data."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import httpx
import pytest

from devtools.testing.platform import started_platform
from devtools.testing.wait import eventually
from tests.registry.factories import PDF, agency_body, new_uscc

ATOM = "{http://www.w3.org/2005/Atom}"


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


async def test_the_list_history_and_its_atom_feed_through_the_gateway(platform):
    api = platform.client
    uscc = new_uscc()
    agency = await platform.actor("agency", org_uscc=uscc)
    district = await platform.actor("bureau", district="440703")
    r = await api.post(
        "/api/v1/agencies", json=agency_body(uscc, name="江门市<订阅>&技术服务有限公司"), headers=agency.headers
    )
    assert r.status_code == 201, r.text
    path = f"/api/v1/agencies/{r.json()['id']}"
    assert (await api.post(f"{path}/submit", headers=agency.headers)).status_code == 200
    approved = await api.post(
        f"{path}/review", json={"decision": "approve", "comments": "同意"}, headers=district.headers
    )
    assert approved.status_code == 200, approved.text
    detail = await api.get(f"/api/v1/directory/agencies/{r.json()['id']}")  # no token
    assert detail.status_code == 200, detail.text
    assert detail.json()["contact_phone"] and detail.json()["registered_engineers"] == 2
    # conditional GETs through the gateway: If-None-Match passes through, the 304 comes back
    tag = detail.headers["etag"]
    again = await api.get(f"/api/v1/directory/agencies/{r.json()['id']}", headers={"If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    listing = await api.get("/api/v1/directory/agencies")
    assert listing.headers["cache-control"] == "public, no-cache"
    listed_tag = listing.headers["etag"]
    assert (await api.get("/api/v1/directory/agencies", headers={"If-None-Match": listed_tag})).status_code == 304
    assert (await api.post(f"{path}/suspend", json={"reason": "暂停整顿"}, headers=district.headers)).status_code == 200
    assert (await api.get(f"/api/v1/directory/agencies/{r.json()['id']}")).status_code == 404
    after = await api.get("/api/v1/directory/agencies", headers={"If-None-Match": listed_tag})
    assert after.status_code == 200 and r.json()["id"] not in {i["id"] for i in after.json()["items"]}

    changes = await api.get("/api/v1/directory/changes", params={"agency_id": r.json()["id"]})
    assert changes.status_code == 200, changes.text
    assert [i["change"] for i in changes.json()["items"]] == ["listed", "suspended"]
    assert (await api.get("/api/v1/directory/changes", params={"since": "soon"})).status_code == 422

    feed = await api.get("/api/v1/directory/changes.atom", params={"agency_id": r.json()["id"]})
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    number = approved.json()["filing_no"]
    assert titles == [
        f"江门市<订阅>&技术服务有限公司（{number}）暂停备案",
        f"江门市<订阅>&技术服务有限公司（{number}）列入名单",
    ]


async def test_a_policy_version_published_through_the_gateway_reaches_every_service(platform):
    """SPEC §22: the city bureau publishes a version effective today; each service process learns it
    from the bus and its /readyz names it; the public lists the versions."""
    api = platform.client
    city = await platform.actor("bureau", district="440700")
    district = await platform.actor("bureau", district="440703")
    document = (await api.get("/api/v1/policy")).json()
    assert (document["version"], document["effective_from"]) == (1, None)
    today = datetime.now(UTC).date().isoformat()  # the processes' clock is the real one (UTC)
    body = {"effective_from": today, "policy": {**document, "max_enterprises_per_engineer": 20}}
    assert (await api.post("/api/v1/policy/versions", json=body)).status_code == 401
    assert (await api.post("/api/v1/policy/versions", json=body, headers=district.headers)).status_code == 403
    bad = await api.post(
        "/api/v1/policy/versions",
        json={**body, "policy": {**document, "audit_sample_rate": 2}},
        headers=city.headers,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    r = await api.post("/api/v1/policy/versions", json=body, headers=city.headers)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2
    versions = (await api.get("/api/v1/policy/versions")).json()  # anonymous
    assert [(v["version"], v["effective_from"]) for v in versions] == [(1, None), (2, today)]
    assert (await api.get("/api/v1/policy")).json()["max_enterprises_per_engineer"] == 20

    async def every_service_enforces_2() -> bool:
        async with httpx.AsyncClient() as client:
            for name in ("registry", "enterprises", "contracts", "audit", "notify"):
                ready = (await client.get(f"{platform.service_url(name)}/readyz")).json()
                if ready.get("policy_version") != 2:
                    return False
        return True

    await eventually(every_service_enforces_2, timeout=30)
