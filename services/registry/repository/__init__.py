"""Every query of the registry, one module per area, and the only place where who may see or
change a filing is written.

- ``agencies``: ``Agencies`` (the filing: who reads and writes it), ``EngineerClaims`` (staff
  exclusivity), ``FilingNumbers`` (one counter per approval year), ``Engagements`` (other work an
  agency declared for an enterprise);
- ``directory``: ``Directory``, the public directory, a read model anyone may query (its own
  query, no caller), and its history (``directory_change``, one row per change of the list);
- ``changes``: change filings, the engineers live contracts name, certificates lapsing.
"""

from services.registry.repository.agencies import (
    LISTERS,
    RELATED,
    Agencies,
    Engagements,
    EngineerClaims,
    FilingNumbers,
    cursor_uuid,
)
from services.registry.repository.changes import Changes, ContractEngineers, held_elsewhere, lapsing
from services.registry.repository.directory import Directory, DirectoryFilters, cursor_time

__all__ = [
    "LISTERS",
    "RELATED",
    "Agencies",
    "Changes",
    "ContractEngineers",
    "Directory",
    "DirectoryFilters",
    "Engagements",
    "EngineerClaims",
    "FilingNumbers",
    "cursor_time",
    "cursor_uuid",
    "held_elsewhere",
    "lapsing",
]
