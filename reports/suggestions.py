"""Suggested threshold changes for the noisiest rules, judged by the backtest.

Bounded on purpose (a backtest replays history in a child process: seconds each): only the
``limit`` rules that fired most in the day (at least ``NOISY_AT`` times), only kinds with one
obvious knob, one step looser, ``DAYS`` days of history, and nothing more once ``BUDGET`` has
passed. A change is suggested only when the backtest with it fires fewer alerts than with the
current value AND still covers every incident someone acknowledged in those days (an alert of
the looser rule on the same source overlapping it in time): acknowledged alerts are the ones a
person judged real, so the change cuts noise without missing an incident.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alerts.choices import AlertEventKind
from alerts.models import Alert, AlertRule
from alerts.replay.backtest import BacktestError, backtest
from alerts.rules.base import Loosening, all_kinds
from reports.data import ReportData, Suggestion

logger = logging.getLogger(__name__)

NOISY_AT = 3
DAYS = 7
# The daily task (never a web request: reports.sending builds on-demand reports without these)
# or daily_report waits for the whole report: bound the backtests' share.
BUDGET_SECONDS = 20.0
# Overlap slack between a real incident and a replayed alert (the replay steps in minutes).
SLACK = timedelta(hours=1)


def loosen(kind: str, params: dict[str, Any]) -> Loosening | None:
    """(parameter, current, one step looser) for the kinds with one obvious knob: each kind
    answers for itself (``RuleKind.loosened``)."""
    impl = all_kinds().get(kind)
    return impl.loosened(params) if impl is not None else None


def suggest(data: ReportData, now: datetime, limit: int) -> ReportData:
    """``data`` with the suggestions and a note saying how they were judged."""
    if limit <= 0:
        return replace(data, suggestions_note="Threshold suggestions are switched off.")
    fired = Counter(a.rule_id for a in data.alerts if data.covers(a.fired_at))
    noisy = [rule_id for rule_id, count in fired.most_common(limit) if count >= NOISY_AT]
    rules = AlertRule.objects.in_bulk(noisy)
    started, found = time.monotonic(), []
    for rule_id in noisy:
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        suggestion = judge(rules[rule_id], data.end) if rule_id in rules else None
        if suggestion is not None:
            found.append(suggestion)
    note = (
        f"Judged by replaying the last {DAYS} days of history for the {limit} noisiest rules "
        f"(fired at least {NOISY_AT} times): a looser value is suggested only if it fires "
        "fewer alerts and still catches every incident someone acknowledged."
    )
    return replace(data, suggestions=found, suggestions_note=note)


def judge(rule: AlertRule, until: datetime) -> Suggestion | None:
    knob = loosen(rule.kind, rule.parameters)
    if knob is None:
        return None
    parameter, current, value = knob
    try:
        now_result = backtest(rule, None, DAYS, until)
        looser_result = backtest(rule, {parameter: value}, DAYS, until)
    except BacktestError as exc:
        logger.info("no suggestion for rule %s: %s", rule.name, exc)
        return None
    incidents = acknowledged_incidents(rule, until - timedelta(days=DAYS), until)
    if looser_result.fired >= now_result.fired or not all(
        covered(incident, looser_result.alerts, until) for incident in incidents
    ):
        return None
    return Suggestion(
        rule=rule.name,
        kind=rule.kind,
        parameter=parameter,
        current=float(current),
        suggested=float(value),
        days=DAYS,
        fired_now=now_result.fired,
        fired_suggested=looser_result.fired,
        incidents=len(incidents),
    )


def acknowledged_incidents(
    rule: AlertRule, since: datetime, until: datetime
) -> list[tuple[str, datetime, datetime]]:
    """(source key, fired, resolved or ``until``) of the rule's alerts someone acknowledged."""
    alerts = (
        Alert.objects.filter(rule=rule, fired_at__gte=since, fired_at__lt=until)
        .filter(events__kind=AlertEventKind.ACKNOWLEDGED)
        .select_related("source", "deployment")
        .distinct()
    )
    return [(a.subject, a.fired_at, a.resolved_at or until) for a in alerts if a.fired_at]


def covered(incident: tuple[str, datetime, datetime], replayed: list[Any], until: datetime) -> bool:
    subject, fired, resolved = incident
    for alert in replayed:
        start = datetime.fromisoformat(alert.fired_at)
        end = datetime.fromisoformat(alert.resolved_at) if alert.resolved_at else until
        if alert.source == subject and start <= resolved + SLACK and end >= fired - SLACK:
            return True
    return False
