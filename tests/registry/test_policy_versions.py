"""The policy as a published document with versions (SPEC §3, §22; docs/DECISIONS.md
D56): the public list, who may publish, bad input, and every service switching to a
version on its effective date without a restart."""

from __future__ import annotations

import copy
import dataclasses
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.tokens import auth, verifier
from devtools.testing.wait import eventually
from services.audit.main import create_app as audit_app
from services.enterprises.main import create_app as enterprises_app
from services.notify.main import create_app as notify_app
from shared.clock import FrozenClock
from tests.contracts.factories import TODAY, world
from tests.registry.factories import app_for, bureau

TOMORROW = TODAY + timedelta(days=1)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


async def current(client: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/policy")
    assert r.status_code == 200, r.text
    return r.json()


def stricter(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2: yellow enterprises inspected six times a year (v1: four)."""
    changed = copy.deepcopy(document)
    changed["policy_version"] = "2026.2"
    changed["min_visits_per_year"]["yellow"] = 6
    return changed


async def test_the_default_is_version_1_and_anyone_reads_the_versions(backend):
    async with running(app_for(backend.settings(), at=FrozenClock(at(TODAY)))) as client:
        r = await client.get("/api/v1/policy/versions")
        assert r.status_code == 200, r.text
        [first] = r.json()
        assert first["version"] == 1
        assert first["effective_from"] is None  # from the beginning
        assert first["published_at"] is None
        assert first["published_by"] is None
        assert first["policy"]["max_enterprises_per_engineer"] == 15
        in_force = await current(client)
        assert in_force["version"] == 1
        assert in_force["effective_from"] is None
        assert in_force["min_visits_per_year"]["yellow"] == 4
        assert (await client.get("/readyz")).json()["policy_version"] == 1


async def test_who_may_publish_and_bad_input(backend):
    app = app_for(backend.settings(), at=FrozenClock(at(TODAY)))
    async with running(app) as client:
        document = await current(client)  # the document as GET returns it, version and date included
        body = {"effective_from": TOMORROW.isoformat(), "policy": stricter(document)}
        url = "/api/v1/policy/versions"
        assert (await client.post(url, json=body)).status_code == 401
        for who, headers in {
            "district bureau": auth("bureau", district="440703"),
            "agency": auth("agency", org_uscc="91440703MA0000001X"),
            "enterprise": auth("enterprise", org_uscc="91440703MA0000001X"),
        }.items():
            r = await client.post(url, json=body, headers=headers)
            assert r.status_code == 403, (who, r.text)
            assert r.headers["content-type"] == "application/problem+json"

        async def refused(payload: dict[str, Any], field: str) -> None:
            r = await client.post(url, json=payload, headers=bureau())
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert field in [e["field"] for e in r.json()["errors"]], r.text

        bad = stricter(document)
        bad["max_enterprises_per_engineer"] = 0
        await refused({**body, "policy": bad}, "policy.max_enterprises_per_engineer")
        bad = stricter(document)
        bad["min_visits_per_year"]["red"] = "many"
        await refused({**body, "policy": bad}, "policy.min_visits_per_year.red")
        bad = stricter(document)
        bad["no_such_rule"] = 1
        await refused({**body, "policy": bad}, "policy.no_such_rule")
        bad = stricter(document)
        del bad["audit_sample_rate"]
        await refused({**body, "policy": bad}, "policy.audit_sample_rate")
        bad = stricter(document)
        bad["contract_term_months"] = {"min": 40, "max": 36}
        await refused({**body, "policy": bad}, "policy.contract_term_months")
        bad = stricter(document)
        bad["risk_rules"]["red_industries"] = ["nuclear"]
        await refused({**body, "policy": bad}, "policy.risk_rules.red_industries.0")
        bad = stricter(document)
        bad["title"] = "第一行\n第二行"
        await refused({**body, "policy": bad}, "policy.title")
        bad = stricter(document)
        bad["credit"]["grades"] = {"A": 60, "B": 75, "C": 90}
        await refused({**body, "policy": bad}, "policy.credit.grades")
        for key, huge in (("filing_validity_years", 10**6), ("major_hazard_ack_hours", 10**9)):
            bad = stricter(document)
            bad[key] = huge  # beyond any plan: refused before a date could overflow
            await refused({**body, "policy": bad}, f"policy.{key}")
        bad = stricter(document)
        bad["credit"]["fraud_finding"] = -(2**40)
        await refused({**body, "policy": bad}, "policy.credit.fraud_finding")
        await refused({**body, "policy": "the new plan"}, "policy")
        await refused({**body, "effective_from": "tomorrow"}, "effective_from")
        await refused({**body, "effective_from": (TODAY - timedelta(days=1)).isoformat()}, "effective_from")
        await refused({"policy": body["policy"]}, "effective_from")
        assert len((await client.get(url)).json()) == 1  # nothing was published

        later = {**body, "effective_from": (TODAY + timedelta(days=30)).isoformat()}
        admin = {**auth("admin"), "Idempotency-Key": "policy-2"}
        r = await client.post(url, json=later, headers=admin)
        assert r.status_code == 201, r.text
        again = await client.post(url, json=later, headers=admin)
        assert again.status_code == 201
        assert again.json() == r.json()  # the same answer, not a third version
        assert r.json()["version"] == 2
        assert r.json()["published_by"].startswith("admin:")
        # before the latest version's date: refused; on the same day: allowed (the later one wins)
        await refused({**body, "effective_from": (TODAY + timedelta(days=29)).isoformat()}, "effective_from")
        same_day = await client.post(url, json=later, headers=bureau())
        assert same_day.status_code == 201, same_day.text
        assert [v["version"] for v in (await client.get(url)).json()] == [1, 2, 3]
        book = app.state.runtime.policies
        assert book.in_force(at(TODAY + timedelta(days=30))).version == 3  # on the same day the later one wins
        assert book.in_force(at(TODAY + timedelta(days=29))).version == 1


async def test_every_service_switches_on_the_effective_date_without_a_restart(backend, tmp_path):
    settings = backend.settings()
    async with world(settings) as w, AsyncExitStack() as stack:
        clock = w.clock  # one clock for every service of the test
        registry = app_for(settings, at=clock)
        apps = {"registry": registry, "contracts": w.app}
        clients = {"registry": await stack.enter_async_context(running(registry)), "contracts": w.client}
        for name, make in {"enterprises": enterprises_app, "audit": audit_app, "notify": notify_app}.items():
            apps[name] = make(settings, clock=clock, verifier=verifier())
            clients[name] = await stack.enter_async_context(running(apps[name]))

        async def enforced() -> dict[str, int]:
            return {name: (await c.get("/readyz")).json()["policy_version"] for name, c in clients.items()}

        assert (
            await w.client.post("/api/v1/contracts", json=w.body(inspections=4), headers=w.agency())
        ).status_code == 201
        r = await clients["registry"].post(
            "/api/v1/policy/versions",
            json={"effective_from": TOMORROW.isoformat(), "policy": stricter(await current(clients["registry"]))},
            headers=bureau(),
        )
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 2
        assert r.json()["effective_from"] == TOMORROW.isoformat()
        assert r.json()["published_by"].startswith("bureau:")
        [event] = await eventually(lambda: read_events(settings, event_type="policy.published"), timeout=15)
        assert event.data["version"] == 2
        assert event.data["policy"]["min_visits_per_year"]["yellow"] == 6  # the whole document

        # every service has received it …
        await eventually(lambda: all(len(a.state.runtime.policies.versions) == 2 for a in apps.values()), timeout=20)
        # … and still enforces version 1 today
        assert await enforced() == dict.fromkeys(clients, 1)
        assert (await current(clients["registry"]))["version"] == 1
        assert (
            await w.client.post("/api/v1/contracts", json=w.body(inspections=4), headers=w.agency())
        ).status_code == 201

        # a sweep as of the effective date applies the version in force then (shared.policy_versions)
        seen: list[int] = []

        async def probe(runtime: Any, as_of: datetime) -> dict[str, Any]:
            seen.append(runtime.policy.min_visits_per_year.yellow)
            return {}

        contracts_runtime = apps["contracts"].state.runtime
        await dataclasses.replace(contracts_runtime, sweeps=(probe,)).sweep(at(TOMORROW))
        await dataclasses.replace(contracts_runtime, sweeps=(probe,)).sweep(at(TODAY))
        assert seen == [6, 4]
        assert contracts_runtime.policy.min_visits_per_year.yellow == 4  # outside the sweep: today's

        clock.set(at(TOMORROW))  # the effective date arrives: no restart
        assert await enforced() == dict.fromkeys(clients, 2)
        in_force = await current(clients["registry"])
        assert (in_force["version"], in_force["effective_from"], in_force["policy_version"]) == (
            2,
            TOMORROW.isoformat(),
            "2026.2",
        )
        r = await w.client.post("/api/v1/contracts", json=w.body(inspections=4), headers=w.agency())
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "inspection_below_minimum"
        assert "6" in r.json()["detail"]
        assert (
            await w.client.post("/api/v1/contracts", json=w.body(inspections=6), headers=w.agency())
        ).status_code == 201

    # a restarted service remembers the versions it received (its own table)
    async with running(enterprises_app(settings, clock=clock, verifier=verifier())) as client:
        assert (await client.get("/readyz")).json()["policy_version"] == 2
