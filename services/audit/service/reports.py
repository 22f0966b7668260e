"""Public reports (群众举报, SPEC §22): anyone reports an enterprise — anonymously with a contact
phone, or from any account — and gets a ``tracking_code`` (shown once, stored as its SHA-256, the
complaints' code: ``complaints.new_tracking_code``); with the code *and* the phone the reporter
follows progress and outcome, not people (the same 404 whichever of the two is wrong). The bureau of
the report's district, or the city, assigns it (to a town), handles it and closes it with its
outcome (states.REPORT); every step is on the report's timeline."""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any

import structlog

from services.audit import events
from services.audit.models import Report, ReportOutcome, ReportStep
from services.audit.repository import Listing
from services.audit.repository.reports import Reports
from services.audit.schemas.reports import ReportCreate
from services.audit.service.complaints import new_tracking_code, tracking_digest
from services.audit.states import ASSIGN, CLOSE_REPORT, HANDLE, READS_REPORTS, REPORT, ReportStatus
from shared.errors import ErrorCode, FieldError, Forbidden, NotFound, ValidationFailed
from shared.events.catalog import EventType
from shared.i18n import text
from shared.ids import new_id
from shared.pagination import PageParams
from shared.reference import checked_town, load_jurisdiction
from shared.states import Action
from shared.uow import UnitOfWork

log = structlog.get_logger("audit.reports")
ANONYMOUS_ACTOR = "anonymous"


class ReportSeen:
    """A report with, where shown, its timeline and (in the answer to its submission) its code."""

    def __init__(
        self, report: Report, *, timeline: list[ReportStep] | None = None, tracking_code: str | None = None
    ) -> None:
        self._report = report
        self.timeline = timeline
        self.tracking_code = tracking_code

    def __getattr__(self, name: str) -> Any:
        return getattr(self._report, name)


def _phone_digest(phone: str) -> str:
    """A phone as compared: digits only (``139 1234 5678`` is ``13912345678``)."""
    return tracking_digest(re.sub(r"[\s-]", "", phone))


def town_code(district_code: str, town: str | None) -> str | None:
    """A report's town as its code when the jurisdiction data knows it in the district (by code
    or name): the town bureau's scope (SPEC §22); free text is kept as given."""
    if town is None:
        return None
    area = load_jurisdiction().town_in(district_code, town)
    return area.code if area is not None else town


async def submit_report(uow: UnitOfWork, *, body: ReportCreate) -> ReportSeen:
    principal = uow.principal
    if principal.is_anonymous and not body.contact_phone:
        raise ValidationFailed(
            text("匿名举报须留联系电话", "An anonymous report needs a contact phone"),
            code=ErrorCode.CONTACT_PHONE_REQUIRED,
            errors=[FieldError("contact_phone", text("必填", "required"))],
        )
    code = new_tracking_code()
    async with uow:
        report = Report(
            id=new_id(),
            enterprise_name=body.enterprise_name,
            enterprise_uscc=body.enterprise_uscc,
            district_code=body.district_code,
            town=town_code(body.district_code, body.town),
            address=body.address,
            category=body.category,
            description=body.description,
            contact_phone=body.contact_phone,
            anonymous=principal.is_anonymous,
            reporter=None if principal.is_anonymous else principal.actor,
            tracking_sha256=tracking_digest(code),
            status=ReportStatus.RECEIVED,
            created_at=uow.now,
            updated_at=uow.now,
        )
        reports = Reports(uow.session)
        await reports.add(report)
        await reports.add_step(
            report.id,
            status=report.status,
            at=uow.now,
            actor=ANONYMOUS_ACTOR if principal.is_anonymous else principal.actor,
        )
        await uow.emit(EventType.REPORT_RECEIVED, await events.located(uow.session, events.report_changed(report)))
    log.info("audit.report.received", report_id=str(report.id), anonymous=report.anonymous)
    return ReportSeen(report, tracking_code=code)


async def track_report(uow: UnitOfWork, *, code: str, phone: str) -> ReportSeen:
    """The reporter's view, by code and phone: the same work and the same 404 for either wrong."""
    async with uow.read() as session:
        reports = Reports(session)
        report = await reports.by_tracking(tracking_digest(code))
        expected = (
            _phone_digest(report.contact_phone)
            if report is not None and report.contact_phone
            else tracking_digest(new_tracking_code())
        )
        if report is None or not hmac.compare_digest(expected, _phone_digest(phone)):
            raise NotFound(text("举报不存在", "Report not found"))
        timeline = await reports.timeline(report.id)
    return ReportSeen(report, timeline=timeline)


def _may_read(uow: UnitOfWork) -> None:
    if uow.principal.role not in READS_REPORTS:
        raise Forbidden(text("举报由应急管理部门查阅", "Reports are for the bureaus"))


async def get_report(uow: UnitOfWork, *, report_id: uuid.UUID) -> ReportSeen:
    _may_read(uow)
    async with uow.read() as session:
        reports = Reports(session)
        report = await reports.get(report_id, uow.principal)
        timeline = await reports.timeline(report.id)
    return ReportSeen(report, timeline=timeline)


async def list_reports(
    uow: UnitOfWork, *, status: ReportStatus | None, district: str | None, town: str | None = None, page: PageParams
) -> Listing[ReportSeen]:
    _may_read(uow)
    async with uow.read() as session:
        listing = await Reports(session).listing(
            uow.principal, status=status, district=district, town=checked_town(district, town), page=page
        )
    return Listing([ReportSeen(r) for r in listing.items], listing.next_cursor)


async def _step(
    uow: UnitOfWork,
    action: Action,
    *,
    report_id: uuid.UUID,
    notes: str,
    town: str | None = None,
    outcome: ReportOutcome | None = None,
) -> ReportSeen:
    async with uow:
        reports = Reports(uow.session)
        report = await reports.get(report_id, uow.principal, write=True)
        step = REPORT.step(action, report.status, uow.principal.role)
        report.status = step.target
        if town is not None:
            report.town = town_code(report.district_code, town)
        if outcome is not None:
            report.outcome = outcome
        report.notes = notes or None
        report.updated_at = uow.now
        report.version += 1
        await reports.add_step(
            report.id,
            status=report.status,
            at=uow.now,
            action=f"{step.target}:{outcome}" if outcome else None,
            actor=uow.principal.actor,
            note=notes or None,
        )
        if step.emits:
            await uow.emit(step.emits, await events.located(uow.session, events.report_changed(report)))
    log.info("audit.report.step", report_id=str(report_id), status=str(report.status))
    return ReportSeen(report)


async def assign_report(uow: UnitOfWork, *, report_id: uuid.UUID, town: str | None, notes: str) -> ReportSeen:
    return await _step(uow, ASSIGN, report_id=report_id, notes=notes, town=town)


async def handle_report(uow: UnitOfWork, *, report_id: uuid.UUID, notes: str) -> ReportSeen:
    return await _step(uow, HANDLE, report_id=report_id, notes=notes)


async def close_report(uow: UnitOfWork, *, report_id: uuid.UUID, outcome: ReportOutcome, notes: str) -> ReportSeen:
    return await _step(uow, CLOSE_REPORT, report_id=report_id, notes=notes, outcome=outcome)
