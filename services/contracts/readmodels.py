"""Local read models of the agencies and enterprises a contract is about.

Fed by events (``agency.*``, ``enterprise.registered|updated|risk_changed``); an event whose
``version`` is not newer than what we hold is stale and ignored. Where the read model does not
know an agency or enterprise yet (its event has not arrived), we ask the owning service over
httpx with a short timeout, forwarding the caller's token, and cache the answer as
``source = peer``; the next event of the same or a newer version replaces it.
"""

from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable

import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import insert_ignore
from shared.errors import FieldError, ServiceUnavailable, ValidationFailed
from shared.i18n import text
from shared.settings import Settings

from services.contracts.models import AgencyFacts, EnterpriseFacts
from services.contracts.rules import AgencyFact, EnterpriseFact

log = structlog.get_logger("contracts.readmodels")

AGENCY_TABLE = AgencyFacts.__table__
ENTERPRISE_TABLE = EnterpriseFacts.__table__


# --- conversions ---------------------------------------------------------------------------
def agency_fact(row: Any) -> AgencyFact:
    return AgencyFact(id=str(row.id), uscc=row.uscc, name=row.name, status=row.status, in_force=row.filing_in_force,
                      service_districts=tuple(row.service_districts or ()),
                      service_industries=tuple(row.service_industries or ()),
                      registered_engineers=tuple(row.registered_engineers or ()), version=row.version)


def enterprise_fact(row: Any) -> EnterpriseFact:
    return EnterpriseFact(uscc=row.uscc, id=str(row.id), name=row.name, industry=row.industry,
                          district_code=row.district_code, risk_level=row.risk_level, version=row.version)


def _engineers(data: dict[str, Any]) -> list[str]:
    if isinstance(data.get("registered_engineers"), list):
        return [str(n).strip() for n in data["registered_engineers"] if str(n).strip()]
    staff = data.get("staff") or []
    return [str(s.get("name", "")).strip() for s in staff
            if isinstance(s, dict) and s.get("role") == "registered_safety_engineer" and str(s.get("name", "")).strip()]


def _agency_values(data: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "id": uuid.UUID(str(data["id"])),
        "uscc": str(data["uscc"]),
        "name": str(data["name"]),
        "status": str(data["status"]),
        "filing_in_force": bool(data["filing_in_force"]) if data.get("filing_in_force") is not None
        else str(data["status"]) == "approved",
        "district_code": data.get("district_code"),
        "service_districts": [str(d) for d in data.get("service_districts") or []],
        "service_industries": [str(i) for i in data.get("service_industries") or []],
        "registered_engineers": _engineers(data),
        "version": int(data.get("version") or 0),
        "source": source,
        "updated_at": utcnow(),
    }


def _enterprise_values(data: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "uscc": str(data["uscc"]),
        "id": str(data["id"]),
        "name": str(data["name"]),
        "industry": str(data["industry"]),
        "district_code": str(data["district_code"]),
        "risk_level": str(data["risk_level"]),
        "version": int(data.get("version") or 0),
        "source": source,
        "updated_at": utcnow(),
    }


def _newer(existing: Any, version: int) -> bool:
    """An event replaces a row when its version is newer, or equal to a row we only fetched."""
    return version > existing.version or (version == existing.version and existing.source == "peer")


# --- applying events -----------------------------------------------------------------------
async def apply_agency_event(session: AsyncSession, data: dict[str, Any]) -> tuple[bool, str | None]:
    """Upsert the agency from an ``agency.*`` event. Returns (applied, previous status)."""
    values = _agency_values(data, "event")
    t = AGENCY_TABLE
    existing = (await session.execute(sa.select(t).where(t.c.id == values["id"]).with_for_update())).first()
    if existing is None:
        if await insert_ignore(session, t, values):
            return True, None
        existing = (await session.execute(sa.select(t).where(t.c.id == values["id"]).with_for_update())).first()
    if not _newer(existing, values["version"]):
        return False, existing.status
    await session.execute(sa.update(t).where(t.c.id == values["id"]).values(**values))
    return True, existing.status


async def apply_enterprise_event(session: AsyncSession, data: dict[str, Any]) -> tuple[bool, str | None]:
    """Upsert the enterprise from an ``enterprise.*`` event. Returns (applied, previous risk level)."""
    values = _enterprise_values(data, "event")
    t = ENTERPRISE_TABLE
    existing = (await session.execute(sa.select(t).where(t.c.uscc == values["uscc"]).with_for_update())).first()
    if existing is None:
        if await insert_ignore(session, t, values):
            return True, None
        existing = (await session.execute(sa.select(t).where(t.c.uscc == values["uscc"]).with_for_update())).first()
    if not _newer(existing, values["version"]):
        return False, existing.risk_level
    await session.execute(sa.update(t).where(t.c.uscc == values["uscc"]).values(**values))
    return True, existing.risk_level


# --- lookups with the peer fallback ----------------------------------------------------------
async def agency_in_model(session: AsyncSession, agency_id: uuid.UUID) -> AgencyFact | None:
    row = (await session.execute(sa.select(AGENCY_TABLE).where(AGENCY_TABLE.c.id == agency_id))).first()
    return agency_fact(row) if row else None


async def enterprise_in_model(session: AsyncSession, uscc: str) -> EnterpriseFact | None:
    row = (await session.execute(sa.select(ENTERPRISE_TABLE).where(ENTERPRISE_TABLE.c.uscc == uscc))).first()
    return enterprise_fact(row) if row else None


async def _peer_get(settings: Settings, peer: str, path: str, authorization: str | None) -> dict[str, Any] | None:
    """GET a peer's resource: the JSON body, None when the peer says 404/403, 503 when it is down."""
    url = f"{settings.url_of(peer)}{path}"
    headers = {"Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    try:
        async with httpx.AsyncClient(timeout=settings.peer_timeout_seconds) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("contracts.peer_unavailable", peer=peer, url=url, error=type(exc).__name__)
        raise ServiceUnavailable(text(f"暂时无法访问 {peer} 服务，请稍后再试", f"The {peer} service is unavailable; try again later"),
                                 headers={"Retry-After": "5"}) from exc
    if response.status_code in (403, 404, 410):
        return None
    if response.status_code != 200:
        log.warning("contracts.peer_error", peer=peer, url=url, status=response.status_code)
        raise ServiceUnavailable(text(f"{peer} 服务返回异常（{response.status_code}）",
                                      f"The {peer} service answered {response.status_code}"), headers={"Retry-After": "5"})
    try:
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("not an object")
        return body
    except ValueError as exc:
        raise ServiceUnavailable(text(f"{peer} 服务返回的内容无法解析", f"The {peer} service sent an unreadable answer")) from exc


def _unknown(code: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(text(zh, en), code=code, errors=[FieldError(field, text(zh, en))])


async def _resolve(db: Any, settings: Settings, *, key: Any, key_field: str, in_model: Callable[[Any, Any], Awaitable[Any]],
                   table: sa.Table, to_values: Callable[[dict[str, Any], str], dict[str, Any]], peer: str, path: str,
                   authorization: str | None, unknown: ValidationFailed, incomplete: ServiceUnavailable) -> Any:
    """The fact from the local read model; when the read model does not know it yet, from its
    owning service (the caller's token forwarded), kept so that a later event wins."""
    async with db.reader() as session:
        fact = await in_model(session, key)
    if fact is not None:
        return fact
    body = await _peer_get(settings, peer, path, authorization)
    if body is None:
        raise unknown
    try:
        values = to_values(body, "peer")
    except (KeyError, TypeError, ValueError) as exc:
        raise incomplete from exc
    if values[key_field] != key:
        raise unknown
    async with db.transaction(notify=False) as session:
        await insert_ignore(session, table, values)  # an event that arrived meanwhile wins
        fact = await in_model(session, key)
    assert fact is not None
    return fact


async def resolve_agency(db: Any, settings: Settings, agency_id: uuid.UUID, authorization: str | None) -> AgencyFact:
    return await _resolve(
        db, settings, key=agency_id, key_field="id", in_model=agency_in_model, table=AGENCY_TABLE,
        to_values=_agency_values, peer="registry", path=f"/api/v1/agencies/{agency_id}", authorization=authorization,
        unknown=_unknown("agency_unknown", "agency_id", "找不到该中介机构", "No such agency"),
        incomplete=ServiceUnavailable(text("机构服务返回的数据不完整", "The registry sent an incomplete agency")))


async def resolve_enterprise(db: Any, settings: Settings, uscc: str, authorization: str | None) -> EnterpriseFact:
    return await _resolve(
        db, settings, key=uscc, key_field="uscc", in_model=enterprise_in_model, table=ENTERPRISE_TABLE,
        to_values=_enterprise_values, peer="enterprises", path=f"/api/v1/enterprises/by-uscc/{uscc}",
        authorization=authorization,
        unknown=_unknown("enterprise_unknown", "enterprise_uscc", "找不到该企业（尚未登记）", "No such enterprise (not registered)"),
        incomplete=ServiceUnavailable(text("企业服务返回的数据不完整", "The enterprises service sent an incomplete enterprise")))
