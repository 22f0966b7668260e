"""The organisation's state machine (SPEC §14): pending on first sign-up; verified by the bureau of
its district (or the city), or by approval of an agency's first filing; rejected; suspended and
reinstated (back to what it was before: verified if it ever was, else pending).

Which bureau may act is the district rule in ``organisations``; which role, and from which state,
is this table's."""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalog import EventType
from shared.i18n import Text, text
from shared.roles import Role
from shared.states import StateMachine


class OrgStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"

    @property
    def label(self) -> Text:
        return LABELS[self]


LABELS = {
    OrgStatus.PENDING: text("待核验", "pending"),
    OrgStatus.VERIFIED: text("已核验", "verified"),
    OrgStatus.REJECTED: text("已驳回", "rejected"),
    OrgStatus.SUSPENDED: text("已暂停", "suspended"),
}

ORGANISATION = StateMachine("organisation", text("组织", "organisation"), OrgStatus)
VERIFY = ORGANISATION.action("verify", text("核验通过", "verify"))
REJECT = ORGANISATION.action("reject", text("驳回", "reject"))
SUSPEND = ORGANISATION.action("suspend", text("暂停", "suspend"))
REINSTATE = ORGANISATION.action("reinstate", text("恢复", "reinstate"))

S = OrgStatus
AUTHORITIES = {Role.BUREAU, Role.ADMIN}
ORGANISATION.transition(
    VERIFY, [S.PENDING, S.REJECTED], S.VERIFIED, by={*AUTHORITIES, Role.SYSTEM}, emits=EventType.ORGANISATION_VERIFIED
)
ORGANISATION.transition(REJECT, S.PENDING, S.REJECTED, by=AUTHORITIES, emits=EventType.ORGANISATION_REJECTED)
ORGANISATION.transition(
    SUSPEND, [S.PENDING, S.VERIFIED], S.SUSPENDED, by=AUTHORITIES, emits=EventType.ORGANISATION_SUSPENDED
)
for back in (S.VERIFIED, S.PENDING):
    ORGANISATION.transition(REINSTATE, S.SUSPENDED, back, by=AUTHORITIES, emits=EventType.ORGANISATION_REINSTATED)
