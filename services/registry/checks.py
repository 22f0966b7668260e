"""The automatic checks run on every submission (SPEC §7), and staff exclusivity.

Each check is ``{code, passed, detail_zh, detail_en}``; the API renders ``detail`` in the caller's
language. A failed check does not block the submission — the bureau decides, and approving over a
failed check needs a written override — except staff exclusivity, which blocks (see service.py).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import insert_ignore
from shared.errors import ErrorCode, FieldError, ValidationFailed
from shared.i18n import render, text
from shared.policy import Policy
from shared.reference import is_valid_uscc

from services.registry.models import Agency, AgencyStaff, EngineerClaim
from services.registry.schemas import ENGINEER, certificate_key

# Statuses in which an agency's registered safety engineers count for it (and for no other).
HOLDING_STATUSES = frozenset({"submitted", "approved", "suspended"})


def _check(code: str, passed: bool, zh: str, en: str) -> dict[str, Any]:
    return {"code": code, "passed": passed, "detail_zh": zh, "detail_en": en}


def run_checks(agency: Agency, staff: Sequence[AgencyStaff], policy: Policy, today: date) -> list[dict[str, Any]]:
    engineers = [s for s in staff if s.role == ENGINEER]
    full_time = [s for s in staff if s.full_time]
    need_eng, need_ft = policy.min_registered_safety_engineers, policy.min_full_time_staff
    expired = [s for s in staff if s.certificate_valid_until is not None and s.certificate_valid_until < today]
    quals = agency.qualifications or []
    bad_quals = [q for q in quals if not (date.fromisoformat(str(q["valid_from"])) <= today
                                          <= date.fromisoformat(str(q["valid_until"])))]
    checks = [
        _check("uscc.valid", is_valid_uscc(agency.uscc),
               f"统一社会信用代码 {agency.uscc} " + ("校验通过" if is_valid_uscc(agency.uscc) else "校验失败（GB 32100-2015）"),
               f"USCC {agency.uscc} " + ("is valid" if is_valid_uscc(agency.uscc) else "fails the GB 32100-2015 check")),
        _check("staff.registered_engineers_min", len(engineers) >= need_eng,
               f"注册安全工程师 {len(engineers)} 名，要求至少 {need_eng} 名",
               f"{len(engineers)} registered safety engineer(s); at least {need_eng} required"),
        _check("staff.full_time_min", len(full_time) >= need_ft,
               f"专职人员 {len(full_time)} 名，要求至少 {need_ft} 名",
               f"{len(full_time)} full-time staff; at least {need_ft} required"),
        _check("staff.certificates_valid", not expired,
               "人员证书均在有效期内" if not expired else
               "以下人员证书已过期：" + "、".join(f"{s.name}（{s.certificate_no}，{s.certificate_valid_until}）" for s in expired),
               "All staff certificates are valid" if not expired else
               "Expired certificates: " + ", ".join(f"{s.name} ({s.certificate_no}, {s.certificate_valid_until})" for s in expired)),
    ]
    if not quals:
        checks.append(_check("qualifications.valid", False, "未提供任何资质证书", "No qualification was provided"))
    else:
        checks.append(_check(
            "qualifications.valid", not bad_quals,
            "资质证书均在有效期内" if not bad_quals else
            "以下资质不在有效期内：" + "、".join(f"{q['type']}（{q['number']}，{q['valid_from']} 至 {q['valid_until']}）" for q in bad_quals),
            "All qualifications are in force" if not bad_quals else
            "Qualifications not in force: " + ", ".join(f"{q['type']} ({q['number']}, {q['valid_from']} – {q['valid_until']})" for q in bad_quals)))
    return checks


def render_check(check: dict[str, Any]) -> dict[str, Any]:
    return {"code": check["code"], "passed": bool(check["passed"]),
            "detail": render(text(check.get("detail_zh", ""), check.get("detail_en", "")))}


def failed_codes(checks: Iterable[dict[str, Any]]) -> list[str]:
    return [c["code"] for c in checks if not c["passed"]]


def exclusivity_check(passed: bool = True) -> dict[str, Any]:
    return _check("staff.exclusive", passed, "注册安全工程师证书均未在其他机构备案",
                  "No registered safety engineer's certificate counts for another agency")


async def claim_engineers(session: AsyncSession, agency: Agency, staff: Sequence[AgencyStaff]) -> None:
    """Make the agency's engineers' certificates count for it alone; 422 ``staff.exclusive``
    naming the certificate numbers (never the other agency) when another agency holds one."""
    wanted = {certificate_key(s.certificate_no): i for i, s in enumerate(staff) if s.role == ENGINEER and s.certificate_no}
    t = EngineerClaim.__table__
    now = utcnow()
    for cert in wanted:
        await insert_ignore(session, t, {"certificate_no": cert, "agency_id": agency.id, "claimed_at": now})
    # Re-read after inserting: a concurrent claimant's committed row wins over our ignored insert.
    taken = (await session.execute(sa.select(t.c.certificate_no).where(
        t.c.certificate_no.in_(list(wanted)), t.c.agency_id != agency.id))).scalars().all() if wanted else []
    if taken:
        taken = sorted(staff[wanted[key]].certificate_no or key for key in taken)
        index = {staff[i].certificate_no: i for i in wanted.values()}
        raise ValidationFailed(
            text(f"注册安全工程师证书 {'、'.join(taken)} 已计入另一家已提交或已备案的机构，同一证书只能计入一家机构",
                 f"Registered safety engineer certificate(s) {', '.join(taken)} already count for another submitted or "
                 "approved agency; a certificate may count for one agency only"),
            code=ErrorCode.STAFF_EXCLUSIVE,
            errors=[FieldError(f"staff[{index[c]}].certificate_no",
                               text(f"证书 {c} 已计入其他机构", f"certificate {c} counts for another agency")) for c in taken],
            extra={"certificates": taken},
        )
    # Certificates no longer on the staff list stop counting for this agency.
    await session.execute(sa.delete(t).where(t.c.agency_id == agency.id, t.c.certificate_no.not_in(list(wanted) or [""])))


async def release_engineers(session: AsyncSession, agency_id: uuid.UUID) -> None:
    t = EngineerClaim.__table__
    await session.execute(sa.delete(t).where(t.c.agency_id == agency_id))
