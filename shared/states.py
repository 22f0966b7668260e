"""Declarative state machines: each stateful entity's states, actions and transitions as data.

A service's ``states.py`` declares, for each entity, one ``StateMachine``::

    CONTRACT = StateMachine("contract", text("托管协议", "contract"), ContractStatus)
    FILE = CONTRACT.action("file", text("提交备案", "submit for filing"))
    CONTRACT.transition(FILE, ContractStatus.SIGNED, ContractStatus.FILING,
                        by={Role.AGENCY, Role.ENTERPRISE}, emits=EventType.CONTRACT_FILING_SUBMITTED)

and its service calls ``CONTRACT.step(FILE, contract.status, principal)``: the ``Transition`` it
gets names the target state and the event to emit, which the service then emits explicitly with
``uow.emit``. A refused step is a 409 whose text (zh-CN and English) names the entity, its state
and the action; a caller whose role may not take the step gets 403. The same table feeds the
"every action in every state" tests (``StateMachine.cases``) and the documentation.

Which *organisation* or *district* may act on a row is not decided here but by the service's
repository (``readable`` / ``writable``): ``by`` is the role, the repository the ownership.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from shared.errors import Forbidden, InvalidTransition
from shared.events.catalog import EventType
from shared.i18n import Text, text
from shared.roles import Role

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Action:
    name: str
    label: Text

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Transition(Generic[S]):
    action: Action
    source: S
    target: S
    by: frozenset[Role]
    emits: EventType | None = None

    @property
    def changes_state(self) -> bool:
        return self.source != self.target


@dataclass
class StateMachine(Generic[S]):
    entity: str
    label: Text
    states: type[S]
    actions: dict[str, Action] = field(default_factory=dict)
    transitions: list[Transition[S]] = field(default_factory=list)

    def action(self, name: str, label: Text) -> Action:
        if name in self.actions:
            raise ValueError(f"{self.entity}: action {name} declared twice")
        self.actions[name] = action = Action(name, label)
        return action

    def transition(
        self, action: Action, sources: S | Iterable[S], target: S, *, by: Iterable[Role], emits: EventType | None = None
    ) -> None:
        if self.actions.get(action.name) is not action:
            raise ValueError(f"{self.entity}: action {action.name} is not declared")
        for source in [sources] if isinstance(sources, StrEnum) else list(sources):
            if any(t.action == action and t.source == source and t.target == target for t in self.transitions):
                raise ValueError(f"{self.entity}: {action.name} {source} → {target} declared twice")
            self.transitions.append(Transition(action, source, target, frozenset(by), emits))

    # --- asking ---------------------------------------------------------------------------
    def sources_of(self, action: Action) -> frozenset[S]:
        return frozenset(t.source for t in self.transitions if t.action == action)

    def can(self, action: Action, current: str) -> bool:
        return current in self.sources_of(action)

    def authorize(self, action: Action, role: Role | str) -> None:
        """403 unless ``role`` may take ``action`` from some state — judged before the state, so a
        caller who may never take the action is refused whatever the entity's state (and a service
        may check ``If-Match`` between the two: 403, then 412, then 409)."""
        if not any(role in t.by for t in self.transitions if t.action == action):
            raise self._forbidden(action)

    def step(
        self, action: Action, current: str, role: Role | str | None = None, *, to: S | None = None
    ) -> Transition[S]:
        """The transition ``action`` takes from ``current`` (to ``to`` when the action has several
        targets from there). With ``role``: 403 when it may not take the action at all (before the
        state is looked at), or not from ``current``. 409 when ``current`` does not allow it."""
        if role is not None:
            self.authorize(action, role)
        candidates = [
            t for t in self.transitions if t.action == action and t.source == current and (to is None or t.target == to)
        ]
        if not candidates:
            raise self.refusal(action, current)
        if len(candidates) > 1:
            raise ValueError(f"{self.entity}: {action.name} from {current} has several targets; pass `to`")
        chosen = candidates[0]
        if role is not None and role not in chosen.by:
            raise self._forbidden(action)
        return chosen

    def _forbidden(self, action: Action) -> Forbidden:
        return Forbidden(
            text(
                f"你的角色不能对{self.label.zh}执行“{action.label.zh}”",
                f"Your role may not {action.label.en} this {self.label.en}",
            )
        )

    def refusal(self, action: Action, current: str) -> InvalidTransition:
        state = self.state_label(current)
        return InvalidTransition(
            text(
                f"{self.label.zh}当前状态为「{state.zh}」，不能{action.label.zh}",
                f"The {self.label.en} is {state.en}; it cannot {action.label.en}",
            ),
            current=current,
            action=action.name,
        )

    def state_label(self, current: str) -> Text:
        """A state as a reader names it: its enum member's ``label`` (a ``Text``) when it has one."""
        try:
            label = getattr(self.states(current), "label", None)
        except ValueError:
            label = None
        return label if isinstance(label, Text) else Text(current, current)

    def cases(self) -> Iterator[tuple[Action, S, bool]]:
        """Every (action, state) pair and whether the machine allows it: the "every action in every
        state" tests are generated from this."""
        for action in self.actions.values():
            allowed = self.sources_of(action)
            for state in self.states:
                yield action, state, state in allowed

    def events(self) -> frozenset[EventType]:
        return frozenset(t.emits for t in self.transitions if t.emits is not None)
