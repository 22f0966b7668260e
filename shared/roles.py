"""Who acts: the roles of SPEC §1 as an enum, plus the two internal ones no token carries."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    BUREAU = "bureau"
    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    # Internal: never in a token (the verifier refuses them).
    PUBLIC = "public"  # an anonymous caller of a public endpoint
    SYSTEM = "system"  # an event handler or a sweep acting for the service itself


TOKEN_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.BUREAU, Role.AGENCY, Role.ENTERPRISE})
ORG_ROLES: frozenset[Role] = frozenset({Role.AGENCY, Role.ENTERPRISE})
