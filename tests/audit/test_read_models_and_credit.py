"""Read models fed by real events (stale versions ignored), and the credit file endpoint."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from devtools.testing.tokens import auth
from devtools.testing.wait import eventually
from services.audit.models import AgencyView, ContractView, EnterpriseView
from tests.audit.factories import Agency, Contract, Enterprise, admin, audit_app, bureau, service_log


async def _get(h, model, key):
    column = next(iter(model.__table__.primary_key.columns))
    async with h.runtime.unit_of_work().read() as session:
        return (await session.execute(sa.select(model).where(column == key))).scalar_one_or_none()


async def test_read_models_follow_events_and_ignore_stale_versions(backend):
    async with audit_app(backend) as h:
        agency, enterprise = Agency(), Enterprise()
        contract = Contract(agency=agency, enterprise=enterprise, version=5)
        await h.feed(agency, enterprise, contract)
        held = await _get(h, ContractView, uuid.UUID(contract.id))
        assert (held.status, held.agency_id, held.district_code) == (
            "active",
            uuid.UUID(agency.id),
            enterprise.district_code,
        )
        assert held.services == contract.services

        # An older event arrives late: ignored. A newer one wins.
        await h.publish("contract.filed", contract.event(status="filed", version=3))
        await h.publish("contract.terminated", contract.event(status="terminated", version=6))
        await eventually(lambda: _status_is(h, contract.id, "terminated"))
        await h.publish("contract.activated", contract.event(status="active", version=4))
        await h.publish("enterprise.risk_changed", {**enterprise.event(), "version": 2, "risk_level": "red"})
        await eventually(lambda: _risk_is(h, enterprise.uscc, "red"))
        assert (await _get(h, ContractView, uuid.UUID(contract.id))).status == "terminated"

        # Agency status changes; our own agency.credit_changed is not consumed as a status event.
        await h.publish("agency.suspended", {**agency.event(), "status": "suspended", "version": 2})
        await h.publish("agency.credit_changed", {"id": agency.id, "version": 1, "score": 90, "grade": "A"})
        await eventually(lambda: _agency_status_is(h, agency.id, "suspended"))
        await asyncio.sleep(0.3)
        assert (await h.client.get("/api/v1/admin/dlq?service=audit", headers=admin())).json()["items"] == []
        # An older version arriving late changes nothing.
        await h.publish("agency.approved", {**agency.event(), "status": "approved", "version": 1})
        await asyncio.sleep(0.3)
        assert (await _get(h, AgencyView, uuid.UUID(agency.id))).status == "suspended"


async def _status_is(h, contract_id, status):
    row = await _get(h, ContractView, uuid.UUID(contract_id))
    return row is not None and row.status == status


async def _risk_is(h, uscc, level):
    row = await _get(h, EnterpriseView, uscc)
    return row is not None and row.risk_level == level


async def _agency_status_is(h, agency_id, status):
    row = await _get(h, AgencyView, uuid.UUID(agency_id))
    return row is not None and row.status == status


async def test_the_agency_token_maps_to_its_agency_through_the_read_model(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        contract = Contract(agency=agency, enterprise=Enterprise())
        # The contract is known before the agency: the agency's token maps to nothing yet.
        await h.feed(contract.enterprise, contract)
        r = await h.client.post("/api/v1/service-logs", json=service_log(contract), headers=agency.headers())
        assert r.status_code == 403
        await h.feed(agency)
        r = await h.client.post("/api/v1/service-logs", json=service_log(contract), headers=agency.headers())
        assert r.status_code == 201, r.text


async def test_credit_file_is_readable_by_any_signed_in_principal(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        path = f"/api/v1/credit/agencies/{contract.agency.id}"
        for headers in (
            admin(),
            bureau("440705"),
            contract.agency.headers(),
            Enterprise().headers(),
            auth("agency", org_uscc=Agency().uscc),
        ):
            r = await h.client.get(path, headers=headers)
            assert r.status_code == 200, r.text
            assert (r.json()["score"], r.json()["grade"]) == (100, "A")
            assert r.headers["etag"] == '"0"'
        assert (await h.client.get(path)).status_code == 401
        assert (
            await h.client.get("/api/v1/credit/agencies/0190f000-0000-7000-8000-000000000000", headers=admin())
        ).status_code == 404
        assert (await h.client.get("/api/v1/credit/agencies/nope", headers=admin())).status_code == 422


async def test_every_agency_status_event_is_applied_and_an_equal_version_is_a_duplicate(sqlite_backend):
    """The agency family is consumed by its pattern: ``agency.needs_more_info`` (which a hand-written
    list once missed) updates the read model like any status change. A second event of the version
    already held is a duplicate, whatever it says; only a strictly newer one applies."""
    async with audit_app(sqlite_backend) as h:
        agency = Agency(status="submitted")
        await h.feed(agency)
        await h.publish("agency.needs_more_info", {**agency.event(), "status": "needs_more_info", "version": 2})
        await eventually(lambda: _agency_status_is(h, agency.id, "needs_more_info"))
        await h.publish("agency.approved", {**agency.event(), "status": "approved", "version": 2})  # same version
        await h.publish("agency.rejected", {**agency.event(), "status": "rejected", "version": 3})
        await eventually(lambda: _agency_status_is(h, agency.id, "rejected"))
        await h.publish("agency.submitted", {**agency.event(), "name": "改名", "version": 3})  # same version again
        marker = Agency()
        await h.feed(marker)  # consumed in order after the duplicate
        held = await _get(h, AgencyView, uuid.UUID(agency.id))
        assert (held.status, held.name, held.version) == ("rejected", agency.name, 3)
        assert (await h.client.get("/api/v1/admin/dlq?service=audit", headers=admin())).json()["items"] == []
