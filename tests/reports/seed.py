"""One seeded day, 2026-11-21 (UTC), whose report figures are worked out by hand in the tests.

Sources (all first seen a month before, except delta):
- alpha: successes at 02:00 (60 s, count 100) and 14:00 (120 s, count 80); earlier counts
  90, 100, 110 and 100 (the last at 23:00 the day before): trailing average 100, change -20 %.
  Asset check ``count_positive`` passed at 02:00, failed at 14:00 (ERROR).
- beta: failed 03:00, ok 05:00, failed 07:00, ok 09:00 (10, 20, 30, 40 s): flapping.
- gamma: no run; last success the day before at 12:00, so stale (24 h + 30 min) from 12:30.
- delta: first seen at 08:00 that day, never run.
- epsilon: last success the day before at 20:00, gone at 09:00.

Alerts: "Run failed" on beta at 03:01 (acknowledged 03:11, resolved 05:01) and 07:01 (resolved
09:01, nobody acknowledged); "Stale" on gamma at 12:31, critical, still open; "Run failed" on
alpha fired the day before at 20:00, acknowledged 20:30, resolved at 02:00 that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alerts.choices import Severity
from alerts.models import Alert, AlertRule, Silence
from confops.accounts.models import AuditEntry
from monitoring.choices import CheckSeverity
from monitoring.models import CheckResult, Source
from tests.alerts import factories as f

DAY = date(2026, 11, 21)
T0 = datetime(2026, 11, 21, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def at(hours: float, day_offset: int = 0) -> datetime:
    return T0 + timedelta(days=day_offset, hours=hours)


@dataclass
class SeededDay:
    alpha: Source
    beta: Source
    gamma: Source
    delta: Source
    epsilon: Source
    run_failed: AlertRule
    stale: AlertRule
    alerts: dict[str, Alert]


def seed_day(user: Any) -> SeededDay:
    AlertRule.objects.all().delete()
    run_failed = f.rule("Run failed", "run_failed", severity=Severity.WARNING)
    stale = f.rule("Stale", "stale", severity=Severity.CRITICAL, parameters={"max_age_hours": 24})
    dep = f.deployment("confradar")
    alpha, beta, gamma, delta, epsilon = (
        f.source(key, dep) for key in ("alpha", "beta", "gamma", "delta", "epsilon")
    )
    for day_offset, hours, count in ((-4, 12, 90), (-3, 12, 100), (-2, 12, 110), (-1, 23, 100)):
        f.run(alpha, at(hours, day_offset), metrics={"count": count})
    f.run(alpha, at(2), metrics={"count": 100}, duration_s=60)
    f.run(alpha, at(14), metrics={"count": 80}, duration_s=120)
    f.run(beta, at(10, -1))
    f.run(beta, at(3), ok=False, duration_s=10, error="HTTP 503 <b>from</b> beta.example")
    f.run(beta, at(5), duration_s=20)
    f.run(beta, at(7), ok=False, duration_s=30, error="Timeout after 30 s")
    f.run(beta, at(9), duration_s=40)
    f.run(gamma, at(12, -1))
    f.run(epsilon, at(20, -1))
    for hours, passed in ((2, True), (14, False)):
        CheckResult.objects.create(
            source=alpha,
            check_name="count_positive",
            passed=passed,
            severity=CheckSeverity.ERROR,
            evaluated_at=at(hours),
        )
    # After the runs: saving a source's latest state writes every field back.
    Source.objects.update(first_seen_at=at(0, -30))
    Source.objects.filter(pk=delta.pk).update(first_seen_at=at(8))
    Source.objects.filter(pk=epsilon.pk).update(is_gone=True, gone_since=at(9))
    alerts = seed_alerts(user, run_failed, stale, alpha, beta, gamma)
    Silence.objects.create(
        source=gamma, starts_at=at(0, -3), ends_at=at(0, 2), comment="gamma site rebuild"
    )
    Silence.objects.create(
        source=beta, starts_at=at(10), ends_at=at(0, 2), comment="short one, not listed"
    )
    AuditEntry.objects.create(
        at=at(11),
        actor=user,
        action="changed",
        object_type="rule",
        object_id=str(run_failed.pk),
        object_repr="Run failed",
        changes={"cooldown_minutes": [30, 60]},
    )
    for source in (alpha, beta, gamma, delta, epsilon):
        source.refresh_from_db()
    return SeededDay(alpha, beta, gamma, delta, epsilon, run_failed, stale, alerts)


def seed_alerts(
    user: Any, run_failed: AlertRule, stale: AlertRule, alpha: Source, beta: Source, gamma: Source
) -> dict[str, Alert]:
    first = f.alert(run_failed, beta, at(3 + 1 / 60))
    first.acknowledge(user, "looking", at(3 + 11 / 60))
    first.resolve(at(5 + 1 / 60))
    second = f.alert(run_failed, beta, at(7 + 1 / 60))
    second.resolve(at(9 + 1 / 60))
    gamma_stale = f.alert(stale, gamma, at(12.5 + 1 / 60), summary="gamma last succeeded 24 h ago")
    before = f.alert(run_failed, alpha, at(20, -1))
    before.acknowledge(user, "", at(20.5, -1))
    before.resolve(at(2))
    return {"first": first, "second": second, "gamma": gamma_stale, "before": before}
