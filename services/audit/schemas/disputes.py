"""Request models of a visit's dispute and its resolution (SPEC §16)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from services.audit.models import DisputeDecision
from services.audit.schemas import Free, Strict, ValueOf
from services.audit.states import ServiceLogStatus
from shared.validation import Reason

if TYPE_CHECKING:
    DisputeDecisionIn = DisputeDecision
    ServiceLogStatusIn = ServiceLogStatus
else:
    DisputeDecisionIn = Annotated[str, ValueOf(DisputeDecision)]
    ServiceLogStatusIn = Annotated[str, ValueOf(ServiceLogStatus)]  # the list's filter (the bureau's queue)


class DisputeBody(Strict):
    reason: Reason


class ResolveBody(Strict):
    decision: DisputeDecisionIn
    notes: Annotated[Free | None, Field(max_length=2000)] = None
