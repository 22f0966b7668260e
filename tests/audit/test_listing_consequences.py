"""What a serious-dishonesty listing does elsewhere (SPEC §19), over the real bus with the real
services: the registry approves an agency (its events reach audit and contracts), a bureau lists it
in audit, and within seconds the registry's public directory no longer shows it and contracts
refuses a new contract with it (422 ``credit_listed``); once the listing ends (repaired, by the
sweep's clock and the bureau) it is back in the directory and may contract again. A withdrawn
notice never hid it. docs/DECISIONS.md D40."""

from __future__ import annotations

import sqlalchemy as sa

from devtools.testing.apps import running
from devtools.testing.tokens import verifier
from devtools.testing.wait import eventually
from services.audit.main import create_app as audit_app
from services.audit.models import AgencyView
from services.contracts.main import create_app as contracts_app
from services.contracts.models import AgencyFacts
from tests.audit.factories import TODAY, Harness, admin, city, clock_at
from tests.contracts.factories import World, frozen
from tests.registry.factories import agency_in, app_for

LISTINGS = "/api/v1/credit/listings"


async def test_a_listed_agency_leaves_the_directory_and_cannot_contract_until_it_ends(backend):
    settings = backend.settings()
    audit_clock = clock_at(TODAY)
    audit = audit_app(settings, clock=audit_clock, verifier=verifier())
    contracts_clock = frozen()
    contracts = contracts_app(settings, clock=contracts_clock, verifier=verifier())
    async with (
        running(app_for(settings)) as registry,
        running(audit) as audit_client,
        running(contracts) as contracts_client,
    ):
        agency = await agency_in(registry, "approved")
        aid, uscc = agency["id"], agency["uscc"]
        h = Harness(audit, audit_client, settings, audit_clock)
        w = World(settings=settings, app=contracts, client=contracts_client, clock=contracts_clock)
        w.agency_id, w.agency_uscc = aid, uscc

        async def known(app, model, column, value) -> bool:
            async with app.state.runtime.unit_of_work().read() as session:
                return (await session.execute(sa.select(model).where(column == value))).first() is not None

        await eventually(lambda: known(audit, AgencyView, AgencyView.uscc, uscc), timeout=20)
        await eventually(lambda: known(contracts, AgencyFacts, AgencyFacts.uscc, uscc), timeout=20)
        await w.enterprise_event("enterprise.registered", version=1)

        async def in_directory() -> bool:
            r = await registry.get("/api/v1/directory/agencies", params={"limit": 200})
            assert r.status_code == 200, r.text
            return any(i["id"] == aid for i in r.json()["items"])

        async def contract_status() -> int:
            r = await contracts_client.post("/api/v1/contracts", json=w.body(engineer="张工"), headers=w.agency(uscc))
            return r.status_code

        assert await in_directory()
        body = {"org_uscc": uscc, "org_kind": "agency", "reason": "出具虚假报告", "legal_basis": "第三十条"}

        # a notice withdrawn on objection never hides the agency
        r = await audit_client.post(LISTINGS, json=body, headers=city())
        assert r.status_code == 201, r.text
        first = r.json()["id"]
        await h.client.post(f"{LISTINGS}/{first}/objection", json={"statement": "异议"}, headers=_agency(uscc))
        r = await h.client.post(
            f"{LISTINGS}/{first}/decide", json={"decision": "withdraw", "reasons": "异议成立"}, headers=city()
        )
        assert r.json()["status"] == "withdrawn", r.text
        await h.events("credit.withdrawn")
        assert await in_directory()

        # listed: out of the directory, no new contracts
        r = await audit_client.post(LISTINGS, json=body, headers=city())
        lid = r.json()["id"]
        await h.client.post(f"{LISTINGS}/{lid}/objection", json={"statement": "异议"}, headers=_agency(uscc))
        r = await h.client.post(
            f"{LISTINGS}/{lid}/decide", json={"decision": "list", "reasons": "异议不成立"}, headers=city()
        )
        assert r.json()["status"] == "listed", r.text
        await eventually(lambda: _not(in_directory), timeout=10)
        assert (await registry.get(f"/api/v1/directory/agencies/{aid}")).status_code == 404

        async def refused() -> bool:
            r = await contracts_client.post("/api/v1/contracts", json=w.body(engineer="张工"), headers=w.agency(uscc))
            if r.status_code != 422:
                return False
            assert r.json()["code"] == "credit_listed", r.text
            return True

        await eventually(refused, timeout=10)

        # repaired: back in the directory, contracting again
        year = TODAY.replace(year=TODAY.year + 1)
        r = await audit_client.post(f"/api/v1/admin/sweep?service=audit&as_of={year.isoformat()}", headers=admin())
        assert r.json()["listings_repairable"] == 1, r.text
        await h.client.post(f"{LISTINGS}/{lid}/repair", json={"statement": "已整改"}, headers=_agency(uscc))
        r = await h.client.post(
            f"{LISTINGS}/{lid}/decide", json={"decision": "repair", "reasons": "准予修复"}, headers=city()
        )
        assert r.json()["status"] == "repaired", r.text
        await eventually(in_directory, timeout=10)
        await eventually(lambda: _is(contract_status, 201), timeout=10)

        # the list's history says why it left and came back (the withdrawn notice: nothing)
        r = await registry.get("/api/v1/directory/changes", params={"agency_id": aid})
        changes = [(c["change"], c["reason"]) for c in r.json()["items"]]
        assert [c for c, _ in changes] == ["listed", "delisted", "reinstated"], changes
        assert "严重失信" in changes[1][1] and "出具虚假报告" in changes[1][1]
        assert "repaired" in changes[2][1]


def _agency(uscc: str) -> dict[str, str]:
    from devtools.testing.tokens import auth

    return auth("agency", org_uscc=uscc)


async def _not(check) -> bool:
    return not await check()


async def _is(check, expected) -> bool:
    return await check() == expected
