"""Who is told what: the table of SPEC §15, as data.

Each event type that tells anybody has a ``Rule``: the parties told (``Party``) and whether the
notice is urgent. A party is a role in the event — the enterprise, the agency, the bureau of the
district, the city bureau, the organisation concerned, the complainant, the party of a draft that
did not draft it — which ``audience_of`` (service.py) turns into an ``Audience``: the
organisations and bureau districts the event concerns. The repository then resolves an audience
into accounts (one inbox item each) and into the webhook subscriptions whose owner it covers.

Agencies are never told of quality audits: no ``audit.*`` type is in the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shared.events.catalog import EventType

E = EventType


class Party(StrEnum):
    ENTERPRISE = "enterprise"
    AGENCY = "agency"
    BUREAU = "bureau"  # the bureau of the event's district (and so the city bureau)
    CITY = "city"  # the city bureau alone
    ORGANISATION = "organisation"  # the organisation the event is about (organisation.*, credit.*)
    COMPLAINANT = "complainant"
    NOT_DRAFTER = "not_drafter"  # contract.drafted: the party that did not draft it


@dataclass(frozen=True)
class Rule:
    told: tuple[Party, ...]
    urgent: bool = False
    major: Rule | None = None  # what a ``level: major`` event tells instead (hazards)

    def for_level(self, level: object) -> Rule:
        return self.major if self.major is not None and level == "major" else self


def told(*parties: Party, urgent: bool = False, major: Rule | None = None) -> Rule:
    return Rule(tuple(parties), urgent, major)


P = Party
BOTH = (P.ENTERPRISE, P.AGENCY)

RULES: dict[EventType, Rule] = {
    E.ORGANISATION_REGISTERED: told(P.BUREAU),
    E.ORGANISATION_VERIFIED: told(P.ORGANISATION),
    E.ORGANISATION_REJECTED: told(P.ORGANISATION),
    E.ORGANISATION_SUSPENDED: told(P.ORGANISATION),
    E.AGENCY_SUBMITTED: told(P.BUREAU),
    **dict.fromkeys(
        (
            E.AGENCY_APPROVED,
            E.AGENCY_REJECTED,
            E.AGENCY_NEEDS_MORE_INFO,
            E.AGENCY_SUSPENDED,
            E.AGENCY_REINSTATED,
            E.AGENCY_REVOKED,
            E.AGENCY_EXPIRED,
            E.AGENCY_CHANGED,
        ),
        told(P.AGENCY),
    ),
    E.CONTRACT_DRAFTED: told(P.NOT_DRAFTER),
    E.CONTRACT_SIGNED: told(*BOTH),
    E.CONTRACT_FILING_SUBMITTED: told(P.BUREAU),
    **dict.fromkeys(
        (
            E.CONTRACT_FILED,
            E.CONTRACT_REJECTED,
            E.CONTRACT_ACTIVATED,
            E.CONTRACT_SUSPENDED,
            E.CONTRACT_TERMINATED,
            E.CONTRACT_EXPIRED,
            E.CONTRACT_EXPIRING,
        ),
        told(*BOTH),
    ),
    E.SERVICELOG_RECORDED: told(P.ENTERPRISE),
    E.SERVICELOG_DISPUTED: told(P.AGENCY, P.BUREAU),
    E.HAZARD_REPORTED: told(P.ENTERPRISE, major=told(P.ENTERPRISE, P.BUREAU, urgent=True)),
    E.HAZARD_RECTIFIED: told(P.AGENCY),
    E.HAZARD_OVERDUE: told(P.ENTERPRISE, P.AGENCY, P.BUREAU),
    E.VISIT_MISSED: told(P.AGENCY, P.BUREAU),
    E.SUPERVISION_ESCALATED: told(P.CITY, urgent=True),
    E.COMPLAINT_RECEIVED: told(P.BUREAU),
    E.COMPLAINT_FORWARDED: told(P.AGENCY),
    E.COMPLAINT_RESPONDED: told(P.BUREAU, P.COMPLAINANT),
    E.COMPLAINT_CLOSED: told(P.COMPLAINANT, P.AGENCY),
    E.REPORT_RECEIVED: told(P.BUREAU),
    E.AGENCY_CREDIT_CHANGED: told(P.AGENCY),
    E.CREDIT_NOTICED: told(P.ORGANISATION),
    E.CREDIT_LISTED: told(P.ORGANISATION),
}

# What a webhook may subscribe to: the event types somebody is told of.
SUBSCRIBABLE: frozenset[str] = frozenset(str(t) for t in RULES)


@dataclass(frozen=True)
class Audience:
    """Whom an event concerns: organisations (by USCC) and bureau areas (district codes, or a
    town's code for a town bureau). The city bureau is told whatever any bureau area is told;
    ``city`` alone tells the city bureau only."""

    orgs: frozenset[str] = field(default_factory=frozenset)
    areas: frozenset[str] = field(default_factory=frozenset)
    city: bool = False

    def __bool__(self) -> bool:
        return bool(self.orgs or self.areas or self.city)

    @property
    def tells_bureaus(self) -> bool:
        return bool(self.areas) or self.city


# Reminder kinds (the inbox ``kind`` of a reminder) and how far ahead each looks, in days.
class ReminderKind(StrEnum):
    COMPLAINT_RESPONSE_DUE = "reminder.complaint_response_due"
    HAZARD_DEADLINE = "reminder.hazard_deadline"
    FILING_EXPIRY_90 = "reminder.filing_expiry_90"
    FILING_EXPIRY_30 = "reminder.filing_expiry_30"
    CERTIFICATE_EXPIRY = "reminder.certificate_expiry"


AHEAD_DAYS: dict[ReminderKind, int] = {
    ReminderKind.COMPLAINT_RESPONSE_DUE: 2,
    ReminderKind.HAZARD_DEADLINE: 3,
    ReminderKind.FILING_EXPIRY_90: 90,
    ReminderKind.FILING_EXPIRY_30: 30,
    ReminderKind.CERTIFICATE_EXPIRY: 60,
}

# Events older than this when they reach notify still feed the read models but tell nobody: a
# notify started on a platform with history does not flood every inbox with the past.
BACKLOG_DAYS = 7
