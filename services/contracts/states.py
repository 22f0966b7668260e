"""The custody contract's state machine (SPEC §9): its states, every action, who may take it and
the event each step emits — one table that the use cases step through, that renders the 409 in
zh-CN and English, and that the "every action in every state" tests are generated from.

    draft ─sign (both parties)→ signed ─file→ filing ─review→ filed ─activate→ active ─expire→ expired
    filing ─review→ rejected ─amend→ draft;   draft ─cancel→ cancelled
    filed | active | suspended ─terminate→ terminated
    filed | active ─suspend (agency suspended)→ suspended ─reinstate→ back where it was
    suspended ─expire→ expired (its term ran out: it cannot resume)

Steps that keep the state: the first party's signature (draft → draft), an amendment of a draft,
the expiry notice (``contract.expiring``) and a risk flag set or cleared (``contract.flagged``).
Which *organisation* or *district* may act on a contract is the repository's business
(``Contracts.writable``); ``by`` here is the role.
"""

from __future__ import annotations

from enum import StrEnum

from shared.events.catalog import EventType
from shared.i18n import text
from shared.roles import Role
from shared.states import Action, StateMachine


class ContractStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    FILING = "filing"
    FILED = "filed"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"


S = ContractStatus
E = EventType

PARTIES = frozenset({Role.AGENCY, Role.ENTERPRISE})
# The bureau of the enterprise's district, the city bureau and admin (which district: the repository).
AUTHORITIES = frozenset({Role.BUREAU, Role.ADMIN})
SYSTEM = frozenset({Role.SYSTEM})  # the event cascades and the sweep, acting for the service

# Final states: nothing leaves them. Every other state is live: it follows the enterprise.
FINAL = frozenset({S.EXPIRED, S.TERMINATED, S.CANCELLED})
LIVE = frozenset(S) - FINAL
# Live states that claim the enterprise's term whatever the signatures (the overlap rule;
# ``rejected`` may be amended back to a draft). A draft claims it only once the enterprise has
# signed it (SPEC §9 v2; the repository asks the signatures): an agency's draft blocks nobody.
CLAIMING = LIVE - {S.DRAFT}
# States in which a contract binds its engineer's time (``max_enterprises_per_engineer``). Drafts
# do not: either party may draft, and an enterprise must not exhaust an engineer with drafts;
# capacity is checked again when a contract becomes signed.
BINDING = frozenset({S.SIGNED, S.FILING, S.FILED, S.ACTIVE, S.SUSPENDED})

CONTRACT = StateMachine("contract", text("托管协议", "contract"), ContractStatus)

# --- what the parties and the bureaus ask for (the API) --------------------------------------
SIGN = CONTRACT.action("sign", text("签署", "sign"))
AMEND = CONTRACT.action("amend", text("修改条款", "amend the terms"))
CANCEL = CONTRACT.action("cancel", text("撤销", "cancel"))
FILE = CONTRACT.action("file", text("提交备案", "submit for filing"))
REVIEW = CONTRACT.action("review", text("备案审查", "review the filing"))
TERMINATE = CONTRACT.action("terminate", text("终止", "terminate"))
# --- what the service does itself (event cascades, the sweep) ------------------------------
ACTIVATE = CONTRACT.action("activate", text("生效", "take effect"))
NOTIFY_EXPIRING = CONTRACT.action("notify_expiring", text("发出到期提醒", "give notice of its end"))
EXPIRE = CONTRACT.action("expire", text("期满终止", "expire"))
SUSPEND = CONTRACT.action("suspend", text("随机构暂停", "be suspended with its agency"))
REINSTATE = CONTRACT.action("reinstate", text("随机构恢复", "be reinstated with its agency"))
FLAG = CONTRACT.action("flag", text("标记风险", "have its risk flag set or cleared"))

CONTRACT.transition(SIGN, S.DRAFT, S.DRAFT, by=PARTIES)  # the first party's signature
CONTRACT.transition(SIGN, S.DRAFT, S.SIGNED, by=PARTIES, emits=E.CONTRACT_SIGNED)  # both have signed
CONTRACT.transition(AMEND, [S.DRAFT, S.REJECTED], S.DRAFT, by=PARTIES)  # voids the signatures
CONTRACT.transition(CANCEL, S.DRAFT, S.CANCELLED, by=PARTIES)
CONTRACT.transition(FILE, S.SIGNED, S.FILING, by=PARTIES, emits=E.CONTRACT_FILING_SUBMITTED)
CONTRACT.transition(REVIEW, S.FILING, S.FILED, by=AUTHORITIES, emits=E.CONTRACT_FILED)
CONTRACT.transition(REVIEW, S.FILING, S.REJECTED, by=AUTHORITIES, emits=E.CONTRACT_REJECTED)
CONTRACT.transition(
    TERMINATE,
    [S.FILED, S.ACTIVE, S.SUSPENDED],
    S.TERMINATED,
    by=PARTIES | AUTHORITIES | SYSTEM,
    emits=E.CONTRACT_TERMINATED,
)  # the system: the agency's filing was revoked
CONTRACT.transition(ACTIVATE, S.FILED, S.ACTIVE, by=SYSTEM, emits=E.CONTRACT_ACTIVATED)
CONTRACT.transition(NOTIFY_EXPIRING, S.ACTIVE, S.ACTIVE, by=SYSTEM, emits=E.CONTRACT_EXPIRING)
CONTRACT.transition(EXPIRE, [S.ACTIVE, S.SUSPENDED], S.EXPIRED, by=SYSTEM, emits=E.CONTRACT_EXPIRED)
CONTRACT.transition(SUSPEND, [S.FILED, S.ACTIVE], S.SUSPENDED, by=SYSTEM, emits=E.CONTRACT_SUSPENDED)
# Reinstatement returns to the state the suspension interrupted and emits that state's event.
CONTRACT.transition(REINSTATE, S.SUSPENDED, S.ACTIVE, by=SYSTEM, emits=E.CONTRACT_ACTIVATED)
CONTRACT.transition(REINSTATE, S.SUSPENDED, S.FILED, by=SYSTEM, emits=E.CONTRACT_FILED)
for _live in sorted(LIVE):
    CONTRACT.transition(FLAG, _live, _live, by=SYSTEM, emits=E.CONTRACT_FLAGGED)


def roles_of(action: Action) -> frozenset[Role]:
    """The roles that may take ``action`` in some state."""
    return frozenset().union(*(t.by for t in CONTRACT.transitions if t.action == action))
