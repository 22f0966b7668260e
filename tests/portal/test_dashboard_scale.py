"""The bureau dashboard at city scale (issue #19 item 5, DECISIONS D53): 6,000 agency filings
and 6,000 contracts behind the fake gateway. The figures come from the count endpoints — a constant
number of upstream calls, exact totals, nothing truncated — instead of reading every list.

Measured with this test's platform: before (lists read in full, 200 a page, truncated at 5,000)
the city view made 57 upstream calls and said it stopped at 5,000 (a district view: 15); with the
count endpoints either makes 8, whatever the number of rows. The header's inbox count (one call,
SPEC §15) and the watch lists of portal/dashboard_watch.py (six: supervision counts by status and
overdue, its first page of cases to acknowledge, noncompliant agencies counted and their first page,
filings ending within 30 days counted) make 15 — still constant."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.portal.fakes import FakePlatform
from tests.portal.test_pages import BASE, login

DISTRICTS = ["440703", "440704", "440705", "440781", "440783", "440784", "440785"]
AGENCY_STATUS = ["approved", "approved", "submitted", "draft", "returned"]
CONTRACT_STATUS = ["active", "active", "filing", "draft", "expired", "terminated"]
N = 6000
CALLS_WITH_COUNTS = 15  # 8 figures and queues + 6 watch lists + 1 monthly trends
HEADER = "/api/v1/inbox/summary"  # every signed-in page's unread count (one call), not the dashboard's


class CityScale(FakePlatform):
    """The fake gateway with a city's worth of filings and contracts, paged like the services."""

    def __init__(self) -> None:
        super().__init__()
        soon = (date.today() + timedelta(days=10)).isoformat()
        self.agencies = [
            {"id": f"a{i}", "name": f"机构{i}", "status": AGENCY_STATUS[i % 5], "district_code": DISTRICTS[i % 7]}
            for i in range(N)
        ]
        self.contracts = [
            {
                "id": f"c{i}",
                "status": CONTRACT_STATUS[i % 6],
                "district_code": DISTRICTS[i % 7],
                "enterprise_name": f"企业{i}",
                "agency_name": "机构",
                "start_date": "2026-01-01",
                "end_date": soon if i % 12 == 0 else "2027-12-31",
            }
            for i in range(N)
        ]
        self.directory = [
            {**a, "grade": "AB"[i % 2], "service_districts": [a["district_code"]]}
            for i, a in enumerate(a for a in self.agencies[:1200] if a["status"] == "approved")
        ]

    def handler(self, request: httpx.Request) -> httpx.Response:
        lists = {
            "/api/v1/agencies": self.agencies,
            "/api/v1/contracts": self.contracts,
            "/api/v1/directory/agencies": self.directory,
        }
        if request.url.path not in lists:
            return super().handler(request)
        self.calls.append(request)
        params = dict(request.url.params)
        rows: list[dict[str, Any]] = [
            r
            for r in lists[request.url.path]
            if (not params.get("status") or r["status"] == params["status"])
            and (not params.get("district") or r["district_code"] == params["district"])
        ]
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 50)
        more = start + limit < len(rows)
        return httpx.Response(
            200, json={"items": rows[start : start + limit], "next_cursor": str(start + limit) if more else None}
        )


@pytest.fixture
def fake() -> CityScale:
    return CityScale()


@pytest.fixture
async def client(fake: CityScale):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app()), base_url=BASE) as c:
        yield c


async def test_city_dashboard_counts_with_a_constant_number_of_calls(client: httpx.AsyncClient, fake: CityScale):
    await login(client, fake)
    fake.calls.clear()
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    upstream = [c for c in fake.calls if c.url.path.startswith("/api/") and c.url.path != HEADER]
    assert len(upstream) == CALLS_WITH_COUNTS, [str(c.url) for c in upstream]
    read_in_full = [c.url.path for c in upstream if c.url.path in ("/api/v1/agencies", "/api/v1/contracts")]
    assert all(dict(c.url.params).get("limit") == "50" for c in upstream if c.url.path in read_in_full)
    assert len(read_in_full) == 3  # the two queues' and the noncompliant agencies' first pages, nothing more
    assert all(dict(c.url.params).get("limit") == "50" for c in upstream if c.url.path == "/api/v1/supervision")
    html = r.text
    assert "5000" not in html and "5,000" not in html  # nothing truncated
    approved = sum(1 for a in fake.agencies if a["status"] == "approved")
    submitted = sum(1 for a in fake.agencies if a["status"] == "submitted")
    filing = sum(1 for c in fake.contracts if c["status"] == "filing")
    assert approved == 2400 and f">{approved}<" in html
    assert 'id="queue-filings"' in html and f">{submitted}<" in html and f">{filing}<" in html


async def test_district_dashboard_asks_for_its_district(client: httpx.AsyncClient, fake: CityScale):
    await login(client, fake, district="440703", username="pj-bureau")
    fake.calls.clear()
    r = await client.get("/portal/dashboard")
    assert r.status_code == 200, r.text
    counted = [
        dict(c.url.params) for c in fake.calls if c.url.path.endswith("/counts") and "directory" not in str(c.url)
    ]
    # agencies (by status, noncompliant, expiring filings), contracts (by status, ending), supervision (2),
    # and its towns' table: contracts and supervision cases by town (tests/portal/test_dashboard_towns.py)
    assert len(counted) == 9 and all(p.get("district") == "440703" for p in counted)
    district_calls = CALLS_WITH_COUNTS + 2
    assert len([c for c in fake.calls if c.url.path.startswith("/api/") and c.url.path != HEADER]) == district_calls
    approved = sum(1 for a in fake.agencies if a["status"] == "approved" and a["district_code"] == "440703")
    assert f">{approved}<" in r.text
