"""The audit service's stateful entities (SPEC §10): their states, the actions between them, who
may take each and the event each emits — the one table the use cases, the 409 texts and the
"every action in every state" tests read.

Which *row* a caller may act on (its agency, its enterprise, its district) is the repository's
``writable`` rule; the machines say which *role* may take a step and from which state.
"""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalog import EventType
from shared.i18n import Text, text
from shared.roles import Role
from shared.states import StateMachine


class Labelled(StrEnum):
    """A state with its bilingual name (``LABELS``), which the machine's refusals show."""

    @property
    def label(self) -> Text:
        return LABELS[self]


# --- service logs ------------------------------------------------------------------------------
class ServiceLogStatus(Labelled):
    RECORDED = "recorded"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    VOID = "void"


SERVICE_LOG = StateMachine("service_log", text("服务记录", "service log"), ServiceLogStatus)
CONFIRM = SERVICE_LOG.action("confirm", text("确认", "confirm"))
DISPUTE = SERVICE_LOG.action("dispute", text("提出异议", "dispute"))
RESOLVE_DISPUTE = SERVICE_LOG.action("resolve", text("裁决异议", "resolve the dispute"))
SERVICE_LOG.transition(
    CONFIRM,
    ServiceLogStatus.RECORDED,
    ServiceLogStatus.CONFIRMED,
    by={Role.ENTERPRISE},
    emits=EventType.SERVICELOG_CONFIRMED,
)
# The enterprise disputes a visit it has not confirmed (SPEC §16); the district's bureau (or the city:
# the repository's ``writable``) decides — uphold keeps it (confirmed), void cancels it. Resolution
# is on the audit trail; an upheld visit is confirmed (``servicelog.confirmed``), a void one emits nothing.
SERVICE_LOG.transition(
    DISPUTE,
    ServiceLogStatus.RECORDED,
    ServiceLogStatus.DISPUTED,
    by={Role.ENTERPRISE},
    emits=EventType.SERVICELOG_DISPUTED,
)
SERVICE_LOG.transition(
    RESOLVE_DISPUTE,
    ServiceLogStatus.DISPUTED,
    ServiceLogStatus.CONFIRMED,
    by={Role.BUREAU},
    emits=EventType.SERVICELOG_CONFIRMED,
)
SERVICE_LOG.transition(RESOLVE_DISPUTE, ServiceLogStatus.DISPUTED, ServiceLogStatus.VOID, by={Role.BUREAU})


# --- hazards -----------------------------------------------------------------------------------
class HazardStatus(Labelled):
    OPEN = "open"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    OVERDUE = "overdue"


HAZARD = StateMachine("hazard", text("隐患", "hazard"), HazardStatus)
HAZARD_FOUND = "found"  # a hazard's first step in its history (models.HazardStep): found on a visit
RECTIFY = HAZARD.action("rectify", text("提交整改", "rectify"))
VERIFY = HAZARD.action("verify", text("验收整改", "verify"))
MARK_OVERDUE = HAZARD.action("mark_overdue", text("标记逾期", "mark overdue"))
REJECT_RECTIFICATION = HAZARD.action("reject_rectification", text("驳回整改", "reject the rectification"))
# An overdue hazard stays closable: the enterprise still rectifies it, and the agency verifies (or
# rejects) one that went overdue while awaiting verification (the use case checks it carries
# ``rectified_at``). The district's bureau (or the city) verifies a *major* hazard after its own
# inspection, rectified or not (the use case checks the level: D42).
HAZARD.transition(
    RECTIFY,
    [HazardStatus.OPEN, HazardStatus.OVERDUE],
    HazardStatus.RECTIFIED,
    by={Role.ENTERPRISE},
    emits=EventType.HAZARD_RECTIFIED,
)
HAZARD.transition(
    VERIFY,
    [HazardStatus.RECTIFIED, HazardStatus.OVERDUE],
    HazardStatus.VERIFIED,
    by={Role.AGENCY, Role.BUREAU},
    emits=EventType.HAZARD_VERIFIED,
)
HAZARD.transition(VERIFY, HazardStatus.OPEN, HazardStatus.VERIFIED, by={Role.BUREAU}, emits=EventType.HAZARD_VERIFIED)
HAZARD.transition(
    REJECT_RECTIFICATION,
    [HazardStatus.RECTIFIED, HazardStatus.OVERDUE],
    HazardStatus.OPEN,
    by={Role.AGENCY},
    emits=EventType.HAZARD_RECTIFICATION_REJECTED,
)
HAZARD.transition(
    MARK_OVERDUE,
    [HazardStatus.OPEN, HazardStatus.RECTIFIED],
    HazardStatus.OVERDUE,
    by={Role.SYSTEM},
    emits=EventType.HAZARD_OVERDUE,
)


# --- quality audits ----------------------------------------------------------------------------
class AuditTaskStatus(Labelled):
    PENDING = "pending"
    COMPLETED = "completed"


AUDIT_TASK = StateMachine("audit_task", text("审计任务", "audit task"), AuditTaskStatus)
RECORD_RESULT = AUDIT_TASK.action("result", text("登记审计结果", "record its result"))
AUDIT_TASK.transition(
    RECORD_RESULT,
    AuditTaskStatus.PENDING,
    AuditTaskStatus.COMPLETED,
    by={Role.BUREAU, Role.ADMIN},
    emits=EventType.AUDIT_COMPLETED,
)


# --- complaints --------------------------------------------------------------------------------
class ComplaintStatus(Labelled):
    RECEIVED = "received"
    FORWARDED = "forwarded"
    RESPONDED = "responded"
    CLOSED = "closed"


COMPLAINT = StateMachine("complaint", text("投诉", "complaint"), ComplaintStatus)
FORWARD = COMPLAINT.action("forward", text("通报机构", "forward"))
RESPOND = COMPLAINT.action("respond", text("答复", "respond"))
RESOLVE = COMPLAINT.action("resolve", text("办结", "resolve"))
COMPLAINT.transition(
    FORWARD,
    ComplaintStatus.RECEIVED,
    ComplaintStatus.FORWARDED,
    by={Role.BUREAU, Role.ADMIN},
    emits=EventType.COMPLAINT_FORWARDED,
)
COMPLAINT.transition(
    RESPOND, ComplaintStatus.FORWARDED, ComplaintStatus.RESPONDED, by={Role.AGENCY}, emits=EventType.COMPLAINT_RESPONDED
)
# The bureau need not wait for a response the agency never gives — to dismiss. To uphold, the agency
# must have been heard: forwarded, and responded or its response overdue (SPEC §19; the use case's
# rule, services.audit.service.complaints.heard, since it depends on the outcome and the date).
COMPLAINT.transition(
    RESOLVE,
    [ComplaintStatus.RECEIVED, ComplaintStatus.FORWARDED, ComplaintStatus.RESPONDED],
    ComplaintStatus.CLOSED,
    by={Role.BUREAU, Role.ADMIN},
    emits=EventType.COMPLAINT_CLOSED,
)


# --- major-hazard supervision (挂牌督办, SPEC §17) ----------------------------------------------------
class SupervisionStatus(Labelled):
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    LISTED = "listed"
    CLOSED = "closed"


# A case is opened (``supervision.opened``) with the major hazard, in the same unit of work: by the
# system, not by a transition. Which bureau may act (the enterprise's district's, or the city) is the
# repository's ``writable``; escalation is no change of state: the case stays ``reported`` (still to be
# acknowledged) and carries ``escalated_at`` — once (services.audit.service.supervision).
SUPERVISION = StateMachine("supervision", text("重大隐患督办", "supervision case"), SupervisionStatus)
ACKNOWLEDGE = SUPERVISION.action("acknowledge", text("确认督办", "acknowledge"))
ESCALATE = SUPERVISION.action("escalate", text("超时升级", "escalate"))
LIST = SUPERVISION.action("list", text("挂牌督办", "list"))
CLOSE = SUPERVISION.action("close", text("摘牌销号", "close"))
SUPERVISION.transition(
    ACKNOWLEDGE,
    SupervisionStatus.REPORTED,
    SupervisionStatus.ACKNOWLEDGED,
    by={Role.BUREAU, Role.ADMIN},
    emits=EventType.SUPERVISION_ACKNOWLEDGED,
)
SUPERVISION.transition(
    ESCALATE,
    SupervisionStatus.REPORTED,
    SupervisionStatus.REPORTED,
    by={Role.SYSTEM},
    emits=EventType.SUPERVISION_ESCALATED,
)
SUPERVISION.transition(
    LIST,
    SupervisionStatus.ACKNOWLEDGED,
    SupervisionStatus.LISTED,
    by={Role.BUREAU, Role.ADMIN},
    emits=EventType.SUPERVISION_LISTED,
)
# Only once the hazard is verified (by the agency or the bureau): the use case's rule, as it reads the hazard.
SUPERVISION.transition(
    CLOSE,
    SupervisionStatus.LISTED,
    SupervisionStatus.CLOSED,
    by={Role.BUREAU, Role.ADMIN},
    emits=EventType.SUPERVISION_CLOSED,
)


# --- the serious-dishonesty list (严重失信名单, SPEC §19) ----------------------------------------------
class ListingStatus(Labelled):
    NOTICED = "noticed"
    OBJECTED = "objected"
    LISTED = "listed"
    REPAIRABLE = "repairable"
    REPAIR_REQUESTED = "repair_requested"
    REPAIRED = "repaired"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


LISTING = StateMachine("credit_listing", text("严重失信名单", "dishonesty listing"), ListingStatus)
OBJECT = LISTING.action("objection", text("提出异议", "object"))
DECIDE = LISTING.action("decide", text("作出决定", "decide"))
REQUEST_REPAIR = LISTING.action("repair", text("申请信用修复", "request repair"))
LAPSE = LISTING.action("lapse", text("异议期满列入", "list when the objection period ends"))
OPEN_REPAIR = LISTING.action("open_repair", text("可申请修复", "become repairable"))
EXPIRE = LISTING.action("expire", text("期满移出", "expire"))
ORGANISATION = {Role.AGENCY, Role.ENTERPRISE}  # the organisation listed (which one: the repository's rule)
REGULATOR = {Role.BUREAU, Role.ADMIN}
LISTING.transition(OBJECT, ListingStatus.NOTICED, ListingStatus.OBJECTED, by=ORGANISATION)
# A decision names its target (``step(..., to=)``): list or withdraw an objected notice; repair or
# refuse a repair request (refused: back to repairable).
LISTING.transition(DECIDE, ListingStatus.OBJECTED, ListingStatus.LISTED, by=REGULATOR, emits=EventType.CREDIT_LISTED)
LISTING.transition(
    DECIDE, ListingStatus.OBJECTED, ListingStatus.WITHDRAWN, by=REGULATOR, emits=EventType.CREDIT_WITHDRAWN
)
LISTING.transition(
    DECIDE, ListingStatus.REPAIR_REQUESTED, ListingStatus.REPAIRED, by=REGULATOR, emits=EventType.CREDIT_REPAIRED
)
LISTING.transition(DECIDE, ListingStatus.REPAIR_REQUESTED, ListingStatus.REPAIRABLE, by=REGULATOR)
LISTING.transition(REQUEST_REPAIR, ListingStatus.REPAIRABLE, ListingStatus.REPAIR_REQUESTED, by=ORGANISATION)
# Time moves the rest (sweeps.credit_listings).
LISTING.transition(LAPSE, ListingStatus.NOTICED, ListingStatus.LISTED, by={Role.SYSTEM}, emits=EventType.CREDIT_LISTED)
LISTING.transition(OPEN_REPAIR, ListingStatus.LISTED, ListingStatus.REPAIRABLE, by={Role.SYSTEM})
LISTING.transition(
    EXPIRE,
    [ListingStatus.LISTED, ListingStatus.REPAIRABLE],
    ListingStatus.EXPIRED,
    by={Role.SYSTEM},
    emits=EventType.CREDIT_EXPIRED,
)
ON_THE_LIST = frozenset({ListingStatus.LISTED, ListingStatus.REPAIRABLE, ListingStatus.REPAIR_REQUESTED})


# --- public reports (群众举报, SPEC §22) ----------------------------------------------------------------
class ReportStatus(Labelled):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    HANDLED = "handled"
    CLOSED = "closed"


# Received from the public (or any account) by creation; the district's bureau, or the city, moves
# it on (which bureau: the repository's ``writable``).
REPORT = StateMachine("report", text("群众举报", "public report"), ReportStatus)
ASSIGN = REPORT.action("assign", text("交办", "assign"))
HANDLE = REPORT.action("handle", text("核查处理", "handle"))
CLOSE_REPORT = REPORT.action("close", text("办结", "close"))
REPORT.transition(ASSIGN, ReportStatus.RECEIVED, ReportStatus.ASSIGNED, by=REGULATOR)
REPORT.transition(HANDLE, ReportStatus.ASSIGNED, ReportStatus.HANDLED, by=REGULATOR)
REPORT.transition(CLOSE_REPORT, ReportStatus.HANDLED, ReportStatus.CLOSED, by=REGULATOR, emits=EventType.REPORT_CLOSED)

MACHINES = (SERVICE_LOG, HAZARD, AUDIT_TASK, COMPLAINT, SUPERVISION, LISTING, REPORT)

LABELS: dict[StrEnum, Text] = {
    ServiceLogStatus.RECORDED: text("已填报", "recorded"),
    ServiceLogStatus.CONFIRMED: text("已确认", "confirmed"),
    ServiceLogStatus.DISPUTED: text("有异议待裁决", "disputed"),
    ServiceLogStatus.VOID: text("已作废", "void"),
    HazardStatus.OPEN: text("待整改", "open"),
    HazardStatus.RECTIFIED: text("已整改待验收", "rectified"),
    HazardStatus.VERIFIED: text("已验收", "verified"),
    HazardStatus.OVERDUE: text("已逾期", "overdue"),
    AuditTaskStatus.PENDING: text("待审计", "pending"),
    AuditTaskStatus.COMPLETED: text("已完成", "completed"),
    ComplaintStatus.RECEIVED: text("已受理", "received"),
    ComplaintStatus.FORWARDED: text("已通报机构", "forwarded"),
    ComplaintStatus.RESPONDED: text("机构已答复", "responded"),
    ComplaintStatus.CLOSED: text("已办结", "closed"),
    SupervisionStatus.REPORTED: text("待确认", "reported"),
    SupervisionStatus.ACKNOWLEDGED: text("已确认", "acknowledged"),
    SupervisionStatus.LISTED: text("已挂牌", "listed"),
    SupervisionStatus.CLOSED: text("已销号", "closed"),
    ListingStatus.NOTICED: text("已告知（异议期内）", "noticed"),
    ListingStatus.OBJECTED: text("已提出异议", "objected"),
    ListingStatus.LISTED: text("已列入", "listed"),
    ListingStatus.REPAIRABLE: text("已列入（可申请修复）", "listed, repairable"),
    ListingStatus.REPAIR_REQUESTED: text("已申请信用修复", "repair requested"),
    ListingStatus.REPAIRED: text("已信用修复", "repaired"),
    ListingStatus.WITHDRAWN: text("已撤销", "withdrawn"),
    ListingStatus.EXPIRED: text("已期满移出", "expired"),
    ReportStatus.RECEIVED: text("已受理", "received"),
    ReportStatus.ASSIGNED: text("已交办", "assigned"),
    ReportStatus.HANDLED: text("已核查处理", "handled"),
    ReportStatus.CLOSED: text("已办结", "closed"),
}

# Who may bring each entity into being (a creation has no source state, so it is no transition).
RECORDS_SERVICE_LOGS = frozenset({Role.AGENCY})
UPLOADS_ATTACHMENTS = frozenset({Role.AGENCY, Role.ENTERPRISE})  # evidence of visits and rectifications (§16)
SUBMITS_COMPLAINTS = frozenset({Role.ENTERPRISE, Role.PUBLIC})  # the public: anonymously
DRAWS_SAMPLES = frozenset({Role.BUREAU, Role.ADMIN})
RECORDS_CREDIT = frozenset({Role.BUREAU, Role.ADMIN})  # a bureau's violations and commendations (SPEC §19)
RECORDS_ACCIDENTS = frozenset({Role.BUREAU, Role.ADMIN})  # accidents, their dossiers and findings (SPEC §20)
READS_REPORTS = frozenset({Role.BUREAU, Role.ADMIN})  # public reports (which districts: the repository's rule)
LISTS_DISHONESTY = frozenset({Role.BUREAU, Role.ADMIN})  # who proposes a serious-dishonesty listing (SPEC §19)
# Who may read what only regulators read (which districts: the repository's rule).
READS_SAMPLES = frozenset({Role.BUREAU, Role.ADMIN})
READS_DASHBOARD = frozenset({Role.BUREAU, Role.ADMIN})
LISTS_SUPERVISION = frozenset({Role.BUREAU, Role.ADMIN})  # the list of cases; a case's parties read their own
READS_LISTINGS = frozenset({Role.BUREAU, Role.ADMIN})  # every listing in every state, every district


class ContractStatus(StrEnum):
    """The contract states audit's rules name (the contracts service owns that machine): visits are
    recorded for, and missed visits counted on, active contracts; audits sample active and filed
    ones; an accident's dossier (SPEC §20) takes those in force at the accident (``IN_FORCE``, or
    ``ENDED_EARLY`` after it)."""

    FILED = "filed"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    SUSPENDED = "suspended"


# A contract was in force at a time within its term when it is (or was, until its term ran out)
# filed or active — or when it was terminated or suspended only later (the read model's
# ``updated_at``: when audit learnt of that last change).
IN_FORCE = (ContractStatus.FILED, ContractStatus.ACTIVE, ContractStatus.EXPIRED)
ENDED_EARLY = (ContractStatus.TERMINATED, ContractStatus.SUSPENDED)
