"""Use cases on one enterprise record (SPEC §8): register, read, look up by USCC, update, list,
explain the risk — and its refresh from the read models when a contract or hazard event lands.

Each takes the unit of work and keyword arguments, knows no HTTP, and returns ORM rows or domain
objects; who may see or change what is the repository's (``Enterprises``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from services.enterprises import events
from services.enterprises.models import RECORD_FIELDS, Enterprise, MinimalEnterprise
from services.enterprises.repository import (
    NO_CUSTODIAN,
    Enterprises,
    ListFilters,
    View,
    custodians,
    open_major_hazards,
)
from services.enterprises.risk import Factor, assess_record
from services.enterprises.schemas import EnterpriseCreate, EnterpriseUpdate
from services.enterprises.service import risk_inputs
from services.enterprises.service.apply import apply_record, emit_changes
from shared.errors import (
    Conflict,
    ErrorCode,
    FieldError,
    Forbidden,
    ValidationFailed,
    field_errors_from_pydantic,
)
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.reference import RiskLevel, area_filter, is_valid_uscc, load_jurisdiction, normalise_uscc
from shared.uow import UnitOfWork
from shared.validation import no_control

log = structlog.get_logger("enterprises.service")


# --- validation (also every imported row's) ----------------------------------------------------
def location_errors(
    district_code: str, town: str, village: str | None
) -> tuple[str | None, str | None, list[FieldError]]:
    """Resolve town and village (code or exact name) within the district → their codes."""
    jur = load_jurisdiction()
    area = jur.town_in(district_code, town)
    if area is None:
        return (
            None,
            None,
            [
                FieldError(
                    "town",
                    text(
                        f"镇街“{town}”不属于区县 {district_code}", f"'{town}' is not a town of district {district_code}"
                    ),
                )
            ],
        )
    if village is None:
        return area.code, None, []
    found = jur.village_in(area.code, village)
    if found is None:
        return (
            area.code,
            None,
            [
                FieldError(
                    "village",
                    text(f"村居“{village}”不属于镇街 {area.name}", f"'{village}' is not a village of {area.code}"),
                )
            ],
        )
    return area.code, found.code, []


def record_values(data: EnterpriseCreate) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The stored form of a validated record (town/village as codes, flags sorted) or the errors."""
    town, village, errors = location_errors(data.district_code, data.town, data.village)
    if errors:
        return None, errors
    values = {
        "uscc": data.uscc,
        "name": data.name,
        "industry": data.industry.value,
        "district_code": data.district_code,
        "town": town,
        "village": village,
        "address": data.address,
        "employees": data.employees,
        "major_hazard_source": data.major_hazard_source,
        "hazard_flags": sorted(f.value for f in data.hazard_flags),
        "contact_name": data.contact_name,
        "contact_phone": data.contact_phone,
    }
    return values, []


def validate_record(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Everything POST checks, as data: (values, []) or (None, errors). Used by import too."""
    try:
        data = EnterpriseCreate.model_validate(raw)
    except ValidationError as exc:
        return None, field_errors_from_pydantic(exc.errors())  # type: ignore[arg-type]
    return record_values(data)


def _valid(checked: tuple[dict[str, Any] | None, list[FieldError]]) -> dict[str, Any]:
    values, errors = checked
    if errors or values is None:
        raise ValidationFailed(
            text("企业信息未通过校验", "The enterprise record did not pass validation"), errors=errors
        )
    return values


def _duplicate(uscc: str) -> Conflict:
    return Conflict(
        text(f"统一社会信用代码 {uscc} 的企业已登记", f"An enterprise with USCC {uscc} is already registered"),
        code=ErrorCode.ENTERPRISE_EXISTS,
        extra={"uscc": uscc},
    )


# --- commands ----------------------------------------------------------------------------------
async def create_enterprise(uow: UnitOfWork, *, data: EnterpriseCreate) -> Enterprise:
    if not Enterprises.may_register(uow.principal, uscc=data.uscc, district_code=data.district_code):
        raise Forbidden(
            text(
                "只能登记本企业，或本局辖区内的企业",
                "You may register only your own enterprise, or one in your district",
            )
        )
    values = _valid(record_values(data))
    if not Enterprises.may_register(
        uow.principal, uscc=data.uscc, district_code=data.district_code, town=values["town"]
    ):
        raise Forbidden(text("只能登记本镇街的企业", "You may register only enterprises of your town"))
    try:
        async with uow:
            repo = Enterprises(uow.session)
            if await repo.by_uscc(data.uscc) is not None:
                raise _duplicate(data.uscc)
            # Events about this USCC may have come before it was registered: they count from the start.
            open_count = (await open_major_hazards(uow.session, [data.uscc])).get(data.uscc, 0)
            custodian = (await custodians(uow.session, [data.uscc])).get(data.uscc, NO_CUSTODIAN)
            risk = assess_record(values, open_major_hazards=open_count, rules=uow.policy.risk_rules)
            enterprise = Enterprise(
                **values,
                **custodian,
                id=new_id(),
                risk_level=risk.risk_level,
                base_level=risk.base_level,
                version=1,
                created_at=uow.now,
                updated_at=uow.now,
            )
            await repo.add(enterprise)
            for event_type, payload in events.change_events(
                enterprise.columns(), created=True, fields_changed=True, previous_risk_level=None
            ):
                await uow.emit(event_type, payload)
    except IntegrityError as exc:  # a concurrent registration of the same USCC won the race
        raise _duplicate(data.uscc) from exc
    log.info("enterprises.registered", uscc=data.uscc, risk_level=enterprise.risk_level, actor=uow.principal.actor)
    return enterprise


async def update_enterprise(
    uow: UnitOfWork, *, enterprise_id: uuid.UUID, patch: EnterpriseUpdate, if_match: Precondition
) -> Enterprise:
    changes = patch.model_dump(mode="json", exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k != "village"]
    if nulls:
        raise ValidationFailed(
            text("只有村居可以清空", "Only village may be cleared"),
            errors=[FieldError(k, text("不能为 null", "must not be null")) for k in nulls],
        )
    async with uow:
        enterprise = await Enterprises(uow.session).get(enterprise_id, uow.principal, write=True)
        if_match.check(enterprise.version)
        current = enterprise.columns()
        merged = {k: current[k] for k in ("uscc", *RECORD_FIELDS)} | changes
        values = _valid(validate_record(merged))
        moved = "district_code" in changes or "town" in changes
        if moved and not Enterprises.may_move_to(uow.principal, values["district_code"], values["town"]):
            raise Forbidden(
                text("不能将企业迁入本局辖区以外的区县", "You cannot move an enterprise out of your jurisdiction")
            )
        pending = enterprise.risk_inputs_pending
        if Enterprises.changes_wait_for_review(uow.principal):
            open_count = (await open_major_hazards(uow.session, [enterprise.uscc])).get(enterprise.uscc, 0)
            held = risk_inputs.held_changes(current, values, open_major_hazards=open_count, rules=uow.policy.risk_rules)
            values = values | {k: current[k] for k in held}  # the old values rule meanwhile
            pending = risk_inputs.pending_after(pending, touched=set(changes), held=held, uow=uow)
        if all(values[k] == current[k] for k in RECORD_FIELDS) and pending == enterprise.risk_inputs_pending:
            return enterprise  # nothing changed: same version, no event
        enterprise.risk_inputs_pending = pending
        await apply_record(uow, enterprise, values)
    log.info("enterprises.updated", uscc=enterprise.uscc, version=enterprise.version, actor=uow.principal.actor)
    return enterprise


# --- queries -----------------------------------------------------------------------------------
async def get_enterprise(uow: UnitOfWork, *, enterprise_id: uuid.UUID) -> Enterprise:
    async with uow.read() as session:
        return await Enterprises(session).get(enterprise_id, uow.principal)


async def get_by_uscc(uow: UnitOfWork, *, uscc: str) -> Enterprise | MinimalEnterprise:
    """The record, or its minimal view for an agency that is no party of a live contract with it."""
    uscc = normalise_uscc(uscc)
    if not is_valid_uscc(uscc):
        raise ValidationFailed(
            text("统一社会信用代码无效", "Invalid USCC"),
            errors=[
                FieldError(
                    "uscc",
                    text("统一社会信用代码无效（GB 32100-2015 校验失败）", "invalid USCC (GB 32100-2015 check failed)"),
                )
            ],
        )
    async with uow.read() as session:
        enterprise, view = await Enterprises(session).look_up(uscc, uow.principal)
    return enterprise if view == View.FULL else MinimalEnterprise.of(enterprise)


async def list_enterprises(
    uow: UnitOfWork, *, filters: ListFilters, page: PageParams
) -> tuple[list[Enterprise], str | None]:
    try:
        no_control(filters.q)
    except ValueError:
        raise ValidationFailed(
            text("查询词含有控制字符", "The query has control characters"),
            errors=[FieldError("q", text("含有控制字符", "contains control characters"))],
        ) from None
    district, town = area_filter(filters.district, filters.town)
    filters = replace(filters, district=district, town=town)
    async with uow.read() as session:
        return await Enterprises(session).page(uow.principal, filters, page)


@dataclass(frozen=True)
class RiskExplanation:
    enterprise_id: uuid.UUID
    risk_level: RiskLevel
    base_level: RiskLevel
    open_major_hazards: int
    factors: list[Factor]
    policy_version: str


async def explain_risk(uow: UnitOfWork, *, enterprise_id: uuid.UUID) -> RiskExplanation:
    async with uow.read() as session:
        enterprise = await Enterprises(session).get(enterprise_id, uow.principal)
        open_count = (await open_major_hazards(session, [enterprise.uscc])).get(enterprise.uscc, 0)
    risk = assess_record(enterprise.columns(), open_major_hazards=open_count, rules=uow.policy.risk_rules, explain=True)
    return RiskExplanation(
        enterprise_id=enterprise.id,
        risk_level=enterprise.risk_level,
        base_level=risk.base_level,
        open_major_hazards=open_count,
        factors=risk.factors,
        policy_version=uow.policy.policy_version,
    )


# --- read-model refresh (consumers) ------------------------------------------------------------
async def refresh_enterprise(uow: UnitOfWork, *, uscc: str) -> str | None:
    """Recompute the custodian and the risk of the enterprise with ``uscc`` from the read models,
    in the caller's transaction; emits ``enterprise.risk_changed`` when the level changes.
    Returns what happened (for logs), or None when nothing changed or the enterprise is unknown."""
    async with uow:
        enterprise = await Enterprises(uow.session).by_uscc(uscc, lock=True)
        if enterprise is None:
            return None
        current = enterprise.columns()
        open_count = (await open_major_hazards(uow.session, [uscc])).get(uscc, 0)
        custodian = (await custodians(uow.session, [uscc])).get(uscc, NO_CUSTODIAN)
        risk = assess_record(current, open_major_hazards=open_count, rules=uow.policy.risk_rules)
        updates: dict[str, Any] = {k: v for k, v in custodian.items() if current[k] != v}
        if risk.risk_level != current["risk_level"] or risk.base_level != current["base_level"]:
            updates.update(risk_level=risk.risk_level, base_level=risk.base_level)
        if not updates:
            return None
        for name, value in updates.items():
            setattr(enterprise, name, value)
        enterprise.version += 1
        enterprise.updated_at = uow.now
        await emit_changes(uow, enterprise, fields_changed=False, previous_risk_level=current["risk_level"])
    return "risk_changed" if enterprise.risk_level != current["risk_level"] else "custodian_changed"
