"""The agency filing's state machine (SPEC §7): its states, what may be done in each, by whom, and
the event each status change announces.

    draft → submitted → approved | rejected | needs_more_info;  needs_more_info → submitted
    approved → suspended → approved (reinstate);  approved | suspended → revoked
    approved → expired (sweep, past valid_until);  approved | expired → submitted (renewal)

Editing and adding documents are actions too (the filing stays in its state): editing while the
filing may still be corrected (draft, needs_more_info), documents while it may be submitted (also
approved and expired, for a renewal). ``rejected`` and ``revoked`` are terminal, and there is one
agency per USCC, so a rejected applicant cannot file again under its USCC (SPEC §7; the lead may
want ``rejected → submitted``).

Which agency or district may act is the repository's rule (``Agencies.writable``); which role may
take an action is ``by`` here. A v2 action (a change filing, say) is one more ``action`` and its
``transition`` lines.
"""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalog import EventType
from shared.i18n import Text, text
from shared.roles import Role
from shared.states import Action, StateMachine


class AgencyStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_MORE_INFO = "needs_more_info"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"

    @property
    def label(self) -> Text:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[AgencyStatus, Text] = {
    AgencyStatus.DRAFT: text("草稿", "draft"),
    AgencyStatus.SUBMITTED: text("已提交", "submitted"),
    AgencyStatus.APPROVED: text("已备案", "approved"),
    AgencyStatus.REJECTED: text("已驳回", "rejected"),
    AgencyStatus.NEEDS_MORE_INFO: text("待补正", "needs more information"),
    AgencyStatus.SUSPENDED: text("已暂停", "suspended"),
    AgencyStatus.REVOKED: text("已撤销", "revoked"),
    AgencyStatus.EXPIRED: text("已过期", "expired"),
}


class ListChange(StrEnum):
    """What happened to an agency's place on the public list (the list's history, SPEC §21)."""

    LISTED = "listed"  # entered the list (approval, or a renewal approved after it left)
    CHANGED = "changed"  # still listed, with other public data (renewal, credit grade, a change filing)
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REVOKED = "revoked"
    EXPIRED = "expired"
    DELISTED = "delisted"  # left the list otherwise (a lapsed or rejected renewal)

    @property
    def label(self) -> Text:
        return LIST_CHANGE_LABELS[self]


LIST_CHANGE_LABELS: dict[ListChange, Text] = {
    ListChange.LISTED: text("列入名单", "listed"),
    ListChange.CHANGED: text("公示信息变更", "changed"),
    ListChange.SUSPENDED: text("暂停备案", "suspended"),
    ListChange.REINSTATED: text("恢复备案", "reinstated"),
    ListChange.REVOKED: text("撤销备案", "revoked"),
    ListChange.EXPIRED: text("备案到期", "expired"),
    ListChange.DELISTED: text("移出名单", "delisted"),
}


AGENCY = StateMachine("agency", text("机构备案", "agency filing"), AgencyStatus)
S = AgencyStatus
OWNER = {Role.AGENCY}
REGULATORS = {Role.BUREAU, Role.ADMIN}  # which bureau: the repository (the agency's district, or the city)

UPDATE = AGENCY.action("update", text("修改备案资料", "update"))
UPLOAD_DOCUMENT = AGENCY.action("upload_document", text("上传材料", "upload documents"))
SUBMIT = AGENCY.action("submit", text("提交备案", "submit"))
APPROVE = AGENCY.action("approve", text("批准", "approve"))
REJECT = AGENCY.action("reject", text("驳回", "reject"))
REQUEST_CHANGES = AGENCY.action("request_changes", text("要求补正", "request changes"))
SUSPEND = AGENCY.action("suspend", text("暂停", "suspend"))
REINSTATE = AGENCY.action("reinstate", text("恢复", "reinstate"))
REVOKE = AGENCY.action("revoke", text("撤销", "revoke"))
EXPIRE = AGENCY.action("expire", text("过期", "expire"))
# A change filing (SPEC §18): while approved, the filing stays approved (the request is reviewed).
FILE_CHANGE = AGENCY.action("file_change", text("申请变更备案", "file a change"))

for editable in (S.DRAFT, S.NEEDS_MORE_INFO):
    AGENCY.transition(UPDATE, editable, editable, by=OWNER)
for submittable in (S.DRAFT, S.NEEDS_MORE_INFO, S.APPROVED, S.EXPIRED):
    AGENCY.transition(UPLOAD_DOCUMENT, submittable, submittable, by=OWNER)
AGENCY.transition(
    SUBMIT, [S.DRAFT, S.NEEDS_MORE_INFO, S.APPROVED, S.EXPIRED], S.SUBMITTED, by=OWNER, emits=EventType.AGENCY_SUBMITTED
)
AGENCY.transition(APPROVE, S.SUBMITTED, S.APPROVED, by=REGULATORS, emits=EventType.AGENCY_APPROVED)
AGENCY.transition(REJECT, S.SUBMITTED, S.REJECTED, by=REGULATORS, emits=EventType.AGENCY_REJECTED)
AGENCY.transition(
    REQUEST_CHANGES, S.SUBMITTED, S.NEEDS_MORE_INFO, by=REGULATORS, emits=EventType.AGENCY_NEEDS_MORE_INFO
)
AGENCY.transition(SUSPEND, S.APPROVED, S.SUSPENDED, by=REGULATORS, emits=EventType.AGENCY_SUSPENDED)
AGENCY.transition(REINSTATE, S.SUSPENDED, S.APPROVED, by=REGULATORS, emits=EventType.AGENCY_REINSTATED)
AGENCY.transition(REVOKE, [S.APPROVED, S.SUSPENDED], S.REVOKED, by=REGULATORS, emits=EventType.AGENCY_REVOKED)
AGENCY.transition(EXPIRE, S.APPROVED, S.EXPIRED, by={Role.SYSTEM}, emits=EventType.AGENCY_EXPIRED)
AGENCY.transition(FILE_CHANGE, S.APPROVED, S.APPROVED, by=OWNER)

# The review's decisions (ReviewIn.decision) and the regulatory acts (their routes), by name.
REVIEW_DECISIONS: dict[str, Action] = {a.name: a for a in (APPROVE, REJECT, REQUEST_CHANGES)}
REGULATORY_ACTS: tuple[Action, ...] = (SUSPEND, REINSTATE, REVOKE)


class ChangeStatus(StrEnum):
    """A change filing (变更备案, SPEC §18): reviewed like a filing, or applied at once when it only
    changes the contact phone or the address."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"


CHANGE = StateMachine("agency_change", text("变更备案", "change filing"), ChangeStatus)
APPROVE_CHANGE = CHANGE.action("approve", text("批准变更", "approve the change"))
REJECT_CHANGE = CHANGE.action("reject", text("驳回变更", "reject the change"))
CHANGE.transition(APPROVE_CHANGE, ChangeStatus.SUBMITTED, ChangeStatus.APPROVED, by=REGULATORS)
CHANGE.transition(REJECT_CHANGE, ChangeStatus.SUBMITTED, ChangeStatus.REJECTED, by=REGULATORS)
CHANGE_DECISIONS: dict[str, Action] = {a.name: a for a in (APPROVE_CHANGE, REJECT_CHANGE)}
