"""Contract integrity (SPEC §9 v2, issue #16 item 7), on both backends with the real bus.

- A signature names what it signs: ``If-Match`` with the version read, or ``content_sha256`` of the
  terms read. Neither → 428 ``precondition_required``; a stale one → 412 and nothing is signed —
  so the counterparty cannot swap the terms between your reading them and your signing.
- The overlap rule: a draft claims the enterprise's term only once the enterprise has signed it, so
  an agency's draft blocks nobody; the other agency's draft is left as it is (D34).
"""

from __future__ import annotations

import uuid
from typing import Any

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from shared.http import Precondition
from tests.contracts.factories import World, contract_body, new_uscc, world


async def _second_agency(w: World) -> tuple[str, str]:
    """Agency B, approved, serving the same district and industry as agency A."""
    agency_id, uscc = str(uuid.uuid4()), new_uscc()
    await w.agency_event("agency.approved", agency_id=agency_id, uscc=uscc, version=2)
    return agency_id, uscc


def _unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["version"] == before["version"]
    assert after["signatures"] == before["signatures"]
    assert after["status"] == before["status"]


async def test_a_signature_must_name_what_it_signs(backend):
    async with world(backend.settings()) as w:
        c = await w.create()
        # neither If-Match nor content_sha256: 428, in zh-CN first and English on request
        for body in (None, {}, {"content_sha256": None}):
            r = await w.post(c["id"], "sign", w.agency(), body)
            assert r.status_code == 428, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            problem = r.json()
            assert problem["code"] == "precondition_required"
            assert problem["status"] == 428
            assert "If-Match" in problem["detail"] and "签署" in problem["detail"]
        r = await w.post(c["id"], "sign", {**w.agency(), "Accept-Language": "en"})
        assert r.status_code == 428
        assert r.json()["detail"].startswith("A signature must name what it signs")
        # If-Match: * matches any version and so names none
        r = await w.post(c["id"], "sign", {**w.agency(), "If-Match": "*"})
        assert r.status_code == 428, r.text
        # a malformed hash or an unknown field is bad input (422), never a signature
        for body in ({"content_sha256": "abc"}, {"content_sha256": 12}, {"content_sha256": "g" * 64}, {"x": 1}):
            r = await w.post(c["id"], "sign", w.agency(), body)
            assert r.status_code == 422, (body, r.text)
        _unchanged(c, await w.get(c["id"]))

        # the role is refused first (403), whatever the precondition
        assert (await w.post(c["id"], "sign", w.bureau())).status_code == 403

        # If-Match with the current ETag names the terms of that version
        r = await w.post(c["id"], "sign", {**w.agency(), "If-Match": f'"{c["version"]}"'})
        assert r.status_code == 200, r.text
        # the hash is compared case-insensitively (hex); the counterparty's signature in between
        # moved the version but not the terms: the hash the enterprise read still holds
        r = await w.post(c["id"], "sign", w.enterprise(), {"content_sha256": c["content_sha256"].upper()})
        assert r.status_code == 200, r.text
        signed = r.json()
        assert signed["status"] == "signed"
        assert {s["content_sha256"] for s in signed["signatures"]} == {c["content_sha256"]}


async def test_the_counterparty_cannot_swap_the_terms_before_you_sign(backend):
    settings = backend.settings()
    async with world(settings) as w:
        c = await w.create()
        # the enterprise reads the contract: its ETag and the hash of its terms
        r = await w.client.get(f"/api/v1/contracts/{c['id']}", headers=w.enterprise())
        read_etag, read_hash = r.headers["etag"], r.json()["content_sha256"]
        # the agency amends the terms and signs the new ones before the enterprise signs
        r = await w.client.patch(
            f"/api/v1/contracts/{c['id']}", json={"fee_yuan": "99000.00"}, headers={**w.agency(), "If-Match": read_etag}
        )
        assert r.status_code == 200, r.text
        assert (await w.sign(c["id"], w.agency())).status_code == 200
        swapped = await w.get(c["id"])
        assert swapped["content_sha256"] != read_hash

        # the enterprise signs what it read: refused with 412 either way, nothing signed
        for headers, body in (
            ({**w.enterprise(), "If-Match": read_etag}, None),
            (w.enterprise(), {"content_sha256": read_hash}),
            # each precondition given must hold: the current hash does not excuse a stale version
            ({**w.enterprise(), "If-Match": read_etag}, {"content_sha256": swapped["content_sha256"]}),
            # … nor the current version a stale hash
            ({**w.enterprise(), "If-Match": f'"{swapped["version"]}"'}, {"content_sha256": read_hash}),
        ):
            r = await w.post(c["id"], "sign", headers, body)
            assert r.status_code == 412, r.text
            assert r.json()["code"] == "precondition_failed"
            assert r.json()["current_version"] == swapped["version"]
        after = await w.get(c["id"])
        _unchanged(swapped, after)
        assert [s["party"] for s in after["signatures"]] == ["agency"]
        r = await w.post(c["id"], "sign", {**w.enterprise(), "Accept-Language": "en"}, {"content_sha256": read_hash})
        assert r.json()["detail"] == "The terms changed since you read them; read them again before signing"

        # having read the new terms, the enterprise signs them
        r = await w.sign(c["id"], w.enterprise(), content_sha256=swapped["content_sha256"])
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "signed"
        assert {s["content_sha256"] for s in r.json()["signatures"]} == {swapped["content_sha256"]}

        # one contract.signed, for the terms both signed; the refused attempts emitted nothing
        async def published() -> list[Any] | None:
            events = [e for e in await read_events(settings) if e.subject == c["id"]]
            return events if len(events) >= 2 else None

        events = await eventually(published, timeout=15)
        assert [e.type for e in events] == ["contract.drafted", "contract.signed"]
        assert events[-1].data["version"] == r.json()["version"]


async def test_a_draft_claims_the_term_only_once_the_enterprise_signed_it(backend):
    async with world(backend.settings()) as w:
        agency_b, uscc_b = await _second_agency(w)
        # agency A drafts and signs; the enterprise has not signed it
        a = await w.create()
        assert (await w.sign(a["id"], w.agency())).status_code == 200
        # … so it blocks nobody: the enterprise drafts the same term with agency B
        r = await w.client.post(
            "/api/v1/contracts", json=contract_body(agency_b, w.enterprise_uscc), headers=w.enterprise()
        )
        assert r.status_code == 201, r.text
        b = r.json()
        # agency B may draft one too: still no claim
        r = await w.client.post(
            "/api/v1/contracts", json=contract_body(agency_b, w.enterprise_uscc), headers=w.agency(uscc_b)
        )
        assert r.status_code == 201, r.text
        spare = r.json()

        # the enterprise signs B's draft: from now on B claims the term
        assert (await w.sign(b["id"], w.enterprise())).status_code == 200
        # agency A's new draft over the term is refused, naming the rule
        r = await w.client.post("/api/v1/contracts", json=w.body(), headers=w.agency())
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "term_overlaps"
        # and the enterprise cannot sign A's draft, nor the spare one: 422, nothing signed
        for other, headers in ((a, w.enterprise()), (spare, w.enterprise())):
            before = await w.get(other["id"])
            r = await w.sign(other["id"], headers)
            assert r.status_code == 422, r.text
            assert r.json()["code"] == "term_overlaps"
            _unchanged(before, await w.get(other["id"]))

        # B becomes signed, filed, active — A's draft is left as it is (D34): still a
        # draft with agency A's signature; its agency may cancel it, or amend it to another term
        assert (await w.sign(b["id"], w.agency(uscc_b))).status_code == 200
        assert (await w.post(b["id"], "file", w.enterprise())).status_code == 200
        r = await w.post(b["id"], "filing-review", w.bureau(), {"decision": "accept", "comments": "同意"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "filed"
        left = await w.get(a["id"])
        assert left["status"] == "draft"
        assert [s["party"] for s in left["signatures"]] == ["agency"]
        assert (await w.sign(a["id"], w.enterprise())).status_code == 422

        # once B no longer claims the term, A's draft may be signed after all
        r = await w.post(b["id"], "terminate", w.enterprise(), {"reason": "另行委托"})
        assert r.status_code == 200, r.text
        r = await w.sign(a["id"], w.enterprise())
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "signed"


async def test_an_amendment_releases_the_enterprises_claim(backend):
    async with world(backend.settings()) as w:
        agency_b, _ = await _second_agency(w)
        a = await w.create()
        assert (await w.sign(a["id"], w.enterprise())).status_code == 200
        body_b = contract_body(agency_b, w.enterprise_uscc)
        r = await w.client.post("/api/v1/contracts", json=body_b, headers=w.enterprise())
        assert r.status_code == 422 and r.json()["code"] == "term_overlaps", r.text
        # the agency amends its draft: the enterprise's signature is voided, and with it the claim
        r = await w.client.patch(f"/api/v1/contracts/{a['id']}", json={"fee_yuan": "30000.00"}, headers=w.agency())
        assert r.status_code == 200, r.text
        assert r.json()["signatures"] == []
        r = await w.client.post("/api/v1/contracts", json=body_b, headers=w.enterprise())
        assert r.status_code == 201, r.text


def test_only_a_version_names_a_version():
    assert not Precondition(None).names_version
    assert not Precondition("*").names_version
    assert not Precondition(" * , ").names_version
    assert Precondition('"3"').names_version
    assert Precondition('W/"3"').names_version
    assert Precondition('*, "3"').names_version
