"""The webhook subscription's states: ``active`` until its deliveries have failed for the whole
retry horizon (24 h), then ``failing``; a delivery that succeeds (a manual retry, or a job still
queued) makes it ``active`` again. Only the delivery worker (the service itself) moves it."""

from __future__ import annotations

from services.notify.models import SubscriptionStatus
from shared.i18n import text
from shared.roles import Role
from shared.states import StateMachine

SUBSCRIPTION = StateMachine("subscription", text("回调订阅", "webhook subscription"), SubscriptionStatus)
FAIL = SUBSCRIPTION.action("fail", text("标记为投递失败", "mark as failing"))
RECOVER = SUBSCRIPTION.action("recover", text("恢复投递", "recover"))
SUBSCRIPTION.transition(FAIL, SubscriptionStatus.ACTIVE, SubscriptionStatus.FAILING, by={Role.SYSTEM})
SUBSCRIPTION.transition(RECOVER, SubscriptionStatus.FAILING, SubscriptionStatus.ACTIVE, by={Role.SYSTEM})
