"""CSV exports of hazards and complaints (``Accept: text/csv``): every visible row, not a page."""

from __future__ import annotations

import csv
import io

from tests.audit.factories import OTHER_DISTRICT, audit_app, bureau, city, hazard, service_log


def parse(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_hazard_and_complaint_exports(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        hazards = [hazard() | {"description": f"隐患{i}"} for i in range(4)]
        hazards[0]["description"] = '=HYPERLINK("http://evil")'
        r = await h.client.post(
            "/api/v1/service-logs", json=service_log(contract, hazards=hazards), headers=contract.agency.headers()
        )
        assert r.status_code == 201
        csv_accept = {"Accept": "text/csv"}
        rows = parse(await h.client.get("/api/v1/hazards?limit=1", headers=bureau() | csv_accept))
        assert len(rows) == 4  # all rows, not one page
        assert {r["description"] for r in rows} == {
            '\'=HYPERLINK("http://evil")',
            "隐患1",
            "隐患2",
            "隐患3",
        }  # no formulas
        assert {r["status"] for r in rows} == {"open"}
        assert parse(await h.client.get("/api/v1/hazards", headers=bureau(OTHER_DISTRICT) | csv_accept)) == []
        # A refused export is an error response, not a broken download.
        refused = await h.client.get(f"/api/v1/hazards?district={OTHER_DISTRICT}", headers=bureau() | csv_accept)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        # JSON stays the answer when the client ranks it higher.
        ranked = await h.client.get(
            "/api/v1/hazards", headers=bureau() | {"Accept": "application/json, text/csv;q=0.5"}
        )
        assert ranked.headers["content-type"].startswith("application/json")
        assert len(parse(await h.client.get("/api/v1/hazards?level=major", headers=city() | csv_accept))) == 0

        for _ in range(3):
            await h.client.post(
                "/api/v1/complaints",
                json={"agency_id": contract.agency.id, "category": "fee", "description": "收费不透明"},
                headers=contract.enterprise.headers(),
            )
        rows = parse(await h.client.get("/api/v1/complaints", headers=city() | csv_accept))
        assert len(rows) == 3
        assert rows[0]["category"] == "fee"
        assert rows[0]["overdue"] == "false"
        assert "contact_phone" not in rows[0]
        assert (await h.client.get("/api/v1/complaints", headers=csv_accept)).status_code == 401
