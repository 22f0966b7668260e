"""The contracts use cases (SPEC §9): keyword-only functions taking the unit of work first, knowing
no HTTP types, returning the ORM rows they changed.

``drafting`` creation and amendment; ``lifecycle`` signatures, filing, the filing review,
termination, cancellation; ``reading`` one contract or a page; ``cascades`` what agency and
enterprise events do to contracts; ``schedule`` the time-based steps; ``rules`` the creation
rules (pure); ``facts`` the parties' read models and the fallback to their owning services;
``steps`` what every use case does with a step of the machine.
"""

from services.contracts.service.cascades import (
    follow_agency,
    follow_credit_listing,
    follow_engagement,
    follow_enterprise,
    follow_enterprise_credit,
)
from services.contracts.service.drafting import amend_contract, create_contract
from services.contracts.service.lifecycle import (
    cancel_contract,
    review_filing,
    sign_contract,
    submit_for_filing,
    terminate_contract,
)
from services.contracts.service.reading import ContractList, count_contracts, get_contract, list_contracts
from services.contracts.service.schedule import DUE_STEPS, due, take_due_step

__all__ = [
    "DUE_STEPS",
    "ContractList",
    "amend_contract",
    "cancel_contract",
    "count_contracts",
    "create_contract",
    "due",
    "follow_agency",
    "follow_credit_listing",
    "follow_engagement",
    "follow_enterprise",
    "follow_enterprise_credit",
    "get_contract",
    "list_contracts",
    "review_filing",
    "sign_contract",
    "submit_for_filing",
    "take_due_step",
    "terminate_contract",
]
