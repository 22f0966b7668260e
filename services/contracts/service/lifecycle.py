"""Signatures, filing, the filing review, termination and cancellation (SPEC §9): each one write
transaction — lock the agency's facts then the contract, check If-Match, ask the machine for the
step, take it, emit its event and, for a regulatory act, append it to the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from services.contracts.models import Contract, Party, Signature
from services.contracts.repository import Contracts, FilingNumbers
from services.contracts.schemas import Decision
from services.contracts.service import steps
from services.contracts.service.rules import raise_violations, term_free_for
from services.contracts.states import (
    ACTIVATE,
    CANCEL,
    CONTRACT,
    FILE,
    REVIEW,
    SIGN,
    TERMINATE,
    ContractStatus,
)
from shared.errors import (
    Conflict,
    ErrorCode,
    FieldError,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from shared.http import Precondition
from shared.i18n import text
from shared.ids import new_id
from shared.uow import UnitOfWork


async def sign_contract(
    uow: UnitOfWork, *, contract_id: uuid.UUID, if_match: Precondition, content_sha256: str | None = None
) -> Contract:
    """Record the caller's party's signature over the current terms; both signed → ``signed``
    (the agency must still be in force and the engineer within capacity then).

    The signer names what they sign (SPEC §9 v2): ``If-Match`` with the version they read or
    ``content_sha256`` of the terms they read — neither is 428, a stale one 412 and nothing is
    signed. The enterprise's signature claims the term (the overlap rule): refused with 422
    ``term_overlaps`` while another contract of the enterprise claims it."""
    principal = uow.principal
    party = Party(principal.role) if principal.role in set(Party) else None
    async with uow:
        # the enterprise's row too when the enterprise signs: its signature claims the term
        agency, _enterprise = await steps.lock_parties_of(uow, contract_id, enterprise=party == Party.ENTERPRISE)
        contracts = Contracts(uow.session)
        contract = await contracts.get_full(contract_id, principal, write=True)
        assert agency is not None  # the contract exists (get_full), so its agency is known
        steps.authorize(SIGN, principal)
        check_names_terms(contract, if_match=if_match, content_sha256=content_sha256)
        # The caller's role names its party (the repository let it write: its own contract).
        both = {*contract.signed_by, principal.role} >= set(Party)
        step = CONTRACT.step(
            SIGN, contract.status, principal.role, to=ContractStatus.SIGNED if both else ContractStatus.DRAFT
        )
        party = Party(principal.role)
        if party in contract.signed_by:
            raise Conflict(
                text("本方已签署该协议", "Your party has already signed this contract"),
                code=ErrorCode.ALREADY_SIGNED,
                extra={"party": party},
            )
        # the counts this signature's rules need, in one statement, before anything changes
        counts: dict[str, Any] = {}
        if party == Party.ENTERPRISE:
            counts["overlapping"] = contracts.overlapping_of(
                enterprise_uscc=contract.enterprise_uscc,
                start=contract.start_date,
                end=contract.end_date,
                exclude=contract.id,
            )
        if step.changes_state:
            counts["engineer_load"] = contracts.engineer_load_of(
                agency_id=contract.agency_id, engineer_name=contract.engineer_name, exclude=contract.id
            )
        tally: Any = await contracts.tally(**counts) if counts else None
        if party == Party.ENTERPRISE:
            raise_violations([v] if (v := term_free_for(int(tally.overlapping))) else [])
        if step.changes_state:
            if not agency.filing_in_force:
                raise ValidationFailed(
                    text("该机构已不在备案有效状态，不能签订协议", "The agency is no longer approved"),
                    code=ErrorCode.AGENCY_NOT_APPROVED,
                    errors=[FieldError("agency_id", text("机构未备案", "not approved"))],
                )
            if int(tally.engineer_load) >= uow.policy.max_enterprises_per_engineer:
                raise ValidationFailed(
                    text(f"{contract.engineer_name} 已达服务企业上限", f"{contract.engineer_name} is at capacity"),
                    code=ErrorCode.ENGINEER_AT_CAPACITY,
                    errors=[FieldError("engineer_name", text("工程师已满额", "engineer at capacity"))],
                )
        contract.signature_records.append(
            Signature(
                id=new_id(),
                contract_id=contract.id,
                party=party,
                account_id=principal.subject,
                actor=principal.actor,
                signed_at=uow.now,
                content_sha256=contract.content_sha256,
            )
        )
        reason = "双方已签署 / signed by both parties" if step.changes_state else None
        previous = steps.take(uow, contract, step, reason=reason, recorded=step.changes_state)
        await steps.emit(uow, contract, step.emits, reason=reason, previous_status=previous)
        steps.log.info("contracts.signature.recorded", contract_id=str(contract.id), party=party)
        return contract


def check_names_terms(contract: Contract, *, if_match: Precondition, content_sha256: str | None) -> None:
    """428 unless the signer names what they sign (an ``If-Match`` version, ``*`` naming none, or
    the terms' hash); 412 when what they name is not the contract as it stands."""
    if not if_match.names_version and content_sha256 is None:
        raise PreconditionRequired(
            text(
                "签署须指明所签条款：请附 If-Match（协议当前的 ETag）或 content_sha256（条款哈希）",
                "A signature must name what it signs: send If-Match with the contract's current ETag "
                "or content_sha256, the hash of its terms",
            ),
            extra={"current_version": contract.version},
        )
    if if_match.names_version:
        if_match.check(contract.version)
    if content_sha256 is not None and content_sha256 != contract.content_sha256:
        raise PreconditionFailed(
            text(
                "协议条款已被修改，与你所签的不一致；请重新阅读条款后再签署",
                "The terms changed since you read them; read them again before signing",
            ),
            extra={"current_version": contract.version},
        )


async def submit_for_filing(uow: UnitOfWork, *, contract_id: uuid.UUID, if_match: Precondition) -> Contract:
    """A party submits the signed contract to the bureau: ``filing``, ``contract.filing_submitted``."""
    async with uow:
        contracts = Contracts(uow.session)
        contract = await contracts.get_full(contract_id, uow.principal, write=True)
        steps.authorize(FILE, uow.principal)
        if_match.check(contract.version)
        step = CONTRACT.step(FILE, contract.status, uow.principal.role)
        reason = "提交备案 / submitted for filing"
        previous = steps.take(uow, contract, step, reason=reason)
        await steps.emit(uow, contract, step.emits, reason=reason, previous_status=previous)
        await steps.audit(uow, contract, action="contract.filing.submitted", content_sha256=contract.content_sha256)
        return contract


async def review_filing(
    uow: UnitOfWork, *, contract_id: uuid.UUID, decision: Decision, comments: str | None, if_match: Precondition
) -> Contract:
    """The bureau accepts (``filed`` with a filing number, ``active`` at once from the start date)
    or rejects (``rejected``, comments required) the filing."""
    comments = comments or None
    if decision == "reject" and not comments:
        raise ValidationFailed(
            text("退回备案须填写意见", "A rejection needs comments"),
            code=ErrorCode.COMMENTS_REQUIRED,
            errors=[FieldError("comments", text("退回时必填", "required when rejecting"))],
        )
    async with uow:
        # The agency's row first: an agency.suspended/revoked cascade running now either sees this
        # contract filed or we see the agency suspended — never a filed contract that escapes it.
        agency, _ = await steps.lock_parties_of(uow, contract_id, enterprise=False)
        contracts = Contracts(uow.session)
        contract = await contracts.get_full(contract_id, uow.principal, write=True)
        assert agency is not None  # the contract exists (get_full), so its agency is known
        steps.authorize(REVIEW, uow.principal)
        if_match.check(contract.version)
        accepted = decision == "accept"
        step = CONTRACT.step(
            REVIEW,
            contract.status,
            uow.principal.role,
            to=ContractStatus.FILED if accepted else ContractStatus.REJECTED,
        )
        if not accepted:
            contract.review_comments = comments
            previous = steps.take(uow, contract, step, reason=comments)
            await steps.emit(uow, contract, step.emits, reason=comments, previous_status=previous)
            await steps.audit(uow, contract, action="contract.filing.rejected", comments=comments)
            return contract
        if not agency.filing_in_force:
            raise ValidationFailed(
                text(
                    f"该机构当前状态为 {agency.status}，不能予以备案",
                    f"The agency is {agency.status}; the contract cannot be filed",
                ),
                code=ErrorCode.AGENCY_NOT_APPROVED,
                errors=[FieldError("agency_id", text("机构未处于备案有效状态", "agency not approved"))],
            )
        # the number first: its statement flushes nothing, the contract is still unchanged
        contract.filing_no = await FilingNumbers(uow.session).next(uow.clock.today().year)
        contract.review_comments = comments
        contract.filed_at = uow.now
        previous = steps.take(uow, contract, step, reason=comments)
        await steps.emit(uow, contract, step.emits, reason=comments, previous_status=previous)
        await steps.audit(
            uow,
            contract,
            action="contract.filing.accepted",
            filing_no=contract.filing_no,
            comments=comments,
            content_sha256=contract.content_sha256,
        )
        if contract.start_date <= uow.clock.today():
            # Activation is the service's step (the sweep's, on the start date); a filing accepted
            # on or after it takes effect at once, in the reviewer's transaction.
            activation = CONTRACT.step(ACTIVATE, contract.status)
            reason = "开始日期已到 / start date reached"
            previous = steps.take(uow, contract, activation, reason=reason)
            await steps.emit(uow, contract, activation.emits, reason=reason, previous_status=previous)
        return contract


async def terminate_contract(
    uow: UnitOfWork, *, contract_id: uuid.UUID, reason: str, if_match: Precondition
) -> Contract:
    """A party or the governing bureau ends a filed, active or suspended contract, with a reason."""
    async with uow:
        contracts = Contracts(uow.session)
        contract = await contracts.get_full(contract_id, uow.principal, write=True)
        steps.authorize(TERMINATE, uow.principal)
        if_match.check(contract.version)
        await terminate(uow, contract, reason=reason)
        return contract


async def terminate(uow: UnitOfWork, contract: Contract, *, reason: str, actor: str | None = None) -> None:
    """→ ``terminated`` (by a party, a bureau, or the agency's revocation), on the audit trail too."""
    step = CONTRACT.step(TERMINATE, contract.status, uow.principal.role)
    contract.end_reason = reason
    contract.previous_status = None
    previous = steps.take(uow, contract, step, reason=reason, actor=actor)
    await steps.emit(uow, contract, step.emits, reason=reason, previous_status=previous)
    await steps.audit(uow, contract, action="contract.terminated", reason=reason)


async def cancel_contract(
    uow: UnitOfWork, *, contract_id: uuid.UUID, reason: str | None, if_match: Precondition
) -> Contract:
    """A party withdraws a draft."""
    async with uow:
        contracts = Contracts(uow.session)
        contract = await contracts.get_full(contract_id, uow.principal, write=True)
        steps.authorize(CANCEL, uow.principal)
        if_match.check(contract.version)
        step = CONTRACT.step(CANCEL, contract.status, uow.principal.role)
        contract.end_reason = reason
        previous = steps.take(uow, contract, step, reason=reason)
        await steps.emit(uow, contract, step.emits, reason=reason, previous_status=previous)
        return contract
