"""The watcher's judging: the one alert about confops itself, evaluated by the engine.

The engine's pass (``evaluation.evaluate``) is scheduled by beat, so it cannot report beat's
death. The watcher (``confops/runtime/watchdog.py``) runs from places that outlive beat and only
gathers what it observes (heartbeats, poll ages) and the thresholds from settings; this module
hands them to the internal kind (``RuleKind.internal``: ``confops_stalled``) and reconciles the
one open alert of each enabled rule of that kind through the engine's own ``reconcile``, so it
is notified, silenced and resolved like any other alert. It also sends that alert's reminders and
escalation (``policy.remind_and_escalate``), which for other alerts beat's pass sends: with beat
dead, nothing else would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError
from django.db.models import QuerySet

from alerts.choices import OPEN_STATES
from alerts.engine import evaluation, policy
from alerts.engine.evaluation import SubjectKey
from alerts.models import Alert, AlertRule
from alerts.rules.base import internal_kinds, kind
from alerts.rules.confops_stalled import ConfopsStalled, Snapshot, Stall, Thresholds

logger = logging.getLogger(__name__)


@dataclass
class WatcherOutcome:
    stalls: list[Stall] = field(default_factory=list)
    fired: int = 0
    resolved: int = 0
    reminded: int = 0  # reminder and escalation messages written
    skipped: bool = False  # another process checked within the interval


def watcher_kind() -> ConfopsStalled:
    [name] = internal_kinds()
    impl = kind(name)
    assert isinstance(impl, ConfopsStalled)
    return impl


def stalls(snapshot: Snapshot, thresholds: Thresholds, now: datetime) -> list[Stall]:
    """What is stalled, without touching the alert (the health endpoints' view)."""
    return watcher_kind().evaluate_watcher(snapshot, thresholds, now)[0]


def evaluate_watcher(snapshot: Snapshot, thresholds: Thresholds, now: datetime) -> WatcherOutcome:
    """Judge confops now and open, refresh or resolve the alert of each enabled internal rule."""
    found, finding = watcher_kind().evaluate_watcher(snapshot, thresholds, now)
    rules = {r.pk: r for r in AlertRule.objects.filter(kind__in=internal_kinds(), enabled=True)}
    if finding is None and not open_alerts(list(rules)).exists():
        return WatcherOutcome()  # the usual case: no write transaction at all
    keys: set[SubjectKey] = {(pk, None, None) for pk in rules}
    findings = dict.fromkeys(keys, finding) if finding else {}
    try:
        result = evaluation.reconcile(rules, keys, findings, {}, {}, now)
    except IntegrityError:
        # Another watcher opened the alert between our read and our insert: it is open.
        logger.info("watcher: another check opened the alert first")
        return WatcherOutcome(stalls=found)
    if result.fired or result.resolved:
        logger.warning("watcher: %s", finding.summary if finding else "confops recovered")
    reminded = policy.remind_and_escalate(now, policy.incidents_of(open_alerts(list(rules))))
    return WatcherOutcome(
        found, fired=len(result.fired), resolved=len(result.resolved), reminded=reminded
    )


def open_alerts(rule_ids: list[int]) -> QuerySet[Alert]:
    return Alert.objects.filter(
        rule_id__in=rule_ids, state__in=OPEN_STATES, source__isnull=True, deployment__isnull=True
    )


def open_alert() -> Alert | None:
    """The newest open alert about confops itself, if any (shown by ``/health/detailed``)."""
    return (
        Alert.objects.filter(
            rule__kind__in=internal_kinds(), state__in=OPEN_STATES, source__isnull=True
        )
        .order_by("-opened_at")
        .first()
    )
