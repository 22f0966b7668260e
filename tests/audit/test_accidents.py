"""Accidents and the dossier as of the accident (一案双查, SPEC §20): what happens after the
accident — a visit logged later, a later confirmation, a hazard rectified or verified later, a
later credit record — never changes the dossier; the findings once, a fraud-sized record."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook

from services.audit.models import DisputeDecision, Hazard, HazardLevel, ServiceLog
from services.audit.service.dossier import hazard_state_as_of, months_before, visit_state_as_of
from services.audit.states import HazardStatus, ServiceLogStatus
from shared.reference import make_uscc
from tests.audit.factories import (
    OTHER_DISTRICT,
    Agency,
    Contract,
    audit_app,
    bureau,
    city,
    evidence,
    hazard,
    service_log,
)

START = date(2026, 5, 1)
OCCURRED = datetime(2026, 5, 20, 12, tzinfo=UTC)
A_DAY = date(2026, 4, 28)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 5, day, hour, tzinfo=UTC)


def accident(contract, **extra):
    body = {
        "enterprise_uscc": contract.enterprise.uscc,
        "occurred_at": OCCURRED.isoformat(),
        "severity": "larger",
        "deaths": 1,
        "injuries": 3,
        "description": "二号车间配电箱起火",
    }
    return body | extra


async def _log(h, contract, visit: date, *hazards):
    r = await h.client.post(
        "/api/v1/service-logs",
        json=service_log(contract, visit_date=visit, hazards=list(hazards)),
        headers=contract.agency.headers(),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_dossier_is_the_record_as_of_the_accident(backend):
    async with audit_app(backend, today=START) as h:
        contract = await h.setup(start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
        ent = contract.enterprise.headers()
        # before the accident: visit A (2 hazards), confirmed; H1 rectified; visit B not confirmed
        h.clock.set(at(1))
        a = await _log(h, contract, date(2026, 4, 28), hazard(visit_date=A_DAY), hazard("major", visit_date=A_DAY))
        h1, h2 = (x["id"] for x in a["hazards"])
        h.clock.set(at(2))
        assert (await h.client.post(f"/api/v1/service-logs/{a['id']}/confirm", headers=ent)).status_code == 200
        h.clock.set(at(3))
        r = await h.client.post(
            f"/api/v1/credit/agencies/{contract.agency.id}/records",
            json={"kind": "violation", "delta": -5, "reason": "未按约定频次服务"},
            headers=bureau(),
        )
        assert r.status_code == 201, r.text
        h.clock.set(at(5))
        r = await h.client.post(f"/api/v1/hazards/{h1}/rectify", json={"note": "已接地"}, headers=ent)
        assert r.status_code == 200, r.text
        h.clock.set(at(10))
        b = await _log(h, contract, date(2026, 5, 10))
        r = await h.client.post(
            "/api/v1/complaints",
            json={"agency_id": contract.agency.id, "category": "service_quality", "description": "检查走过场"},
            headers=ent,
        )
        assert r.status_code == 201, r.text
        complaint = r.json()["id"]

        # the accident, recorded the day after
        h.clock.set(at(21))
        r = await h.client.post("/api/v1/accidents", json=accident(contract), headers=bureau())
        assert r.status_code == 201, r.text
        acc = r.json()
        assert acc["district_code"] == contract.district_code and acc["severity"] == "larger"
        assert r.headers["location"] == f"/api/v1/accidents/{acc['id']}"
        recorded = (await h.events("accident.recorded"))[0]
        assert recorded.data["id"] == acc["id"]
        assert recorded.data["enterprise_uscc"] == contract.enterprise.uscc
        assert recorded.data["deaths"] == 1 and recorded.data["severity"] == "larger"

        url = f"/api/v1/accidents/{acc['id']}/dossier"
        before = await h.client.get(url, headers=bureau())
        assert before.status_code == 200, before.text
        d = before.json()
        assert [c["id"] for c in d["contracts"]] == [contract.id]
        assert d["contracts"][0]["agency_id"] == contract.agency.id
        assert {v["id"]: v["state"] for v in d["visits"]} == {a["id"]: "confirmed", b["id"]: "recorded"}
        assert {x["id"]: x["state"] for x in d["hazards"]} == {h1: "rectified", h2: "open"}
        assert [c["kind"] for c in d["credit_records"]] == ["violation"]
        assert d["credit"][0]["score"] == 95
        assert [(c["id"], c["state"]) for c in d["complaints"]] == [(complaint, "received")]

        # after the accident: a visit logged later (visit date before it), B confirmed, H2
        # rectified, H1 verified, another credit record: none of it is in the dossier
        h.clock.set(at(22))
        late = await _log(h, contract, date(2026, 5, 19))  # within max_log_delay_days of its logging
        assert (await h.client.post(f"/api/v1/service-logs/{b['id']}/confirm", headers=ent)).status_code == 200
        r = await h.client.post(
            f"/api/v1/hazards/{h2}/rectify",
            json={"note": "已整改", "attachments": await evidence(h, contract)},
            headers=ent,
        )
        assert r.status_code == 200, r.text
        # H1's rectification rejected after the accident (which clears it), rectified again, verified
        r = await h.client.post(
            f"/api/v1/hazards/{h1}/reject-rectification",
            json={"reason": "未整改到位"},
            headers=contract.agency.headers(),
        )
        assert r.status_code == 200, r.text
        r = await h.client.post(f"/api/v1/hazards/{h1}/rectify", json={"note": "重新接地"}, headers=ent)
        assert r.status_code == 200, r.text
        r = await h.client.post(f"/api/v1/hazards/{h1}/verify", headers=contract.agency.headers())
        assert r.status_code == 200, r.text
        r = await h.client.post(f"/api/v1/complaints/{complaint}/forward", json={}, headers=bureau())
        assert r.status_code == 200, r.text
        r = await h.client.post(
            f"/api/v1/credit/agencies/{contract.agency.id}/records",
            json={"kind": "commendation", "delta": 3, "reason": "事后表彰"},
            headers=bureau(),
        )
        assert r.status_code == 201, r.text
        after = await h.client.get(url, headers=bureau())
        assert after.json() == d
        assert late["id"] not in {v["id"] for v in after.json()["visits"]}

        # the same as XLSX, one sheet per section
        x = await h.client.get(url, headers=bureau() | {"Accept": XLSX})
        assert x.status_code == 200, x.text
        assert x.headers["content-type"].startswith(XLSX)
        book = load_workbook(io.BytesIO(x.content), read_only=True)
        assert len(book.sheetnames) == 7
        visits = list(book[book.sheetnames[2]].iter_rows(values_only=True))
        assert visits[0][0] == "id" and {row[0] for row in visits[1:]} == {a["id"], b["id"]}
        states = {row[0]: row[7] for row in visits[1:]}
        assert states == {a["id"]: "confirmed", b["id"]: "recorded"}

        # the findings: at fault → a fraud-sized record on the agency; once only
        h.clock.set(at(25))
        r = await h.client.post(
            f"/api/v1/accidents/{acc['id']}/findings",
            json={"agency_at_fault": True, "findings": "机构未如实记录隐患"},
            headers=city(),
        )
        assert r.status_code == 200, r.text
        assert r.json()["agency_at_fault"] is True and len(r.json()["credit_record_ids"]) == 1
        file = (await h.client.get(f"/api/v1/credit/agencies/{contract.agency.id}", headers=bureau())).json()
        fraud = [rec for rec in file["records"] if rec["kind"] == "fraud_finding"]
        assert len(fraud) == 1 and fraud[0]["delta"] == h.runtime.policy.credit.fraud_finding
        again = await h.client.post(
            f"/api/v1/accidents/{acc['id']}/findings",
            json={"agency_at_fault": False, "findings": "x"},
            headers=bureau(),
        )
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        # the findings came after the accident: the dossier still does not show them
        assert (await h.client.get(url, headers=bureau())).json()["credit_records"] == d["credit_records"]


async def test_who_records_and_reads_accidents_and_bad_input(backend):
    async with audit_app(backend, today=START) as h:
        contract = await h.setup(start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
        h.clock.set(at(21))
        body = accident(contract)
        assert (await h.client.post("/api/v1/accidents", json=body)).status_code == 401
        assert (
            await h.client.post("/api/v1/accidents", json=body, headers=contract.agency.headers())
        ).status_code == 403
        assert (await h.client.post("/api/v1/accidents", json=body, headers=bureau(OTHER_DISTRICT))).status_code == 403
        r = await h.client.post("/api/v1/accidents", json=body, headers=city())
        assert r.status_code == 201, r.text
        aid = r.json()["id"]
        for path in (f"/api/v1/accidents/{aid}", f"/api/v1/accidents/{aid}/dossier"):
            assert (await h.client.get(path, headers=bureau())).status_code == 200
            assert (await h.client.get(path, headers=bureau(OTHER_DISTRICT))).status_code == 403
            assert (await h.client.get(path, headers=contract.enterprise.headers())).status_code == 403
        mine = (await h.client.get("/api/v1/accidents", headers=bureau())).json()["items"]
        assert [x["id"] for x in mine] == [aid]
        assert (await h.client.get("/api/v1/accidents", headers=bureau(OTHER_DISTRICT))).json()["items"] == []

        future = (datetime(2026, 5, 21, 9, tzinfo=UTC) + timedelta(hours=1)).isoformat()
        for bad in (
            accident(contract, occurred_at=future),
            accident(contract, severity="small"),
            accident(contract, deaths=-1),
            accident(contract, description=""),
            accident(contract, enterprise_uscc="123"),
            accident(contract, extra=1),
        ):
            r = await h.client.post("/api/v1/accidents", json=bad, headers=bureau())
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        unknown = accident(contract, enterprise_uscc=make_uscc("91440703MA0000001"))
        r = await h.client.post("/api/v1/accidents", json=unknown, headers=bureau())
        assert r.status_code == 422 and r.json()["code"] == "enterprise_unknown", r.text
        # no contract in force: at fault cannot be recorded
        h.clock.set(at(22))
        r = await h.client.post(
            "/api/v1/accidents", json=accident(contract, occurred_at="2025-06-01T00:00:00Z"), headers=bureau()
        )
        assert r.status_code == 201
        r = await h.client.post(
            f"/api/v1/accidents/{r.json()['id']}/findings",
            json={"agency_at_fault": True, "findings": "机构有责"},
            headers=bureau(),
        )
        assert r.status_code == 422, r.text


async def test_the_contracts_in_force_at_the_accident(backend):
    async with audit_app(backend, today=START) as h:
        term = {"start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31)}
        contract = await h.setup(**term)
        enterprise = contract.enterprise
        ended_before = Contract(agency=Agency(), enterprise=enterprise, status="terminated", **term)
        h.clock.set(at(10))
        await h.feed(ended_before.agency, ended_before)
        ended_after = Contract(agency=Agency(), enterprise=enterprise, status="active", **term)
        draft = Contract(agency=Agency(), enterprise=enterprise, status="signed", **term)
        await h.feed(ended_after.agency, ended_after, draft.agency, draft)
        h.clock.set(at(21))
        ended_after.status, ended_after.version = "terminated", ended_after.version + 1
        await h.feed(ended_after)
        r = await h.client.post("/api/v1/accidents", json=accident(contract), headers=bureau())
        assert r.status_code == 201, r.text
        d = (await h.client.get(f"/api/v1/accidents/{r.json()['id']}/dossier", headers=bureau())).json()
        assert {c["id"] for c in d["contracts"]} == {contract.id, ended_after.id}
        assert {c["agency_id"] for c in d["contracts"]} == {contract.agency.id, ended_after.agency.id}
        assert {s["agency_id"] for s in d["credit"]} == {contract.agency.id, ended_after.agency.id}


def test_the_states_as_of_a_time():
    """The as-of rules on their own: the last dated step up to the time wins."""
    t = OCCURRED
    found = Hazard(
        id=uuid.uuid4(),
        service_log_id=uuid.uuid4(),
        contract_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        enterprise_uscc="x",
        district_code="440703",
        description="d",
        level=HazardLevel.GENERAL,
        location="l",
        deadline=date(2026, 5, 15),
        status=HazardStatus.VERIFIED,
        created_at=t - timedelta(days=10),
    )
    assert hazard_state_as_of(found, t) == HazardStatus.OPEN
    found.overdue_at = t - timedelta(days=4)
    assert hazard_state_as_of(found, t) == HazardStatus.OVERDUE
    found.rectified_at = t - timedelta(days=3)
    assert hazard_state_as_of(found, t) == HazardStatus.RECTIFIED
    found.rejected_at = t - timedelta(days=2)
    assert hazard_state_as_of(found, t) == HazardStatus.OPEN
    found.verified_at = t + timedelta(seconds=1)
    assert hazard_state_as_of(found, t) == HazardStatus.OPEN
    assert hazard_state_as_of(found, t + timedelta(seconds=1)) == HazardStatus.VERIFIED
    visit = ServiceLog(
        id=uuid.uuid4(),
        contract_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        enterprise_uscc="x",
        district_code="440703",
        visit_date=date(2026, 5, 1),
        engineer_name="陈工",
        items=[],
        summary="s",
        natural_key="k",
        status=ServiceLogStatus.CONFIRMED,
        recorded_by="a",
        recorded_at=t - timedelta(days=19),
        confirmed_at=t,
    )
    assert visit_state_as_of(visit, t) == ServiceLogStatus.CONFIRMED
    assert visit_state_as_of(visit, t - timedelta(microseconds=1)) == ServiceLogStatus.RECORDED
    # a dispute: disputed from disputed_at until the bureau decides, then its decision
    disputed = ServiceLog(**{**visit.model_dump(), "id": uuid.uuid4(), "confirmed_at": None})
    disputed.disputed_at, disputed.resolved_at = t - timedelta(days=5), t + timedelta(days=1)
    disputed.resolution = DisputeDecision.VOID
    assert visit_state_as_of(disputed, t - timedelta(days=6)) == ServiceLogStatus.RECORDED
    assert visit_state_as_of(disputed, t) == ServiceLogStatus.DISPUTED
    assert visit_state_as_of(disputed, t + timedelta(days=1)) == ServiceLogStatus.VOID
    disputed.resolution, disputed.confirmed_at = DisputeDecision.UPHOLD, t + timedelta(days=1)
    assert visit_state_as_of(disputed, t + timedelta(days=2)) == ServiceLogStatus.CONFIRMED
    assert months_before(date(2026, 5, 20), 12) == date(2025, 5, 20)
    assert months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
