"""The parties a contract is about, as this service knows them: the agency and enterprise read
models, fed by the owning services' events (consumers.py) — and, where a read model does not know
a party yet because its event has not arrived, fetched once from the owning service.

The fallback (SPEC §2: the exception, with a timeout and a clear 503) is written once, for both
peers: GET the party with the caller's token forwarded, within ``peer_timeout_seconds``; a peer
that is down, slow or answering nonsense is 503, one that does not know the party is 422 naming
the field. The copy is kept (``source = peer``) under the one read-model rule — strictly newer
versions apply — stored one version *below* the version fetched: it stands in for the events
before that version, and the event of that version itself still applies when it arrives (it
carries what a profile lacks, ``filing_in_force``, and may start a cascade).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import structlog

from services.contracts.models import AgencyFacts, AgencyStatus, EnterpriseFacts, FactSource
from services.contracts.repository import Agencies, Enterprises, ReadModel
from shared.clock import utcnow
from shared.errors import ErrorCode, FieldError, ServiceUnavailable, ValidationFailed
from shared.i18n import Text, text
from shared.uow import UnitOfWork

log = structlog.get_logger("contracts.facts")
M = TypeVar("M")


# --- a party's values, from its event or its owner's API -----------------------------------
def _engineers(data: Mapping[str, Any]) -> list[str]:
    """Registered engineers' names: an event lists them, the registry's profile lists staff."""
    if isinstance(data.get("registered_engineers"), list):
        return [str(n).strip() for n in data["registered_engineers"] if str(n).strip()]
    staff = data.get("staff") or []
    return [
        str(s.get("name", "")).strip()
        for s in staff
        if isinstance(s, dict) and s.get("role") == "registered_safety_engineer" and str(s.get("name", "")).strip()
    ]


def agency_values(data: Mapping[str, Any], source: FactSource) -> dict[str, Any]:
    in_force = data.get("filing_in_force")
    return {
        "id": uuid.UUID(str(data["id"])),
        "uscc": str(data["uscc"]),
        "name": str(data["name"]),
        "status": str(data["status"]),
        "filing_in_force": bool(in_force) if in_force is not None else str(data["status"]) == AgencyStatus.APPROVED,
        "district_code": data.get("district_code"),
        "service_districts": [str(d) for d in data.get("service_districts") or []],
        "service_industries": [str(i) for i in data.get("service_industries") or []],
        "registered_engineers": _engineers(data),
        "version": int(data.get("version") or 0),
        "source": source,
        "updated_at": utcnow(),
    }


def enterprise_values(data: Mapping[str, Any], source: FactSource) -> dict[str, Any]:
    return {
        "uscc": str(data["uscc"]),
        "id": str(data["id"]),
        "name": str(data["name"]),
        "industry": str(data["industry"]),
        "district_code": str(data["district_code"]),
        "town": str(data["town"]) if data.get("town") else None,
        "risk_level": str(data["risk_level"]),
        "version": int(data.get("version") or 0),
        "source": source,
        "updated_at": utcnow(),
    }


# --- the fallback --------------------------------------------------------------------------
@dataclass(frozen=True)
class Peer(Generic[M]):
    """The service owning one kind of party: where to ask, how its answer becomes read-model
    values, and what to say when it does not know the party."""

    service: str
    path: str  # with {key}
    field: str  # the request field naming the party
    read_model: type[ReadModel[M]]
    to_values: Callable[[Mapping[str, Any], FactSource], dict[str, Any]]
    unknown_code: ErrorCode
    unknown: Text
    incomplete: Text


REGISTRY = Peer(
    "registry",
    "/api/v1/agencies/{key}",
    "agency_id",
    Agencies,
    agency_values,
    ErrorCode.AGENCY_UNKNOWN,
    text("找不到该中介机构", "No such agency"),
    text("机构服务返回的数据不完整", "The registry sent an incomplete agency"),
)
ENTERPRISES = Peer(
    "enterprises",
    "/api/v1/enterprises/by-uscc/{key}",
    "enterprise_uscc",
    Enterprises,
    enterprise_values,
    ErrorCode.ENTERPRISE_UNKNOWN,
    text("找不到该企业（尚未登记）", "No such enterprise (not registered)"),
    text("企业服务返回的数据不完整", "The enterprises service sent an incomplete enterprise"),
)


async def known_agency(uow: UnitOfWork, *, agency_id: uuid.UUID, token: str | None) -> AgencyFacts:
    """The agency as the read model knows it, fetched first if need be (422 ``agency_unknown``, 503)."""
    return await _known(uow, REGISTRY, agency_id, token)


async def known_enterprise(uow: UnitOfWork, *, uscc: str, token: str | None) -> EnterpriseFacts:
    """The enterprise as the read model knows it, fetched first if need be (422 ``enterprise_unknown``, 503)."""
    return await _known(uow, ENTERPRISES, uscc, token)


class PartyUnknown(Exception):
    """Raised inside a write transaction whose party the read model does not know yet: the
    transaction rolls back, ``learn`` fetches the party from its owner, and the write runs again.
    The common case (the party known) thus costs no read before the transaction."""

    def __init__(self, peer: Peer[Any], key: Any) -> None:
        super().__init__(f"{peer.service} {key}")
        self.peer, self.key = peer, key


def agency_unknown(agency_id: uuid.UUID) -> PartyUnknown:
    return PartyUnknown(REGISTRY, agency_id)


def enterprise_unknown(uscc: str) -> PartyUnknown:
    return PartyUnknown(ENTERPRISES, uscc)


async def learn(uow: UnitOfWork, unknown: PartyUnknown, token: str | None) -> None:
    """Fetch the party a write found unknown and keep its copy (422 unknown to its owner, 503)."""
    await _fetch(uow, unknown.peer, unknown.key, token)


async def _known(uow: UnitOfWork, peer: Peer[M], key: Any, token: str | None) -> M:
    async with uow.read():
        found = await peer.read_model(uow.session).find(key)
    if found is not None:
        return found
    return await _fetch(uow, peer, key, token)


async def _fetch(uow: UnitOfWork, peer: Peer[M], key: Any, token: str | None) -> M:
    body = await _get(uow, peer, peer.path.format(key=key), token)
    unknown = ValidationFailed(peer.unknown, code=peer.unknown_code, errors=[FieldError(peer.field, peer.unknown)])
    if body is None:
        raise unknown
    try:
        values = peer.to_values(body, FactSource.PEER)
    except (KeyError, TypeError, ValueError) as exc:
        raise ServiceUnavailable(peer.incomplete) from exc
    if values[peer.read_model.key] != key:
        raise unknown
    values["version"] -= 1  # the event of the fetched version still applies (module docstring)
    # A unit of work of its own, without the request's commit hooks: the Idempotency-Key marks
    # *this request's* effects, and a copy of another service's state is not one (the request
    # may still fail after it).
    async with uow.runtime.unit_of_work(uow.principal) as cache:
        read_model = peer.read_model(cache.session)
        await read_model.apply(values)
        known = await read_model.find(key)
    assert known is not None  # just written, or an event that arrived meanwhile won
    return known


async def _get(uow: UnitOfWork, peer: Peer[Any], path: str, token: str | None) -> dict[str, Any] | None:
    """GET a peer's resource: its JSON object, None when the peer says 403/404/410, 503 when it is
    down, slow or answers anything else."""
    settings = uow.runtime.settings
    url = f"{settings.url_of(peer.service)}{path}"
    headers = {"Accept": "application/json", **({"Authorization": token} if token else {})}
    name = peer.service
    try:
        async with httpx.AsyncClient(timeout=settings.peer_timeout_seconds) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        log.warning("contracts.peer_unavailable", peer=name, url=url, error=type(exc).__name__)
        raise ServiceUnavailable(
            text(f"暂时无法访问 {name} 服务，请稍后再试", f"The {name} service is unavailable; try again later"),
            headers={"Retry-After": "5"},
        ) from exc
    if response.status_code in (403, 404, 410):
        return None
    if response.status_code != 200:
        log.warning("contracts.peer_error", peer=name, url=url, status=response.status_code)
        raise ServiceUnavailable(
            text(
                f"{name} 服务返回异常（{response.status_code}）", f"The {name} service answered {response.status_code}"
            ),
            headers={"Retry-After": "5"},
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise ServiceUnavailable(
            text(f"{name} 服务返回的内容无法解析", f"The {name} service sent an unreadable answer")
        ) from exc
    if not isinstance(body, dict):
        raise ServiceUnavailable(
            text(f"{name} 服务返回的内容无法解析", f"The {name} service sent an unreadable answer")
        )
    return body
