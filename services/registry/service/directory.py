"""The public directory of filed agencies (公示名单), read by anyone (SPEC §7).

- Listed: an agency enters on approval or reinstatement and leaves on suspension, revocation,
  expiry or rejection (service.review). An approved agency that applies for renewal stays
  listed while its current filing is in force; the sweep delists it if that lapses first.
- Grade and score: from ``agency.credit_changed`` (consumers); before any credit event an agency
  has the policy's starting score (as the audit service's credit file starts) and its grade.
- ``active_contracts``: contracts whose latest event is ``contract.activated``;
  ``remaining_capacity`` = registered engineers × ``max_enterprises_per_engineer`` − active
  contracts, never below 0.
- An agency's public detail (``detail``): the listing with the contact phone and address the
  public needs to reach it and its engineers' count (not their names: the list says how many);
  404 when it is not listed.
- The CSV export (``Accept: text/csv``) has the same rows, its areas and industries named in the
  caller's language; shared.exports writes it (formula guard, BOM).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.registry.repository import Directory, DirectoryFilters
from shared.counts import Counts
from shared.errors import NotFound
from shared.i18n import current_language, text
from shared.pagination import PageParams
from shared.policy import Policy
from shared.reference import INDUSTRY_NAMES, load_jurisdiction
from shared.uow import UnitOfWork

CSV_HEADER = (
    "机构ID",
    "机构名称",
    "统一社会信用代码",
    "备案编号",
    "有效期至",
    "信用等级",
    "信用分",
    "服务区县",
    "服务行业",
    "注册安全工程师",
    "在管合同数",
    "剩余托管容量",
)
CSV_FILENAME = "agencies.csv"


@dataclass(frozen=True)
class Listing:
    """One agency as the directory shows it."""

    id: uuid.UUID
    name: str
    uscc: str
    district_code: str
    filing_no: str | None
    valid_until: date | None
    grade: str
    credit_score: int
    service_districts: list[str]
    service_industries: list[str]
    registered_engineers: list[str]
    active_contracts: int
    capacity: int  # registered engineers × enterprises per engineer

    @property
    def remaining_capacity(self) -> int:
        return max(0, self.capacity - self.active_contracts)

    @classmethod
    def of(cls, row: Any, policy: Policy) -> Listing:
        engineers = list(row.registered_engineers or [])
        return cls(
            **_entry_fields(row),
            registered_engineers=engineers,
            active_contracts=int(row.active_contracts),
            capacity=len(engineers) * policy.max_enterprises_per_engineer,
        )

    def csv_row(self, language: str) -> list[Any]:
        jurisdiction, english = load_jurisdiction(), language.startswith("en")
        return [
            self.id,
            self.name,
            self.uscc,
            self.filing_no,
            self.valid_until,
            self.grade,
            self.credit_score,
            [jurisdiction.name_of(d, language) for d in self.service_districts],
            [INDUSTRY_NAMES.get(i, (i, i))[1 if english else 0] for i in self.service_industries],
            self.registered_engineers,
            self.active_contracts,
            self.remaining_capacity,
        ]


def start_credit(policy: Policy) -> dict[str, Any]:
    """The score and grade an agency shows before its first ``agency.credit_changed``."""
    score = min(policy.credit.start, policy.credit.cap)
    return {"start_score": score, "start_grade": policy.credit.grade_of(score)}


async def page(uow: UnitOfWork, *, filters: DirectoryFilters, params: PageParams) -> tuple[list[Listing], str | None]:
    async with uow.read():
        rows, cursor = await Directory(uow.session).page(filters, params, **start_credit(uow.policy))
    return [Listing.of(r, uow.policy) for r in rows], cursor


async def count(uow: UnitOfWork, *, filters: DirectoryFilters, by: list[str]) -> Counts:
    """The public directory counted (docs/PORTAL.md): the list's rows and filters, by district and grade."""
    async with uow.read():
        return await Directory(uow.session).counts(filters, by, as_of=uow.now, **start_credit(uow.policy))


async def export_rows(uow: UnitOfWork, *, filters: DirectoryFilters) -> Sequence[list[Any]]:
    """Every listed agency matching ``filters``, as CSV rows in the caller's language."""
    async with uow.read():
        rows = await Directory(uow.session).everything(filters, **start_credit(uow.policy))
    language = current_language.get()
    return [Listing.of(r, uow.policy).csv_row(language) for r in rows]


@dataclass(frozen=True)
class PublicDetail:
    """A listed agency's public detail page (SPEC §21 public)."""

    id: uuid.UUID
    name: str
    uscc: str
    district_code: str
    filing_no: str | None
    valid_until: date | None
    grade: str
    credit_score: int
    contact_phone: str
    address: str
    service_districts: list[str]
    service_industries: list[str]
    registered_engineers: int


async def detail(uow: UnitOfWork, *, agency_id: uuid.UUID) -> PublicDetail:
    async with uow.read():
        row = await Directory(uow.session).detail(agency_id, **start_credit(uow.policy))
    if row is None:
        raise NotFound(text("该机构不在公示名单中", "This agency is not on the public list"))
    return PublicDetail(
        **_entry_fields(row),
        contact_phone=row.contact_phone,
        address=row.address,
        registered_engineers=len(row.registered_engineers or []),
    )


def _entry_fields(row: Any) -> dict[str, Any]:
    """What a directory row shows of an agency, in the list and on its detail page alike."""
    return {
        "id": row.agency_id,
        "name": row.name,
        "uscc": row.uscc,
        "district_code": row.district_code,
        "filing_no": row.filing_no,
        "valid_until": row.valid_until,
        "grade": row.grade,
        "credit_score": int(row.credit_score),
        "service_districts": list(row.service_districts),
        "service_industries": list(row.service_industries),
    }
