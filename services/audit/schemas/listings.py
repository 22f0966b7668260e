"""Request and response models of the serious-dishonesty list (SPEC §19)."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import AliasChoices, Field

from services.audit.models import ListingOrgKind
from services.audit.schemas import UTC, Read, Strict, ValueOf
from services.audit.states import ListingStatus
from shared.reference import USCC
from shared.validation import Reason


class ListingDecision(StrEnum):
    """A bureau's decision on a listing (SPEC §19): on an objection, list or withdraw; on a repair
    request, repair or refuse."""

    LIST = "list"
    WITHDRAW = "withdraw"
    REPAIR = "repair"
    REFUSE = "refuse"


if TYPE_CHECKING:  # to mypy, the members they are
    ListingOrgKindIn = ListingOrgKind
    ListingStatusIn = ListingStatus
    ListingDecisionIn = ListingDecision
else:  # to pydantic and FastAPI, strings
    ListingOrgKindIn = Annotated[str, ValueOf(ListingOrgKind)]
    ListingStatusIn = Annotated[str, ValueOf(ListingStatus)]
    ListingDecisionIn = Annotated[str, ValueOf(ListingDecision)]


class CreditListingCreate(Strict):
    uscc: Annotated[USCC, Field(alias="org_uscc")]
    org_kind: ListingOrgKindIn
    reason: Reason
    legal_basis: Reason


class ObjectionBody(Strict):
    statement: Reason


class RepairBody(Strict):
    statement: Reason


class ListingDecisionBody(Strict):
    decision: ListingDecisionIn
    reasons: Reason


class CreditListingRead(Read):
    """A listing as the organisation and the bureaus see it."""

    id: uuid.UUID
    org_uscc: str = Field(validation_alias=AliasChoices("uscc", "org_uscc"))
    org_kind: str
    name: str
    district_code: str
    reason: str
    legal_basis: str
    status: str
    noticed_on: date
    objection_until: date
    objection: str | None = None
    objected_at: UTC | None = None
    listed_at: date | None = None
    until: date | None = None
    repairable_from: date | None = None
    repair_statement: str | None = None
    repair_requested_at: UTC | None = None
    decision: str | None = None
    decision_reasons: str | None = None
    decided_by: str | None = None
    decided_at: UTC | None = None
    ended_on: date | None = None
    created_by: str
    created_at: UTC
    version: int


class CreditListingPublic(Read):
    """A listing on the public list (SPEC §19): who, why, since when and until when — nothing else."""

    name: str
    org_uscc: str = Field(validation_alias=AliasChoices("uscc", "org_uscc"))
    reason: str
    listed_at: date
    until: date
