"""The repository layer: every query of a service, and the only place where who-may-see-what is
written down (Polar's ``get_readable_statement``).

A service's ``repository.py`` subclasses ``Repository`` once per table it authorizes on and says,
as a SQL condition, which rows a principal may read and which it may change::

    class Contracts(Repository[Contract]):
        model, label = Contract, text("托管协议", "contract")

        def readable(self, principal):
            return scopes.any_of(
                scopes.district(principal, Contract.district_code),
                scopes.org(principal, Role.AGENCY, Contract.agency_uscc),
                scopes.org(principal, Role.ENTERPRISE, Contract.enterprise_uscc))

Lists start from ``select_readable(principal)``; details and actions load through ``get`` (404 when
the row does not exist, 403 when it exists but the principal may not see it — or may see it but not
change it, with ``write=True``). The condition and the row come back in one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.i18n import Text, text

M = TypeVar("M")


class Repository(Generic[M]):
    model: ClassVar[type[Any]]
    label: ClassVar[Text]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- authorization, as SQL -------------------------------------------------------------
    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        """Rows the principal may change; by default the rows it may read (actions then check the
        role and the state through the entity's state machine)."""
        return self.readable(principal)

    def select_readable(self, principal: Principal) -> sa.Select[Any]:
        return sa.select(self.model).where(self.readable(principal))

    # --- loading ---------------------------------------------------------------------------
    async def get(
        self,
        entity_id: uuid.UUID | str,
        principal: Principal,
        *,
        write: bool = False,
        lock: bool | None = None,
        options: Sequence[ORMOption] = (),
    ) -> M:
        """The row, for ``principal`` to read (or to change, with ``write``; locked for the rest of
        the transaction unless ``lock=False``). ``options``: loader options, e.g. ``selectinload`` of
        relationships declared ``lazy="raise"``."""
        allowed = self.writable(principal) if write else self.readable(principal)
        stmt = sa.select(self.model, allowed.label("allowed")).where(self._key() == entity_id).options(*options)
        if write if lock is None else lock:
            stmt = stmt.with_for_update(of=self.model)
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise NotFound(text(f"{self.label.zh}不存在", f"No such {self.label.en}"))
        if not row.allowed:
            raise Forbidden(
                text(
                    f"无权{'操作' if write else '访问'}该{self.label.zh}",
                    f"You may not {'change' if write else 'access'} this {self.label.en}",
                )
            )
        entity: M = row[0]
        return await self.complete(entity)

    async def find(
        self, entity_id: uuid.UUID | str, *, lock: bool = False, options: Sequence[ORMOption] = ()
    ) -> M | None:
        """The row whatever the caller (event handlers and sweeps, which act for the service)."""
        stmt = sa.select(self.model).where(self._key() == entity_id).options(*options)
        if lock:
            stmt = stmt.with_for_update()
        entity: M | None = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if entity is None else await self.complete(entity)

    async def complete(self, entity: M) -> M:
        """What ``get`` and ``find`` add to a loaded row: a repository whose records include
        related rows (relationships declared ``lazy="raise"``) loads them here."""
        return entity

    def _key(self) -> sa.ColumnElement[Any]:
        column: sa.ColumnElement[Any] = self.model.id
        return column
