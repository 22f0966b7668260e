"""Every query of the contracts service, and the only place where who may see or change a contract
is written down.

``Contracts``: a party sees its own contracts (the agency by its USCC, the enterprise by its
USCC), a district bureau the contracts of enterprises in its district, the city bureau and admin
all of them; whoever sees a contract may ask to change it, and the state machine then decides
whether their *role* may take that step (states.py). Drafting (no row yet) is for the parties,
each in its own name (``check_may_draft``).

``Agencies`` / ``Enterprises``: the read models of the parties, kept by one upsert rule
(shared.readmodel: strictly newer versions apply). ``FilingNumbers``: the per-year counter.

Locks are always taken in the order agency facts → enterprise facts → contract (the event
consumers take the facts row first too), so that concurrent writers on PostgreSQL queue behind
each other instead of deadlocking; on SQLite every write transaction is ``BEGIN IMMEDIATE``.
"""

from services.contracts.repository.contracts import CONTRACTS, Contracts, enterprise_town
from services.contracts.repository.readmodels import (
    Agencies,
    CreditListings,
    Engagements,
    EnterpriseCredits,
    Enterprises,
    FilingNumbers,
    ReadModel,
)

__all__ = [
    "CONTRACTS",
    "Agencies",
    "Contracts",
    "CreditListings",
    "Engagements",
    "EnterpriseCredits",
    "Enterprises",
    "FilingNumbers",
    "ReadModel",
    "enterprise_town",
]
