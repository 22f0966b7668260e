"""一企一档 — one enterprise, one file (SPEC §22): every record audit holds of one enterprise, now.

Audit builds it because it already holds what the file is made of — the read models of the
enterprise and its contracts (from their events), and its own visits, hazards with their loops,
complaints, audits, supervision cases and the enterprise credit file; the enterprise's registration
record (``enterprise_view``: industry, town, village, address, employees, hazards, contacts…) and its
risk history (``EnterpriseRiskStep``) are kept from ``enterprise.*`` events (D60). No other service is called (docs/DECISIONS.md
D52). Readers: the bureau of the enterprise's district, the city, admin, the enterprise itself.

The accident dossier's pieces are reused with "now" for the time (``dossier._visit``,
``hazard_state_as_of``, ``_complaint``, ``_audit``), so a record's state is the one it has now.
Every section is in time order. JSON, XLSX (one sheet per section) or PDF (``efile_pdf``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import anyio
from openpyxl import Workbook

from services.audit.models import EnterpriseView
from services.audit.models.readmodels import ENTERPRISE_RECORD_FIELDS
from services.audit.repository.ecredit import EnterpriseCreditFiles
from services.audit.repository.efile import EnterpriseRecord
from services.audit.service import dossier
from services.audit.service.credit import initial_score
from shared.clock import as_utc
from shared.reference import INDUSTRY_NAMES, load_jurisdiction
from shared.uow import UnitOfWork


@dataclass
class EnterpriseFile:
    enterprise: dict[str, Any]
    as_of: datetime
    risk_history: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    hazards: list[dict[str, Any]] = field(default_factory=list)
    supervision_cases: list[dict[str, Any]] = field(default_factory=list)
    complaints: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    credit: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)


def _enterprise(e: EnterpriseView) -> dict[str, Any]:
    return {
        "id": e.id,
        "uscc": e.uscc,
        "name": e.name,
        "district_code": e.district_code,
        "risk_level": e.risk_level,
        "version": e.version,
        "updated_at": as_utc(e.updated_at),
        "town": e.town,
        **{key: getattr(e, key) for key in ENTERPRISE_RECORD_FIELDS},
    }


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def timeline(file: EnterpriseFile) -> list[dict[str, Any]]:
    """Every dated fact of the file in one time order (the sections name what happened): a risk
    change, a contract's term starting, a visit (its date), each step of a hazard's loop, a
    supervision case opened, a complaint received, an audit drawn, a credit record."""
    facts: list[tuple[str, date | datetime, Any, str]] = []
    facts += [("risk_history", s["at"], s["version"], s["risk_level"]) for s in file.risk_history]
    facts += [("contracts", c["start_date"], c["id"], c["status"]) for c in file.contracts]
    facts += [("visits", v["visit_date"], v["id"], v["state"]) for v in file.visits]
    facts += [("hazards", st["at"], h["id"], st["status"]) for h in file.hazards for st in h["steps"]]
    facts += [("supervision_cases", c["opened_at"], c["id"], c["status"]) for c in file.supervision_cases]
    facts += [("complaints", c["received_on"], c["id"], c["state"]) for c in file.complaints]
    facts += [("audits", a["created_at"], a["id"], a["state"]) for a in file.audits]
    facts += [("credit", r["at"], r["id"], r["kind"]) for r in file.credit.get("records", [])]
    order = {key: i for i, (key, _, _) in enumerate(SHEETS)}
    facts.sort(key=lambda f: (_moment(f[1]), order[f[0]]))
    return [{"at": _moment(at), "section": section, "ref": str(ref), "what": what} for section, at, ref, what in facts]


async def build(uow: UnitOfWork, *, enterprise_id: Any) -> EnterpriseFile:
    """The file of an enterprise audit knows (404 otherwise; 403 when not the reader's)."""
    now = as_utc(uow.now)
    async with uow.read() as session:
        files = EnterpriseCreditFiles(session)
        enterprise = await files.enterprise(enterprise_id, uow.principal)
        record = EnterpriseRecord(session, enterprise_uscc=enterprise.uscc, at=now)
        contracts = await record.all_contracts()
        agency_ids = list(dict.fromkeys(c.agency_id for c in contracts))
        agencies = await record.agencies(agency_ids)
        complaints = await record.complaints(agency_ids, [c.id for c in contracts])
        complaint_steps = await record.complaint_steps([c.id for c in complaints])
        hazards = await record.hazards()
        histories = await record.hazard_steps([h.id for h in hazards])
        credit_file = await files.find(enterprise.uscc)
        credit_records = await files.records(enterprise.uscc) if credit_file else []
        start = initial_score(uow.policy.credit)
        built = EnterpriseFile(
            enterprise=_enterprise(enterprise),
            as_of=now,
            risk_history=[
                {
                    "version": s.version,
                    "risk_level": s.risk_level,
                    "previous_risk_level": s.previous_risk_level,
                    "at": as_utc(s.at),
                }
                for s in await record.risk_steps()
            ],
            contracts=[{**dossier.contract_row(c, agencies), "status": c.status} for c in contracts],
            visits=[dossier._visit(v, now) for v in await record.all_visits()],
            hazards=[
                {
                    "id": h.id,
                    "service_log_id": h.service_log_id,
                    "description": h.description,
                    "level": str(h.level),
                    "location": h.location,
                    "deadline": h.deadline,
                    "created_at": as_utc(h.created_at),
                    "state": str(dossier.hazard_state_as_of(h, now, histories.get(h.id, []))),
                    "steps": [
                        {"at": as_utc(s.at), "action": s.action, "status": s.status} for s in histories.get(h.id, [])
                    ],
                }
                for h in hazards
            ],
            supervision_cases=[
                {
                    "id": s.id,
                    "hazard_id": s.hazard_id,
                    "status": str(s.status),
                    "opened_at": as_utc(s.opened_at),
                    "ack_due_at": as_utc(s.ack_due_at),
                    "acknowledged_at": as_utc(s.acknowledged_at) if s.acknowledged_at else None,
                    "escalated_at": as_utc(s.escalated_at) if s.escalated_at else None,
                    "deadline": s.deadline,
                    "closed_at": as_utc(s.closed_at) if s.closed_at else None,
                }
                for s in await record.supervision_cases()
            ],
            complaints=[dossier._complaint(c, complaint_steps.get(c.id, [])) for c in complaints],
            audits=[dossier._audit(t, now) for t in await record.audits([c.id for c in contracts])],
            credit={
                "score": credit_file.score if credit_file else start,
                "grade": credit_file.grade if credit_file else uow.policy.credit.grade_of(start),
                "version": credit_file.version if credit_file else 0,
                "records": [
                    {
                        "id": r.id,
                        "kind": str(r.kind),
                        "delta": r.delta,
                        "ref": r.ref,
                        "hazard_id": r.hazard_id,
                        "reason": r.reason,
                        "at": as_utc(r.at),
                    }
                    for r in credit_records
                ],
            },
        )
    built.timeline = timeline(built)
    return built


# --- the archive formats (built off the event loop) -----------------------------------------------
SHEETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("risk_history", "风险等级 risk", ("version", "risk_level", "previous_risk_level", "at")),
    (
        "contracts",
        "合同 contracts",
        ("id", "status", "agency_name", "agency_uscc", "engineer_name", "start_date", "end_date"),
    ),
    *(s for s in dossier.SHEETS if s[0] in ("visits", "complaints", "audits")),
    (
        "hazards",
        "隐患 hazards",
        ("id", "service_log_id", "level", "description", "location", "deadline", "created_at", "state"),
    ),
    (
        "supervision_cases",
        "挂牌督办 supervision",
        ("id", "hazard_id", "status", "opened_at", "ack_due_at", "acknowledged_at", "deadline", "closed_at"),
    ),
    ("credit", "诚信记录 credit", ("id", "kind", "delta", "ref", "reason", "at")),
)
TIMELINE = ("timeline", "时间线 timeline", ("at", "section", "ref", "what"))

ENTERPRISE_LABELS = {
    "id": "企业ID id",
    "uscc": "统一社会信用代码 USCC",
    "name": "企业名称 name",
    "industry": "行业 industry",
    "district_code": "所在区县 district",
    "town": "所在镇街 town",
    "village": "所在村居 village",
    "address": "地址 address",
    "employees": "从业人数 employees",
    "major_hazard_source": "重大危险源 major hazard source",
    "hazard_flags": "危险特征 hazard characteristics",
    "base_level": "基础风险等级 base risk level",
    "risk_level": "风险等级 risk level",
    "contact_name": "联系人 contact",
    "contact_phone": "联系电话 contact phone",
    "version": "版本 version",
    "updated_at": "更新时间 updated",
}
AREAS = ("district_code", "town", "village")


def record_shown(enterprise: dict[str, Any]) -> dict[str, Any]:
    """The record as the archive shows it: areas and the industry by name with their code, yes/no
    in words; a field the read model does not hold yet stays empty."""
    shown = dict(enterprise)
    names = load_jurisdiction()
    for key in AREAS:
        code = enterprise.get(key)
        if code and names.name_of(str(code)) != code:
            shown[key] = f"{names.name_of(str(code))} ({code})"
    industry = enterprise.get("industry")
    if industry in INDUSTRY_NAMES:
        shown["industry"] = f"{INDUSTRY_NAMES[industry][0]} ({industry})"
    if isinstance(enterprise.get("major_hazard_source"), bool):
        shown["major_hazard_source"] = "是 yes" if enterprise["major_hazard_source"] else "否 no"
    if isinstance(enterprise.get("hazard_flags"), list):
        shown["hazard_flags"] = "、".join(str(f) for f in enterprise["hazard_flags"]) or "无 none"
    return shown


def sections(file: EnterpriseFile) -> dict[str, list[dict[str, Any]]]:
    return {
        "risk_history": file.risk_history,
        "contracts": file.contracts,
        "visits": file.visits,
        "hazards": file.hazards,
        "supervision_cases": file.supervision_cases,
        "complaints": file.complaints,
        "audits": file.audits,
        "credit": file.credit.get("records", []),
        "timeline": file.timeline,
    }


def xlsx(file: EnterpriseFile) -> bytes:
    """One sheet for the enterprise, then one per section (openpyxl write-only)."""
    workbook = Workbook(write_only=True)
    head = workbook.create_sheet(title="企业 enterprise")
    shown = record_shown(file.enterprise)
    for key, label in ENTERPRISE_LABELS.items():
        head.append([dossier._cell(head, label), dossier._cell(head, shown.get(key))])
    head.append([dossier._cell(head, "诚信分 credit score"), dossier._cell(head, file.credit.get("score"))])
    head.append([dossier._cell(head, "诚信等级 credit grade"), dossier._cell(head, file.credit.get("grade"))])
    head.append([dossier._cell(head, "截至 as of"), dossier._cell(head, file.as_of)])
    rows = sections(file)
    for key, title, columns in (TIMELINE, *SHEETS):
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([dossier._cell(sheet, c) for c in columns])
        for row in rows[key]:
            sheet.append([dossier._cell(sheet, row.get(c)) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def as_xlsx(uow: UnitOfWork, *, enterprise_id: Any) -> tuple[EnterpriseFile, bytes]:
    built = await build(uow, enterprise_id=enterprise_id)
    return built, await anyio.to_thread.run_sync(xlsx, built)


async def as_pdf(uow: UnitOfWork, *, enterprise_id: Any) -> tuple[EnterpriseFile, bytes]:
    from services.audit.service.efile_pdf import pdf

    built = await build(uow, enterprise_id=enterprise_id)
    return built, await anyio.to_thread.run_sync(pdf, built)
