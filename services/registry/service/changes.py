"""Change filings (变更备案, SPEC §18) and renewals that carry changes.

- ``POST /agencies/{id}/changes`` (the agency, while ``approved``; ``states.FILE_CHANGE``): a change
  of the contact phone or the address only is applied at once (recorded ``applied``, version
  bumped, ``agency.changed``); anything else is recorded ``submitted`` with the automatic checks
  run on the filing as it would be after the change, for the bureaus that review filings.
- Staff exclusivity: a new roster naming a certificate that counts for another agency is 422
  ``staff_exclusive`` at once and again at approval (when the certificates are claimed).
- An engineer named on a live contract (``ContractEngineers``, from ``contract.*`` events) may not
  leave the roster: 422 ``engineer_under_contract`` naming the contracts, at filing and approval.
- Approval (``states.CHANGE``) applies the change, refreshes the directory entry of a listed
  agency (``changed``) and emits ``agency.changed`` with the status events' payload.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from services.registry import events
from services.registry.models import Agency, AgencyChange, AgencyStaff
from services.registry.repository import Agencies, Changes, Directory
from services.registry.schemas import ChangeIn, RenewalIn
from services.registry.service.checks import EXCLUSIVE, run_checks
from services.registry.service.filing import staff_rows
from services.registry.service.review import claim_engineers
from services.registry.service.roster import apply, check_roster
from services.registry.states import (
    AGENCY,
    APPROVE_CHANGE,
    CHANGE,
    CHANGE_DECISIONS,
    FILE_CHANGE,
    ChangeStatus,
    ListChange,
)
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.events.catalog import EventType
from shared.i18n import text
from shared.ids import new_id
from shared.policy import Policy
from shared.uow import UnitOfWork

AT_ONCE = frozenset({"contact_phone", "address"})


def checks_after(
    agency: Agency, body: RenewalIn, staff: list[AgencyStaff] | None, policy: Policy, today: date
) -> list[dict[str, Any]]:
    """The automatic checks of the filing as it would be after the change."""
    quals = [q.model_dump(mode="json") for q in body.qualifications] if body.qualifications is not None else None
    roster = staff if staff is not None else agency.staff
    return [c.stored() for c in (*run_checks(agency, roster, policy, today, qualifications=quals), EXCLUSIVE)]


async def announce(uow: UnitOfWork, agency: Agency, *, reason: str | None) -> None:
    in_force = await Directory(uow.session).lists(agency.id)
    await uow.emit(
        EventType.AGENCY_CHANGED,
        events.agency_changed(
            agency, previous_status=agency.status, reason=reason, filing_in_force=in_force, today=uow.clock.today()
        ),
    )


async def file_change(uow: UnitOfWork, *, agency_id: uuid.UUID, body: ChangeIn) -> AgencyChange:
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        AGENCY.authorize(FILE_CHANGE, uow.principal.role)
        AGENCY.step(FILE_CHANGE, agency.status)
        given, today = body.changes(), uow.clock.today()
        staff = staff_rows(agency.id, body.staff) if body.staff is not None else None
        if staff is not None:
            await check_roster(uow, agency, staff)
        change = AgencyChange(
            id=new_id(),
            agency_id=agency.id,
            status=ChangeStatus.SUBMITTED,
            changes=given,
            reason=body.reason,
            checks=checks_after(agency, body, staff, uow.policy, today),
            filed_by=uow.principal.actor,
            created_at=uow.now,
        )
        if set(given) <= AT_ONCE:
            change.status, change.decided_at, change.checks = ChangeStatus.APPLIED, uow.now, []
            apply(agency, body, policy=uow.policy, today=today)
            agency.touch(uow.now)
        uow.session.add(change)
        await uow.session.flush()
        await uow.audit(
            action=f"agency.change.{change.status}",
            entity_type="agency",
            entity_id=agency.id,
            payload={"change_id": str(change.id), "fields": sorted(given), "reason": body.reason},
        )
        if change.status == ChangeStatus.APPLIED:
            await announce(uow, agency, reason=body.reason)
    return change


async def list_changes(uow: UnitOfWork, *, agency_id: uuid.UUID) -> list[AgencyChange]:
    async with uow.read():
        await Agencies(uow.session).get(agency_id, uow.principal)
        return await Changes(uow.session).of_agency(agency_id)


async def review_change(
    uow: UnitOfWork, *, agency_id: uuid.UUID, change_id: uuid.UUID, decision: str, comments: str
) -> AgencyChange:
    action = CHANGE_DECISIONS[decision]
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        CHANGE.authorize(action, uow.principal.role)
        change = await Changes(uow.session).get(agency.id, change_id)
        step = CHANGE.step(action, change.status)
        comments = comments.strip()
        failed = change.failed_checks if action is APPROVE_CHANGE else []
        if not comments and (failed or action is not APPROVE_CHANGE):
            raise ValidationFailed(
                text(
                    "驳回变更或批准未通过自动检查的变更须填写意见",
                    "Rejecting, or approving over failed checks, needs comments",
                ),
                code=ErrorCode.REVIEW_OVERRIDE_COMMENT_REQUIRED if failed else ErrorCode.REVIEW_COMMENTS_REQUIRED,
                errors=[FieldError("comments", text("必填", "required"))],
                extra={"failed_checks": failed},
            )
        if action is APPROVE_CHANGE:
            await _approve(uow, agency, change)
        change.status, change.review_comments = step.target, comments or None
        change.decided_by, change.decided_at = uow.principal.actor, uow.now
        await uow.session.flush()
        await uow.audit(
            action=f"agency.change.review.{action.name}",
            entity_type="agency",
            entity_id=agency.id,
            payload={"change_id": str(change.id), "comments": comments, "overridden_checks": failed},
        )
        if action is APPROVE_CHANGE:
            await announce(uow, agency, reason=change.reason)
    return change


async def _approve(uow: UnitOfWork, agency: Agency, change: AgencyChange) -> None:
    if not AGENCY.can(FILE_CHANGE, agency.status):  # suspended or revoked since it was filed
        raise AGENCY.refusal(FILE_CHANGE, agency.status)
    body = ChangeIn.model_validate({**change.changes, "reason": change.reason})
    if body.staff is not None:
        await check_roster(uow, agency, staff_rows(agency.id, body.staff), exclusive=False)
    apply(agency, body, policy=uow.policy, today=uow.clock.today())
    if body.staff is not None:
        await claim_engineers(uow, agency)
    agency.touch(uow.now)
    await uow.session.flush()
    directory = Directory(uow.session)
    if await directory.lists(agency.id):
        await directory.enter(agency, at=uow.now, change=ListChange.CHANGED, reason=_changed(change))


def _changed(change: AgencyChange) -> str:
    return f"变更备案获批准 / change filing approved: {', '.join(sorted(change.changes))}"
