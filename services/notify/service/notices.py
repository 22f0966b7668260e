"""Telling people: an event becomes a notice for its audience (the §15 table, rules.py), and the
sweeps' reminders and daily digests.

``on_event`` runs in the inbox's unit of work for the event, so its inbox items, its e-mail and
webhook jobs and the inbox marker of the event are one transaction: once per event, whatever
replica or redelivery handles it. A reminder's unique key is inserted in the transaction that
writes its items, so a reminder is sent once across replicas and re-runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from services.notify import channels, mail, messages, workqueue
from services.notify.channels import Notice
from services.notify.models import Agency, Contract
from services.notify.repository import InboxItems, ReadModels, Reminders
from services.notify.rules import AHEAD_DAYS, BACKLOG_DAYS, RULES, Audience, Party, ReminderKind, Rule
from shared.events.catalog import EventType
from shared.events.envelope import CloudEvent
from shared.reference import load_jurisdiction
from shared.uow import UnitOfWork

log = structlog.get_logger("notify.notices")
COUNTERPARTY = {"agency": (Party.ENTERPRISE,), "enterprise": (Party.AGENCY,)}  # who did not draft


@dataclass
class _Lookup:
    """The read-model rows an event's parties may need, loaded once."""

    models: ReadModels
    data: dict[str, Any]
    _contract: Contract | None = None
    _contract_loaded: bool = False

    async def contract(self) -> Contract | None:
        if not self._contract_loaded:
            self._contract = await self.models.contract(self.data.get("contract_id"))
            self._contract_loaded = True
        return self._contract

    async def agency(self, agency_id: Any) -> Agency | None:
        return await self.models.agency(agency_id)


async def _agency_uscc(event_type: str, lookup: _Lookup) -> str | None:
    data = lookup.data
    if event_type.startswith("agency.") and event_type != EventType.AGENCY_CREDIT_CHANGED:
        return data.get("uscc")
    if data.get("agency_uscc"):
        return str(data["agency_uscc"])
    agency_id = data.get("id") if event_type == EventType.AGENCY_CREDIT_CHANGED else data.get("agency_id")
    agency = await lookup.agency(agency_id)
    if agency is not None:
        return agency.uscc
    contract = await lookup.contract()
    return contract.agency_uscc if contract is not None else None


async def _enterprise_uscc(lookup: _Lookup) -> str | None:
    if lookup.data.get("enterprise_uscc"):
        return str(lookup.data["enterprise_uscc"])
    contract = await lookup.contract()
    return contract.enterprise_uscc if contract is not None else None


async def _district(lookup: _Lookup) -> str | None:
    # most events name the district as ``district_code``; an organisation names its own ``district``
    named = lookup.data.get("district_code") or lookup.data.get("district")
    if named:
        return str(named)
    contract = await lookup.contract()
    return contract.district_code if contract is not None else None


def _town(data: dict[str, Any], district: str | None) -> str | None:
    """The event's town (its enterprise's, SPEC §22) when it is a town of the event's district in
    the jurisdiction data: a public report's free-text town, or a town of another district, tells
    no town bureau (its district's bureau is told in any case)."""
    town = data.get("town")
    if not town or not district or load_jurisdiction().district_of(str(town)) != district:
        return None
    if not load_jurisdiction().is_town(str(town)):
        return None
    return str(town)


async def audience_of(uow: UnitOfWork, event_type: str, data: dict[str, Any], rule: Rule) -> Audience:
    """The organisations and bureau areas the rule's parties are, for this event."""
    lookup = _Lookup(ReadModels(uow.session), data)
    orgs: set[str | None] = set()
    areas: set[str] = set()
    city = False
    parties = list(rule.told)
    if Party.NOT_DRAFTER in parties:  # a draft of unknown origin tells both parties
        parties += COUNTERPARTY.get(str(data.get("drafted_by")), (Party.ENTERPRISE, Party.AGENCY))
    for party in parties:
        if party == Party.ENTERPRISE:
            orgs.add(await _enterprise_uscc(lookup))
        elif party == Party.AGENCY:
            orgs.add(await _agency_uscc(event_type, lookup))
        elif party == Party.ORGANISATION:
            orgs.add(data.get("uscc") or data.get("org_uscc"))
        elif party == Party.COMPLAINANT:
            orgs.add(data.get("complainant_uscc"))
        elif party == Party.CITY:
            city = True
        elif party == Party.BUREAU:
            district = await _district(lookup)
            if district:
                areas.add(district)
            else:
                city = True  # nobody else governs it: the city does
            town = _town(data, district)
            if town:
                areas.add(town)
    return Audience(orgs=frozenset(o for o in orgs if o), areas=frozenset(areas), city=city)


def notice_for(event: CloudEvent, rule: Rule) -> Notice:
    """The notice of an event under its rule (already chosen for the event's level)."""
    data = event.data
    variant = f"{event.type}:{'noncompliant' if data.get('noncompliant') else data.get('level')}"
    title, body = messages.render(variant if variant in messages.TEXTS else event.type, data)
    return Notice(
        kind=event.type,
        urgent=rule.urgent,
        title=title,
        body=body,
        link=messages.link_of(event.type, data),
        subject_id=str(data.get("id") or event.subject or "") or None,
        due_at=messages.due_of(event.type, data),
        key=event.id,
        event=event,
    )


async def on_event(uow: UnitOfWork, event: CloudEvent) -> channels.Sent | None:
    """Tell the event's audience (nothing for a type nobody is told of, or an old event)."""
    try:
        rule = RULES[EventType(event.type)]
    except (ValueError, KeyError):
        return None
    if event.time < uow.now - timedelta(days=BACKLOG_DAYS):
        log.info("notify.backlog_event_skipped", event_id=event.id, event_type=event.type)
        return None
    rule = rule.for_level(event.data.get("level"))
    audience = await audience_of(uow, event.type, event.data, rule)
    if not audience:
        log.info("notify.nobody_to_tell", event_id=event.id, event_type=event.type)
        return None
    return await channels.send(uow, notice_for(event, rule), audience)


# --- reminders --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    kind: ReminderKind
    key: str
    audience: Audience
    facts: dict[str, Any]
    link: str
    subject_id: str
    due: Any
    also: tuple[str, ...] = ()  # keys this reminder makes redundant (a 30-day one: the 90-day one)


async def reminders_due(uow: UnitOfWork, as_of: datetime) -> list[Due]:
    today = as_of.date()
    found = Reminders(uow.session)
    models = ReadModels(uow.session)

    def until(kind: ReminderKind) -> Any:
        return today + timedelta(days=AHEAD_DAYS[kind])

    due: list[Due] = []
    kind = ReminderKind.COMPLAINT_RESPONSE_DUE
    for complaint in await found.complaints_due(today, until(kind)):
        agency = await models.agency(complaint.agency_id)
        if agency is not None:
            due.append(
                Due(
                    kind,
                    f"{kind}:{complaint.id}:{complaint.response_due}",
                    Audience(orgs=frozenset({agency.uscc})),
                    {"due": complaint.response_due},
                    f"/api/v1/complaints/{complaint.id}",
                    complaint.id,
                    complaint.response_due,
                )
            )
    kind = ReminderKind.HAZARD_DEADLINE
    for hazard in await found.hazards_due(today, until(kind)):
        due.append(
            Due(
                kind,
                f"{kind}:{hazard.id}:{hazard.deadline}",
                Audience(orgs=frozenset({hazard.enterprise_uscc})),
                {"due": hazard.deadline},
                f"/api/v1/hazards/{hazard.id}",
                hazard.id,
                hazard.deadline,
            )
        )
    for agency in await found.approved_agencies():
        audience = Audience(orgs=frozenset({agency.uscc}))
        link = f"/api/v1/agencies/{agency.id}"
        if agency.valid_until is not None and today <= agency.valid_until:
            k90, k30 = ReminderKind.FILING_EXPIRY_90, ReminderKind.FILING_EXPIRY_30
            key90, key30 = f"{k90}:{agency.id}:{agency.valid_until}", f"{k30}:{agency.id}:{agency.valid_until}"
            facts = {"due": agency.valid_until}
            if agency.valid_until <= until(k30):
                due.append(Due(k30, key30, audience, facts, link, agency.id, agency.valid_until, also=(key90,)))
            elif agency.valid_until <= until(k90):
                due.append(Due(k90, key90, audience, facts, link, agency.id, agency.valid_until))
        kind = ReminderKind.CERTIFICATE_EXPIRY
        for cert in agency.engineer_certificates or []:
            valid = messages.moment_of(cert.get("valid_until"))
            if valid is None or not today <= valid.date() <= until(kind):
                continue
            due.append(
                Due(
                    kind,
                    f"{kind}:{agency.id}:{cert.get('certificate_no')}:{valid.date()}",
                    audience,
                    {"due": valid.date(), **cert},
                    link,
                    agency.id,
                    valid.date(),
                )
            )
    return due


async def send_reminder(uow: UnitOfWork, reminder: Due) -> bool:
    """One reminder, once: False when its key was taken already (another replica, an earlier run)."""
    async with uow:
        claims = Reminders(uow.session)
        if not await claims.claim(reminder.key, kind=reminder.kind, at=uow.now):
            return False
        for key in reminder.also:
            await claims.claim(key, kind=reminder.kind, at=uow.now)
        title, body = messages.render(reminder.kind, reminder.facts)
        notice = Notice(
            kind=reminder.kind,
            urgent=False,
            title=title,
            body=body,
            link=reminder.link,
            subject_id=reminder.subject_id,
            due_at=messages.moment_of(reminder.due),
            key=reminder.key,
        )
        await channels.send(uow, notice, reminder.audience)
    return True


# --- daily digest -----------------------------------------------------------------------------
DIGEST = "digest"


async def send_digests(runtime: Any, as_of: datetime) -> int:
    """One e-mail per reader with items not yet e-mailed, at most once a day (off without SMTP)."""
    if not runtime.settings.smtp_url:
        return 0
    async with runtime.unit_of_work().read() as session:
        readers = await InboxItems(session).accounts_with_digest(as_of)
    sent = 0
    for account in readers:
        uow = runtime.unit_of_work()
        async with uow:
            key = f"{DIGEST}:{account.id}:{as_of.date()}"
            if not await Reminders(uow.session).claim(key, kind=DIGEST, at=uow.now):
                continue
            items = InboxItems(uow.session)
            pending = await items.digest_due(account.id, as_of)
            if not pending:
                continue
            subject, body = mail.compose_digest(pending, account.language)
            job = {"to": account.email, "subject": subject, "body": body, "item_ids": [str(i.id) for i in pending]}
            bus = runtime.bus
            await workqueue.publish(bus, workqueue.email_subject(bus), job, msg_id=key)
            await items.mark_emailed([i.id for i in pending], uow.now)
            sent += 1
    return sent
