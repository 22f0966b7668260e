"""Steps of the custody story through the gateway, for tests on the real platform that need an
approved agency, a registered enterprise or a contract waiting for the bureau's filing review."""

from __future__ import annotations

from dataclasses import dataclass

from devtools.testing.platform import Actor, Platform
from devtools.testing.wait import eventually
from tests.identity.helpers import fresh_uscc
from tests.security.world import PDF, agency_body, contract_body, enterprise_body


async def approved_agency(p: Platform, bureau: dict[str, str], district: str = "440703") -> tuple[str, str, Actor]:
    """An agency that signed up, filed with a document and was approved by ``bureau``; its actor's
    token is renewed once its organisation is verified (over the bus). → (uscc, agency id, actor)."""
    api = p.client
    uscc = fresh_uscc(district)
    agency = await p.actor("agency", org_uscc=uscc, verified=False)  # verified by its filing's approval
    r = await api.post("/api/v1/agencies", json=agency_body(uscc, f"机构{uscc[-6:]}", district), headers=agency.headers)
    assert r.status_code == 201, r.text
    agency_id = r.json()["id"]
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/documents",
        files={"file": ("l.pdf", PDF, "application/pdf")},
        data={"kind": "business_licence"},
        headers=agency.headers,
    )
    assert r.status_code == 201, r.text
    assert (await api.post(f"/api/v1/agencies/{agency_id}/submit", headers=agency.headers)).status_code == 200
    r = await api.post(
        f"/api/v1/agencies/{agency_id}/review", json={"decision": "approve", "comments": "ok"}, headers=bureau
    )
    assert r.status_code == 200, r.text
    admin = await p.admin_headers()

    async def org_verified() -> bool:
        r = await api.get(f"/api/v1/organisations/{uscc}", headers=admin)
        return bool(r.json()["status"] == "verified")

    await eventually(org_verified, timeout=20)
    agency.token = await p.token(agency.client_id, agency.client_secret)
    return uscc, agency_id, agency


@dataclass
class FiledContract:
    id: str
    agency_id: str
    enterprise_uscc: str
    agency: Actor
    enterprise: Actor


async def filed_contract(p: Platform, bureau: dict[str, str], district: str = "440703") -> FiledContract:
    """A contract drafted by a registered enterprise, signed by both parties and filed by the
    agency: it waits for ``bureau``'s filing review."""
    api = p.client
    _, agency_id, agency = await approved_agency(p, bureau, district)
    uscc = fresh_uscc(district)
    enterprise = await p.actor("enterprise", org_uscc=uscc)
    r = await api.post(
        "/api/v1/enterprises", json=enterprise_body(uscc, f"企业{uscc[-5:]}", district), headers=enterprise.headers
    )
    assert r.status_code == 201, r.text

    async def drafted() -> dict | None:  # the contracts service learns the agency and enterprise by events
        r = await api.post("/api/v1/contracts", json=contract_body(uscc, agency_id), headers=enterprise.headers)
        return r.json() if r.status_code == 201 else None

    drafted_contract = await eventually(drafted, timeout=30, interval=0.3)
    contract_id, terms = drafted_contract["id"], {"content_sha256": drafted_contract["content_sha256"]}
    for party in (enterprise, agency):  # each names the terms it signs (D34)
        r = await api.post(f"/api/v1/contracts/{contract_id}/sign", json=terms, headers=party.headers)
        assert r.status_code == 200, r.text
    r = await api.post(f"/api/v1/contracts/{contract_id}/file", headers=agency.headers)
    assert r.status_code == 200, r.text
    return FiledContract(contract_id, agency_id, uscc, agency, enterprise)
