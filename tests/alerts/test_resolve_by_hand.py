"""Resolving by hand an alert whose condition still holds: it stays resolved until the condition
recovers (no new "Firing" a second later for the same failure), through the portal and the API
alike; once the condition has cleared, its return is a new incident."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alerts import operations
from alerts.choices import AlertState, NotificationEvent
from alerts.engine import evaluation
from alerts.models import Alert, AlertRule, Notification
from confops.accounts.choices import TokenScope
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from tests.alerts import factories as f
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
Resolver = Callable[[Alert], None]


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    """One clock for the doors (which read it) and the engine (given its ``now``)."""
    AlertRule.objects.all().delete()
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture(params=["portal", "api"])
def resolve(
    request: pytest.FixtureRequest, operator_client: Client, operator_user: Any
) -> Resolver:
    operator_api = Api(Client(enforce_csrf_checks=True), oncall_token(operator_user))

    def by_portal(alert: Alert) -> None:
        assert operator_client.post(f"/alerts/{alert.pk}/resolve/").status_code == 303

    def by_api(alert: Alert) -> None:
        assert operator_api.post(f"/alerts/{alert.pk}/resolve").status_code == 200

    return by_portal if request.param == "portal" else by_api


def oncall_token(user: Any) -> str:
    return token_for(user, TokenScope.READ, TokenScope.OPERATE, name="oncall-bot")[1]


def firings() -> int:
    return Notification.objects.filter(event=NotificationEvent.FIRING).count()


def evaluate_after(clock: time_machine.Traveller, **shift: Any) -> None:
    clock.shift(timedelta(**shift))
    evaluation.evaluate(timezone.now())


def failing(clock: time_machine.Traveller) -> tuple[Source, Alert]:
    """elra's run failed at T0 and its "Run failed" alert is firing."""
    elra = f.source("elra_conferences", f.deployment())
    f.rule("Run failed", "run_failed", [f.channel()])
    f.run(elra, T0, ok=False)
    evaluate_after(clock, minutes=1)
    return elra, Alert.objects.get()


def test_a_condition_resolved_by_hand_while_it_holds_does_not_fire_again(
    clock: time_machine.Traveller, resolve: Resolver
) -> None:
    elra, alert = failing(clock)
    clock.shift(timedelta(minutes=5))
    resolve(alert)
    evaluate_after(clock, seconds=1)
    evaluate_after(clock, minutes=30)
    f.run(elra, timezone.now(), ok=False)  # still failing: the same condition
    evaluate_after(clock, minutes=1)
    assert list(Alert.objects.all()) == [alert]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.clear_since is None
    assert firings() == 1
    assert AuditEntry.objects.filter(action="resolved").count() == 1


def test_once_it_has_recovered_its_return_is_a_new_incident(
    clock: time_machine.Traveller, resolve: Resolver
) -> None:
    elra, alert = failing(clock)
    resolve(alert)
    evaluate_after(clock, minutes=1)
    f.run(elra, timezone.now())  # recovers
    evaluate_after(clock, minutes=1)
    alert.refresh_from_db()
    assert alert.clear_since == timezone.now()
    f.run(elra, timezone.now(), ok=False)
    evaluate_after(clock, minutes=1)
    assert Alert.objects.filter(state=AlertState.FIRING).exclude(pk=alert.pk).exists()
    assert firings() == 2


def test_resolved_by_hand_after_it_cleared_the_next_failure_fires_at_once(
    clock: time_machine.Traveller, operator_user: Any
) -> None:
    elra, alert = failing(clock)
    alert.rule.resolve_hold_minutes = 30
    alert.rule.save()
    f.run(elra, timezone.now())
    evaluate_after(clock, minutes=1)  # recovering: waits out its resolve hold
    alert.refresh_from_db()
    operations.resolve_by_hand(alert, operator_user, timezone.now())
    f.run(elra, timezone.now(), ok=False)
    evaluate_after(clock, minutes=1)
    assert Alert.objects.filter(state=AlertState.FIRING).exclude(pk=alert.pk).exists()
