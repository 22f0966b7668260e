"""SPEC §14 at the services (in process, both backends): while an agency's or enterprise's
organisation is not verified, only an agency's own filing (create, edit, documents, submit) and an
enterprise creating its own record are allowed; every other write is 403 ``organisation_unverified``
(code, and the end of ``type``), fail-closed for a token that does not say, zh-CN first; reads are
not restricted."""

from __future__ import annotations

import pytest

from devtools.testing.apps import running
from devtools.testing.tokens import auth, verifier
from services.contracts.main import create_app as contracts_app
from services.enterprises.main import create_app as enterprises_app
from services.registry.main import create_app as registry_app
from tests.identity.helpers import assert_problem, fresh_uscc
from tests.registry.factories import PDF, agency_body
from tests.security.world import contract_body, enterprise_body


@pytest.fixture
async def registry(backend):
    async with running(registry_app(backend.settings(), verifier=verifier())) as client:
        yield client


async def test_a_pending_agency_files_its_own_filing_and_nothing_else(registry):
    uscc = fresh_uscc()
    pending = auth("agency", org_uscc=uscc, org_status="pending")
    created = await registry.post("/api/v1/agencies", json=agency_body(uscc), headers=pending)
    assert created.status_code == 201, created.text
    agency_id = created.json()["id"]
    assert (
        await registry.patch(f"/api/v1/agencies/{agency_id}", json={"contact_phone": "0750-3999999"}, headers=pending)
    ).status_code == 200
    assert (
        await registry.post(
            f"/api/v1/agencies/{agency_id}/documents",
            files={"file": ("l.pdf", PDF, "application/pdf")},
            data={"kind": "business_licence"},
            headers=pending,
        )
    ).status_code == 201
    assert (await registry.post(f"/api/v1/agencies/{agency_id}/submit", headers=pending)).status_code == 200
    assert (await registry.get(f"/api/v1/agencies/{agency_id}", headers=pending)).status_code == 200
    # its own filing, not someone else's: the ownership rules still apply
    other = auth("agency", org_uscc=fresh_uscc(), org_status="pending")
    assert (
        await registry.patch(f"/api/v1/agencies/{agency_id}", json={"contact_phone": "0750-3999998"}, headers=other)
    ).status_code in (403, 404)


@pytest.mark.parametrize("status", ["suspended", "rejected", "none", None])
async def test_a_suspended_rejected_or_silent_organisation_writes_nothing(registry, status):
    uscc = fresh_uscc()
    token = auth("agency", org_uscc=uscc, org_status=status)  # None: a token without org_status
    r = await registry.post("/api/v1/agencies", json=agency_body(uscc), headers=token)
    body = assert_problem(r, 403, "organisation_unverified")
    assert "核验" in body["detail"] and body["org_status"] == (status or "unknown")
    english = await registry.post(
        "/api/v1/agencies", json=agency_body(uscc), headers={**token, "Accept-Language": "en"}
    )
    assert "not verified" in english.json()["detail"]
    assert (await registry.get("/api/v1/agencies", headers=token)).status_code == 200  # reads are not restricted


async def test_a_pending_enterprise_creates_its_record_but_cannot_edit_it_or_contract(backend):
    uscc = fresh_uscc()
    pending = auth("enterprise", org_uscc=uscc, org_status="pending")
    async with running(enterprises_app(backend.settings(), verifier=verifier())) as enterprises:
        created = await enterprises.post(
            "/api/v1/enterprises", json=enterprise_body(uscc, "待核验企业", "440703"), headers=pending
        )
        assert created.status_code == 201, created.text
        assert (
            await enterprises.get(f"/api/v1/enterprises/{created.json()['id']}", headers=pending)
        ).status_code == 200
        assert_problem(
            await enterprises.patch(
                f"/api/v1/enterprises/{created.json()['id']}", json={"contact_name": "x"}, headers=pending
            ),
            403,
            "organisation_unverified",
        )
        suspended = auth("enterprise", org_uscc=fresh_uscc(), org_status="suspended")
        assert_problem(
            await enterprises.post(
                "/api/v1/enterprises", json=enterprise_body(fresh_uscc(), "x", "440703"), headers=suspended
            ),
            403,
            "organisation_unverified",
        )
    async with running(contracts_app(backend.settings(), verifier=verifier())) as contracts:
        r = await contracts.post(
            "/api/v1/contracts", json=contract_body(uscc, "0190a0b2-0000-7000-8000-000000000000"), headers=pending
        )
        assert_problem(r, 403, "organisation_unverified")
        # refused before the body is judged: an unverified organisation learns nothing about the rules
        assert_problem(
            await contracts.post("/api/v1/contracts", json={}, headers=pending), 403, "organisation_unverified"
        )
        assert (await contracts.get("/api/v1/contracts", headers=pending)).status_code == 200
        # bureaus and admins carry no organisation: unaffected
        bureau = await contracts.post("/api/v1/contracts", json={}, headers=auth("bureau", district="440703"))
        assert bureau.json().get("code") != "organisation_unverified"
