"""One way to back off and try again (tenacity, docs/DECISIONS.md), for every retry loop of the
platform: the outbox relay, the inbox subscription, an inbox handler outlasting a database outage,
the nak delay of a failed delivery, webhook retries.

Exponential with jitter, capped: replicas that fail together do not retry in lock-step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_never, wait_exponential_jitter
from tenacity.stop import stop_base

log = structlog.get_logger("shared.backoff")
T = TypeVar("T")


def _always(_: BaseException) -> bool:
    return True


class _StopWhen(stop_base):
    def __init__(self, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.should_stop()


async def until_done(
    operation: Callable[[], Awaitable[T]],
    *,
    first: float,
    cap: float,
    event: str,
    retry_if: Callable[[BaseException], bool] = _always,
    before_sleep: Callable[[], Awaitable[Any]] | None = None,
    should_stop: Callable[[], bool] | None = None,
    **log_context: Any,
) -> T:
    """Run ``operation`` until it returns, sleeping ``first`` … ``cap`` seconds (exponential, with
    jitter) after each failure that ``retry_if`` accepts; any other failure is raised at once, and so
    is the last failure once ``should_stop()`` says so. Each retry is logged as ``event``."""

    async def before(retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        log.warning(
            event,
            error=str(exc)[:300],
            attempt=retry_state.attempt_number,
            retry_in=round(retry_state.upcoming_sleep, 3),
            **log_context,
        )
        if before_sleep is not None:
            await before_sleep()

    retrying = AsyncRetrying(
        retry=retry_if_exception(retry_if),
        wait=wait_exponential_jitter(initial=first, max=cap, jitter=first),
        stop=_StopWhen(should_stop) if should_stop is not None else stop_never,
        before_sleep=before,
        reraise=True,
    )

    async def attempt() -> T:  # tenacity awaits only what it recognises as a coroutine function
        return await operation()

    result: T = await retrying(attempt)
    return result


def delay_for(attempt: int, *, first: float, cap: float) -> float:
    """The delay before attempt ``attempt + 1`` (1-based) under the same policy, without jitter:
    for a broker that schedules the retry itself (a JetStream ``nak`` with a delay)."""
    return float(min(first * (2 ** max(0, attempt - 1)), cap))
