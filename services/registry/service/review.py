"""Status changes of a filing (SPEC §7): submit, review, suspend / reinstate / revoke, expire.

Each is one unit of work: load the filing for writing (404 / 403 by the repository), the caller's
role (403, states.AGENCY), ``If-Match`` (412), the state (409), then the change, the directory and
the engineer claims kept in step, the regulatory act appended to the audit trail and the
machine's event emitted through the outbox — all in the same transaction.

- Every status change announces ``agency.<event>`` with the ``AgencyStatusChanged`` payload plus
  ``previous_status`` and ``filing_in_force``; ``request_changes`` announces
  ``agency.needs_more_info`` (beyond the SPEC's list: every status change has an event).
- Staff exclusivity blocks the submission with 422 ``staff_exclusive`` naming the certificate
  numbers and never the other agency. A certificate counts for an agency while it is submitted,
  approved or suspended (a suspension is temporary: letting another agency take the engineer
  would make reinstatement impossible); rejection, a request for changes, revocation and expiry
  release it.
- Approving over a failed automatic check needs non-empty ``comments`` (422
  ``review_override_comment_required`` naming the failed rules); rejecting and requesting
  changes need ``comments`` too: an applicant must be told why.
- Renewal is ``submit`` from ``approved`` or ``expired``: an approved agency under renewal stays
  in the directory while its current filing is in force; approval gives a new ``valid_until``
  (approval date + ``filing_validity_years``) and keeps the agency's ``filing_no``.
- Filing numbers ``JM-TG-<year>-<nnnn>``: a counter per approval year, taken in the approving
  transaction; ``agency.filing_no`` is unique.
- Every regulatory act (review, suspend, reinstate, revoke, expire) is appended to the
  hash-chained audit trail.
- Every change of the public list is recorded by the repository's ``Directory`` in the same
  transaction (the list's history, SPEC §21): approval → ``listed`` (``changed`` for a renewal
  of a listed agency), suspend / reinstate / revoke with the bureau's reason, expiry, and a
  refused renewal → ``delisted``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import structlog

from services.registry import events
from services.registry.models import Agency
from services.registry.repository import Agencies, Directory, EngineerClaims, FilingNumbers
from services.registry.schemas import RenewalIn
from services.registry.service.checks import EXCLUSIVE, run_checks
from services.registry.service.filing import staff_rows
from services.registry.service.roster import apply, certificate_positions, check_roster, staff_exclusive
from services.registry.states import (
    AGENCY,
    APPROVE,
    EXPIRE,
    REINSTATE,
    REJECT,
    REVIEW_DECISIONS,
    REVOKE,
    SUBMIT,
    SUSPEND,
    AgencyStatus,
    ListChange,
)
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.http import Precondition
from shared.i18n import text
from shared.reference import load_jurisdiction
from shared.roles import Role
from shared.states import Action, Transition
from shared.uow import UnitOfWork

log = structlog.get_logger("registry.review")


async def _announce(
    uow: UnitOfWork, step: Transition[AgencyStatus], agency: Agency, *, previous: str, reason: str | None
) -> None:
    """Emit the event the machine names for ``step``, after the filing and its listing changed."""
    in_force = await Directory(uow.session).lists(agency.id)
    log.info(
        "registry.agency.changed",
        action=step.action.name,
        agency_id=str(agency.id),
        status=agency.status,
        previous_status=previous,
        version=agency.version,
    )
    if step.emits is not None:
        await uow.emit(
            step.emits,
            events.agency_changed(
                agency, previous_status=previous, reason=reason, filing_in_force=in_force, today=uow.clock.today()
            ),
        )


async def claim_engineers(uow: UnitOfWork, agency: Agency) -> None:
    """The agency's engineers' certificates count for it alone; 422 ``staff_exclusive`` when one
    is taken."""
    keys = list(certificate_positions(agency.staff))
    taken_keys = await EngineerClaims(uow.session).claim(agency.id, keys, at=uow.now)
    if taken_keys:
        raise staff_exclusive(agency.staff, taken_keys)


async def submit(
    uow: UnitOfWork, *, agency_id: uuid.UUID, if_match: Precondition, body: RenewalIn | None = None
) -> Agency:
    """``body``: what a renewal changes (SPEC §18), reviewed with the filing."""
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        AGENCY.authorize(SUBMIT, uow.principal.role)
        if_match.check(agency.version)
        step = AGENCY.step(SUBMIT, agency.status)
        if body is not None and body.changes():
            if body.staff is not None:
                await check_roster(uow, agency, staff_rows(agency.id, body.staff), exclusive=False)
            apply(agency, body, policy=uow.policy, today=uow.clock.today())
        previous, agency.status = agency.status, step.target
        await claim_engineers(uow, agency)
        checks = [*run_checks(agency, agency.staff, uow.policy, uow.clock.today()), EXCLUSIVE]
        agency.checks = [c.stored() for c in checks]
        agency.submitted_at = uow.now
        agency.review_comments = None
        agency.status_reason = None
        agency.touch(uow.now)
        await uow.session.flush()
        await _announce(uow, step, agency, previous=previous, reason=None)
    return agency


RENEWAL_REJECTED = "续期申请未获批准，原备案移出公示名单 / renewal refused: the filing leaves the list"


def _approved(valid_until: date | None) -> str:
    """The public reason of an approval (the bureau's comments are for the applicant)."""
    day = valid_until.isoformat() if valid_until else "-"
    return f"备案审核通过，有效期至 {day} / filing approved, valid until {day}"


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_review_comments(action: Action, comments: str, failed: list[str]) -> None:
    if action is APPROVE and failed and not comments:
        raise ValidationFailed(
            text(
                f"以下自动检查未通过：{'、'.join(failed)}；批准须在 comments 中说明理由",
                f"Automatic checks failed: {', '.join(failed)}; approving needs comments explaining the override",
            ),
            code=ErrorCode.REVIEW_OVERRIDE_COMMENT_REQUIRED,
            errors=[
                FieldError("comments", text("存在未通过的检查时批准须填写意见", "required to override failed checks"))
            ],
            extra={"failed_checks": failed},
        )
    if action is not APPROVE and not comments:
        raise ValidationFailed(
            text("驳回或要求补正须填写意见", "Rejecting or requesting changes needs comments"),
            code=ErrorCode.REVIEW_COMMENTS_REQUIRED,
            errors=[FieldError("comments", text("必填", "required"))],
        )


async def review(
    uow: UnitOfWork, *, agency_id: uuid.UUID, decision: str, comments: str, if_match: Precondition
) -> Agency:
    """approve | reject | request_changes, by the governing bureau."""
    action = REVIEW_DECISIONS[decision]
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        AGENCY.authorize(action, uow.principal.role)
        if_match.check(agency.version)
        step = AGENCY.step(action, agency.status)
        comments = comments.strip()
        failed = agency.failed_checks
        _check_review_comments(action, comments, failed)
        previous, agency.status = agency.status, step.target
        agency.review_comments = comments or None
        today = uow.clock.today()
        directory, claims = Directory(uow.session), EngineerClaims(uow.session)
        if action is APPROVE:
            if agency.filing_no is None:
                number = await FilingNumbers(uow.session).next(today.year)
                agency.filing_no = load_jurisdiction().filing_no("TG", today.year, number, width=4)
            agency.valid_until = _add_years(today, uow.policy.filing_validity_years)
            agency.approved_at = uow.now
            await directory.enter(agency, at=uow.now, reason=_approved(agency.valid_until))
        elif action is REJECT:  # a renewal refused: its current filing leaves the list
            await directory.leave(agency.id, ListChange.DELISTED, at=uow.now, reason=RENEWAL_REJECTED)
            await claims.release(agency.id)
        else:  # request_changes: a renewal's current filing stays listed while in force
            await claims.release(agency.id)
        agency.touch(uow.now)
        await uow.session.flush()
        await uow.audit(
            action=f"agency.review.{action.name}",
            entity_type="agency",
            entity_id=agency.id,
            payload={
                "from": previous,
                "to": agency.status,
                "comments": comments,
                "overridden_checks": failed if action is APPROVE else [],
                "filing_no": agency.filing_no,
                "valid_until": agency.valid_until.isoformat() if agency.valid_until else None,
            },
        )
        await _announce(uow, step, agency, previous=previous, reason=comments or None)
    return agency


async def regulate(
    uow: UnitOfWork, *, agency_id: uuid.UUID, action: Action, reason: str, if_match: Precondition
) -> Agency:
    """suspend | reinstate | revoke, by the governing bureau, with a reason."""
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        AGENCY.authorize(action, uow.principal.role)
        if_match.check(agency.version)
        step = AGENCY.step(action, agency.status)
        previous, agency.status = agency.status, step.target
        agency.status_reason = reason
        directory = Directory(uow.session)
        if action is REINSTATE:
            await directory.enter(agency, at=uow.now, change=ListChange.REINSTATED, reason=reason)
        elif action is SUSPEND:
            await directory.leave(agency.id, ListChange.SUSPENDED, at=uow.now, reason=reason)
        else:  # revoked, from approved or suspended: the list's readers are told either way
            await directory.leave(agency.id, ListChange.REVOKED, at=uow.now, reason=reason, agency=agency)
        if action is REVOKE:
            await EngineerClaims(uow.session).release(agency.id)
        agency.touch(uow.now)
        await uow.session.flush()
        await uow.audit(
            action=f"agency.{action.name}",
            entity_type="agency",
            entity_id=agency.id,
            payload={"from": previous, "to": agency.status, "reason": reason},
        )
        await _announce(uow, step, agency, previous=previous, reason=reason)
    return agency


async def expire(uow: UnitOfWork, *, agency_id: uuid.UUID, as_of: date) -> bool:
    """Expire one approved filing whose validity ended before ``as_of`` (the sweep, acting for
    the service); False when another replica or a bureau's act got there first — the row is
    locked and its state read again, so two sweeps expire it once and announce it once."""
    async with uow:
        agency = await Agencies(uow.session).find(agency_id, lock=True)
        if (
            agency is None
            or not AGENCY.can(EXPIRE, agency.status)
            or agency.valid_until is None
            or agency.valid_until >= as_of
        ):
            return False
        step = AGENCY.step(EXPIRE, agency.status, Role.SYSTEM)
        previous, agency.status = agency.status, step.target
        agency.status_reason = f"备案有效期已于 {as_of.isoformat()} 前届满 / filing validity ended"
        agency.touch(uow.now)
        await Directory(uow.session).leave(agency.id, ListChange.EXPIRED, at=uow.now, reason=agency.status_reason)
        await EngineerClaims(uow.session).release(agency.id)
        await uow.session.flush()
        payload: dict[str, Any] = {
            "from": previous,
            "to": agency.status,
            "valid_until": str(agency.valid_until),
            "as_of": as_of.isoformat(),
        }
        await uow.audit(action="agency.expire", entity_type="agency", entity_id=agency.id, payload=payload)
        await _announce(uow, step, agency, previous=previous, reason=agency.status_reason)
    return True
