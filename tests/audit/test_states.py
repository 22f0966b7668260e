"""Every action in every state, generated from the state machines (services/audit/states.py) and
run through the real API: an allowed step answers 200 with the machine's target state (or, for the
sweep's step, moves the row there); a refused one answers 409 ``invalid_transition`` whose text —
from the machine — names the entity, its state and the action in zh-CN, and in English without a
Chinese character; a role that may take the action in no state gets 403 instead, whatever the
state (and before a stale If-Match's 412). A new state or action is picked up here by itself."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from services.audit.states import (
    AUDIT_TASK,
    COMPLAINT,
    HAZARD,
    MARK_OVERDUE,
    SERVICE_LOG,
    AuditTaskStatus,
    ComplaintStatus,
    HazardStatus,
    ServiceLogStatus,
)
from shared.roles import Role
from tests.audit.factories import TODAY, admin, audit_app, bureau, clock_at, evidence, hazard, service_log

CHINESE = re.compile(r"[\u4e00-\u9fff]")
_visits = itertools.count(1)


def headers_for(contract, role: Role) -> dict[str, str]:
    return {
        Role.AGENCY: contract.agency.headers,
        Role.ENTERPRISE: contract.enterprise.headers,
        Role.BUREAU: bureau,
        Role.ADMIN: admin,
    }[role]()


def role_for(machine, action, state=None) -> Role:
    """A role the action is declared for (from ``state`` when it is allowed there): a refusal is then
    the state's doing, not the role's."""
    by = next(
        (t.by for t in machine.transitions if t.action == action and t.source == state),
        next(t.by for t in machine.transitions if t.action == action),
    )
    return sorted(by - {Role.SYSTEM})[0]


def path_of(action) -> str:
    """An action's URL segment: ``reject_rectification`` → ``reject-rectification``."""
    return action.name.replace("_", "-")


async def log_with_hazard(h, contract, *, deadline, level="general"):
    """A visit five days before ``deadline`` (or today), recorded on its day (SPEC §16: within
    ``max_log_delay_days``), the clock then back to today."""
    visit = min(TODAY, deadline - timedelta(days=5))
    h.clock.set(clock_at(visit).now())
    r = await h.client.post(
        "/api/v1/service-logs",
        headers=contract.agency.headers(),
        json=service_log(
            contract,
            visit_date=visit,
            summary=f"visit {next(_visits)}",
            hazards=[hazard(level, deadline=deadline, visit_date=visit)],
        ),
    )
    h.clock.set(clock_at(TODAY).now())
    assert r.status_code == 201, r.text
    return r.json()


async def post(h, path, headers, body=None):
    r = await h.client.post(path, json=body, headers=headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()


async def check_refusal(h, machine, action, state, path, headers, body=None, *, contract=None) -> list[str]:
    """409 from the machine for a role that may take the action elsewhere; 403 (not 409: nothing
    about the state) for every role that may take it nowhere."""
    wrong = []
    may = set().union(*(t.by for t in machine.transitions if t.action == action))
    for role in sorted({Role.AGENCY, Role.ENTERPRISE, Role.BUREAU, Role.ADMIN} - may):
        # a stale If-Match too: the role is judged first (403, not 412)
        r = await h.client.post(path, json=body, headers={**headers_for(contract, role), "If-Match": '"999"'})
        if r.status_code != 403:
            wrong.append(f"{action.name} in {state} as {role}: {r.status_code}, not 403")
    zh = await h.client.post(path, json=body, headers=headers)
    en = await h.client.post(path, json=body, headers={**headers, "Accept-Language": "en"})
    if zh.status_code != 409 or en.status_code != 409:
        return [f"{action.name} in {state}: {zh.status_code} {zh.text[:200]}"]
    problem = zh.json()
    if (problem["code"], problem["current_status"], problem["action"]) != ("invalid_transition", state, action.name):
        wrong.append(f"{action.name} in {state}: {problem}")
    named = (machine.label.zh, machine.state_label(state).zh, action.label.zh)
    if not all(name in problem["detail"] for name in named):
        wrong.append(f"{action.name} in {state}: zh detail {problem['detail']!r}")
    expected = f"The {machine.label.en} is {state}; it cannot {action.label.en}"
    if en.json()["detail"] != expected or CHINESE.search(en.json()["detail"]):
        wrong.append(f"{action.name} in {state}: en detail {en.json()['detail']!r}")
    return wrong


async def test_every_service_log_action_in_every_state(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()

        logs = "/api/v1/service-logs"
        bodies = {"dispute": {"reason": "未到场"}, "resolve": {"decision": "uphold", "notes": "核实"}}

        async def in_state(state):
            entry = await log_with_hazard(h, contract, deadline=TODAY + timedelta(days=20))
            if state == ServiceLogStatus.CONFIRMED:
                await post(h, f"{logs}/{entry['id']}/confirm", contract.enterprise.headers())
            if state in (ServiceLogStatus.DISPUTED, ServiceLogStatus.VOID):
                await post(h, f"{logs}/{entry['id']}/dispute", contract.enterprise.headers(), bodies["dispute"])
            if state == ServiceLogStatus.VOID:
                await post(h, f"{logs}/{entry['id']}/resolve", bureau(), {"decision": "void"})
            return entry["id"]

        wrong = []
        for action, state, allowed in SERVICE_LOG.cases():
            log_id = await in_state(state)
            path, headers = (
                f"{logs}/{log_id}/{action.name}",
                headers_for(contract, role_for(SERVICE_LOG, action)),
            )
            body = bodies.get(action.name)
            if allowed:
                to = ServiceLogStatus.CONFIRMED if action.name == "resolve" else None  # upheld
                target = SERVICE_LOG.step(action, state, to=to).target
                if (await post(h, path, headers, body))["status"] != target:
                    wrong.append(f"{action.name} in {state}: not {target}")
            else:
                wrong += await check_refusal(h, SERVICE_LOG, action, state, path, headers, body, contract=contract)
        assert not wrong, "\n".join(wrong)


async def test_every_hazard_action_in_every_state(sqlite_backend):
    """Overdue hazards are built by the sweep (deadline passed); the sweep's own step is checked
    last, with a later ``as_of`` that reaches only the hazards made for it. The hazards are major,
    so that the bureau's verification (of an open one) is exercised too."""
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup(start_date=TODAY - timedelta(days=30))
        long_due, soon_due, past_due = TODAY + timedelta(days=20), TODAY + timedelta(days=5), TODAY - timedelta(days=5)
        enterprise, agency = contract.enterprise.headers(), contract.agency.headers()
        photos = await evidence(h, contract)  # a major hazard's rectification needs one (SPEC §16)

        async def in_state(state, deadline):
            hazard_id = (
                await log_with_hazard(
                    h, contract, deadline=past_due if state == HazardStatus.OVERDUE else deadline, level="major"
                )
            )["hazards"][0]["id"]
            if state != HazardStatus.OPEN:  # rectified first: an overdue one may then be verified
                await post(
                    h, f"/api/v1/hazards/{hazard_id}/rectify", enterprise, {"note": "已整改", "attachments": photos}
                )
            if state == HazardStatus.VERIFIED:
                await post(h, f"/api/v1/hazards/{hazard_id}/verify", agency)
            return hazard_id

        cases = [
            (action, state, allowed, await in_state(state, soon_due if action == MARK_OVERDUE else long_due))
            for action, state, allowed in HAZARD.cases()
        ]
        await h.sweep(TODAY)  # the overdue ones
        wrong = []
        for action, state, allowed, hazard_id in cases:
            current = (await h.client.get(f"/api/v1/hazards/{hazard_id}", headers=admin())).json()["status"]
            assert current == state, (action.name, state, current)
            if action == MARK_OVERDUE:
                continue
            path, headers = (
                f"/api/v1/hazards/{hazard_id}/{path_of(action)}",
                headers_for(contract, role_for(HAZARD, action, state if allowed else None)),
            )
            body = {
                "rectify": {"note": "复查", "attachments": photos},
                "reject_rectification": {"reason": "未整改到位"},
            }.get(action.name)
            if allowed:
                target = HAZARD.step(action, state).target
                if (await post(h, path, headers, body))["status"] != target:
                    wrong.append(f"{action.name} in {state}: not {target}")
            else:
                wrong += await check_refusal(h, HAZARD, action, state, path, headers, body, contract=contract)
        await h.sweep(soon_due + timedelta(days=1))
        for action, state, allowed, hazard_id in cases:
            if action == MARK_OVERDUE:
                now = (await h.client.get(f"/api/v1/hazards/{hazard_id}", headers=admin())).json()["status"]
                expected = HAZARD.step(action, state).target if allowed else state
                if now != expected:
                    wrong.append(f"sweep in {state}: {now}, not {expected}")
        assert not wrong, "\n".join(wrong)


async def test_every_audit_task_action_in_every_state(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contracts = [await h.setup() for _ in AuditTaskStatus]
        r = await h.client.post(
            "/api/v1/audits/sample", json={"period": "2026-Q2", "seed": 1, "rate": 1.0}, headers=bureau()
        )
        tasks = iter(r.json()["tasks"])
        result = {"scores": [{"criterion": "台账", "score": 80}]}
        wrong = []
        for action, state, allowed in AUDIT_TASK.cases():
            task_id = next(tasks)["id"]
            if state == AuditTaskStatus.COMPLETED:
                await post(h, f"/api/v1/audits/{task_id}/result", bureau(), result)
            path, headers = (
                f"/api/v1/audits/{task_id}/{action.name}",
                headers_for(contracts[0], role_for(AUDIT_TASK, action)),
            )
            if allowed:
                target = AUDIT_TASK.step(action, state).target
                if (await post(h, path, headers, result))["status"] != target:
                    wrong.append(f"{action.name} in {state}: not {target}")
            else:
                wrong += await check_refusal(h, AUDIT_TASK, action, state, path, headers, result, contract=contracts[0])
        assert not wrong, "\n".join(wrong)


async def test_every_complaint_action_in_every_state(sqlite_backend):
    async with audit_app(sqlite_backend) as h:
        contract = await h.setup()
        bodies = {"forward": {}, "respond": {"response": "已整改"}, "resolve": {"outcome": "dismissed"}}
        actors = {"forward": bureau(), "respond": contract.agency.headers(), "resolve": bureau()}
        way_to = {
            ComplaintStatus.RECEIVED: [],
            ComplaintStatus.FORWARDED: ["forward"],
            ComplaintStatus.RESPONDED: ["forward", "respond"],
            ComplaintStatus.CLOSED: ["resolve"],
        }

        async def in_state(state):
            r = await h.client.post(
                "/api/v1/complaints",
                headers=contract.enterprise.headers(),
                json={"agency_id": contract.agency.id, "category": "fee", "description": "收费不透明"},
            )
            complaint_id = r.json()["id"]
            for verb in way_to[state]:
                await post(h, f"/api/v1/complaints/{complaint_id}/{verb}", actors[verb], bodies[verb])
            return complaint_id

        wrong = []
        for action, state, allowed in COMPLAINT.cases():
            complaint_id = await in_state(state)
            current = (await h.client.get(f"/api/v1/complaints/{complaint_id}", headers=bureau())).json()["status"]
            assert current == state, (action.name, state, current)
            path = f"/api/v1/complaints/{complaint_id}/{action.name}"
            headers = headers_for(contract, role_for(COMPLAINT, action))
            if allowed:
                target = COMPLAINT.step(action, state).target
                if (await post(h, path, headers, bodies[action.name]))["status"] != target:
                    wrong.append(f"{action.name} in {state}: not {target}")
            else:
                wrong += await check_refusal(
                    h, COMPLAINT, action, state, path, headers, bodies[action.name], contract=contract
                )
        assert not wrong, "\n".join(wrong)
