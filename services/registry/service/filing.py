"""The filing itself: create, read, list and edit (SPEC §7). Each use case is one unit of work.

- Every change bumps ``version``; writes honour ``If-Match`` (412) after the row is locked.
- Creating needs role ``agency`` and body ``uscc`` = token ``org_uscc`` (403); one agency per
  USCC (409 ``duplicate_uscc``, also when two filings race).
- Reading the full record (staff, certificates, phone, checks, documents): the agency, its
  governing bureau and admin. Any other authenticated caller gets the public profile of a
  listed agency (name, USCC, filing number, validity, service areas, engineer names) and 403
  otherwise. Lists: an agency sees its own filing, a district bureau its district, city
  bureau/admin all; enterprises 403. Who is who: ``repository.Agencies``.
- Editing while the filing may be corrected (``states.UPDATE``); a new staff list replaces the
  old one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy.exc import IntegrityError

from services.registry.models import Agency, AgencyStaff
from services.registry.repository import Agencies
from services.registry.schemas import AgencyCreate, AgencyUpdate, StaffIn
from services.registry.states import AGENCY, UPDATE, AgencyStatus
from shared.counts import Counts
from shared.errors import Conflict, ErrorCode, FieldError
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.uow import UnitOfWork

EDITABLE_FIELDS = ("name", "legal_representative", "contact_phone", "address", "district_code")


@dataclass(frozen=True)
class PublicProfile:
    """What any authenticated caller may see of a listed agency: these fields, and no others."""

    id: uuid.UUID
    uscc: str
    name: str
    status: str
    version: int
    district_code: str
    filing_no: str | None
    valid_until: date | None
    service_districts: list[str]
    service_industries: list[str]
    registered_engineers: list[str]

    @classmethod
    def of(cls, agency: Agency) -> PublicProfile:
        return cls(**{f.name: getattr(agency, f.name) for f in fields(cls)})


def staff_rows(agency_id: uuid.UUID, staff: Sequence[StaffIn]) -> list[AgencyStaff]:
    return [
        AgencyStaff(
            id=new_id(),
            agency_id=agency_id,
            position=i,
            name=s.name,
            role=s.role,
            certificate_no=s.certificate_no,
            certificate_valid_until=s.certificate_valid_until,
            full_time=s.full_time,
        )
        for i, s in enumerate(staff)
    ]


def _duplicate_uscc() -> Conflict:
    return Conflict(
        text("该统一社会信用代码已有备案记录", "An agency with this USCC already exists"),
        code=ErrorCode.DUPLICATE_USCC,
        errors=[FieldError("uscc", text("已存在", "already exists"))],
    )


async def create_agency(uow: UnitOfWork, *, data: AgencyCreate) -> Agency:
    Agencies.check_may_file(uow.principal, data.uscc)
    try:
        async with uow:
            agencies = Agencies(uow.session)
            if await agencies.uscc_taken(data.uscc):
                raise _duplicate_uscc()
            now = uow.now
            agency = Agency(
                id=new_id(),
                uscc=data.uscc,
                name=data.name,
                legal_representative=data.legal_representative,
                contact_phone=data.contact_phone,
                address=data.address,
                district_code=data.district_code,
                service_districts=list(data.service_districts),
                service_industries=[str(i) for i in data.service_industries],
                qualifications=[q.model_dump(mode="json") for q in data.qualifications],
                status=AgencyStatus.DRAFT,
                version=1,
                checks=[],
                created_by=uow.principal.actor,
                created_at=now,
                updated_at=now,
            )
            agency.staff = staff_rows(agency.id, data.staff)
            agency.documents = []
            uow.session.add(agency)
            await uow.session.flush()
    except IntegrityError as exc:  # a concurrent filing for the same USCC
        raise _duplicate_uscc() from exc
    return agency


async def get_agency(uow: UnitOfWork, *, agency_id: uuid.UUID) -> Agency | PublicProfile:
    """The full record for those who may read it, the public profile for everyone else."""
    async with uow.read():
        agency, full = await Agencies(uow.session).get_visible(agency_id, uow.principal)
    return agency if full else PublicProfile.of(agency)


async def list_agencies(
    uow: UnitOfWork,
    *,
    status: AgencyStatus | None,
    district: str | None,
    params: PageParams,
    noncompliant: bool | None = None,
) -> tuple[list[Agency], str | None]:
    async with uow.read():
        return await Agencies(uow.session).page(
            uow.principal, params, status=status, district=district, noncompliant=noncompliant
        )


async def count_agencies(
    uow: UnitOfWork,
    *,
    by: list[str],
    status: AgencyStatus | None,
    district: str | None,
    noncompliant: bool | None,
    valid_until_before: date | None,
) -> Counts:
    """The list's rows counted (docs/PORTAL.md): the same scope and filters as ``list_agencies``."""
    async with uow.read():
        return await Agencies(uow.session).counts(
            uow.principal,
            by,
            as_of=uow.now,
            status=status,
            district=district,
            noncompliant=noncompliant,
            valid_until_before=valid_until_before,
        )


async def update_agency(uow: UnitOfWork, *, agency_id: uuid.UUID, data: AgencyUpdate, if_match: Precondition) -> Agency:
    async with uow:
        agency = await Agencies(uow.session).get(agency_id, uow.principal, write=True)
        AGENCY.authorize(UPDATE, uow.principal.role)
        if_match.check(agency.version)
        AGENCY.step(UPDATE, agency.status)
        given = data.model_fields_set
        for key in EDITABLE_FIELDS:
            if key in given:
                setattr(agency, key, getattr(data, key))
        if "service_districts" in given:
            agency.service_districts = list(data.service_districts or [])
        if "service_industries" in given:
            agency.service_industries = [str(i) for i in data.service_industries or []]
        if "qualifications" in given:
            agency.qualifications = [q.model_dump(mode="json") for q in data.qualifications or []]
        if "staff" in given:
            agency.staff = staff_rows(agency.id, data.staff or [])
        agency.touch(uow.now)
        await uow.session.flush()
    return agency
