"""The contract lifecycle end to end on both backends: draft → signatures → filing → filed →
active → terminated, with history, signatures over the content hash, events on the bus and the
audit trail. Every action in every state: test_states.py, generated from the machine."""

from __future__ import annotations

from datetime import date

import pytest

from devtools.testing.events import read_events
from devtools.testing.wait import eventually
from services.contracts.models import canonical_terms
from shared.canonical import sha256_hex
from tests.contracts.factories import CITY, END, OTHER_DISTRICT, START, TODAY, world


async def _events(settings, contract_id: str, n: int):
    async def check():
        events = [e for e in await read_events(settings) if e.subject == contract_id]
        return events if len(events) >= n else None

    return await eventually(check, timeout=15)


async def test_full_lifecycle_with_history_signatures_events_and_audit(backend):
    settings = backend.settings()
    async with world(settings) as w:
        c = await w.create()
        assert c["status"] == "draft"
        assert c["version"] == 1
        assert c["district_code"] == "440703"
        assert c["agency_name"]
        assert c["enterprise_name"]
        assert c["signatures"] == []
        assert [h["to"] for h in c["history"]] == ["draft"]

        # The content hash is the SHA-256 of the canonical terms.
        terms = canonical_terms(
            enterprise_uscc=w.enterprise_uscc,
            agency_id=w.agency_id,
            engineer_name="张伟",
            services=[
                {"item": "safety_training", "times_per_year": 2},
                {"item": "hazard_inspection", "times_per_year": 4},
            ],
            start_date=START,
            end_date=END,
            fee_yuan="24000",
        )
        assert c["terms"] == terms
        assert c["content_sha256"] == sha256_hex(terms)

        r = await w.sign(c["id"], w.agency())
        assert r.status_code == 200
        assert r.json()["status"] == "draft"
        assert r.headers["etag"] == '"2"'
        sig = r.json()["signatures"][0]
        assert sig["party"] == "agency"
        assert sig["content_sha256"] == c["content_sha256"]
        assert sig["account_id"]

        r = await w.sign(c["id"], w.enterprise())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "signed"
        assert {s["party"] for s in body["signatures"]} == {"agency", "enterprise"}

        r = await w.post(c["id"], "file", w.agency())
        assert r.status_code == 200
        assert r.json()["status"] == "filing"

        r = await w.post(c["id"], "filing-review", w.bureau(), {"decision": "accept", "comments": "材料齐全"})
        assert r.status_code == 200, r.text
        filed = r.json()
        assert filed["status"] == "filed"  # starts 2026-04-01, today is 2026-03-02
        assert filed["filing_no"] == "JM-HT-2026-000001"

        # The sweep activates it on the start date.
        r = await w.client.post("/api/v1/admin/sweep", params={"as_of": START.isoformat()}, headers=w.admin())
        assert r.status_code == 200, r.text
        assert r.json()["activated"] == 1, r.text

        r = await w.post(c["id"], "terminate", w.enterprise(), {"reason": "企业搬迁 / enterprise moved away"})
        assert r.status_code == 200
        assert r.json()["status"] == "terminated"

        final = await w.get(c["id"])
        steps = [(h["from"], h["to"]) for h in final["history"]]
        assert steps == [
            (None, "draft"),
            ("draft", "signed"),
            ("signed", "filing"),
            ("filing", "filed"),
            ("filed", "active"),
            ("active", "terminated"),
        ]
        assert all(h["actor"] and h["at"] for h in final["history"])
        assert final["history"][-1]["reason"].startswith("企业搬迁")
        assert final["history"][-2]["actor"] == "system:sweep"

        events = await _events(settings, c["id"], 6)
        assert [e.type for e in events] == [
            "contract.drafted",
            "contract.signed",
            "contract.filing_submitted",
            "contract.filed",
            "contract.activated",
            "contract.terminated",
        ]
        assert [e.data["version"] for e in events] == sorted(e.data["version"] for e in events)
        assert events[3].data["filing_no"] == "JM-HT-2026-000001"
        assert events[3].data["district_code"] == "440703"
        assert events[-1].data["reason"].startswith("企业搬迁")
        assert events[0].source == "/contracts"
        # every payload names the parties and how far the enterprise has agreed (SPEC §9 v2)
        assert {(e.data["agency_uscc"], e.data["drafted_by"]) for e in events} == {(w.agency_uscc, "agency")}
        assert [e.data["enterprise_signed"] for e in events] == [False, True, True, True, True, True]
        assert events[0].data["status"] == "draft"
        assert events[2].data["status"] == "filing"

        r = await w.client.get("/api/v1/admin/audit-trail/verify", headers=w.admin())
        assert r.json()["valid"] is None and r.json()["reason"] == "witness_unavailable"  # no witness here
        assert r.json()["entries"] == 3


async def test_accepting_a_filing_on_or_after_the_start_date_activates_at_once(sqlite_backend):
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        c = await w.filing(start=TODAY, end=date(2027, 3, 1))
        r = await w.post(c["id"], "filing-review", w.bureau(CITY), {"decision": "accept"})
        assert r.status_code == 200
        assert r.json()["status"] == "active"
        assert [h["to"] for h in r.json()["history"]][-2:] == ["filed", "active"]
        events = await _events(settings, c["id"], 5)
        assert [e.type for e in events] == [
            "contract.drafted",
            "contract.signed",
            "contract.filing_submitted",
            "contract.filed",
            "contract.activated",
        ]


async def test_rejected_filing_is_amended_back_to_a_draft_and_signatures_are_voided(sqlite_backend):
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        c = await w.filing()
        r = await w.post(c["id"], "filing-review", w.bureau(), {"decision": "reject"})
        assert r.status_code == 422
        assert r.json()["code"] == "comments_required"
        r = await w.post(c["id"], "filing-review", w.bureau(), {"decision": "reject", "comments": "服务频次需细化"})
        assert r.status_code == 200
        assert r.json()["status"] == "rejected"
        assert r.json()["review_comments"] == "服务频次需细化"
        old_hash = r.json()["content_sha256"]

        r = await w.client.patch(f"/api/v1/contracts/{c['id']}", json={"fee_yuan": "26000.00"}, headers=w.enterprise())
        assert r.status_code == 200, r.text
        draft = r.json()
        assert draft["status"] == "draft"
        assert draft["signatures"] == []
        assert len(draft["voided_signatures"]) == 2
        assert draft["content_sha256"] != old_hash
        assert draft["fee_yuan"] in ("26000.00", "26000")
        assert draft["history"][-1]["from"] == "rejected"
        assert "作废" in draft["history"][-1]["reason"]

        # Sign again, over the new terms.
        for h in (w.agency(), w.enterprise()):
            r = await w.sign(c["id"], h)
        assert r.json()["status"] == "signed"
        assert {s["content_sha256"] for s in r.json()["signatures"]} == {draft["content_sha256"]}
        events = await _events(settings, c["id"], 5)
        assert [e.type for e in events] == [
            "contract.drafted",
            "contract.signed",
            "contract.filing_submitted",
            "contract.rejected",
            "contract.signed",
        ]
        # the amendment voided the enterprise's signature; the new round restored it
        assert [e.data["enterprise_signed"] for e in events] == [False, True, True, True, True]


async def test_amending_a_draft_after_one_signature_voids_it(sqlite_backend):
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        c = await w.create()
        r = await w.sign(c["id"], w.agency())
        assert len(r.json()["signatures"]) == 1
        r = await w.client.patch(
            f"/api/v1/contracts/{c['id']}",
            headers=w.agency(),
            json={"services": [{"item": "hazard_inspection", "times_per_year": 6}]},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "draft"
        assert body["signatures"] == []
        assert body["voided_signatures"][0]["party"] == "agency"
        assert body["history"][-1]["from"] == body["history"][-1]["to"] == "draft"
        # Amending to the same terms changes nothing (no new version).
        r2 = await w.client.patch(
            f"/api/v1/contracts/{c['id']}",
            headers=w.agency(),
            json={"services": [{"item": "hazard_inspection", "times_per_year": 6}]},
        )
        assert r2.json()["version"] == body["version"]
        # An amendment must still satisfy the rules.
        r3 = await w.client.patch(
            f"/api/v1/contracts/{c['id']}",
            headers=w.agency(),
            json={"services": [{"item": "hazard_inspection", "times_per_year": 1}]},
        )
        assert r3.status_code == 422
        assert r3.json()["code"] == "inspection_below_minimum"


async def test_the_drafting_party_and_the_enterprise_signature_travel_with_every_event(sqlite_backend):
    """SPEC §9 v2: contract.drafted on creation, contract.filing_submitted on submission; each
    payload says who drafted and whether the enterprise has signed (the enterprises service's
    privacy rule reads them)."""
    settings = sqlite_backend.settings()
    async with world(settings) as w:
        c = await w.create(as_enterprise=True)
        assert (await w.sign(c["id"], w.enterprise())).status_code == 200  # one signature: no event
        assert (await w.sign(c["id"], w.agency())).status_code == 200
        assert (await w.post(c["id"], "file", w.enterprise())).status_code == 200
        events = await _events(settings, c["id"], 3)
        assert [e.type for e in events] == ["contract.drafted", "contract.signed", "contract.filing_submitted"]
        assert [(e.data["status"], e.data["enterprise_signed"]) for e in events] == [
            ("draft", False),
            ("signed", True),
            ("filing", True),
        ]
        assert {(e.data["drafted_by"], e.data["agency_uscc"], e.data["enterprise_uscc"]) for e in events} == {
            ("enterprise", w.agency_uscc, w.enterprise_uscc)
        }
        assert [e.data["version"] for e in events] == [1, 3, 4]


async def test_cancel_a_draft(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        c = await w.create()
        r = await w.post(c["id"], "cancel", w.bureau())
        assert r.status_code == 403
        r = await w.post(c["id"], "cancel", w.enterprise(), {"reason": "改选其他机构"})
        assert r.status_code == 200
        assert r.json()["status"] == "cancelled"
        assert r.json()["history"][-1]["reason"] == "改选其他机构"
        r = await w.post(c["id"], "cancel", w.enterprise())
        assert r.status_code == 409
        assert r.json()["code"] == "invalid_transition"


async def test_a_party_signs_once(sqlite_backend):
    async with world(sqlite_backend.settings()) as w:
        c = await w.create()
        assert (await w.sign(c["id"], w.agency())).status_code == 200
        r = await w.sign(c["id"], w.agency(sub="another-account-of-the-agency"))
        assert r.status_code == 409
        assert r.json()["code"] == "already_signed"


@pytest.mark.parametrize(("district", "status"), [("440703", 200), (CITY, 200), (OTHER_DISTRICT, 403)])
async def test_filing_review_is_for_the_bureau_of_the_enterprise_district_or_the_city(sqlite_backend, district, status):
    async with world(sqlite_backend.settings()) as w:
        c = await w.filing()
        for headers in (w.agency(), w.enterprise()):
            assert (await w.post(c["id"], "filing-review", headers, {"decision": "accept"})).status_code == 403
        r = await w.post(c["id"], "filing-review", w.bureau(district), {"decision": "accept"})
        assert r.status_code == status, r.text
