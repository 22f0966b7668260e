"""The automatic checks run on every submission (SPEC §7): pure rules over the filing and the
policy in force.

A failed check does not block the submission — the bureau decides, and approving over a failed
check needs a written override (service.review) — except staff exclusivity, which blocks: a
regulator would not accept a filing that counts someone else's engineer, so it never reaches
review. Certificate numbers are compared by a normalised key (schemas.certificate_key), so
"ｒｓｅ 2026-001" and "RSE2026001" are one certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.registry.models import ENGINEER, Agency, AgencyStaff, Check
from shared.policy import Policy
from shared.reference import is_valid_uscc


def run_checks(
    agency: Agency,
    staff: Sequence[AgencyStaff],
    policy: Policy,
    today: date,
    *,
    qualifications: list[dict[str, Any]] | None = None,
) -> list[Check]:
    """``staff`` and ``qualifications`` (the filing's when None): a change filing's, after it."""
    engineers = [s for s in staff if s.role == ENGINEER]
    full_time = [s for s in staff if s.full_time]
    need_eng, need_ft = policy.min_registered_safety_engineers, policy.min_full_time_staff
    expired = [s for s in staff if s.certificate_valid_until is not None and s.certificate_valid_until < today]
    quals = (agency.qualifications if qualifications is None else qualifications) or []
    bad_quals = [
        q
        for q in quals
        if not (date.fromisoformat(str(q["valid_from"])) <= today <= date.fromisoformat(str(q["valid_until"])))
    ]
    uscc_ok = is_valid_uscc(agency.uscc)
    checks = [
        Check(
            "uscc.valid",
            uscc_ok,
            f"统一社会信用代码 {agency.uscc} " + ("校验通过" if uscc_ok else "校验失败（GB 32100-2015）"),
            f"USCC {agency.uscc} " + ("is valid" if uscc_ok else "fails the GB 32100-2015 check"),
        ),
        Check(
            "staff.registered_engineers_min",
            len(engineers) >= need_eng,
            f"注册安全工程师 {len(engineers)} 名，要求至少 {need_eng} 名",
            f"{len(engineers)} registered safety engineer(s); at least {need_eng} required",
        ),
        Check(
            "staff.full_time_min",
            len(full_time) >= need_ft,
            f"专职人员 {len(full_time)} 名，要求至少 {need_ft} 名",
            f"{len(full_time)} full-time staff; at least {need_ft} required",
        ),
        Check(
            "staff.certificates_valid",
            not expired,
            "人员证书均在有效期内"
            if not expired
            else "以下人员证书已过期："
            + "、".join(f"{s.name}（{s.certificate_no}，{s.certificate_valid_until}）" for s in expired),
            "All staff certificates are valid"
            if not expired
            else "Expired certificates: "
            + ", ".join(f"{s.name} ({s.certificate_no}, {s.certificate_valid_until})" for s in expired),
        ),
    ]
    if not quals:
        checks.append(Check("qualifications.valid", False, "未提供任何资质证书", "No qualification was provided"))
    else:
        checks.append(
            Check(
                "qualifications.valid",
                not bad_quals,
                "资质证书均在有效期内"
                if not bad_quals
                else "以下资质不在有效期内："
                + "、".join(
                    f"{q['type']}（{q['number']}，{q['valid_from']} 至 {q['valid_until']}）" for q in bad_quals
                ),
                "All qualifications are in force"
                if not bad_quals
                else "Qualifications not in force: "
                + ", ".join(f"{q['type']} ({q['number']}, {q['valid_from']} – {q['valid_until']})" for q in bad_quals),
            )
        )
    return checks


# Recorded with the others once the submission's engineers are claimed (a taken one is a 422).
EXCLUSIVE = Check(
    "staff.exclusive",
    True,
    "注册安全工程师证书均未在其他机构备案",
    "No registered safety engineer's certificate counts for another agency",
)
