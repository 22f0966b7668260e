"""Contract lifecycle (SPEC §9): domain functions with keyword-only arguments and no HTTP types.

``core`` holds the building blocks (authorization, locks, transitions, history, reading);
``drafting`` creation and amendment; ``lifecycle`` signatures, filing, review, termination and
cancellation. Each write is one transaction: lock what is read-then-written, check the state,
change it, write the history row and the event (outbox) and, for regulatory acts, the audit trail.
"""

from services.contracts.service.core import (
    ALLOWED_FROM,
    ContractTransitionError,
    can_see,
    get_contract,
    list_contracts,
    note,
    party_of,
    terminate,
    transition,
)
from services.contracts.service.drafting import amend_contract, create_contract
from services.contracts.service.lifecycle import (
    cancel_contract,
    review_filing,
    sign_contract,
    submit_for_filing,
    terminate_contract,
)

__all__ = [
    "ALLOWED_FROM", "ContractTransitionError", "amend_contract", "can_see", "cancel_contract", "create_contract",
    "get_contract", "list_contracts", "note", "party_of", "review_filing", "sign_contract", "submit_for_filing",
    "terminate", "terminate_contract", "transition",
]
