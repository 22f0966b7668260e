"""Bureau credit records (SPEC §19, issue #17 item 1): a bureau of the agency's district or the city
records a violation (negative delta) or a commendation (positive), with a reason and an optional
reference; the record feeds the score and grade as the automatic records do, shows in the credit
file with its reason, reference and author, emits ``agency.credit_changed`` and is on the audit
trail. docs/DECISIONS.md D31: |delta| ≤ 100, a reference is unique per agency and kind."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from devtools.testing.tokens import auth
from tests.audit.factories import OTHER_DISTRICT, Agency, Enterprise, admin, audit_app, bureau, city

CHINESE = re.compile(r"[\u4e00-\u9fff]")
REASON = "未按合同开展隐患排查，检查记录弄虚作假"


def violation(delta: int = -20, **extra):
    return {"kind": "violation", "delta": delta, "reason": REASON, "ref": "江应急罚〔2026〕12号"} | extra


def commendation(delta: int = 5, **extra):
    return {"kind": "commendation", "delta": delta, "reason": "协助处置险情，表现突出"} | extra


def records_path(agency) -> str:
    return f"/api/v1/credit/agencies/{agency.id}/records"


async def trail(h) -> list[dict]:
    table = h.runtime.infra.audit_trail
    async with h.runtime.unit_of_work().read() as session:
        rows = (await session.execute(sa.select(table).order_by(table.c.seq))).mappings().all()
    return [dict(r) for r in rows]


async def test_records_feed_the_score_and_grade_emit_the_change_and_are_on_the_trail(backend):
    async with audit_app(backend) as h:
        agency = Agency()
        await h.feed(agency)
        r = await h.client.post(records_path(agency), json=violation(-20), headers=bureau())
        assert r.status_code == 201, r.text
        record = r.json()
        assert r.headers["location"] == f"/api/v1/credit/agencies/{agency.id}"
        assert (record["kind"], record["delta"], record["version"]) == ("violation", -20, 1)
        assert record["agency_id"] == agency.id
        assert record["reason"] == REASON
        assert record["ref"] == "江应急罚〔2026〕12号"
        assert record["recorded_by"].startswith("bureau:")

        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=agency.headers())).json()
        assert (file["score"], file["grade"], file["version"]) == (80, "B", 1)
        shown = file["records"][0]
        assert shown["id"] == record["id"]
        assert (shown["kind"], shown["delta"], shown["reason"], shown["ref"]) == (
            "violation",
            -20,
            REASON,
            record["ref"],
        )
        assert shown["recorded_by"] == record["recorded_by"]
        change = (await h.events("agency.credit_changed"))[0]
        assert change.data == {
            "id": agency.id,
            "version": 1,
            "score": 80,
            "grade": "B",
            "delta": -20,
            "cause": f"violation:{record['id']}",
        }

        # the city bureau commends; no reference is needed
        r = await h.client.post(records_path(agency), json=commendation(5), headers=city())
        assert r.status_code == 201, r.text
        assert r.json()["ref"] is None
        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=bureau())).json()
        assert (file["score"], file["grade"], file["version"]) == (85, "B", 2)
        assert [x["kind"] for x in file["records"]] == ["violation", "commendation"]
        changes = await h.events("agency.credit_changed", count=2)
        assert sorted((e.data["version"], e.data["score"], e.data["grade"]) for e in changes) == [
            (1, 80, "B"),
            (2, 85, "B"),
        ]

        # a heavy violation takes the grade to D; the score never goes below zero
        r = await h.client.post(records_path(agency), json=violation(-100, ref=None), headers=bureau())
        assert r.status_code == 201, r.text
        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=bureau())).json()
        assert (file["score"], file["grade"]) == (0, "D")
        last = next(e for e in await h.events("agency.credit_changed", count=3) if e.data["version"] == 3)
        assert (last.data["score"], last.data["grade"], last.data["delta"]) == (0, "D", -100)

        entries = [e for e in await trail(h) if e["action"] == "credit.recorded"]
        assert [e["entity_id"] for e in entries] == [x["id"] for x in file["records"]]
        first = entries[0]
        assert first["entity_type"] == "credit_record"
        assert first["actor"] == record["recorded_by"]
        assert first["payload"] == {
            "agency_id": agency.id,
            "kind": "violation",
            "delta": -20,
            "reason": REASON,
            "ref": "江应急罚〔2026〕12号",
            "score": 80,
            "grade": "B",
        }
        verified = (await h.client.get("/api/v1/admin/audit-trail/verify", headers=admin())).json()
        # no broken link; completeness unknown, as the witness (registry) is not running here (D32)
        assert verified["valid"] is None and verified["reason"] == "witness_unavailable"
        assert verified["entries"] == 3


@pytest.mark.parametrize(
    "body",
    [
        violation(5),  # a violation costs credit
        violation(0),
        commendation(-5),  # a commendation earns it
        commendation(0),
    ],
)
async def test_the_sign_follows_the_kind(sqlite_backend, body):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        await h.feed(agency)
        r = await h.client.post(records_path(agency), json=body, headers=bureau())
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["code"] == "credit_delta_sign"
        assert [e["field"] for e in problem["errors"]] == ["delta"]
        assert CHINESE.search(problem["detail"])
        en = await h.client.post(records_path(agency), json=body, headers={**bureau(), "Accept-Language": "en"})
        assert en.json()["code"] == "credit_delta_sign"
        assert not CHINESE.search(en.json()["detail"])
        assert ("negative" if body["kind"] == "violation" else "positive") in en.json()["detail"]
        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=bureau())).json()
        assert (file["score"], file["version"], file["records"]) == (100, 0, [])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (violation(-101), "delta"),  # |delta| is bounded
        (commendation(101), "delta"),
        (violation("-5"), "delta"),  # an integer, not text, a boolean or a fraction
        (commendation(True), "delta"),
        (violation(-5.5), "delta"),
        ({"kind": "complaint_upheld", "delta": -10, "reason": REASON}, "kind"),  # automatic kinds are the policy's
        ({"kind": "bribery", "delta": -10, "reason": REASON}, "kind"),
        ({"kind": "violation", "delta": -10}, "reason"),  # a reason is required
        (violation(reason="   "), "reason"),
        (violation(reason="x" * 2001), "reason"),
        (violation(reason="原因\x00"), "reason"),
        (violation(ref="第一行\n第二行"), "ref"),  # the reference is one line
        (violation(ref="x" * 121), "ref"),
        (violation(ref=""), "ref"),
        (violation(score=0), "score"),  # nothing else
    ],
)
async def test_bad_input_is_a_422_problem(sqlite_backend, body, field):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        await h.feed(agency)
        r = await h.client.post(records_path(agency), json=body, headers=bureau())
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], r.json()


async def test_who_may_record(sqlite_backend):
    """The bureau of the agency's district, the city bureau and admin; not another district's bureau,
    not an agency (its own file included), not an enterprise, not the public."""
    async with audit_app(sqlite_backend) as h:
        agency, far = Agency(), Agency(district_code=OTHER_DISTRICT)
        await h.feed(agency, far)
        refused = {
            "another district's bureau": bureau(OTHER_DISTRICT),
            "the agency itself": agency.headers(),
            "another agency": far.headers(),
            "an enterprise": Enterprise().headers(),
            "a read-only client": auth("bureau", district="440703", scope="custody.read"),
        }
        for who, headers in refused.items():
            r = await h.client.post(records_path(agency), json=violation(ref=None), headers=headers)
            assert r.status_code == 403, (who, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
        assert (await h.client.post(records_path(agency), json=violation(ref=None))).status_code == 401
        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=bureau())).json()
        assert file["version"] == 0

        for headers in (bureau(), city(), admin()):
            r = await h.client.post(records_path(agency), json=commendation(1), headers=headers)
            assert r.status_code == 201, r.text
        # the other district's bureau records on its own district's agency
        r = await h.client.post(records_path(far), json=violation(-3, ref=None), headers=bureau(OTHER_DISTRICT))
        assert r.status_code == 201, r.text

        unknown = f"/api/v1/credit/agencies/{uuid.uuid4()}/records"
        for headers in (city(), bureau()):
            r = await h.client.post(unknown, json=violation(ref=None), headers=headers)
            assert r.status_code == 404, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
        assert (
            await h.client.post("/api/v1/credit/agencies/nope/records", json=violation(), headers=city())
        ).status_code == 422


async def test_a_reference_is_recorded_once_per_agency_and_kind(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency, other = Agency(), Agency()
        await h.feed(agency, other)
        assert (await h.client.post(records_path(agency), json=violation(-5), headers=bureau())).status_code == 201
        again = await h.client.post(records_path(agency), json=violation(-7), headers=city())
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "credit_record_exists"
        # the same reference on a commendation, or on another agency, is another fact
        same_ref = commendation(2, ref=violation()["ref"])
        assert (await h.client.post(records_path(agency), json=same_ref, headers=bureau())).status_code == 201
        assert (await h.client.post(records_path(other), json=violation(-5), headers=bureau())).status_code == 201
        # records without a reference are never taken for one another
        for _ in range(2):
            r = await h.client.post(records_path(agency), json=violation(-1, ref=None), headers=bureau())
            assert r.status_code == 201, r.text
        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=bureau())).json()
        assert (file["score"], file["version"]) == (100 - 5 + 2 - 2, 4)
        assert await h.emitted("agency.credit_changed") == 5


async def test_an_idempotency_key_records_once(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        await h.feed(agency)
        headers = {**bureau(), "Idempotency-Key": f"credit-{uuid.uuid4()}"}
        first = await h.client.post(records_path(agency), json=violation(-5, ref=None), headers=headers)
        retry = await h.client.post(records_path(agency), json=violation(-5, ref=None), headers=headers)
        assert first.status_code == retry.status_code == 201, (first.text, retry.text)
        assert retry.json() == first.json()
        other_body = await h.client.post(records_path(agency), json=violation(-6, ref=None), headers=headers)
        assert other_body.status_code == 422
        assert other_body.json()["code"] == "idempotency_key_reused"
        file = (await h.client.get(f"/api/v1/credit/agencies/{agency.id}", headers=bureau())).json()
        assert (file["score"], file["version"], len(file["records"])) == (95, 1, 1)
        assert await h.emitted("agency.credit_changed") == 1
