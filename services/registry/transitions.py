"""Agency status transitions (SPEC §7): submit, review, suspend / reinstate / revoke, expire.

Each is one transaction that locks the agency, checks the caller, ``If-Match`` and the state
machine (409 otherwise), changes the status, keeps the directory and the engineer claims in step,
appends regulatory acts to the audit trail and emits the ``agency.<event>`` through the outbox.
The decisions behind them are listed in service.py's docstring.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit_trail
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.i18n import text
from shared.db import next_in_sequence
from shared.reference import load_jurisdiction

from services.registry import checks as checks_mod
from services.registry import directory
from services.registry.events import EVENT_OF_ACTION, status_event_data
from services.registry.models import Agency, FilingSequence
from services.registry.schemas import AgencyRead, ReviewIn
from services.registry.service import Loaded, Precondition, full, load, refused, require_governing, require_owner, touch

log = structlog.get_logger("registry.transitions")

# action -> (allowed from, to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft", "needs_more_info", "approved", "expired"}), "submitted"),
    "approve": (frozenset({"submitted"}), "approved"),
    "reject": (frozenset({"submitted"}), "rejected"),
    "request_changes": (frozenset({"submitted"}), "needs_more_info"),
    "suspend": (frozenset({"approved"}), "suspended"),
    "reinstate": (frozenset({"suspended"}), "approved"),
    "revoke": (frozenset({"approved", "suspended"}), "revoked"),
    "expire": (frozenset({"approved"}), "expired"),
}
REGULATORY_ACTIONS = ("suspend", "reinstate", "revoke")


def _transition(agency: Agency, action: str) -> str:
    allowed, target = TRANSITIONS[action]
    if agency.status not in allowed:
        raise refused(agency.status, action)
    return target


async def _emit(ctx: ServiceContext, session: AsyncSession, loaded: Loaded, action: str, previous: str,
                reason: str | None) -> None:
    in_force = await directory.is_listed(session, loaded.agency.id)
    log.info(f"registry.agency.{action}", agency_id=str(loaded.agency.id), status=loaded.agency.status,
             previous_status=previous, version=loaded.agency.version)
    await ctx.outbox.emit(session, EVENT_OF_ACTION[action], status_event_data(
        loaded.agency, loaded.staff, previous_status=previous, reason=reason, filing_in_force=in_force))


async def _record(ctx: ServiceContext, session: AsyncSession, actor: str, action: str, agency: Agency,
                  payload: dict[str, Any]) -> None:
    await audit_trail.append(session, ctx.infra.audit_trail, at=ctx.clock.now(), actor=actor,
                             action=f"agency.{action}", entity_type="agency", entity_id=str(agency.id), payload=payload)


async def submit(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID,
                 precondition: Precondition) -> AgencyRead:
    async with ctx.db.transaction() as session:
        loaded = await load(session, agency_id, lock=True)
        agency = loaded.agency
        require_owner(principal, agency)
        precondition(agency.version)
        previous = agency.status
        agency.status = _transition(agency, "submit")
        await checks_mod.claim_engineers(session, agency, loaded.staff)  # 422 staff.exclusive
        agency.checks = [*checks_mod.run_checks(agency, loaded.staff, ctx.policy, ctx.clock.today()),
                         checks_mod.exclusivity_check(True)]
        agency.submitted_at = ctx.clock.now()
        agency.review_comments = None
        agency.status_reason = None
        touch(ctx, agency)
        await session.flush()
        await _emit(ctx, session, loaded, "submit", previous, None)
        return await full(session, loaded)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


async def _allocate_filing_no(ctx: ServiceContext, session: AsyncSession, year: int) -> str:
    number = await next_in_sequence(session, FilingSequence.__table__, key="year", key_value=year, counter="last")
    return load_jurisdiction().filing_no("TG", year, number, width=4)


async def review(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID, data: ReviewIn,
                 precondition: Precondition) -> AgencyRead:
    async with ctx.db.transaction() as session:
        loaded = await load(session, agency_id, lock=True)
        agency = loaded.agency
        require_governing(principal, agency)
        precondition(agency.version)
        previous = agency.status
        target = _transition(agency, data.decision)
        comments = data.comments.strip()
        failed = checks_mod.failed_codes(agency.checks or [])
        if data.decision == "approve" and failed and not comments:
            raise ValidationFailed(
                text(f"以下自动检查未通过：{'、'.join(failed)}；批准须在 comments 中说明理由",
                     f"Automatic checks failed: {', '.join(failed)}; approving needs comments explaining the override"),
                code=ErrorCode.REVIEW_OVERRIDE_COMMENT_REQUIRED,
                errors=[FieldError("comments", text("存在未通过的检查时批准须填写意见", "required to override failed checks"))],
                extra={"failed_checks": failed})
        if data.decision != "approve" and not comments:
            raise ValidationFailed(text("驳回或要求补正须填写意见", "Rejecting or requesting changes needs comments"),
                                   code=ErrorCode.REVIEW_COMMENTS_REQUIRED,
                                   errors=[FieldError("comments", text("必填", "required"))])
        agency.status = target
        agency.review_comments = comments or None
        today = ctx.clock.today()
        if data.decision == "approve":
            if agency.filing_no is None:
                agency.filing_no = await _allocate_filing_no(ctx, session, today.year)
            agency.valid_until = _add_years(today, ctx.policy.filing_validity_years)
            agency.approved_at = ctx.clock.now()
            await directory.list_agency(session, agency, loaded.staff)
        elif data.decision == "reject":
            await directory.delist_agency(session, agency.id)
            await checks_mod.release_engineers(session, agency.id)
        else:  # request_changes: a renewal's current filing stays listed while in force
            await checks_mod.release_engineers(session, agency.id)
        touch(ctx, agency)
        await session.flush()
        await _record(ctx, session, principal.actor, f"review.{data.decision}", agency, {
            "from": previous, "to": target, "comments": comments, "overridden_checks": failed if data.decision == "approve" else [],
            "filing_no": agency.filing_no, "valid_until": agency.valid_until.isoformat() if agency.valid_until else None})
        await _emit(ctx, session, loaded, data.decision, previous, comments or None)
        return await full(session, loaded)


async def regulate(ctx: ServiceContext, *, principal: Principal, agency_id: uuid.UUID, action: str, reason: str,
                   precondition: Precondition) -> AgencyRead:
    """suspend | reinstate | revoke, by the governing bureau, with a reason."""
    assert action in REGULATORY_ACTIONS
    async with ctx.db.transaction() as session:
        loaded = await load(session, agency_id, lock=True)
        agency = loaded.agency
        require_governing(principal, agency)
        precondition(agency.version)
        previous = agency.status
        agency.status = _transition(agency, action)
        agency.status_reason = reason
        if action == "reinstate":
            await directory.list_agency(session, agency, loaded.staff)
        else:
            await directory.delist_agency(session, agency.id)
        if action == "revoke":
            await checks_mod.release_engineers(session, agency.id)
        touch(ctx, agency)
        await session.flush()
        await _record(ctx, session, principal.actor, action, agency, {"from": previous, "to": agency.status, "reason": reason})
        await _emit(ctx, session, loaded, action, previous, reason)
        return await full(session, loaded)


async def expire_one(ctx: ServiceContext, agency_id: uuid.UUID, as_of: date) -> bool:
    """Expire one approved agency whose filing ran out before ``as_of``; False when another
    replica (or a bureau act) got there first — the UPDATE is conditional."""
    async with ctx.db.transaction() as session:
        t = Agency.__table__
        result = await session.execute(
            sa.update(t).where(t.c.id == agency_id, t.c.status == "approved", t.c.valid_until < as_of)
            .values(status="expired", version=t.c.version + 1, updated_at=ctx.clock.now(),
                    status_reason=f"备案有效期已于 {as_of.isoformat()} 前届满 / filing validity ended"))
        if result.rowcount != 1:
            return False
        loaded = await load(session, agency_id)
        await session.refresh(loaded.agency)
        await directory.delist_agency(session, agency_id)
        await checks_mod.release_engineers(session, agency_id)
        await _record(ctx, session, "system:sweep", "expire", loaded.agency,
                      {"from": "approved", "to": "expired", "valid_until": str(loaded.agency.valid_until),
                       "as_of": as_of.isoformat()})
        await _emit(ctx, session, loaded, "expire", "approved", loaded.agency.status_reason)
    return True
