"""The serious-dishonesty list (严重失信名单, SPEC §19): a bureau notices an organisation (an agency
or an enterprise) → ``noticed``; the organisation may object within ``credit_objection_days`` →
``objected``, on which the bureau decides (list or withdraw); with no objection the listing takes
effect when the period ends (sweep). A listing lasts ``credit_list_years`` (then ``expired``, by
sweep) and may be repaired after ``credit_repair_after_months`` (``repairable``, by sweep): the
organisation requests it, the bureau repairs or refuses. Every step is on the audit trail; the
catalog's steps emit ``credit.noticed|listed|withdrawn|expired|repaired`` (states.LISTING).

Dates: the notice's day is the bureau's today; the objection period ends at the end of
``noticed_on + credit_objection_days``; a listing without objection takes effect the day after
(whenever the sweep runs), one decided on an objection the day of the decision. ``until`` and
``repairable_from`` count from ``listed_at``.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date, timedelta
from typing import Any

import structlog

from services.audit import events
from services.audit.models import CreditListing, ListingOrgKind
from services.audit.repository import Listing
from services.audit.repository.listings import CreditListings
from services.audit.repository.readmodels import Agencies, Enterprises
from services.audit.schemas import CreditListingCreate, ListingDecision
from services.audit.states import (
    DECIDE,
    EXPIRE,
    LAPSE,
    LISTING,
    LISTS_DISHONESTY,
    OBJECT,
    OPEN_REPAIR,
    READS_LISTINGS,
    REQUEST_REPAIR,
    ListingStatus,
)
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, Unauthorized, ValidationFailed
from shared.events.catalog import EventType
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.policy import Policy
from shared.scopes import governs
from shared.states import Action
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.listings")
TARGETS = {
    ListingDecision.LIST: ListingStatus.LISTED,
    ListingDecision.WITHDRAW: ListingStatus.WITHDRAWN,
    ListingDecision.REPAIR: ListingStatus.REPAIRED,
    ListingDecision.REFUSE: ListingStatus.REPAIRABLE,
}
ENDS = frozenset({ListingStatus.WITHDRAWN, ListingStatus.REPAIRED, ListingStatus.EXPIRED})


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def take_effect(listing: CreditListing, day: date, policy: Policy) -> None:
    """The listing is in force from ``day``: its end and the day it may be repaired."""
    listing.listed_at = day
    listing.until = add_months(day, 12 * policy.credit_list_years)
    listing.repairable_from = add_months(day, policy.credit_repair_after_months)


async def _trail(uow: UnitOfWork, listing: CreditListing, action: str, **payload: Any) -> None:
    await uow.audit(
        action=f"credit_listing.{action}",
        entity_type="credit_listing",
        entity_id=listing.id,
        payload={"org_uscc": listing.uscc, "org_kind": str(listing.org_kind), "status": str(listing.status)} | payload,
    )


async def _moved(uow: UnitOfWork, listing: CreditListing, emits: Any) -> None:
    listing.version += 1
    listing.updated_at = uow.now
    if emits:
        await uow.emit(emits, events.listing_changed(listing))


async def notice_listing(uow: UnitOfWork, *, body: CreditListingCreate) -> CreditListing:
    """A bureau of the organisation's district or the city (403 otherwise); the organisation must be
    known here (422); one listing under way per organisation (409)."""
    principal = uow.principal
    if principal.role not in LISTS_DISHONESTY:
        raise Forbidden(text("严重失信名单由监管部门列入", "A bureau lists serious dishonesty"))
    kind = ListingOrgKind(body.org_kind)
    today = uow.clock.today()
    async with uow:
        if kind == ListingOrgKind.AGENCY:
            agencies = await Agencies(uow.session).by_uscc(body.uscc)
            found = (agencies[0].name, agencies[0].district_code) if agencies else None
            code = ErrorCode.UNKNOWN_AGENCY
        else:
            enterprise = await Enterprises(uow.session).find(body.uscc)
            found = (enterprise.name, enterprise.district_code) if enterprise else None
            code = ErrorCode.ENTERPRISE_UNKNOWN
        if found is None:
            raise ValidationFailed(
                text("该组织不存在", "Unknown organisation"),
                code=code,
                errors=[FieldError("org_uscc", text("未找到该统一社会信用代码的组织", "no such organisation"))],
            )
        name, district = found
        if not governs(principal, district):
            raise Forbidden(
                text("只能由该组织所在区县或市级监管部门列入", "The bureau of its district or the city lists it")
            )
        listings = CreditListings(uow.session)
        existing = await listings.under_way(body.uscc, kind)
        if existing is not None:
            raise Conflict(code=ErrorCode.CREDIT_LISTING_EXISTS, extra={"existing_id": str(existing.id)})
        listing = CreditListing(
            id=new_id(),
            uscc=body.uscc,
            org_kind=kind,
            name=name,
            district_code=district,
            reason=body.reason,
            legal_basis=body.legal_basis,
            status=ListingStatus.NOTICED,
            noticed_on=today,
            objection_until=today + timedelta(days=uow.policy.credit_objection_days),
            created_by=principal.actor,
            created_at=uow.now,
            updated_at=uow.now,
        )
        await listings.add(listing)
        await uow.emit(EventType.CREDIT_NOTICED, events.listing_changed(listing))
        await _trail(uow, listing, "noticed", reason=body.reason, legal_basis=body.legal_basis)
    log.info("audit.listing.noticed", listing_id=str(listing.id), org_kind=str(kind))
    return listing


async def _load(uow: UnitOfWork, listing_id: uuid.UUID, action: Action, if_match: Precondition) -> CreditListing:
    """The listing, locked, for ``action``: 404/403 on the row, then 403 on the role, then 412."""
    listing = await CreditListings(uow.session).get(listing_id, uow.principal, write=True)
    LISTING.authorize(action, uow.principal.role)
    if_match.check(listing.version)
    return listing


async def object_to_listing(
    uow: UnitOfWork, *, listing_id: uuid.UUID, statement: str, if_match: Precondition
) -> CreditListing:
    """The organisation itself, while noticed and within the objection period (409 after it)."""
    async with uow:
        listing = await _load(uow, listing_id, OBJECT, if_match)
        step = LISTING.step(OBJECT, listing.status, uow.principal.role)
        if uow.clock.today() > listing.objection_until:
            raise Conflict(
                code=ErrorCode.OBJECTION_PERIOD_OVER, extra={"objection_until": listing.objection_until.isoformat()}
            )
        listing.status, listing.objection, listing.objected_at = step.target, statement, uow.now
        await _moved(uow, listing, step.emits)
        await _trail(uow, listing, "objected", statement=statement)
    return listing


async def request_listing_repair(
    uow: UnitOfWork, *, listing_id: uuid.UUID, statement: str, if_match: Precondition
) -> CreditListing:
    """The organisation itself, only while repairable (409 otherwise)."""
    async with uow:
        listing = await _load(uow, listing_id, REQUEST_REPAIR, if_match)
        step = LISTING.step(REQUEST_REPAIR, listing.status, uow.principal.role)
        listing.status, listing.repair_statement, listing.repair_requested_at = step.target, statement, uow.now
        await _moved(uow, listing, step.emits)
        await _trail(uow, listing, "repair_requested", statement=statement)
    return listing


async def decide_listing(
    uow: UnitOfWork, *, listing_id: uuid.UUID, decision: ListingDecision, reasons: str, if_match: Precondition
) -> CreditListing:
    """The bureau of the organisation's district or the city: list or withdraw an objected notice,
    repair or refuse a repair request (409 for a decision the state does not take)."""
    decision = ListingDecision(decision)
    async with uow:
        listing = await _load(uow, listing_id, DECIDE, if_match)
        step = LISTING.step(DECIDE, listing.status, uow.principal.role, to=TARGETS[decision])
        today = uow.clock.today()
        listing.status = step.target
        listing.decision, listing.decision_reasons = str(decision), reasons
        listing.decided_by, listing.decided_at = uow.principal.actor, uow.now
        if decision == ListingDecision.LIST:
            take_effect(listing, today, uow.policy)
        if step.target in ENDS:
            listing.ended_on = today
        await _moved(uow, listing, step.emits)
        await _trail(uow, listing, "decided", decision=str(decision), reasons=reasons)
    log.info("audit.listing.decided", listing_id=str(listing_id), decision=str(decision))
    return listing


async def get_listing(uow: UnitOfWork, *, listing_id: uuid.UUID) -> CreditListing:
    async with uow.read() as session:
        return await CreditListings(session).get(listing_id, uow.principal)


async def list_listings(
    uow: UnitOfWork, *, status: ListingStatus | None, page: PageParams
) -> tuple[bool, Listing[CreditListing]]:
    """Bureaus and admin: every listing, by state. Anyone else, without a token too: the public list
    (``status`` absent or ``listed``: the entries on the list); another state is not theirs to ask
    (401 without a token, 403 with one). The flag says which of the two it is (True: the full view)."""
    principal = uow.principal
    async with uow.read() as session:
        listings = CreditListings(session)
        if principal.role in READS_LISTINGS:
            return True, await listings.listing(principal, status=status, page=page)
        if status not in (None, ListingStatus.LISTED):
            if principal.is_anonymous:
                raise Unauthorized(
                    text("公开名单只含已列入的记录；其他状态需要登录", "The public list shows listed entries only"),
                    error="invalid_request",
                )
            raise Forbidden(text("只有监管部门可查看其他状态", "Only bureaus see listings in other states"))
        return False, await listings.public(page)


async def sweep_listings(uow: UnitOfWork, *, as_of: date) -> dict[str, int]:
    """Time moves listings: noticed past the objection period → listed (from the day after it);
    listed for ``credit_repair_after_months`` → repairable; listed or repairable for
    ``credit_list_years`` → expired — in that order, so that one sweep far ahead takes each as far
    as its dates say."""
    counts = {"listings_listed": 0, "listings_repairable": 0, "listings_expired": 0}
    async with uow:
        listings = CreditListings(uow.session)
        for listing in await listings.due(LISTING.sources_of(LAPSE), "objection_until", as_of, after=True):
            step = LISTING.step(LAPSE, listing.status)
            listing.status = step.target
            take_effect(listing, listing.objection_until + timedelta(days=1), uow.policy)
            await _moved(uow, listing, step.emits)
            await _trail(uow, listing, "listed", listed_at=str(listing.listed_at), until=str(listing.until))
            counts["listings_listed"] += 1
        for listing in await listings.due(LISTING.sources_of(OPEN_REPAIR), "repairable_from", as_of):
            if listing.until is not None and listing.until <= as_of:
                continue  # it expires below instead
            step = LISTING.step(OPEN_REPAIR, listing.status)
            listing.status = step.target
            await _moved(uow, listing, step.emits)
            await _trail(uow, listing, "repairable", repairable_from=str(listing.repairable_from))
            counts["listings_repairable"] += 1
        for listing in await listings.due(LISTING.sources_of(EXPIRE), "until", as_of):
            step = LISTING.step(EXPIRE, listing.status)
            listing.status, listing.ended_on = step.target, listing.until
            await _moved(uow, listing, step.emits)
            await _trail(uow, listing, "expired", until=str(listing.until))
            counts["listings_expired"] += 1
    return counts
