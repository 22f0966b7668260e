"""The service template's building blocks in shared/: the unit of work, the declarative state
machine, the repository's one-statement authorization, the read-model staleness rule, exports and
backoff — each rule with a test that fails without it, on real databases and the real bus."""

from __future__ import annotations

import io
import uuid
from enum import StrEnum

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from devtools.testing.apps import running
from devtools.testing.events import read_events
from devtools.testing.tokens import verifier
from devtools.testing.wait import eventually
from shared import exports, scopes
from shared.app import ServiceSpec, create_service_app
from shared.auth import Principal
from shared.backoff import delay_for, until_done
from shared.errors import Forbidden, InvalidTransition, NotFound
from shared.events.catalog import CATALOG, EventType
from shared.i18n import current_language, text
from shared.readmodel import is_stale, upsert_if_newer
from shared.repository import Repository
from shared.roles import Role
from shared.states import StateMachine

# --- a throwaway service on the template --------------------------------------------------
meta = sa.MetaData()
things = sa.Table(
    "things",
    meta,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("district_code", sa.String(6), nullable=False),
    sa.Column("owner_uscc", sa.String(18)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
facts = sa.Table(
    "facts",
    meta,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("note", sa.String(40)),
    sa.Column("version", sa.Integer, nullable=False),
)


class Thing:  # a plain mapped class, as a service's models.py declares them
    pass


sa.orm.registry().map_imperatively(Thing, things)


class Things(Repository[Thing]):
    model, label = Thing, text("事物", "thing")

    def readable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.any_of(
            scopes.district(principal, things.c.district_code),
            scopes.org(principal, Role.ENTERPRISE, things.c.owner_uscc),
        )

    def writable(self, principal: Principal) -> sa.ColumnElement[bool]:
        return scopes.org(principal, Role.ENTERPRISE, things.c.owner_uscc)


def service_app(settings):
    return create_service_app(
        ServiceSpec(name="things", metadata=meta, routers=[], migrate=False), settings, verifier=verifier()
    )


def enterprise_data(thing_id: str, version: int = 1) -> dict:
    return {
        "id": thing_id,
        "version": version,
        "uscc": "91440703MA4UX0AA9K",
        "name": "n",
        "industry": "machinery",
        "district_code": "440703",
        "risk_level": "yellow",
    }


BUREAU = Principal(subject="b", role=Role.BUREAU, district="440703")
OTHER_BUREAU = Principal(subject="b2", role=Role.BUREAU, district="440705")
OWNER = Principal(subject="e", role=Role.ENTERPRISE, org_uscc="91440703MA4UX0AA9K")


# --- unit of work -------------------------------------------------------------------------
async def test_unit_of_work_publishes_what_it_committed_and_nothing_it_rolled_back(backend):
    settings = backend.settings()
    app = service_app(settings)
    async with running(app):
        runtime = app.state.runtime
        kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
        async with runtime.unit_of_work() as uow:
            await uow.session.execute(
                sa.insert(things).values(id=uuid.UUID(kept), district_code="440703", status="new", version=1)
            )
            await uow.emit(EventType.ENTERPRISE_REGISTERED, enterprise_data(kept))
        with pytest.raises(RuntimeError):  # noqa: PT012  # the rollback is what is tested
            async with runtime.unit_of_work() as uow:
                await uow.emit(EventType.ENTERPRISE_REGISTERED, enterprise_data(dropped))
                raise RuntimeError("rolled back on purpose")
        published = await eventually(lambda: read_events(settings, event_type="enterprise.registered"), timeout=10)
        assert [e.data["id"] for e in published] == [kept]
        async with runtime.unit_of_work().read() as session:
            outbox = runtime.infra.outbox
            rows = (await session.execute(sa.select(outbox.c.subject, outbox.c.published_at))).all()
        assert [r.subject for r in rows] == [kept]


async def test_a_failing_before_commit_hook_rolls_the_whole_unit_back(sqlite_backend):
    app = service_app(sqlite_backend.settings())
    async with running(app, wait_for_bus=False):
        runtime = app.state.runtime

        async def refuse(session) -> None:
            raise ValueError("hook failed")

        thing_id = uuid.uuid4()
        with pytest.raises(ValueError):
            async with runtime.unit_of_work(before_commit=[refuse]) as uow:
                await uow.session.execute(
                    sa.insert(things).values(id=thing_id, district_code="440703", status="new", version=1)
                )
        async with runtime.unit_of_work().read() as session:
            assert (await session.execute(sa.select(sa.func.count()).select_from(things))).scalar_one() == 0


async def test_entering_an_open_unit_of_work_joins_its_transaction(sqlite_backend):
    app = service_app(sqlite_backend.settings())
    async with running(app, wait_for_bus=False):
        runtime = app.state.runtime
        uow = runtime.unit_of_work()
        with pytest.raises(RuntimeError):  # noqa: PT012  # the rollback is what is tested
            async with uow:
                await uow.session.execute(
                    sa.insert(things).values(id=uuid.uuid4(), district_code="440703", status="new", version=1)
                )
                async with uow:  # a use case composed into another: same transaction
                    await uow.session.execute(
                        sa.insert(things).values(id=uuid.uuid4(), district_code="440703", status="new", version=1)
                    )
                async with uow.read() as session:  # reads see the transaction's own writes
                    assert (await session.execute(sa.select(sa.func.count()).select_from(things))).scalar_one() == 2
                raise RuntimeError("both inserts go")
        async with runtime.unit_of_work().read() as session:
            assert (await session.execute(sa.select(sa.func.count()).select_from(things))).scalar_one() == 0


async def test_events_and_audit_need_a_write_transaction(sqlite_backend):
    app = service_app(sqlite_backend.settings())
    async with running(app, wait_for_bus=False):
        uow = app.state.runtime.unit_of_work()
        async with uow.read():
            with pytest.raises(RuntimeError):
                await uow.emit(EventType.ENTERPRISE_REGISTERED, enterprise_data(str(uuid.uuid4())))
            with pytest.raises(RuntimeError):
                await uow.audit(action="x", entity_type="thing", entity_id="1", payload={})
        with pytest.raises(RuntimeError):
            uow.session  # noqa: B018 - closed: no session


async def test_audit_names_the_acting_principal(sqlite_backend):
    app = service_app(sqlite_backend.settings())
    async with running(app, wait_for_bus=False):
        runtime = app.state.runtime
        async with runtime.unit_of_work(BUREAU) as uow:
            await uow.audit(action="thing.checked", entity_type="thing", entity_id="1", payload={"ok": True})
        async with runtime.unit_of_work() as uow:
            await uow.audit(action="thing.swept", entity_type="thing", entity_id="1", payload={})
        async with runtime.unit_of_work().read() as session:
            trail = runtime.infra.audit_trail
            actors = (await session.execute(sa.select(trail.c.actor).order_by(trail.c.seq))).scalars().all()
        assert actors == ["bureau:b", "system:things"]


# --- repository ---------------------------------------------------------------------------
async def test_repository_answers_404_403_and_the_row_in_one_statement(backend):
    app = service_app(backend.settings())
    async with running(app, wait_for_bus=False):
        runtime = app.state.runtime
        thing_id = uuid.uuid4()
        async with runtime.unit_of_work() as uow:
            await uow.session.execute(
                sa.insert(things).values(
                    id=thing_id, district_code="440703", owner_uscc=OWNER.org_uscc, status="new", version=1
                )
            )
        async with runtime.unit_of_work() as uow:
            repo = Things(uow.session)
            assert (await repo.get(thing_id, BUREAU)).id == thing_id
            assert (await repo.get(thing_id, OWNER, write=True)).id == thing_id
            with pytest.raises(NotFound):
                await repo.get(uuid.uuid4(), BUREAU)
            with pytest.raises(Forbidden):
                await repo.get(thing_id, OTHER_BUREAU)
            with pytest.raises(Forbidden):  # the bureau may read it, not change it
                await repo.get(thing_id, BUREAU, write=True)
            visible = (await uow.session.execute(Things(uow.session).select_readable(OTHER_BUREAU))).all()
            assert visible == []


# --- read models --------------------------------------------------------------------------
async def test_read_model_applies_only_strictly_newer_versions(backend):
    app = service_app(backend.settings())
    async with running(app, wait_for_bus=False):
        runtime = app.state.runtime
        async with runtime.unit_of_work() as uow:
            s = uow.session
            assert await upsert_if_newer(s, facts, {"id": "a", "name": "v2", "version": 2}, key=["id"])
            assert not await upsert_if_newer(s, facts, {"id": "a", "name": "v2-again", "version": 2}, key=["id"])
            assert not await upsert_if_newer(s, facts, {"id": "a", "name": "v1", "version": 1}, key=["id"])
            await s.execute(sa.update(facts).values(note="learnt elsewhere"))
            assert await upsert_if_newer(
                s, facts, {"id": "a", "name": "v3", "note": "x", "version": 3}, key=["id"], keep=["note"]
            )
            row = (await s.execute(sa.select(facts))).one()
            assert (row.name, row.note, row.version) == ("v3", "learnt elsewhere", 3)
            assert await is_stale(s, facts, key={"id": "a"}, version=3)
            assert not await is_stale(s, facts, key={"id": "a"}, version=4)
            assert not await is_stale(s, facts, key={"id": "b"}, version=1)


# --- state machines -----------------------------------------------------------------------
class Status(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    DONE = "done"


MACHINE = StateMachine("letter", text("信函", "letter"), Status)
SEND = MACHINE.action("send", text("发送", "send"))
CLOSE = MACHINE.action("close", text("关闭", "close"))
MACHINE.transition(SEND, Status.DRAFT, Status.SENT, by={Role.ENTERPRISE}, emits=EventType.COMPLAINT_RECEIVED)
MACHINE.transition(CLOSE, [Status.DRAFT, Status.SENT], Status.DONE, by={Role.BUREAU, Role.SYSTEM})


def test_state_machine_steps_refuses_and_renders_its_refusal_in_both_languages():
    step = MACHINE.step(SEND, "draft", Role.ENTERPRISE)
    assert (step.target, step.emits) == (Status.SENT, EventType.COMPLAINT_RECEIVED)
    with pytest.raises(InvalidTransition) as refused:
        MACHINE.step(SEND, "sent", Role.ENTERPRISE)
    token = current_language.set("en")
    try:
        english = str(refused.value.detail)
    finally:
        current_language.reset(token)
    assert english == "The letter is sent; it cannot send"
    assert "信函" in str(refused.value.detail)
    assert "信函" not in english
    assert refused.value.extra == {"current_status": "sent", "action": "send"}
    with pytest.raises(Forbidden):
        MACHINE.step(SEND, "draft", Role.BUREAU)
    with pytest.raises(Forbidden):  # a role that may never send is refused whatever the state
        MACHINE.step(SEND, "done", Role.BUREAU)
    with pytest.raises(Forbidden):
        MACHINE.authorize(SEND, Role.AGENCY)
    MACHINE.authorize(CLOSE, Role.SYSTEM)


class Labelled(StrEnum):
    OPEN = "open"
    SHUT = "shut"

    @property
    def label(self):
        return {"open": text("待处理", "open for work"), "shut": text("已关闭", "shut")}[self.value]


def test_refusals_name_the_state_as_a_reader_does():
    machine = StateMachine("door", text("门", "door"), Labelled)
    shut = machine.action("shut", text("关上", "shut"))
    machine.transition(shut, Labelled.OPEN, Labelled.SHUT, by={Role.ADMIN})
    with pytest.raises(InvalidTransition) as refused:
        machine.step(shut, "shut", Role.ADMIN)
    assert str(refused.value.detail) == "门当前状态为「已关闭」，不能关上"


def test_state_machine_lists_every_action_in_every_state():
    cases = {(a.name, s.value): ok for a, s, ok in MACHINE.cases()}
    assert cases == {
        ("send", "draft"): True,
        ("send", "sent"): False,
        ("send", "done"): False,
        ("close", "draft"): True,
        ("close", "sent"): True,
        ("close", "done"): False,
    }
    assert MACHINE.events() == {EventType.COMPLAINT_RECEIVED}


def test_state_machine_refuses_ambiguous_or_duplicate_declarations():
    machine = StateMachine("x", text("x", "x"), Status)
    go = machine.action("go", text("走", "go"))
    machine.transition(go, Status.DRAFT, Status.SENT, by={Role.ADMIN})
    machine.transition(go, Status.DRAFT, Status.DONE, by={Role.ADMIN})
    with pytest.raises(ValueError):
        machine.transition(go, Status.DRAFT, Status.SENT, by={Role.ADMIN})
    with pytest.raises(ValueError):
        machine.step(go, "draft")
    assert machine.step(go, "draft", to=Status.DONE).target == Status.DONE


def test_every_event_type_has_a_data_model():
    assert set(EventType) == set(CATALOG)


# --- exports ------------------------------------------------------------------------------
async def test_csv_export_guards_formulas_and_streams_with_a_bom():
    rows = [["=1+1", "+86 138", "-x", "@SUM", "\tTab", "plain", None, True]]
    body = b"".join([chunk async for chunk in exports.csv_chunks(["a", "b", "c", "d", "e", "f", "g", "h"], rows)])
    assert body.startswith("\ufeff".encode())
    line = body.decode("utf-8-sig").splitlines()[1]
    assert line == "'=1+1,'+86 138,'-x,'@SUM,'\tTab,plain,,true"


def test_xlsx_export_keeps_text_verbatim_never_as_a_formula():
    data = exports.xlsx_bytes("表", ["名称", "数"], [['=HYPERLINK("x")', 3]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == '=HYPERLINK("x")'
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 3


def test_accept_header_ranking():
    assert exports.wants_csv("text/csv")
    assert not exports.wants_csv("application/json, text/csv;q=0.5")
    assert not exports.wants_csv("*/*")
    assert exports.wants_xlsx(exports.XLSX_MEDIA_TYPE)


# --- backoff ------------------------------------------------------------------------------
async def test_backoff_retries_what_it_may_and_raises_what_it_may_not():
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return "up"

    assert await until_done(flaky, first=0.001, cap=0.002, event="test.retry") == "up"
    assert len(calls) == 3

    async def broken() -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        await until_done(
            broken, first=0.001, cap=0.002, event="test.retry", retry_if=lambda e: isinstance(e, ConnectionError)
        )
    assert [delay_for(n, first=0.25, cap=30) for n in (1, 2, 3, 10)] == [0.25, 0.5, 1.0, 30]


# --- migrations ---------------------------------------------------------------------------
async def test_sqlite_migrations_run_with_foreign_keys_off_so_a_rebuilt_parent_keeps_its_children(tmp_path):
    """Alembic's batch mode rebuilds a table (copy, drop, rename); with foreign keys on, dropping
    the parent would delete its children through ON DELETE CASCADE."""
    from shared.db import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", service="m")
    ddl = [
        "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE)",
        "INSERT INTO parent VALUES (1)",
        "INSERT INTO child VALUES (10, 1)",
    ]
    rebuild = [
        "CREATE TABLE _parent_new (id INTEGER PRIMARY KEY, note TEXT)",
        "INSERT INTO _parent_new (id) SELECT id FROM parent",
        "DROP TABLE parent",
        "ALTER TABLE _parent_new RENAME TO parent",
    ]
    try:
        async with db.engine.begin() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            for statement in ddl:
                await conn.exec_driver_sql(statement)
        async with db.migrating() as engine, engine.begin() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 0
            for statement in rebuild:
                await conn.exec_driver_sql(statement)
        async with db.engine.begin() as conn:
            assert (await conn.exec_driver_sql("SELECT count(*) FROM child")).scalar() == 1
    finally:
        await db.dispose()
