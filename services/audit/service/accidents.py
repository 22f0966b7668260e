"""Accidents (一案双查, SPEC §20): the bureau of the enterprise's district, or the city (and admin),
records one (``accident.recorded``), reads it, its dossier (``services.audit.service.dossier``:
the custody record as of the accident) and records its findings once (409 after): when the
custody agency was at fault, each agency whose contract was in force at the accident gets a
``fraud_finding`` credit record (the policy's fraud delta; its ref ``accident:<id>``)."""

from __future__ import annotations

import uuid

import anyio
import structlog

from services.audit import events
from services.audit.models import Accident, CreditKind
from services.audit.repository import Listing
from services.audit.repository.accidents import Accidents, CustodyRecord
from services.audit.repository.readmodels import Enterprises
from services.audit.schemas.accidents import AccidentCreate, FindingsBody
from services.audit.service import dossier as dossiers
from services.audit.service.credit import record_credit
from services.audit.states import RECORDS_ACCIDENTS
from shared.clock import as_utc
from shared.errors import Conflict, ErrorCode, FieldError, Forbidden, ValidationFailed
from shared.events.catalog import AccidentRecorded, EventType
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.reference import checked_town
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.accidents")


def _may(uow: UnitOfWork) -> None:
    if uow.principal.role not in RECORDS_ACCIDENTS:
        raise Forbidden(text("事故由应急管理部门登记和查阅", "Accidents are for the bureaus"))


def accident_recorded(accident: Accident) -> AccidentRecorded:
    return AccidentRecorded(
        id=str(accident.id),
        version=accident.version,
        enterprise_uscc=accident.enterprise_uscc,
        district_code=accident.district_code,
        occurred_at=as_utc(accident.occurred_at),
        severity=accident.severity.value,
        deaths=accident.deaths,
        injuries=accident.injuries,
    )


async def record_accident(uow: UnitOfWork, *, body: AccidentCreate) -> Accident:
    """An accident at a known enterprise (422 ``enterprise_unknown`` otherwise; 403 outside the bureau's district); it
    cannot have happened after now (422)."""
    _may(uow)
    occurred = as_utc(body.occurred_at)
    if occurred > uow.now:
        raise ValidationFailed(
            errors=[FieldError("occurred_at", text("不能晚于当前时间", "must not be in the future"))]
        )
    async with uow:
        enterprises = Enterprises(uow.session)
        if await enterprises.find(body.enterprise_uscc) is None:  # a body naming an unknown record: 422
            raise ValidationFailed(
                text("该企业不存在", "Unknown enterprise"),
                code=ErrorCode.ENTERPRISE_UNKNOWN,
                errors=[FieldError("enterprise_uscc", text("未找到该统一社会信用代码的企业", "no such enterprise"))],
            )
        enterprise = await enterprises.get(body.enterprise_uscc, uow.principal, write=True, lock=False)
        accident = Accident(
            id=new_id(),
            enterprise_uscc=enterprise.uscc,
            enterprise_name=enterprise.name,
            district_code=enterprise.district_code,
            occurred_at=occurred,
            severity=body.severity,
            deaths=body.deaths,
            injuries=body.injuries,
            description=body.description,
            recorded_by=uow.principal.actor,
            created_at=uow.now,
        )
        await Accidents(uow.session).add(accident)
        await uow.emit(EventType.ACCIDENT_RECORDED, await events.located(uow.session, accident_recorded(accident)))
        await uow.audit(
            action="accident.recorded",
            entity_type="accident",
            entity_id=accident.id,
            payload={"enterprise_uscc": accident.enterprise_uscc, "severity": str(accident.severity)},
        )
    log.info("audit.accident.recorded", accident_id=str(accident.id), severity=str(accident.severity))
    return accident


async def get_accident(uow: UnitOfWork, *, accident_id: uuid.UUID) -> Accident:
    _may(uow)
    async with uow.read() as session:
        return await Accidents(session).get(accident_id, uow.principal)


async def list_accidents(
    uow: UnitOfWork, *, district: str | None, town: str | None = None, page: PageParams
) -> Listing[Accident]:
    _may(uow)
    async with uow.read() as session:
        return await Accidents(session).listing(
            uow.principal, district=district, town=checked_town(district, town), page=page
        )


async def get_dossier(uow: UnitOfWork, *, accident_id: uuid.UUID) -> dossiers.Dossier:
    _may(uow)
    async with uow.read() as session:
        accident = await Accidents(session).get(accident_id, uow.principal)
        return await dossiers.build(uow, session, accident)


async def dossier_xlsx(uow: UnitOfWork, *, accident_id: uuid.UUID) -> tuple[Accident, bytes]:
    built = await get_dossier(uow, accident_id=accident_id)
    return built.accident, await anyio.to_thread.run_sync(dossiers.xlsx, built)


async def record_findings(uow: UnitOfWork, *, accident_id: uuid.UUID, body: FindingsBody) -> Accident:
    """The findings, once (409 after). At fault: a ``fraud_finding`` record on each agency whose
    contract was in force at the accident (422 when there was none)."""
    _may(uow)
    async with uow:
        accidents = Accidents(uow.session)
        accident = await accidents.get(accident_id, uow.principal, write=True)
        if accident.findings_at is not None:
            raise Conflict(text("该事故的调查结论已登记", "This accident's findings are already recorded"))
        record_ids: list[str] = []
        if body.agency_at_fault:
            record = CustodyRecord(
                uow.session, enterprise_uscc=accident.enterprise_uscc, at=as_utc(accident.occurred_at)
            )
            agencies = list(
                dict.fromkeys(c.agency_id for c in await record.contracts(as_utc(accident.occurred_at).date()))
            )
            if not agencies:
                raise ValidationFailed(
                    errors=[
                        FieldError(
                            "agency_at_fault",
                            text(
                                "事故发生时该企业没有在履行的托管合同",
                                "no custody contract was in force at the accident",
                            ),
                        )
                    ]
                )
            for agency_id in agencies:
                credit = await record_credit(
                    uow, agency_id=agency_id, kind=CreditKind.FRAUD_FINDING, ref=f"accident:{accident.id}"
                )
                if credit is not None:
                    record_ids.append(str(credit.id))
        accident.agency_at_fault = body.agency_at_fault
        accident.findings = body.findings
        accident.findings_by = uow.principal.actor
        accident.findings_at = uow.now
        accident.credit_record_ids = record_ids
        accident.version += 1
        await uow.audit(
            action="accident.findings",
            entity_type="accident",
            entity_id=accident.id,
            payload={"agency_at_fault": body.agency_at_fault, "credit_record_ids": record_ids},
        )
    log.info("audit.accident.findings", accident_id=str(accident_id), at_fault=body.agency_at_fault)
    return accident
