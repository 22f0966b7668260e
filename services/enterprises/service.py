"""Domain functions of the enterprises service: keyword-only arguments, no HTTP types, one explicit
transaction each (state change + outbox events together)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.app import ServiceContext
from shared.auth import Principal
from shared.clock import as_utc
from shared.errors import ErrorCode, Conflict, FieldError, Forbidden, NotFound, ValidationFailed, field_errors_from_pydantic
from shared.events.outbox import Outbox
from shared.i18n import render, text
from shared.ids import new_id
from shared.pagination import PageParams, keyset, page_of
from shared.policy import Policy
from shared.reference import is_valid_uscc, load_jurisdiction

from services.enterprises import events as ev
from services.enterprises.models import custody_contracts as contracts_t
from services.enterprises.models import enterprises as t
from services.enterprises.models import major_hazards as hazards_t
from services.enterprises.risk import assess
from services.enterprises.schemas import EnterpriseCreate, EnterpriseUpdate

log = structlog.get_logger("enterprises.service")

# The fields of a record that a create, a PATCH or an import sets (everything but uscc).
RECORD_FIELDS = ("name", "industry", "district_code", "town", "village", "address", "employees",
                 "major_hazard_source", "hazard_flags", "contact_name", "contact_phone")
OPEN_HAZARD_STATUSES = ("open", "rectified", "overdue")  # a major hazard counts until it is verified
CUSTODY_STATUSES = ("active", "suspended")  # contract states in which the agency holds custody


# --- validation ------------------------------------------------------------------------------
def location_errors(district_code: str, town: str, village: str | None) -> tuple[str | None, str | None, list[FieldError]]:
    """Resolve town and village (code or exact name) within the district → their codes."""
    jur = load_jurisdiction()
    area = jur.town_in(district_code, town)
    if area is None:
        return None, None, [FieldError("town", text(f"镇街“{town}”不属于区县 {district_code}",
                                                    f"'{town}' is not a town of district {district_code}"))]
    if village is None:
        return area.code, None, []
    v = jur.village_in(area.code, village)
    if v is None:
        return area.code, None, [FieldError("village", text(f"村居“{village}”不属于镇街 {area.name}",
                                                             f"'{village}' is not a village of {area.code}"))]
    return area.code, v.code, []


def record_values(data: EnterpriseCreate) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The stored form of a validated record (town/village as codes, flags sorted) or the errors."""
    town, village, errors = location_errors(data.district_code, data.town, data.village)
    if errors:
        return None, errors
    values = {
        "uscc": data.uscc, "name": data.name, "industry": data.industry.value, "district_code": data.district_code,
        "town": town, "village": village, "address": data.address, "employees": data.employees,
        "major_hazard_source": data.major_hazard_source, "hazard_flags": sorted(f.value for f in data.hazard_flags),
        "contact_name": data.contact_name, "contact_phone": data.contact_phone,
    }
    return values, []


def validate_record(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Everything POST checks, as data: (values, []) or (None, errors). Used by import too."""
    try:
        data = EnterpriseCreate.model_validate(raw)
    except ValidationError as exc:
        return None, field_errors_from_pydantic(exc.errors())
    return record_values(data)


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(text("企业信息未通过校验", "The enterprise record did not pass validation"), errors=errors)


# --- authorization ---------------------------------------------------------------------------
def can_see(principal: Principal, row: Mapping[str, Any]) -> bool:
    return (principal.is_admin or principal.governs(row["district_code"])
            or (principal.role == "enterprise" and principal.org_uscc == row["uscc"]))


def _forbidden() -> Forbidden:
    return Forbidden(text("无权访问该企业的记录", "You may not access this enterprise's record"))


def may_register(principal: Principal, *, uscc: str, district_code: str) -> bool:
    return (principal.is_admin or principal.governs(district_code)
            or (principal.role == "enterprise" and principal.org_uscc == uscc))


# --- risk and read models --------------------------------------------------------------------
def risk_of_values(values: Mapping[str, Any], open_major_hazards: int, policy: Policy, *, explain: bool = False):
    return assess(industry=values["industry"], hazard_flags=values["hazard_flags"] or [],
                  major_hazard_source=bool(values["major_hazard_source"]), employees=int(values["employees"]),
                  open_major_hazards=open_major_hazards, rules=policy.risk_rules, explain=explain)


async def open_hazard_counts(session: AsyncSession, usccs: Iterable[str]) -> dict[str, int]:
    usccs = list(usccs)
    if not usccs:
        return {}
    stmt = (sa.select(hazards_t.c.enterprise_uscc, sa.func.count())
            .where(hazards_t.c.enterprise_uscc.in_(usccs), hazards_t.c.status.in_(OPEN_HAZARD_STATUSES))
            .group_by(hazards_t.c.enterprise_uscc))
    return {u: n for u, n in (await session.execute(stmt)).all()}


def custodian_columns(row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"custodian_contract_id": None, "custodian_agency_id": None, "custodian_agency_name": None,
                "custodian_until": None, "custodian_status": None}
    return {"custodian_contract_id": row["contract_id"], "custodian_agency_id": row["agency_id"],
            "custodian_agency_name": row["agency_name"], "custodian_until": row["end_date"],
            "custodian_status": row["status"]}


async def custodians(session: AsyncSession, usccs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The custodian columns of each USCC that has a contract in custody (active before suspended,
    then the latest end date)."""
    usccs = list(usccs)
    if not usccs:
        return {}
    c = contracts_t.c
    stmt = (sa.select(contracts_t).where(c.enterprise_uscc.in_(usccs), c.status.in_(CUSTODY_STATUSES))
            .order_by(c.enterprise_uscc, sa.case((c.status == "active", 0), else_=1), c.end_date.desc(), c.contract_id))
    result: dict[str, dict[str, Any]] = {}
    for row in (await session.execute(stmt)).mappings():
        result.setdefault(row["enterprise_uscc"], custodian_columns(row))
    return result


def to_read(row: Mapping[str, Any]) -> dict[str, Any]:
    custodian = None
    if row["custodian_contract_id"]:
        custodian = {"contract_id": row["custodian_contract_id"], "agency_id": row["custodian_agency_id"],
                     "agency_name": row["custodian_agency_name"], "until": row["custodian_until"],
                     "status": row["custodian_status"] or "active"}
    return {**{k: row[k] for k in ("id", "uscc", *RECORD_FIELDS, "risk_level", "version")},
            "hazard_flags": list(row["hazard_flags"] or []), "custodian": custodian,
            "created_at": as_utc(row["created_at"]), "updated_at": as_utc(row["updated_at"])}


async def _load(session: AsyncSession, where: sa.ColumnElement, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = sa.select(t).where(where)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row else None


# --- commands --------------------------------------------------------------------------------
async def create_enterprise(ctx: ServiceContext, *, principal: Principal, data: EnterpriseCreate) -> dict[str, Any]:
    if not may_register(principal, uscc=data.uscc, district_code=data.district_code):
        raise Forbidden(text("只能登记本企业，或本局辖区内的企业", "You may register only your own enterprise, or one in your district"))
    values, errors = record_values(data)
    _raise_if(errors)
    assert values is not None
    now = ctx.clock.now()
    try:
        async with ctx.db.transaction() as session:
            if await _load(session, t.c.uscc == data.uscc) is not None:
                raise _duplicate(data.uscc)
            open_count = (await open_hazard_counts(session, [data.uscc])).get(data.uscc, 0)
            custodian = (await custodians(session, [data.uscc])).get(data.uscc) or custodian_columns(None)
            risk = risk_of_values(values, open_count, ctx.policy)
            row = {**values, **custodian, "id": new_id(), "risk_level": risk.risk_level.value,
                   "base_level": risk.base_level.value, "version": 1, "created_at": now, "updated_at": now}
            await session.execute(sa.insert(t).values(**row))
            await ctx.outbox.emit(session, ev.REGISTERED, ev.enterprise_data(row))
    except IntegrityError as exc:  # a concurrent registration of the same USCC won the race
        raise _duplicate(data.uscc) from exc
    log.info("enterprises.registered", uscc=data.uscc, risk_level=row["risk_level"], actor=principal.actor)
    return to_read(row)


def _duplicate(uscc: str) -> Conflict:
    return Conflict(text(f"统一社会信用代码 {uscc} 的企业已登记", f"An enterprise with USCC {uscc} is already registered"),
                    code=ErrorCode.ENTERPRISE_EXISTS, extra={"uscc": uscc})


async def _load_visible(session: AsyncSession, principal: Principal, enterprise_id: uuid.UUID, *,
                        for_update: bool = False) -> dict[str, Any]:
    """The enterprise's row, or 404 when there is none and 403 when the caller may not see it."""
    row = await _load(session, t.c.id == enterprise_id, for_update=for_update)
    if row is None:
        raise NotFound(text("企业不存在", "No such enterprise"))
    if not can_see(principal, row):
        raise _forbidden()
    return row


async def get_enterprise(ctx: ServiceContext, *, principal: Principal, enterprise_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.db.reader() as session:
        return to_read(await _load_visible(session, principal, enterprise_id))


async def get_by_uscc(ctx: ServiceContext, *, principal: Principal, uscc: str) -> dict[str, Any]:
    uscc = uscc.strip().upper()
    if not is_valid_uscc(uscc):
        raise ValidationFailed(text("统一社会信用代码无效", "Invalid USCC"), errors=[FieldError("uscc", text(
            "统一社会信用代码无效（GB 32100-2015 校验失败）", "invalid USCC (GB 32100-2015 check failed)"))])
    async with ctx.db.reader() as session:
        row = await _load(session, t.c.uscc == uscc)
    if row is None:
        if principal.role == "enterprise" and principal.org_uscc != uscc:
            raise _forbidden()
        raise NotFound(text("该统一社会信用代码的企业未登记", "No enterprise registered with this USCC"))
    # An agency drafting a custody contract looks its prospective client up by USCC.
    if not (principal.role == "agency" or can_see(principal, row)):
        raise _forbidden()
    return to_read(row)


async def update_enterprise(ctx: ServiceContext, *, principal: Principal, enterprise_id: uuid.UUID,
                            patch: EnterpriseUpdate, precondition: Callable[[int], None]) -> dict[str, Any]:
    changes = patch.model_dump(exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k != "village"]
    if nulls:
        raise ValidationFailed(text("只有村居可以清空", "Only village may be cleared"),
                               errors=[FieldError(k, text("不能为 null", "must not be null")) for k in nulls])
    async with ctx.db.transaction() as session:
        current = await _load_visible(session, principal, enterprise_id, for_update=True)
        precondition(current["version"])
        merged = {k: current[k] for k in RECORD_FIELDS} | {"uscc": current["uscc"]}
        merged.update({k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()})
        if "hazard_flags" in changes:
            merged["hazard_flags"] = [str(f) for f in changes["hazard_flags"]]
        if "district_code" in changes and not (principal.is_admin or principal.role == "enterprise"
                                               or principal.governs(merged["district_code"])):
            raise Forbidden(text("不能将企业迁入本局辖区以外的区县", "You cannot move an enterprise out of your jurisdiction"))
        values, errors = validate_record(merged)
        _raise_if(errors)
        assert values is not None
        fields_changed = any(values[k] != current[k] for k in RECORD_FIELDS)
        if not fields_changed:
            return to_read(current)
        open_count = (await open_hazard_counts(session, [current["uscc"]])).get(current["uscc"], 0)
        risk = risk_of_values(values, open_count, ctx.policy)
        row = {**current, **values, "risk_level": risk.risk_level.value, "base_level": risk.base_level.value,
               "version": current["version"] + 1, "updated_at": ctx.clock.now()}
        await session.execute(sa.update(t).where(t.c.id == enterprise_id).values(
            **{k: row[k] for k in (*RECORD_FIELDS, "risk_level", "base_level", "version", "updated_at")}))
        for event_type, data in ev.change_events(row, created=False, fields_changed=True,
                                                 previous_risk_level=current["risk_level"]):
            await ctx.outbox.emit(session, event_type, data)
    log.info("enterprises.updated", uscc=row["uscc"], version=row["version"], actor=principal.actor)
    return to_read(row)


# --- queries ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListFilters:
    district: str | None = None
    industry: str | None = None
    risk_level: str | None = None
    has_custodian: bool | None = None
    q: str | None = None


async def list_enterprises(ctx: ServiceContext, *, principal: Principal, filters: ListFilters,
                           page: PageParams) -> tuple[list[dict[str, Any]], str | None]:
    stmt = sa.select(t)
    jur = load_jurisdiction()
    if filters.district and not (jur.is_district(filters.district) or jur.is_city(filters.district)):
        raise ValidationFailed(text("未知的区县代码", "Unknown district code"),
                               errors=[FieldError("district", text("未知的区县代码", "unknown district code"))])
    if principal.role == "agency":
        raise Forbidden(text("机构请按统一社会信用代码查询企业", "Agencies look enterprises up by USCC"))
    if principal.role == "enterprise":
        stmt = stmt.where(t.c.uscc == (principal.org_uscc or ""))
    elif not principal.sees_everything:
        if not principal.is_bureau or not principal.district:
            raise _forbidden()
        if filters.district and filters.district != principal.district:
            raise Forbidden(text("只能查看本辖区的企业", "You can list only enterprises in your district"))
        stmt = stmt.where(t.c.district_code == principal.district)
    if filters.district and not jur.is_city(filters.district):
        stmt = stmt.where(t.c.district_code == filters.district)
    if filters.industry:
        stmt = stmt.where(t.c.industry == filters.industry)
    if filters.risk_level:
        stmt = stmt.where(t.c.risk_level == filters.risk_level)
    if filters.has_custodian is not None:
        col = t.c.custodian_contract_id
        stmt = stmt.where(col.is_not(None) if filters.has_custodian else col.is_(None))
    if filters.q:
        q = filters.q.strip()
        stmt = stmt.where(sa.or_(sa.func.lower(t.c.name).contains(q.lower(), autoescape=True),
                                 t.c.uscc.contains(q.upper(), autoescape=True)))
    stmt = keyset(stmt, [t.c.id], page, convert=[uuid.UUID])
    async with ctx.db.reader() as session:
        rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    items, cursor = page_of(rows, page, key=lambda r: [r["id"]])
    return [to_read(r) for r in items], cursor


async def explain_risk(ctx: ServiceContext, *, principal: Principal, enterprise_id: uuid.UUID) -> dict[str, Any]:
    async with ctx.db.reader() as session:
        row = await _load_visible(session, principal, enterprise_id)
        open_count = (await open_hazard_counts(session, [row["uscc"]])).get(row["uscc"], 0)
    risk = risk_of_values(row, open_count, ctx.policy, explain=True)
    return {
        "enterprise_id": row["id"], "risk_level": row["risk_level"], "base_level": risk.base_level.value,
        "open_major_hazards": open_count, "policy_version": ctx.policy.policy_version,
        "factors": [{"code": f.code, "description": render(f.description), "effect": f.effect,
                     "level_after": f.level_after.value} for f in risk.factors],
    }


# --- read-model refresh (consumers) ----------------------------------------------------------
async def refresh_enterprise(session: AsyncSession, *, outbox: Outbox, policy: Policy, now: Any, uscc: str) -> str | None:
    """Recompute the custodian and the risk of the enterprise with ``uscc`` from the read models,
    inside the caller's transaction; emits ``enterprise.risk_changed`` when the level changes.
    Returns what happened (for logs), or None when nothing changed or the enterprise is unknown."""
    current = await _load(session, t.c.uscc == uscc, for_update=True)
    if current is None:
        return None
    open_count = (await open_hazard_counts(session, [uscc])).get(uscc, 0)
    custodian = (await custodians(session, [uscc])).get(uscc) or custodian_columns(None)
    risk = risk_of_values(current, open_count, policy)
    updates: dict[str, Any] = {k: v for k, v in custodian.items() if current[k] != v}
    if risk.risk_level.value != current["risk_level"] or risk.base_level.value != current["base_level"]:
        updates.update(risk_level=risk.risk_level.value, base_level=risk.base_level.value)
    if not updates:
        return None
    row = {**current, **updates, "version": current["version"] + 1, "updated_at": now}
    await session.execute(sa.update(t).where(t.c.id == current["id"]).values(
        **updates, version=row["version"], updated_at=now))
    for event_type, data in ev.change_events(row, created=False, fields_changed=False,
                                             previous_risk_level=current["risk_level"]):
        await outbox.emit(session, event_type, data)
    return "risk_changed" if row["risk_level"] != current["risk_level"] else "custodian_changed"
