"""Silences: one-off and recurring windows with a catch-up grace, matchers, one call from an
alert, early expiry, and a reminder to the author before a long silence ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from alerts.choices import AlertState, NotificationEvent, Severity
from alerts.engine import policy
from alerts.engine.silences import covers
from alerts.models import Alert, AlertRule, Notification, Silence
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
SUNDAY_0100 = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # a Sunday


def window(**fields: object) -> Silence:
    values: dict[str, object] = {
        "starts_at": SUNDAY_0100 - timedelta(days=30),
        "recurrence_cron": "0 1 * * 0",
        "duration_minutes": 120,
        "catch_up_minutes": 60,
        "comment": "weekly maintenance of the crawler hosts",
        "group": "scrapers",
    }
    values.update(fields)
    return Silence.objects.create(**values)


@pytest.mark.parametrize(
    ("offset_minutes", "active"),
    [(-1, False), (0, True), (119, True), (150, True), (180, False), (7 * 24 * 60 + 30, True)],
)
def test_a_weekly_window_holds_through_its_catch_up(offset_minutes: int, active: bool) -> None:
    silence = window()
    assert silence.is_active(SUNDAY_0100 + timedelta(minutes=offset_minutes)) is active


def test_a_window_in_a_time_zone_follows_local_time() -> None:
    silence = window(recurrence_cron="0 3 * * 0", recurrence_timezone="Europe/Paris")
    assert silence.is_active(datetime(2026, 11, 22, 2, 30, tzinfo=UTC))  # 03:30 in Paris
    assert not silence.is_active(datetime(2026, 11, 22, 1, 30, tzinfo=UTC))


def test_an_expired_silence_holds_nothing() -> None:
    silence = window()
    silence.expire(SUNDAY_0100)
    assert not silence.is_active(SUNDAY_0100 + timedelta(minutes=10))


def test_matchers_must_all_match() -> None:
    dep = f.deployment()
    elra = f.source("elra_conferences", dep, tags={"site": "elra"})
    store = f.source("store_conferences", dep, group_name="storage")
    rule = AlertRule.objects.get(name="Run failed")
    alert_on = {
        src.key: Alert(rule=rule, source=src, severity=Severity.WARNING, summary="x")
        for src in (elra, store)
    }
    by_group = window()
    assert covers(by_group, alert_on["elra_conferences"])
    assert not covers(by_group, alert_on["store_conferences"])
    by_tag = window(group="", tag_key="site", tag_value="elra", severity=Severity.CRITICAL)
    assert not covers(by_tag, alert_on["elra_conferences"])  # severity differs


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"comment": " "}, "say why"),
        ({"recurrence_cron": "", "ends_at": None}, "give an end"),
        ({"duration_minutes": None}, "needs a duration"),
        ({"group": ""}, "at least one matcher"),
        ({"recurrence_cron": "0 25 * * *"}, "not a valid cron expression"),
    ],
)
def test_a_bad_silence_is_refused_with_a_message(fields: dict[str, object], message: str) -> None:
    values: dict[str, object] = {
        "starts_at": SUNDAY_0100,
        "recurrence_cron": "0 1 * * 0",
        "duration_minutes": 120,
        "comment": "maintenance",
        "group": "scrapers",
    }
    values.update(fields)
    with pytest.raises(ValidationError, match=message):
        Silence(**values).full_clean()


def test_silencing_an_alert_is_one_call(django_user_model: object) -> None:
    elra = f.source("elra_conferences", f.deployment())
    rule = AlertRule.objects.get(name="Run failed")
    alert = Alert.objects.create(
        rule=rule,
        source=elra,
        severity=Severity.WARNING,
        summary="x",
        state=AlertState.FIRING,
        opened_at=SUNDAY_0100,
        condition_since=SUNDAY_0100,
        last_seen_at=SUNDAY_0100,
    )
    silence = Silence.for_alert(alert, 4, SUNDAY_0100)
    assert (silence.rule, silence.source) == (rule, elra)
    assert silence.ends_at == SUNDAY_0100 + timedelta(hours=4)
    assert silence.is_active(SUNDAY_0100 + timedelta(hours=3))
    assert covers(silence, alert)


def test_the_author_of_a_long_silence_is_reminded_once_before_it_ends(
    django_user_model: type,
) -> None:
    author = django_user_model.objects.create_user("oncall", email="oncall@example.com")
    Silence.objects.create(
        group="scrapers",
        starts_at=SUNDAY_0100,
        ends_at=SUNDAY_0100 + timedelta(days=2),
        comment="migration weekend",
        created_by=author,
    )
    Silence.objects.create(  # short: no reminder
        group="scrapers",
        starts_at=SUNDAY_0100,
        ends_at=SUNDAY_0100 + timedelta(hours=2),
        comment="quick fix",
        created_by=author,
    )
    before_end = SUNDAY_0100 + timedelta(days=2) - timedelta(minutes=30)
    policy.send_reminders_and_escalations(SUNDAY_0100 + timedelta(hours=1, minutes=30))
    policy.send_reminders_and_escalations(before_end)
    policy.send_reminders_and_escalations(before_end + timedelta(minutes=5))
    [reminder] = Notification.objects.filter(event=NotificationEvent.SILENCE_EXPIRING)
    assert reminder.channel is None and reminder.payload["to"] == "oncall@example.com"
    assert reminder.payload["silence"]["comment"] == "migration weekend"
