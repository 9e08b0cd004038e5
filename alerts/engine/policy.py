"""Who hears what, and when: the notification policy writes outbox rows, transports send them.

- firing: when an alert fires, or when a firing alert nobody was told about stops being held
  back (silence over, deployment reachable again, upstream cause resolved);
- reminder: every cooldown while firing, unacknowledged and not held back;
- escalation: once, to the rule's escalation channels, when a critical alert stays
  unacknowledged for the rule's escalation delay;
- resolved: when an alert someone was told about resolves, with how long it lasted.
Alerts of one rule changing in the same pass share one message per channel (grouping).

The internal alert about confops itself (a kind with ``internal``: ``confops_stalled``) is the
watcher's: the engine's ``watcher.evaluate_watcher`` reminds and escalates it
(``remind_and_escalate(now, alerts)``) because beat, which runs
``send_reminders_and_escalations``, may be the part that died; and while its rule has no
channels of its own, it goes to the default channels, or with none to every enabled channel, so
out of the box someone is told.

Default channels (``Channel.is_default``; the first channel created is one): a rule with no
channels of its own, and an escalation with no escalation channels, go to them. When a rule
first has somewhere to go, ``send_waiting`` sends its open alerts nobody was told about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from alerts.choices import AlertEventKind, AlertState, NotificationEvent, Severity
from alerts.engine import facts
from alerts.models import (
    SILENCE_REMINDER_BEFORE,
    Alert,
    AlertRule,
    Channel,
    Notification,
    Runbook,
    Silence,
)
from alerts.notify import messages
from alerts.rules.base import internal_kinds


def on_changes(
    fired: list[Alert], released: list[Alert], resolved: list[Alert], now: datetime
) -> int:
    """Messages for what one evaluation changed; returns how many outbox rows were written."""
    # An alert can both fire and be released in one pass (its silence ended as its pending
    # period ran out): one line in the message, not two.
    firing = list({a.pk: a for a in [*fired, *released] if not a.suppressed}.values())
    told_resolved = [a for a in resolved if a.last_notified_at is not None]
    count = write(NotificationEvent.FIRING, firing, channels_for, now)
    count += write(NotificationEvent.RESOLVED, told_resolved, channels_for, now)
    return count


def default_channels() -> list[Channel]:
    """The enabled channels marked default: where rules and escalations with no channels of
    their own go."""
    return list(Channel.objects.filter(is_default=True, enabled=True))


def channels_for(rule: AlertRule) -> Iterable[Channel]:
    """The rule's channels; with none of its own, the default channels. The internal alert
    about confops with neither goes to every enabled channel: a dead beat or poller must reach
    someone even when nobody marked a channel default."""
    return own_or_defaults(
        rule, list(rule.channels.all()), lambda: Channel.objects.filter(enabled=True)
    )


def escalation_channels_for(rule: AlertRule) -> Iterable[Channel]:
    """The rule's escalation channels; with none, the default channels (so the critical
    defaults' "escalate after 30 minutes" reaches someone); for the internal alert with
    neither, its channels."""
    return own_or_defaults(rule, list(rule.escalation_channels.all()), lambda: channels_for(rule))


def own_or_defaults(
    rule: AlertRule, own: list[Channel], internal_last_resort: Callable[[], Iterable[Channel]]
) -> Iterable[Channel]:
    """A rule's own channels; with none, the default channels; for the internal alert with
    neither, what ``internal_last_resort()`` gives."""
    if own:
        return own
    defaults = default_channels()
    if defaults or rule.kind not in internal_kinds():
        return defaults
    return internal_last_resort()


def send_waiting(now: datetime, rules: Iterable[AlertRule] | None = None) -> int:
    """Send the firing message of open alerts nobody was told about (firing, unacknowledged,
    not held back, never notified), e.g. once their rule gets a channel or a default channel
    appears. ``write`` marks notified each alert that went into a row, so a second call sends
    nothing more; an alert that still has nowhere to go stays waiting."""
    waiting = Alert.objects.filter(
        state=AlertState.FIRING,
        last_notified_at__isnull=True,
        silenced_by__isnull=True,
        inhibited=False,
        folded_into__isnull=True,
    ).select_related("rule", "source", "deployment")
    if rules is not None:
        waiting = waiting.filter(rule__in=[r.pk for r in rules])
    return write(NotificationEvent.FIRING, waiting, channels_for, now)


@dataclass(frozen=True)
class Unreached:
    """Why an alert reached nobody, and what to fix: ``fix`` is "rule" (give the rule a
    channel), "channels" (the channels' settings) or "" (nothing to fix: it is held back)."""

    reason: str
    fix: str


def why_unreached(alert: Alert) -> Unreached | None:
    """Why nobody was told about this alert, or None when someone was (or it never fired)."""
    if alert.last_notified_at is not None or alert.fired_at is None:
        return None
    if alert.suppressed:
        return Unreached(
            "it is held back (a silence, its deployment unreachable, or folded into its cause)",
            "",
        )
    candidates = list(alert.rule.channels.all()) or list(Channel.objects.filter(is_default=True))
    if not candidates and alert.rule.kind in internal_kinds():
        candidates = list(Channel.objects.all())
    if not candidates:
        return Unreached("its rule has no channel and no channel is marked default", "rule")
    if not any(c.enabled for c in candidates):
        return Unreached("every channel it would go to is disabled", "channels")
    if any(c.accepts(alert.severity) for c in candidates):
        return Unreached("a channel takes it now: it goes out when a rule or channel is saved", "")
    return Unreached(
        f"its severity ({alert.severity}) is below the minimum severity of every channel "
        "it would go to",
        "channels",
    )


def reminder_due_at(alert: Alert) -> datetime | None:
    """When this alert's next reminder is due, or None when it gets none."""
    if alert.state != AlertState.FIRING or alert.suppressed or alert.last_notified_at is None:
        return None
    if alert.clear_since is not None:  # cleared, waiting out its resolve hold: nothing to remind
        return None
    return alert.last_notified_at + timedelta(minutes=alert.rule.cooldown_minutes)


def escalation_due_at(alert: Alert) -> datetime | None:
    """When this alert escalates, or None when it does not (any more)."""
    delay = alert.rule.escalate_after_minutes
    if alert.state != AlertState.FIRING or alert.suppressed or alert.severity != Severity.CRITICAL:
        return None
    if alert.escalated_at is not None or alert.fired_at is None or delay is None:
        return None
    return alert.fired_at + timedelta(minutes=delay)


def due_reminders(now: datetime, alerts: QuerySet[Alert]) -> list[Alert]:
    candidates = alerts.filter(
        state=AlertState.FIRING, last_notified_at__isnull=False
    ).select_related("rule", "source")
    return [a for a in candidates if (due := reminder_due_at(a)) is not None and due <= now]


def due_escalations(now: datetime, alerts: QuerySet[Alert]) -> list[Alert]:
    candidates = alerts.filter(
        state=AlertState.FIRING,
        severity=Severity.CRITICAL,
        escalated_at__isnull=True,
        fired_at__isnull=False,
        rule__escalate_after_minutes__isnull=False,
    ).select_related("rule", "source")
    return [a for a in candidates if (due := escalation_due_at(a)) is not None and due <= now]


def remind_silence_authors(now: datetime) -> int:
    """An hour before a long silence ends, its author hears about it (by email)."""
    due = Silence.objects.filter(
        expired_at__isnull=True,
        expiry_reminded_at__isnull=True,
        ends_at__gt=now,
        ends_at__lte=now + SILENCE_REMINDER_BEFORE,
        created_by__email__gt="",
    ).select_related("created_by")
    count = 0
    for silence in due:
        if not silence.is_long or silence.created_by is None:
            continue
        Notification.enqueue(
            None,
            NotificationEvent.SILENCE_EXPIRING,
            {
                "to": silence.created_by.email,
                "silence": {"id": silence.pk, "comment": silence.comment},
                "ends_at": silence.ends_at.isoformat() if silence.ends_at else None,
            },
            now,
        )
        silence.expiry_reminded_at = now
        silence.save(update_fields=["expiry_reminded_at"])
        count += 1
    return count


@transaction.atomic
def send_reminders_and_escalations(now: datetime) -> int:
    """Beat's pass. It leaves the internal alert to the watcher: two writers of one reminder
    would send it twice, and the watcher runs wherever this pass can (in a worker) and more."""
    others = Alert.objects.exclude(rule__kind__in=internal_kinds())
    return remind_and_escalate(now, others) + remind_silence_authors(now)


@transaction.atomic
def remind_and_escalate(now: datetime, alerts: QuerySet[Alert]) -> int:
    """Reminders and escalations that are due among ``alerts``."""
    reminders = due_reminders(now, alerts)
    count = write(NotificationEvent.REMINDER, reminders, channels_for, now)
    for alert in reminders:
        alert.reminders_sent += 1
        alert.save(update_fields=["reminders_sent"])
    escalations = due_escalations(now, alerts)
    count += write(NotificationEvent.ESCALATION, escalations, escalation_channels_for, now)
    for alert in escalations:
        alert.escalated_at = now
        alert.save(update_fields=["escalated_at"])
    return count


def write(
    event: str,
    alerts: Iterable[Alert],
    channels_of: Any,
    now: datetime,
) -> int:
    """One row per (rule, channel) listing that rule's alerts; marks notified the alerts that
    went into a row (an alert with no channel to go to was not told to anyone)."""
    by_rule: dict[int, list[Alert]] = defaultdict(list)
    rules: dict[int, AlertRule] = {}
    for alert in alerts:
        by_rule[alert.rule_id].append(alert)
        rules[alert.rule_id] = alert.rule
    written = 0
    for rule_id, rule_alerts in by_rule.items():
        told: dict[int, Alert] = {}
        for channel in channels_of(rules[rule_id]):
            chosen = [a for a in rule_alerts if channel.accepts(a.severity)]
            if chosen:
                create_notification(channel, event, rules[rule_id], chosen, now)
                written += 1
                told.update((a.pk, a) for a in chosen)
        for alert in told.values():
            alert.last_notified_at = now
            alert.save(update_fields=["last_notified_at"])
            alert.record(AlertEventKind.NOTIFIED, now, event=event)
    return written


def create_notification(
    channel: Channel, event: str, rule: AlertRule, alerts: list[Alert], now: datetime
) -> Notification:
    return Notification.enqueue(
        channel, event, payload(event, rule, alerts, now), now, rule=rule, alerts=alerts
    )


def payload(event: str, rule: AlertRule, alerts: list[Alert], now: datetime) -> dict[str, Any]:
    """A snapshot of what the message says, so a later change cannot rewrite a sent page."""
    runbook = runbook_for(rule, alerts)
    return {
        "event": event,
        "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
        "runbook": {
            "slug": runbook.slug,
            "title": runbook.title,
            "steps": messages.first_steps(runbook.body),
        }
        if runbook
        else None,
        "sources": [a.subject for a in alerts],
        "at": now.isoformat(),
        "alerts": [
            {
                "id": a.pk,
                "subject": a.subject,
                "severity": a.severity,
                "summary": a.summary,
                "error": messages.excerpt(str((a.details or {}).get("error") or "")),
                "run_id": a.run_id,
                "run_url": a.run_url,
                "fired_at": a.fired_at.isoformat() if a.fired_at else None,
                "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
                "duration_s": a.duration.total_seconds() if a.duration else None,
                "incident_s": a.incident_duration.total_seconds(),
                "consequences": [c.subject for c in a.consequences.all()],
                **facts.for_alert(a),
            }
            for a in alerts
        ],
    }


def runbook_for(rule: AlertRule, alerts: list[Alert]) -> Runbook | None:
    """The rule's runbook, else the runbook named on the (first) source that has one."""
    if rule.runbook is not None:
        return rule.runbook
    slugs = [a.source.runbook_slug for a in alerts if a.source and a.source.runbook_slug]
    return Runbook.objects.filter(slug=slugs[0]).first() if slugs else None
