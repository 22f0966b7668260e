"""A filing's roster and fields as a change filing or a renewal rewrites them (SPEC §18), and
whom it may not lose: the engineers live contracts name; whom it may not take: certificates that
count for another agency (422 ``staff_exclusive``, naming the certificates as the agency wrote
them, never the other agency)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.registry.models import ENGINEER, Agency, AgencyStaff
from services.registry.repository import ContractEngineers, held_elsewhere
from services.registry.schemas import RenewalIn, certificate_key
from services.registry.service.filing import staff_rows
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.i18n import text
from shared.policy import Policy
from shared.uow import UnitOfWork


def certificate_positions(staff: Sequence[AgencyStaff]) -> dict[str, int]:
    """Each engineer's normalised certificate number → its place on the roster."""
    return {
        certificate_key(s.certificate_no): i for i, s in enumerate(staff) if s.role == ENGINEER and s.certificate_no
    }


def staff_exclusive(staff: Sequence[AgencyStaff], taken_keys: Sequence[str]) -> ValidationFailed:
    """422 ``staff_exclusive`` naming the certificate numbers as the agency wrote them (never the
    other agency)."""
    position = certificate_positions(staff)
    taken = sorted((staff[position[key]].certificate_no or key, position[key]) for key in taken_keys)
    numbers = [number for number, _ in taken]
    return ValidationFailed(
        text(
            f"注册安全工程师证书 {'、'.join(numbers)} 已计入另一家已提交或已备案的机构，同一证书只能计入一家机构",
            f"Registered safety engineer certificate(s) {', '.join(numbers)} already count for another submitted "
            "or approved agency; a certificate may count for one agency only",
        ),
        code=ErrorCode.STAFF_EXCLUSIVE,
        errors=[
            FieldError(
                f"staff[{i}].certificate_no",
                text(f"证书 {number} 已计入其他机构", f"certificate {number} counts for another agency"),
            )
            for number, i in taken
        ],
        extra={"certificates": numbers},
    )


def compliant(agency: Agency, policy: Policy, today: date) -> bool:
    """The staffing minimums, counting engineers whose certificate is still valid."""
    counted = [
        s
        for s in agency.staff
        if not (s.role == ENGINEER and (s.lapsed or (s.certificate_valid_until and s.certificate_valid_until < today)))
    ]
    engineers = [s for s in counted if s.role == ENGINEER]
    return (
        len(engineers) >= policy.min_registered_safety_engineers
        and len([s for s in counted if s.full_time]) >= policy.min_full_time_staff
    )


def apply(agency: Agency, body: RenewalIn, *, policy: Policy, today: date) -> None:
    """Write the given fields to the filing (a new roster replaces the old)."""
    given = body.changes()
    if body.contact_phone is not None:
        agency.contact_phone = body.contact_phone
    if body.address is not None:
        agency.address = body.address
    if "service_districts" in given:
        agency.service_districts = list(body.service_districts or [])
    if "service_industries" in given:
        agency.service_industries = [str(i) for i in body.service_industries or []]
    if "qualifications" in given:
        agency.qualifications = [q.model_dump(mode="json") for q in body.qualifications or []]
    if body.staff is not None:
        agency.staff = staff_rows(agency.id, body.staff)
        for member in agency.staff:
            member.lapsed = bool(
                member.role == ENGINEER and member.certificate_valid_until and member.certificate_valid_until < today
            )
    agency.noncompliant = not compliant(agency, policy, today)


async def check_roster(uow: UnitOfWork, agency: Agency, staff: list[AgencyStaff], *, exclusive: bool = True) -> None:
    """A new roster: no engineer named on a live contract leaves it; no certificate of another
    agency's (``exclusive``: checked here rather than claimed)."""
    kept = {s.name for s in staff if s.role == ENGINEER}
    leaving = {s.name for s in agency.staff if s.role == ENGINEER} - kept
    named = await ContractEngineers(uow.session).live_naming(agency.id, leaving)
    if named:
        contracts = sorted({c for ids in named.values() for c in ids})
        people = "、".join(sorted(named))
        raise ValidationFailed(
            text(
                f"工程师 {people} 仍为未终止服务合同的服务工程师，不能从人员名单中移除：{'、'.join(contracts)}",
                f"Engineer(s) {', '.join(sorted(named))} are named on live contracts and may not leave the "
                f"roster: {', '.join(contracts)}",
            ),
            code=ErrorCode.ENGINEER_UNDER_CONTRACT,
            errors=[
                FieldError("staff", text(f"{name} 仍有在履行的合同", f"{name} has live contracts")) for name in named
            ],
            extra={"contracts": contracts, "engineers": sorted(named)},
        )
    if exclusive:
        taken = await held_elsewhere(uow.session, agency.id, list(certificate_positions(staff)))
        if taken:
            raise staff_exclusive(staff, taken)
