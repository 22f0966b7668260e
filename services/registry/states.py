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

from shared.errors import Forbidden, InvalidTransition
from shared.events.catalog import EventType
from shared.i18n import Text, text
from shared.roles import Role
from shared.states import Action, StateMachine, Transition


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


class FilingMachine(StateMachine[AgencyStatus]):
    """``shared.states.StateMachine`` with two refinements the registry needs (both belong in
    shared/, reported for the lead):

    - the 409 names the state as a clerk reads it (「待补正」, not ``needs_more_info``);
    - the caller's role is judged before the state (``authorize``, also the first thing ``step``
      does): a party that may never take an action is refused with 403 whatever the filing's
      state, and a wrong ``If-Match`` (412) is judged between the two, as before the port.
    """

    def authorize(self, action: Action, role: Role | str) -> None:
        """403 unless ``role`` may take ``action`` from some state."""
        if not any(role in t.by for t in self.transitions if t.action == action):
            raise Forbidden(
                text(
                    f"你的角色不能对{self.label.zh}执行“{action.label.zh}”",
                    f"Your role may not {action.label.en} this {self.label.en}",
                )
            )

    def step(
        self, action: Action, current: str, role: Role | str | None = None, *, to: AgencyStatus | None = None
    ) -> Transition[AgencyStatus]:
        if role is not None:
            self.authorize(action, role)
        return super().step(action, current, role, to=to)

    def refusal(self, action: Action, current: str) -> InvalidTransition:
        try:
            state = AgencyStatus(current).label.zh
        except ValueError:
            state = current
        return InvalidTransition(
            text(
                f"{self.label.zh}当前状态为「{state}」，不能{action.label.zh}",
                f"The {self.label.en} is {current}; it cannot {action.label.en}",
            ),
            current=current,
            action=action.name,
        )


AGENCY = FilingMachine("agency", text("机构备案", "agency filing"), AgencyStatus)
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

# The review's decisions (ReviewIn.decision) and the regulatory acts (their routes), by name.
REVIEW_DECISIONS: dict[str, Action] = {a.name: a for a in (APPROVE, REJECT, REQUEST_CHANGES)}
REGULATORY_ACTS: tuple[Action, ...] = (SUSPEND, REINSTATE, REVOKE)
