"""A hand-made day of incidents, 2026-11-21 (UTC), whose alert quality is worked out by hand.

Rules "Run failed" (A) and "Stale" (B); channels slack and mail.
- incident 1 on alpha: alerts of A and B, opened 02:00, acknowledged 02:10, resolved 04:00,
  flapping; firing [A, B], flapping [A] and resolved [A, B] to both channels (6 rows: 3 per
  channel), plus a cancelled reminder that never went out;
- incident 2 on beta: alert of A, opened 06:00, resolved 07:00, never acknowledged; firing and
  resolved to slack only (2 messages);
- incident 3 on gamma: alert of B, opened 20:00, still open, never acknowledged; firing to
  slack (1 message);
- incident 4 on delta: alert of A, opened the day before (not the day's).

Per rule: A has incidents 1 and 2, 3 + 2 messages (2.5 per incident), acknowledged in 10 min
(median of one), resolved in 1 h 30 min (median of 2 h and 1 h), 50 % flapping, 1 never
acknowledged. B has incidents 1 and 3, 2 + 1 messages (1.5), 10 min, 2 h, 50 %, 1. Overall: 3
incidents, 6 messages (2.0 per incident), 1 of 3 flapping, 2 never acknowledged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from alerts.choices import IncidentState, NotificationStatus, Severity
from alerts.models import Alert, AlertRule, Channel, Incident, Notification
from tests.alerts import factories as f

DAY = date(2026, 11, 21)
T0 = datetime(2026, 11, 21, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def incident(members: list[Alert], opened: datetime, **fields: Any) -> Incident:
    made = Incident.objects.create(
        title=f"{members[0].source} failing",
        severity=members[0].severity,
        source=members[0].source,
        opened_at=opened,
        **fields,
    )
    Alert.objects.filter(pk__in=[a.pk for a in members]).update(incident=made)
    return made


def message(
    made: Incident, event: str, alerts: list[Alert], channels: list[Channel], when: datetime
) -> list[Notification]:
    """Outbox rows as the policy writes them: one per channel, naming the alerts told."""
    return [
        Notification.enqueue(
            channel, event, {}, when, rule=alerts[0].rule, alerts=alerts, incident=made, send=False
        )
        for channel in channels
    ]


def seed_incidents(run_failed_name: str = "Run failed", stale_name: str = "Stale") -> None:
    AlertRule.objects.all().delete()  # the default rules, created by a migration
    a = f.rule(run_failed_name, "run_failed", severity=Severity.WARNING)
    b = f.rule(stale_name, "stale", severity=Severity.CRITICAL)
    slack, mail = f.channel("slack"), f.channel("mail", kind="email")
    dep = f.deployment("confradar")
    alpha, beta, gamma, delta = (f.source(k, dep) for k in ("alpha", "beta", "gamma", "delta"))
    a1, b1 = f.alert(a, alpha, at(2)), f.alert(b, alpha, at(2))
    one = incident(
        [a1, b1],
        at(2),
        state=IncidentState.RESOLVED,
        acknowledged_at=at(2) + timedelta(minutes=10),
        resolved_at=at(4),
        flapping_since=at(3),
    )
    message(one, "firing", [a1, b1], [slack, mail], at(2))
    message(one, "flapping", [a1], [slack, mail], at(3))
    message(one, "resolved", [a1, b1], [slack, mail], at(4))
    [cancelled] = message(one, "reminder", [a1], [slack], at(3.5))
    Notification.objects.filter(pk=cancelled.pk).update(status=NotificationStatus.CANCELLED)
    a2 = f.alert(a, beta, at(6))
    two = incident([a2], at(6), state=IncidentState.RESOLVED, resolved_at=at(7))
    message(two, "firing", [a2], [slack], at(6))
    message(two, "resolved", [a2], [slack], at(7))
    b3 = f.alert(b, gamma, at(20))
    three = incident([b3], at(20))
    message(three, "firing", [b3], [slack], at(20))
    a4 = f.alert(a, delta, at(-3))
    four = incident([a4], at(-3))
    message(four, "firing", [a4], [slack, mail], at(-3))
