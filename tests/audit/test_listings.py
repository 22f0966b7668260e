"""The serious-dishonesty list (严重失信名单, SPEC §19, issue #17 item 2): a bureau notices an
organisation → ``noticed``; the organisation objects within ``credit_objection_days`` →
``objected`` → the bureau lists or withdraws; without objection the sweep lists it when the period
ends; ``credit_repair_after_months`` later it is ``repairable``; the organisation requests repair,
the bureau repairs or refuses; after ``credit_list_years`` it expires. The public list (no token)
shows name, USCC, reason, listed_at and until of the entries on the list. Both backends; the sweep's
``as_of`` drives time. docs/DECISIONS.md D40."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from devtools.testing.tokens import auth
from services.audit.states import LISTING, ListingStatus
from tests.audit.factories import OTHER_DISTRICT, TODAY, Agency, Enterprise, admin, audit_app, bureau, city, clock_at

CHINESE = re.compile(r"[\u4e00-\u9fff]")
PATH = "/api/v1/credit/listings"
REASON = "伪造安全评价报告，情节严重"
BASIS = "《安全评价检测检验机构管理办法》第三十条"
PUBLIC_FIELDS = {"name", "org_uscc", "reason", "listed_at", "until"}


def body_for(org, kind: str = "agency", **extra):
    return {"org_uscc": org.uscc, "org_kind": kind, "reason": REASON, "legal_basis": BASIS} | extra


async def notice(h, org, kind: str = "agency", headers=None) -> dict:
    r = await h.client.post(PATH, json=body_for(org, kind), headers=headers or bureau())
    assert r.status_code == 201, r.text
    return r.json()


async def act(h, listing_id, action, headers, expect=200, **body) -> dict:
    r = await h.client.post(f"{PATH}/{listing_id}/{action}", json=body, headers=headers)
    assert r.status_code == expect, (action, r.text)
    return r.json()


async def public(h, **params) -> list[dict]:
    r = await h.client.get(PATH, params={"status": "listed", **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def trail(h) -> list[dict]:
    table = h.runtime.infra.audit_trail
    async with h.runtime.unit_of_work().read() as session:
        rows = (await session.execute(sa.select(table).order_by(table.c.seq))).mappings().all()
    return [dict(r) for r in rows if r["entity_type"] == "credit_listing"]


def add_years(day: date, years: int) -> date:
    return day.replace(year=day.year + years)


async def test_objection_then_withdrawal_and_the_audit_trail(backend):
    async with audit_app(backend) as h:
        agency, other = Agency(), Agency()
        await h.feed(agency, other)
        listing = await notice(h, agency)
        assert listing["status"] == "noticed"
        assert (listing["org_uscc"], listing["org_kind"], listing["name"]) == (agency.uscc, "agency", agency.name)
        assert listing["district_code"] == agency.district_code
        assert listing["noticed_on"] == TODAY.isoformat()
        assert listing["objection_until"] == (TODAY + timedelta(days=5)).isoformat()
        assert listing["listed_at"] is None
        noticed = (await h.events("credit.noticed"))[0]
        assert noticed.data["id"] == listing["id"]
        assert (noticed.data["org_uscc"], noticed.data["org_kind"], noticed.data["status"]) == (
            agency.uscc,
            "agency",
            "noticed",
        )
        assert noticed.data["objection_until"] == listing["objection_until"]

        # the organisation and the bureaus read it; another agency does not
        lid = listing["id"]
        assert (await h.client.get(f"{PATH}/{lid}", headers=agency.headers())).status_code == 200
        assert (await h.client.get(f"{PATH}/{lid}", headers=bureau(OTHER_DISTRICT))).status_code == 200
        assert (await h.client.get(f"{PATH}/{lid}", headers=other.headers())).status_code in (403, 404)
        assert (await h.client.get(f"{PATH}/{lid}")).status_code == 401
        # a second listing under way for the same organisation
        r = await h.client.post(PATH, json=body_for(agency), headers=city())
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "credit_listing_exists"

        # only the organisation objects; nobody else
        await act(h, lid, "objection", other.headers(), 403, statement="不是我们")
        await act(h, lid, "objection", bureau(), 403, statement="x")
        objected = await act(h, lid, "objection", agency.headers(), statement="报告系他人冒用本机构名义出具")
        assert objected["status"] == "objected"
        assert objected["objection"] == "报告系他人冒用本机构名义出具"
        assert objected["version"] == 2
        r = await h.client.post(f"{PATH}/{lid}/objection", json={"statement": "again"}, headers=agency.headers())
        assert r.status_code == 409
        assert CHINESE.search(r.json()["detail"])

        # the bureau of another district may not decide; the organisation may not either
        await act(h, lid, "decide", bureau(OTHER_DISTRICT), 403, decision="withdraw", reasons="x")
        await act(h, lid, "decide", agency.headers(), 403, decision="withdraw", reasons="x")
        # a decision the state does not take
        await act(h, lid, "decide", bureau(), 409, decision="repair", reasons="x")
        withdrawn = await act(h, lid, "decide", bureau(), decision="withdraw", reasons="异议成立，证据不足")
        assert withdrawn["status"] == "withdrawn"
        assert (withdrawn["decision"], withdrawn["decision_reasons"]) == ("withdraw", "异议成立，证据不足")
        assert withdrawn["ended_on"] == TODAY.isoformat()
        assert withdrawn["decided_by"].startswith("bureau:")
        gone = (await h.events("credit.withdrawn"))[0]
        assert (gone.data["id"], gone.data["status"]) == (lid, "withdrawn")
        assert await public(h) == []

        entries = await trail(h)
        assert [e["action"] for e in entries] == [
            "credit_listing.noticed",
            "credit_listing.objected",
            "credit_listing.decided",
        ]
        assert all(e["entity_id"] == lid for e in entries)
        assert entries[0]["payload"]["reason"] == REASON
        assert entries[2]["payload"]["decision"] == "withdraw"
        verified = (await h.client.get("/api/v1/admin/audit-trail/verify", headers=admin())).json()
        assert verified["valid"] is None and verified["reason"] == "witness_unavailable"  # no witness here
        assert verified["entries"] == 3

        # ended: a new listing may be noticed
        assert (await h.client.post(PATH, json=body_for(agency), headers=city())).status_code == 201


async def test_decided_listing_is_public_becomes_repairable_and_is_repaired(backend):
    async with audit_app(backend) as h:
        agency = Agency()
        await h.feed(agency)
        lid = (await notice(h, agency))["id"]
        await act(h, lid, "objection", agency.headers(), statement="异议")
        listed = await act(h, lid, "decide", city(), decision="list", reasons="异议不成立")
        assert listed["status"] == "listed"
        assert listed["listed_at"] == TODAY.isoformat()
        assert listed["until"] == add_years(TODAY, 3).isoformat()
        assert listed["repairable_from"] == date(TODAY.year + 1, TODAY.month, TODAY.day).isoformat()
        event = (await h.events("credit.listed"))[0]
        assert (event.data["id"], event.data["status"], event.data["org_uscc"]) == (lid, "listed", agency.uscc)

        # the public list, without a token: only what the SPEC names
        entries = await public(h)
        assert entries == [
            {
                "name": agency.name,
                "org_uscc": agency.uscc,
                "reason": REASON,
                "listed_at": TODAY.isoformat(),
                "until": listed["until"],
            }
        ]
        assert set((await public(h))[0]) == PUBLIC_FIELDS
        # the same public view for a signed-in organisation; the full one for bureaus
        r = await h.client.get(PATH, params={"status": "listed"}, headers=agency.headers())
        assert set(r.json()["items"][0]) == PUBLIC_FIELDS
        full = (await h.client.get(PATH, params={"status": "listed"}, headers=bureau(OTHER_DISTRICT))).json()
        assert [x["id"] for x in full["items"]] == [lid]
        assert full["items"][0]["legal_basis"] == BASIS

        # not repairable yet
        r = await h.client.post(f"{PATH}/{lid}/repair", json={"statement": "已整改"}, headers=agency.headers())
        assert r.status_code == 409, r.text
        day_before = date(TODAY.year + 1, TODAY.month, TODAY.day) - timedelta(days=1)
        assert (await h.sweep(day_before))["listings_repairable"] == 0
        assert (await h.sweep(date(TODAY.year + 1, TODAY.month, TODAY.day)))["listings_repairable"] == 1
        shown = (await h.client.get(f"{PATH}/{lid}", headers=agency.headers())).json()
        assert shown["status"] == "repairable"
        assert [x["org_uscc"] for x in await public(h)] == [agency.uscc]  # still listed and public

        requested = await act(h, lid, "repair", agency.headers(), statement="已完成整改并通过复查")
        assert requested["status"] == "repair_requested"
        assert [x["org_uscc"] for x in await public(h)] == [agency.uscc]
        refused = await act(h, lid, "decide", bureau(), decision="refuse", reasons="整改材料不全")
        assert refused["status"] == "repairable"
        await act(h, lid, "repair", agency.headers(), statement="补充材料")
        repaired = await act(h, lid, "decide", bureau(), decision="repair", reasons="准予修复")
        assert repaired["status"] == "repaired"
        assert repaired["ended_on"] == TODAY.isoformat()
        event = (await h.events("credit.repaired"))[0]
        assert (event.data["id"], event.data["status"]) == (lid, "repaired")
        assert await public(h) == []
        assert await h.emitted("credit.listed") == 1
        actions = [e["action"] for e in await trail(h)]
        assert actions == [
            "credit_listing.noticed",
            "credit_listing.objected",
            "credit_listing.decided",
            "credit_listing.repairable",
            "credit_listing.repair_requested",
            "credit_listing.decided",
            "credit_listing.repair_requested",
            "credit_listing.decided",
        ]


async def test_no_objection_the_sweep_lists_then_expires(backend):
    async with audit_app(backend) as h:
        enterprise = Enterprise()
        await h.feed(enterprise)
        listing = await notice(h, enterprise, "enterprise")
        lid = listing["id"]
        assert listing["name"] == enterprise.name
        last_day = TODAY + timedelta(days=5)
        assert (await h.sweep(last_day))["listings_listed"] == 0  # the last day to object
        assert (await h.client.get(f"{PATH}/{lid}", headers=enterprise.headers())).json()["status"] == "noticed"
        counts = await h.sweep(last_day + timedelta(days=3))  # late, but the listing takes effect the day after
        assert counts["listings_listed"] == 1
        listed = (await h.client.get(f"{PATH}/{lid}", headers=enterprise.headers())).json()
        assert listed["status"] == "listed"
        assert listed["listed_at"] == (last_day + timedelta(days=1)).isoformat()
        until = add_years(last_day + timedelta(days=1), 3)
        assert listed["until"] == until.isoformat()
        assert (await h.events("credit.listed"))[0].data["id"] == lid
        assert [x["org_uscc"] for x in await public(h)] == [enterprise.uscc]
        # swept twice: once
        assert (await h.sweep(last_day + timedelta(days=3)))["listings_listed"] == 0

        counts = await h.sweep(until - timedelta(days=1))
        assert (counts["listings_repairable"], counts["listings_expired"]) == (1, 0)
        counts = await h.sweep(until)
        assert counts["listings_expired"] == 1
        expired = (await h.client.get(f"{PATH}/{lid}", headers=bureau())).json()
        assert (expired["status"], expired["ended_on"]) == ("expired", until.isoformat())
        event = (await h.events("credit.expired"))[0]
        assert (event.data["id"], event.data["status"]) == (lid, "expired")
        assert await public(h) == []
        assert await h.emitted("credit.expired") == 1


async def test_one_sweep_far_ahead_takes_a_notice_all_the_way_to_expired(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        await h.feed(agency)
        lid = (await notice(h, agency))["id"]
        counts = await h.sweep(add_years(TODAY, 4))
        assert (counts["listings_listed"], counts["listings_expired"]) == (1, 1)
        assert (await h.client.get(f"{PATH}/{lid}", headers=bureau())).json()["status"] == "expired"


async def test_an_objection_after_the_period_is_refused(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        await h.feed(agency)
        lid = (await notice(h, agency))["id"]
        h.clock.set(clock_at(TODAY + timedelta(days=6)).now())  # the sweep has not run yet
        r = await h.client.post(f"{PATH}/{lid}/objection", json={"statement": "迟到"}, headers=agency.headers())
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "objection_period_over"
        en = await h.client.post(
            f"{PATH}/{lid}/objection", json={"statement": "x"}, headers={**agency.headers(), "Accept-Language": "en"}
        )
        assert not CHINESE.search(en.json()["detail"])


async def test_the_organisation_acts_in_the_role_the_listing_names(sqlite_backend):
    """An enterprise's listing is the enterprise's: an agency token with the same USCC is not it."""
    async with audit_app(sqlite_backend) as h:
        enterprise = Enterprise()
        await h.feed(enterprise)
        lid = (await notice(h, enterprise, "enterprise"))["id"]
        impostor = auth("agency", org_uscc=enterprise.uscc)
        assert (await h.client.get(f"{PATH}/{lid}", headers=impostor)).status_code in (403, 404)
        r = await h.client.post(f"{PATH}/{lid}/objection", json={"statement": "x"}, headers=impostor)
        assert r.status_code in (403, 404)
        await act(h, lid, "objection", enterprise.headers(), statement="异议")


async def test_who_may_notice_and_who_sees_which_list(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency, enterprise = Agency(), Enterprise()
        await h.feed(agency, enterprise)
        for headers in (agency.headers(), enterprise.headers(), bureau(OTHER_DISTRICT)):
            r = await h.client.post(PATH, json=body_for(agency), headers=headers)
            assert r.status_code == 403, r.text
        assert (await h.client.post(PATH, json=body_for(agency))).status_code == 401
        lid = (await notice(h, agency, headers=admin()))["id"]
        # bureaus list every state; the public only the entries on the list
        r = await h.client.get(PATH, params={"status": "noticed"}, headers=bureau(OTHER_DISTRICT))
        assert [x["id"] for x in r.json()["items"]] == [lid]
        assert [x["id"] for x in (await h.client.get(PATH, headers=city())).json()["items"]] == [lid]
        assert (await h.client.get(PATH, params={"status": "noticed"})).status_code == 401
        r = await h.client.get(PATH, params={"status": "noticed"}, headers=agency.headers())
        assert r.status_code == 403
        assert (await h.client.get(PATH)).json()["items"] == []  # no status: the public list too


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"org_uscc": "91440703MA0000000X"}, "org_uscc"),  # fails the GB 32100 check
        ({"org_kind": "person"}, "org_kind"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"legal_basis": None}, "legal_basis"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_bad_notices_are_422(sqlite_backend, change, field):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        r = await h.client.post(PATH, json=body_for(agency) | change, headers=bureau())
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text


async def test_unknown_organisation_and_bad_bodies_are_422(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        r = await h.client.post(PATH, json=body_for(agency), headers=bureau())  # not known here
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "unknown_agency"
        r = await h.client.post(PATH, json=body_for(Enterprise(), "enterprise"), headers=bureau())
        assert (r.status_code, r.json()["code"]) == (422, "enterprise_unknown")
        await h.feed(agency)
        lid = (await notice(h, agency))["id"]
        for path, body in (
            ("objection", {}),
            ("objection", {"statement": "  "}),
            ("decide", {"decision": "maybe", "reasons": "x"}),
            ("decide", {"decision": "list"}),
            ("repair", {"statement": 5}),
        ):
            r = await h.client.post(f"{PATH}/{lid}/{path}", json=body, headers=bureau())
            assert r.status_code == 422, (path, body, r.text)
        assert (await h.client.get(f"{PATH}/not-a-uuid", headers=bureau())).status_code == 422
        assert (await h.client.get(PATH, params={"status": "nonsense"})).status_code == 422


async def test_stale_if_match_is_412(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        agency = Agency()
        await h.feed(agency)
        lid = (await notice(h, agency))["id"]
        r = await h.client.post(
            f"{PATH}/{lid}/objection", json={"statement": "x"}, headers={**agency.headers(), "If-Match": '"7"'}
        )
        assert r.status_code == 412, r.text


# --- every action in every state ---------------------------------------------------------------------
ACTIONS = {  # the API's steps: (path, who, body)
    "objection": ("objection", "org", {"statement": "异议"}),
    "repair": ("repair", "org", {"statement": "修复"}),
    "list": ("decide", "bureau", {"decision": "list", "reasons": "r"}),
    "withdraw": ("decide", "bureau", {"decision": "withdraw", "reasons": "r"}),
    "repair_it": ("decide", "bureau", {"decision": "repair", "reasons": "r"}),
    "refuse": ("decide", "bureau", {"decision": "refuse", "reasons": "r"}),
}
TARGET = {"list": "listed", "withdraw": "withdrawn", "repair_it": "repaired", "refuse": "repairable"}
MACHINE_ACTION = {"objection": "objection", "repair": "repair"}


async def reach(h, agency, state: ListingStatus) -> str:
    """A listing of a fresh agency in ``state``, by the API and the sweep."""
    lid = (await notice(h, agency))["id"]
    year = date(TODAY.year + 1, TODAY.month, TODAY.day)
    path = {
        ListingStatus.NOTICED: [],
        ListingStatus.OBJECTED: ["objection"],
        ListingStatus.WITHDRAWN: ["objection", "withdraw"],
        ListingStatus.LISTED: ["objection", "list"],
        ListingStatus.REPAIRABLE: ["objection", "list", year],
        ListingStatus.REPAIR_REQUESTED: ["objection", "list", year, "repair"],
        ListingStatus.REPAIRED: ["objection", "list", year, "repair", "repair_it"],
        ListingStatus.EXPIRED: ["objection", "list", add_years(TODAY, 3)],
    }[state]
    for step in path:
        if isinstance(step, date):
            await h.sweep(step)
            continue
        where, who, body = ACTIONS[step]
        await act(h, lid, where, agency.headers() if who == "org" else bureau(), **body)
    assert (await h.client.get(f"{PATH}/{lid}", headers=bureau())).json()["status"] == state
    return lid


def allowed(name: str, state: ListingStatus) -> bool:
    if name in TARGET:
        return any(
            t.action.name == "decide" and t.source == state and t.target == TARGET[name] for t in LISTING.transitions
        )
    return LISTING.can(LISTING.actions[MACHINE_ACTION[name]], state)


async def test_every_action_in_every_state(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        wrong = []
        for state in ListingStatus:
            for name, (where, who, body) in ACTIONS.items():
                agency = Agency()
                await h.feed(agency)
                lid = await reach(h, agency, state)
                headers = agency.headers() if who == "org" else bureau()
                r = await h.client.post(f"{PATH}/{lid}/{where}", json=body, headers=headers)
                expect = 200 if allowed(name, state) else 409
                if r.status_code != expect:
                    wrong.append(f"{name} in {state}: {r.status_code}, not {expect}")
                elif expect == 409 and not CHINESE.search(r.json()["detail"]):
                    wrong.append(f"{name} in {state}: no zh-CN text")
                elif expect == 200 and name in TARGET and r.json()["status"] != TARGET[name]:
                    wrong.append(f"{name} in {state}: reached {r.json()['status']}")
        assert wrong == []
