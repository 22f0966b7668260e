"""Every action in every state, generated from the contract's state machine (states.py): each
(action, state) pair of ``CONTRACT.cases()`` is reached and tried for real — the actions callers
take through the API (allowed: 200 in one of the step's targets; refused: 409 naming the state, in
zh-CN and English), the event cascades through events on the bus, and the time-based steps
through the sweep's own use case. A new action or state is tested by this file without editing it;
an action the API offers but REQUESTS does not know fails the first test."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

from services.contracts import service
from services.contracts.states import (
    ACTIVATE,
    AMEND,
    CANCEL,
    CONTRACT,
    EXPIRE,
    FILE,
    FLAG,
    NOTIFY_EXPIRING,
    REINSTATE,
    REVIEW,
    SIGN,
    SUSPEND,
    TERMINATE,
    ContractStatus,
    roles_of,
)
from shared.roles import Role
from shared.states import Action
from tests.contracts.factories import TODAY, World, new_uscc, policy_file, world

S = ContractStatus
CJK = re.compile(r"[\u4e00-\u9fff]")

# How a caller asks for each action the API offers, on contract c: (method, verb, who, body).
REQUESTS = {
    SIGN: lambda w, c: ("POST", "sign", w.enterprise(), {"content_sha256": c["content_sha256"]}),
    AMEND: lambda w, c: ("PATCH", "", w.agency(), {"fee_yuan": "1.00"}),
    CANCEL: lambda w, c: ("POST", "cancel", w.agency(), None),
    FILE: lambda w, c: ("POST", "file", w.agency(), None),
    REVIEW: lambda w, c: ("POST", "filing-review", w.bureau(), {"decision": "accept"}),
    TERMINATE: lambda w, c: ("POST", "terminate", w.agency(), {"reason": "测试终止"}),
}
# What the service does itself, and what makes it do so.
CASCADES = {SUSPEND: "agency.suspended", REINSTATE: "agency.reinstated", FLAG: "enterprise.risk_changed"}
DUE = {
    ACTIVATE: lambda c: c["start_date"],
    EXPIRE: lambda c: c["end_date"] + timedelta(days=1),
    NOTIFY_EXPIRING: lambda c: c["end_date"] - timedelta(days=10),
}


def _transitions(action: Action, state: S) -> list:
    return [t for t in CONTRACT.transitions if t.action == action and t.source == state]


def test_every_action_is_requested_through_the_api_or_taken_by_the_service():
    by_callers = {
        a for a in CONTRACT.actions.values() if any(t.by - {Role.SYSTEM} for t in CONTRACT.transitions if t.action == a)
    }
    assert by_callers == set(REQUESTS)
    assert set(CONTRACT.actions.values()) == set(REQUESTS) | set(CASCADES) | set(DUE)
    assert all(
        not _transitions(a, s) for a in CONTRACT.actions.values() for s in (S.EXPIRED, S.TERMINATED, S.CANCELLED)
    )


async def _fresh_parties(w: World, *, own_agency: bool) -> None:
    """An enterprise of the case's own (the overlap rule stays out of the way, and its events touch
    this contract only) and, with ``own_agency``, an agency of its own too (for agency events)."""
    if own_agency:
        w.agency_id, w.agency_uscc, w.agency_version = str(uuid.uuid4()), new_uscc(), 1
        await w.agency_event("agency.approved")
    w.enterprise_uscc = new_uscc()
    await w.enterprise_event("enterprise.registered", version=1)
    w.enterprise_version = 1


async def reach(w: World, state: S, *, own_agency: bool = False) -> dict[str, Any]:
    """A fresh contract in ``state``, brought there through the API, the bus and the sweep (a
    suspended one with an agency of its own: the suspension stays with it)."""
    await _fresh_parties(w, own_agency=own_agency or state == S.SUSPENDED)
    if state == S.DRAFT:
        return await w.create()
    if state == S.SIGNED:
        return await w.signed()
    if state == S.FILING:
        return await w.filing()
    if state == S.FILED:
        return await w.filed()
    if state == S.ACTIVE:
        return await w.active()
    if state == S.REJECTED:
        c = await w.filing()
        return (await w.post(c["id"], "filing-review", w.bureau(), {"decision": "reject", "comments": "退回"})).json()
    if state == S.CANCELLED:
        c = await w.create()
        return (await w.post(c["id"], "cancel", w.agency())).json()
    if state == S.TERMINATED:
        c = await w.filed()
        return (await w.post(c["id"], "terminate", w.agency(), {"reason": "x"})).json()
    if state == S.SUSPENDED:
        c = await w.active()
        await w.agency_event("agency.suspended")
        return await w.get(c["id"])
    if state == S.EXPIRED:
        c = await w.active()
        day = (TODAY.replace(year=TODAY.year + 1) + timedelta(days=1)).isoformat()
        r = await w.client.post("/api/v1/admin/sweep", params={"as_of": day}, headers=w.admin())
        assert r.status_code == 200, r.text
        assert r.json()["expired"] >= 1, r.text
        return await w.get(c["id"])
    raise AssertionError(f"no way to reach {state}: add it here")


@asynccontextmanager
async def one_world(sqlite_backend, tmp_path) -> AsyncIterator[World]:
    """One service for all the cases of a test (capacity out of the way; each case has its own
    parties, so the overlap rule and the cascades stay with its contract)."""
    settings = sqlite_backend.settings(policy_file=policy_file(tmp_path, max_enterprises_per_engineer=1000))
    async with world(settings) as w:
        yield w


def _cases(actions) -> list[tuple[Action, S, bool]]:
    return [(a, s, ok) for a, s, ok in CONTRACT.cases() if a in actions]


async def test_every_request_in_every_state_is_taken_or_409(sqlite_backend, tmp_path):
    async with one_world(sqlite_backend, tmp_path) as w:
        previous = None
        for action, state, allowed in _cases(REQUESTS):
            c = await reach(w, state, own_agency=previous == S.SUSPENDED)
            previous = state
            assert c["status"] == state, c
            method, verb, headers, body = REQUESTS[action](w, c)
            path = f"/api/v1/contracts/{c['id']}" + (f"/{verb}" if verb else "")
            r = await w.client.request(method, path, json=body, headers={**headers, "Accept-Language": "en"})
            case = (str(action), str(state), r.status_code, r.text)
            if allowed:
                assert r.status_code == 200, case
                assert r.json()["status"] in {t.target for t in _transitions(action, state)}, case
                continue
            assert r.status_code == 409, case
            problem = r.json()
            assert (problem["code"], problem["current_status"], problem["action"]) == (
                "invalid_transition",
                state,
                str(action),
            ), case
            assert problem["detail"] == f"The contract is {state}; it cannot {action.label.en}", case
            assert not CJK.search(problem["detail"]), case
            r = await w.client.request(method, path, json=body, headers=headers)
            assert r.status_code == 409, case
            assert f"不能{action.label.zh}" in r.json()["detail"], case
            assert (await w.get(c["id"]))["version"] == c["version"], case  # a refusal changes nothing


async def test_every_cascade_in_every_state_steps_or_leaves_it(sqlite_backend, tmp_path):
    async with one_world(sqlite_backend, tmp_path) as w:
        for action, state, allowed in _cases(CASCADES):
            c = await reach(w, state, own_agency=True)
            if action == FLAG:  # red needs 12 inspections a year; the contract has 4
                await w.enterprise_event(CASCADES[action], risk_level="red")
            else:  # waited for until the read model holds it: the cascade ran in the same transaction
                await w.agency_event(CASCADES[action])
            after = await w.get(c["id"])
            case = (str(action), str(state), after["status"], after["version"], c["version"])
            if allowed:
                (step,) = [
                    t for t in _transitions(action, state) if action != REINSTATE or t.target == c["previous_status"]
                ]
                assert (after["status"], after["version"]) == (step.target, c["version"] + 1), case
            else:
                assert (after["status"], after["version"]) == (state, c["version"]), case


async def test_every_time_based_step_in_every_state_is_due_or_not(sqlite_backend, tmp_path):
    async with one_world(sqlite_backend, tmp_path) as w:
        runtime = w.app.state.runtime
        previous = None
        for action, state, allowed in _cases(DUE):
            c = await reach(w, state, own_agency=previous == S.SUSPENDED)
            previous = state
            contract_id = uuid.UUID(c["id"])
            as_of = DUE[action](
                {"start_date": date.fromisoformat(c["start_date"]), "end_date": date.fromisoformat(c["end_date"])}
            )
            due = await service.due(runtime.unit_of_work(), action=action, as_of=as_of)
            taken = await service.take_due_step(
                runtime.unit_of_work(), contract_id=contract_id, action=action, as_of=as_of
            )
            after = await w.get(c["id"])
            case = (str(action), str(state), after["status"], after["version"], c["version"])
            assert (contract_id in due, taken) == (allowed, allowed), case
            if allowed:
                (step,) = _transitions(action, state)
                assert (after["status"], after["version"]) == (step.target, c["version"] + 1), case
            else:
                assert (after["status"], after["version"]) == (state, c["version"]), case


async def test_a_role_that_may_never_take_an_action_gets_403_whatever_the_state(sqlite_backend, tmp_path):
    """403 names the role before 409 names the state (SPEC §5): a bureau never signs, a party never
    reviews a filing — whether or not the contract's state would allow the action. The callers are
    the contract's own parties and its district's bureau: the refusal is the role's, not ownership."""
    async with one_world(sqlite_backend, tmp_path) as w:
        for state in (S.DRAFT, S.ACTIVE):
            c = await reach(w, state)
            tokens = {
                Role.AGENCY: w.agency(),
                Role.ENTERPRISE: w.enterprise(),
                Role.BUREAU: w.bureau(),
                Role.ADMIN: w.admin(),
            }
            for action, request in REQUESTS.items():
                method, verb, _, body = request(w, c)
                path = f"/api/v1/contracts/{c['id']}" + (f"/{verb}" if verb else "")
                for role in set(tokens) - roles_of(action):
                    r = await w.client.request(method, path, json=body, headers=tokens[role])
                    assert r.status_code == 403, (str(action), str(role), state, r.text)
