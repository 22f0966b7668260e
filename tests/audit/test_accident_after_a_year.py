"""An accident after a year of custody (issue #17, SPEC §20): the dossier's counts are what the test
did in the twelve months before the accident — monthly visits, some confirmed, one disputed at the
time, hazards found and rectified — and nothing done after the accident changes them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from tests.audit.factories import audit_app, bureau, hazard, service_log
from tests.files import png

OCCURRED = datetime(2026, 5, 20, 12, tzinfo=UTC)


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


async def test_a_year_of_custody_gives_a_dossier_that_counts_what_happened_then(backend):
    async with audit_app(backend, today=date(2025, 5, 1)) as h:
        contract = await h.setup(start_date=date(2025, 5, 1), end_date=date(2026, 12, 31))
        ent, agency = contract.enterprise.headers(), contract.agency.headers()
        visits: dict[str, date] = {}
        hazards: list[str] = []
        confirmed: set[str] = set()
        disputed = None
        for month in range(13):  # 2025-05-05 … 2026-05-05, each recorded on its day
            day = date(2025 + (4 + month) // 12, (4 + month) % 12 + 1, 5)
            h.clock.set(morning(day))
            found = [hazard(visit_date=day, deadline=day + timedelta(days=10))] if month % 3 == 0 else []
            photos = []
            if month == 1:  # a visit recorded with its photo: the dossier names it
                up = await h.client.post(
                    "/api/v1/attachments", files={"file": ("v.png", png(1), "image/png")}, headers=agency
                )
                assert up.status_code == 201, up.text
                photos = [up.json()["id"]]
            r = await h.client.post(
                "/api/v1/service-logs",
                json=service_log(contract, visit_date=day, hazards=found, attachments=photos),
                headers=agency,
            )
            assert r.status_code == 201, r.text
            log = r.json()
            visits[log["id"]] = day
            if photos:
                photos_named = photos[0]
            hazards += [x["id"] for x in log["hazards"]]
            h.clock.set(morning(day + timedelta(days=1)))
            if month % 2 == 0:
                r = await h.client.post(f"/api/v1/service-logs/{log['id']}/confirm", headers=ent)
                assert r.status_code == 200, r.text
                confirmed.add(log["id"])
            elif month == 11:
                r = await h.client.post(
                    f"/api/v1/service-logs/{log['id']}/dispute", json={"reason": "当天无人到场"}, headers=ent
                )
                assert r.status_code == 200, r.text
                disputed = log["id"]
            for hazard_id in (x["id"] for x in log["hazards"]):
                r = await h.client.post(f"/api/v1/hazards/{hazard_id}/rectify", json={"note": "已整改"}, headers=ent)
                assert r.status_code == 200, r.text
        assert disputed is not None

        h.clock.set(OCCURRED + timedelta(days=1))
        body = {
            "enterprise_uscc": contract.enterprise.uscc,
            "occurred_at": OCCURRED.isoformat(),
            "severity": "general",
            "deaths": 0,
            "injuries": 2,
            "description": "冲床伤手",
        }
        r = await h.client.post("/api/v1/accidents", json=body, headers=bureau())
        assert r.status_code == 201, r.text
        url = f"/api/v1/accidents/{r.json()['id']}/dossier"
        dossier = (await h.client.get(url, headers=bureau())).json()

        in_window = {i for i, day in visits.items() if day >= date(2025, 5, 20)}  # the 12 months before
        assert len(in_window) == 12
        shown = {v["id"]: v["state"] for v in dossier["visits"]}
        assert set(shown) == in_window
        expected = Counter(
            "confirmed" if i in confirmed else "disputed" if i == disputed else "recorded" for i in in_window
        )
        assert Counter(shown.values()) == expected
        assert [v["attachments"] for v in dossier["visits"] if v["attachments"]] == [[photos_named]]
        assert {x["id"] for x in dossier["hazards"]} == set(hazards)
        assert Counter(x["state"] for x in dossier["hazards"]) == {"rectified": len(hazards)}

        # after the accident: the dispute is voided, the rest confirmed, hazards verified, a visit logged
        h.clock.set(OCCURRED + timedelta(days=2))
        r = await h.client.post(
            f"/api/v1/service-logs/{disputed}/resolve", json={"decision": "void", "notes": "核实"}, headers=bureau()
        )
        assert r.status_code == 200, r.text
        for log_id in in_window - confirmed - {disputed}:
            assert (await h.client.post(f"/api/v1/service-logs/{log_id}/confirm", headers=ent)).status_code == 200
        for hazard_id in hazards:
            r = await h.client.post(f"/api/v1/hazards/{hazard_id}/verify", headers=agency)
            assert r.status_code == 200, r.text
        r = await h.client.post(
            "/api/v1/service-logs", json=service_log(contract, visit_date=date(2026, 5, 20)), headers=agency
        )
        assert r.status_code == 201, r.text
        assert (await h.client.get(url, headers=bureau())).json() == dossier
