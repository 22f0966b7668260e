"""The contracts: who sees and changes which (``Contracts``), the queries of the lists, counts and
cascades, and a contract's town (its enterprise's)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from services.contracts.models import (
    AgencyFacts,
    Contract,
    CreditListed,
    EngagementFacts,
    EnterpriseCredit,
    EnterpriseFacts,
    Party,
    Signature,
)
from services.contracts.states import (
    ACTIVATE,
    BINDING,
    CLAIMING,
    CONTRACT,
    EXPIRE,
    NOTIFY_EXPIRING,
    ContractStatus,
)
from shared import counts, scopes
from shared.auth import Principal
from shared.counts import Counts
from shared.errors import Forbidden
from shared.i18n import text
from shared.pagination import PageParams, keyset, page_of
from shared.repository import Repository
from shared.roles import Role
from shared.states import Action

M = TypeVar("M")
CONTRACTS = sa.inspect(Contract).local_table  # its columns, typed as SQL expressions
SIGNATURES = sa.inspect(Signature).local_table
LISTINGS = sa.inspect(CreditListed).local_table
ENGAGEMENTS = sa.inspect(EngagementFacts).local_table
CREDITS = sa.inspect(EnterpriseCredit).local_table
AGENCY_FACTS = sa.inspect(AgencyFacts).local_table
SAFETY_EVALUATION = "safety_evaluation"  # the engagement that bars custody (SPEC §20)
DETAILS = (
    selectinload(Contract.signature_records),  # type: ignore[arg-type]
    selectinload(Contract.history),  # type: ignore[arg-type]
)


def enterprise_town() -> sa.ScalarSelect[Any]:
    """A contract's town: its enterprise's, from the enterprise facts (SPEC §22)."""
    facts = sa.inspect(EnterpriseFacts).local_table
    return sa.select(facts.c.town).where(facts.c.uscc == CONTRACTS.c.enterprise_uscc).scalar_subquery()


class Contracts(Repository[Contract]):
    model, label = Contract, text("托管协议", "contract")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.district(principal, CONTRACTS.c.district_code, town=enterprise_town()),
            scopes.org(principal, Role.AGENCY, CONTRACTS.c.agency_uscc),
            scopes.org(principal, Role.ENTERPRISE, CONTRACTS.c.enterprise_uscc),
        )

    @staticmethod
    def asked(principal: Principal, district: str | None, town: str | None) -> sa.ColumnElement[bool]:
        """The list's ``district=`` / ``town=``; a town bureau asking for another town gets nothing,
        as a district bureau asking for another district does."""
        if principal.role == Role.BUREAU and not scopes.may_ask_for(principal, district, town):
            return scopes.nothing()
        return scopes.in_area(CONTRACTS.c.district_code, enterprise_town(), district=district, town=town)

    @staticmethod
    def check_may_draft(principal: Principal, *, enterprise_uscc: str, agency_uscc: str | None = None) -> None:
        """403 unless the caller is a party drafting in its own name: an enterprise for itself, an
        agency as itself (its USCC known once the agency is resolved: pass ``agency_uscc`` then)."""
        if principal.role == Role.ENTERPRISE:
            if not principal.is_org(enterprise_uscc):
                raise Forbidden(
                    text("企业只能为本企业创建托管协议", "An enterprise may only create contracts for itself")
                )
        elif principal.role != Role.AGENCY:
            raise Forbidden(
                text("托管协议由机构或企业一方发起", "A contract is created by the agency or the enterprise")
            )
        elif agency_uscc is not None and not principal.is_org(agency_uscc):
            raise Forbidden(
                text("机构只能以本机构名义创建托管协议", "An agency may only create contracts in its own name")
            )

    # --- loading --------------------------------------------------------------------------
    async def get_full(self, contract_id: uuid.UUID, principal: Principal, *, write: bool = False) -> Contract:
        """``get`` (404 / 403 / the row, locked with ``write``) with its signatures and history,
        loaded with it (two ``IN`` selects). A write then keeps both in step in memory (a new
        signature appended, history rows through ``steps.take``), so its response is built from
        what the transaction holds, never re-selected."""
        return await self.get(contract_id, principal, write=write, options=DETAILS)

    @staticmethod
    def new_details(contract: Contract) -> Contract:
        """A new contract's (empty) signatures and history, held from the start."""
        contract.signature_records = []
        contract.history = []
        return contract

    async def page(
        self,
        principal: Principal,
        params: PageParams,
        *,
        status: ContractStatus | None = None,
        agency_id: uuid.UUID | None = None,
        enterprise_uscc: str | None = None,
        district: str | None = None,
        town: str | None = None,
        risk_flagged: bool | None = None,
    ) -> tuple[list[Contract], str | None]:
        """The contracts the principal may see, newest first, filtered."""
        stmt = self.select_readable(principal).where(self.asked(principal, district, town))
        filters = {
            CONTRACTS.c.status: status,
            CONTRACTS.c.agency_id: agency_id,
            CONTRACTS.c.enterprise_uscc: enterprise_uscc,
            CONTRACTS.c.risk_flagged: risk_flagged,
        }
        stmt = stmt.where(*(column == value for column, value in filters.items() if value is not None))
        stmt = keyset(stmt, [CONTRACTS.c.id], params, descending=True, convert=[uuid.UUID])
        rows = (await self.session.execute(stmt)).scalars().all()
        return page_of(rows, params, lambda c: [str(c.id)])

    async def counts(
        self,
        principal: Principal,
        by: list[str],
        *,
        as_of: datetime,
        status: ContractStatus | None = None,
        district: str | None = None,
        town: str | None = None,
        ending_before: date | None = None,
        risk_flagged: bool | None = None,
    ) -> Counts:
        """The contracts the principal may see, counted by ``by`` (one ``GROUP BY``), filtered as the list."""
        c = CONTRACTS.c
        filters = {c.status: status, c.risk_flagged: risk_flagged}
        where = [
            self.readable(principal),
            self.asked(principal, district, town),
            *(column == value for column, value in filters.items() if value is not None),
        ]
        if ending_before is not None:
            where.append(c.end_date < ending_before)
        stmt = counts.grouped({"district": c.district_code, "town": enterprise_town(), "status": c.status}, by, *where)
        return await counts.counted(self.session, stmt, by, as_of=as_of)

    async def locked(self, *where: sa.ColumnElement[bool]) -> list[Contract]:
        """Contracts meeting ``where``, locked, with their signatures (event cascades)."""
        stmt = (
            sa.select(Contract)
            .where(*where)
            .order_by(CONTRACTS.c.id)
            .options(selectinload(Contract.signature_records))  # type: ignore[arg-type]
            .with_for_update(of=Contract)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def of_agency(self, agency_id: uuid.UUID, states: Iterable[ContractStatus]) -> list[Contract]:
        return await self.locked(CONTRACTS.c.agency_id == agency_id, CONTRACTS.c.status.in_(list(states)))

    async def of_enterprise(self, uscc: str, states: Iterable[ContractStatus]) -> list[Contract]:
        return await self.locked(CONTRACTS.c.enterprise_uscc == uscc, CONTRACTS.c.status.in_(list(states)))

    # --- time-based steps -------------------------------------------------------------------
    @staticmethod
    def due(action: Action, as_of: date, *, notice_days: int) -> sa.ColumnElement[bool]:
        """The contracts whose time has come for ``action`` (states.py) as of ``as_of``: filed ones
        from their start date, live ones after their end date, active ones ``notice_days``
        before their end (once)."""
        in_state = CONTRACTS.c.status.in_(sorted(CONTRACT.sources_of(action)))
        if action is ACTIVATE:
            return sa.and_(in_state, CONTRACTS.c.start_date <= as_of)
        if action is EXPIRE:  # the last day is still in force
            return sa.and_(in_state, CONTRACTS.c.end_date < as_of)
        if action is NOTIFY_EXPIRING:
            return sa.and_(
                in_state,
                CONTRACTS.c.expiring_notified_at.is_(None),
                CONTRACTS.c.end_date <= as_of + timedelta(days=notice_days),
                CONTRACTS.c.end_date >= as_of,
            )
        raise ValueError(f"{action} is not a time-based step")

    async def ids_where(self, condition: sa.ColumnElement[bool]) -> list[uuid.UUID]:
        stmt = sa.select(CONTRACTS.c.id).where(condition).order_by(CONTRACTS.c.id)
        return list((await self.session.execute(stmt)).scalars().all())

    async def locked_if(self, contract_id: uuid.UUID, condition: sa.ColumnElement[bool]) -> Contract | None:
        """The contract, locked, if it still meets ``condition`` — re-evaluated under the lock, so
        that of two replicas sweeping at once only one takes the step."""
        found = await self.locked(CONTRACTS.c.id == contract_id, condition)
        return found[0] if found else None

    # --- the counts the creation rules need --------------------------------------------------
    @staticmethod
    def _counted(*where: sa.ColumnElement[bool], exclude: uuid.UUID | None) -> sa.ScalarSelect[Any]:
        stmt = sa.select(sa.func.count()).select_from(CONTRACTS).where(*where)
        if exclude is not None:
            stmt = stmt.where(CONTRACTS.c.id != exclude)
        return stmt.scalar_subquery()

    @classmethod
    def engineer_load_of(cls, *, agency_id: uuid.UUID, engineer_name: str, exclude: uuid.UUID | None) -> Any:
        """The engineer's other contracts with this agency that bind their time."""
        return cls._counted(
            CONTRACTS.c.agency_id == agency_id,
            CONTRACTS.c.engineer_name == engineer_name,
            CONTRACTS.c.status.in_(sorted(BINDING)),
            exclude=exclude,
        )

    @classmethod
    def overlapping_of(cls, *, enterprise_uscc: str, start: date, end: date, exclude: uuid.UUID | None) -> Any:
        """The enterprise's other contracts claiming a term that overlaps ``start`` … ``end``: the
        live ones past draft, and the drafts the enterprise has signed (SPEC §9 v2: an agency's
        draft alone claims nothing, so that no agency can block an enterprise with one)."""
        enterprise_signed = (
            sa.select(SIGNATURES.c.id)
            .where(
                SIGNATURES.c.contract_id == CONTRACTS.c.id,
                SIGNATURES.c.party == Party.ENTERPRISE,
                SIGNATURES.c.voided_at.is_(None),
            )
            .exists()
        )
        return cls._counted(
            CONTRACTS.c.enterprise_uscc == enterprise_uscc,
            sa.or_(
                CONTRACTS.c.status.in_(sorted(CLAIMING)),
                sa.and_(CONTRACTS.c.status == ContractStatus.DRAFT, enterprise_signed),
            ),
            CONTRACTS.c.start_date <= end,
            CONTRACTS.c.end_date >= start,
            exclude=exclude,
        )

    async def tally(self, **named: Any) -> Any:
        """Several counts and facts (scalar subqueries) in one statement: one round trip for all
        of a write's rule checks. The row, by name."""
        stmt = sa.select(*(expr.label(name) for name, expr in named.items()))
        return (await self.session.execute(stmt)).one()

    async def engineer_load(self, *, agency_id: uuid.UUID, engineer_name: str, exclude: uuid.UUID | None) -> int:
        row = await self.tally(
            n=self.engineer_load_of(agency_id=agency_id, engineer_name=engineer_name, exclude=exclude)
        )
        return int(row.n)

    async def overlapping(self, *, enterprise_uscc: str, start: date, end: date, exclude: uuid.UUID | None) -> int:
        row = await self.tally(
            n=self.overlapping_of(enterprise_uscc=enterprise_uscc, start=start, end=end, exclude=exclude)
        )
        return int(row.n)

    async def rule_facts(
        self,
        *,
        agency_id: uuid.UUID,
        agency_uscc: str,
        enterprise_uscc: str,
        engineer_name: str,
        start: date,
        end: date,
        exclude: uuid.UUID | None,
    ) -> Any:
        """Every count and fact the creation rules need, in one statement: ``engineer_load``,
        ``overlapping``, ``last_evaluation`` (the end of the agency's latest safety evaluation
        of the enterprise), ``credit_listed`` (the agency on the dishonesty list now),
        ``credit_grade`` (the enterprise's grade; None before its first credit event)."""
        e = ENGAGEMENTS.c
        return await self.tally(
            engineer_load=self.engineer_load_of(agency_id=agency_id, engineer_name=engineer_name, exclude=exclude),
            overlapping=self.overlapping_of(enterprise_uscc=enterprise_uscc, start=start, end=end, exclude=exclude),
            last_evaluation=sa.select(sa.func.max(e.ends_on))
            .where(e.agency_id == agency_id, e.enterprise_uscc == enterprise_uscc, e.kind == SAFETY_EVALUATION)
            .scalar_subquery(),
            credit_listed=sa.exists().where(LISTINGS.c.uscc == agency_uscc, LISTINGS.c.listed.is_(True)),
            credit_grade=sa.select(CREDITS.c.grade).where(CREDITS.c.uscc == enterprise_uscc).scalar_subquery(),
        )
