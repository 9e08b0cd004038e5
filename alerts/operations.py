"""What an operator does to alerts and silences from the portal, each recorded with who did it.

The model methods record the alert's events; these functions add what spans several objects
(a silence and the alerts it holds back) and the audit entries. Views call them and only render.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from alerts.choices import (
    OPEN_STATES,
    AlertEventKind,
    AlertState,
    IncidentState,
    NotificationEvent,
    ResolvedHow,
)
from alerts.engine import incidents, policy
from alerts.engine.silences import covers
from alerts.models import Alert, AlertRule, Channel, Incident, RuleOverride, Silence
from confops.accounts import audit
from monitoring.dagster.actions import reexecute_from_failure
from monitoring.models import Deployment

SILENCE_HOURS = (1, 4, 24)


@transaction.atomic
def silence_alert(
    alert: Alert,
    hours: float,
    user: Any,
    now: datetime,
    comment: str = "",
    actor_label: str = "",
) -> Silence:
    """Silence the alert's rule on its subject for some hours; the alert shows it at once."""
    if not alert.is_open:
        raise ValidationError("a resolved alert needs no silence")
    silence = Silence.for_alert(alert, hours, now, user=user, comment=comment)
    snapshot = audit.snapshot(silence)
    audit.record(now, "created", silence, snapshot, actor=user, actor_label=actor_label)
    hold_back([alert], silence, user, now)
    return silence


@transaction.atomic
def create_silence(silence: Silence, user: Any, now: datetime, actor_label: str = "") -> Silence:
    """Save a silence made in the form, audit it, and mark the open alerts it already covers."""
    silence.created_by = user if getattr(user, "is_authenticated", False) else None
    silence.full_clean()
    silence.save()
    audit.record(
        now, "created", silence, audit.snapshot(silence), actor=user, actor_label=actor_label
    )
    if silence.is_active(now):
        hold_back(open_alerts_covered(silence), silence, user, now)
    return silence


def hold_back(alerts: list[Alert], silence: Silence, user: Any, now: datetime) -> None:
    """Mark alerts silenced now, as the next evaluation would (it then sees nothing to change).

    Releasing is left to the evaluation, which also sends the firing message of an alert that
    nobody was told about while it was held back.
    """
    for alert in alerts:
        if alert.silenced_by_id is not None or not silence.is_active(now):
            continue
        alert.record(
            AlertEventKind.SILENCED, now, actor=user, note=silence.comment, silence=silence.pk
        )
        alert.silenced_by = silence
        alert.save(update_fields=["silenced_by"])


def open_alerts_covered(silence: Silence, limit: int | None = None) -> list[Alert]:
    """Open alerts the silence's matchers cover (it need not be saved: the form's preview)."""
    candidates = Alert.objects.filter(state__in=OPEN_STATES).select_related(
        "rule", "source", "source__deployment", "deployment"
    )
    if silence.rule_id:
        candidates = candidates.filter(rule_id=silence.rule_id)
    if silence.source_id:
        candidates = candidates.filter(source_id=silence.source_id)
    if silence.severity:
        candidates = candidates.filter(severity=silence.severity)
    matched = [a for a in candidates.order_by("-fired_at", "-opened_at") if covers(silence, a)]
    return matched[:limit] if limit is not None else matched


@transaction.atomic
def expire_silence(silence: Silence, user: Any, now: datetime, actor_label: str = "") -> None:
    """End a silence now. The alerts it held are released by the next evaluation."""
    if silence.expired_at is not None and silence.expired_at <= now:
        raise ValidationError("this silence has already expired")
    silence.expire(now)
    audit.record(now, "expired", silence, actor=user, actor_label=actor_label)


@transaction.atomic
def resolve_by_hand(alert: Alert, user: Any, now: datetime, actor_label: str = "") -> None:
    """Resolve one alert; its incident closes when it was the last open member, and whoever
    was told it fired is told it is resolved (a two-way channel edits its message)."""
    was = alert.state
    alert.resolve(now, ResolvedHow.MANUAL, user=user)
    policy.tell_closed(incidents.after_resolved([alert], now, by_hand=True), now)
    audit.record(
        now,
        "resolved",
        alert,
        {"state": [was, alert.state]},
        actor=user,
        actor_label=actor_label,
    )


@transaction.atomic
def acknowledge(alert: Alert, user: Any, note: str, now: datetime, actor_label: str = "") -> None:
    """Acknowledge a firing alert (refused otherwise) with the rest of its incident, and audit
    who did it and how: acknowledging one alert of an incident acknowledges the incident."""
    was = alert.state
    if (
        alert.state == AlertState.FIRING
        and alert.incident is not None
        and alert.incident.state == IncidentState.OPEN
    ):
        acknowledge_incident(alert.incident, user, note, now, actor_label)
        return
    alert.acknowledge(user, note, now)
    changes = {"state": [was, alert.state], "note": note}
    audit.record(now, "acknowledged", alert, changes, actor=user, actor_label=actor_label)


@transaction.atomic
def unacknowledge(alert: Alert, user: Any, now: datetime, actor_label: str = "") -> None:
    """Put an acknowledged alert (with the rest of its incident) back to firing: reminders
    restart from now."""
    was = alert.state
    incident = alert.incident
    if (
        was == AlertState.ACKNOWLEDGED
        and incident is not None
        and incident.state == IncidentState.ACKNOWLEDGED
    ):
        unacknowledge_incident(incident, user, now, actor_label)
        return
    alert.unacknowledge(user, now)
    changes = {"state": [was, alert.state]}
    audit.record(now, "unacknowledged", alert, changes, actor=user, actor_label=actor_label)


@transaction.atomic
def acknowledge_incident(
    incident: Incident, user: Any, note: str, now: datetime, actor_label: str = ""
) -> list[Alert]:
    """Acknowledge an open incident and every firing alert in it (refused otherwise): its
    reminders stop. One audit row for the incident, one per alert."""
    was = incident.state
    members = incident.acknowledge(user, note, now)
    policy.tell_state_change(incident, NotificationEvent.ACKNOWLEDGED, now)
    audit.record(
        now,
        "acknowledged",
        incident,
        {"state": [was, incident.state], "note": note},
        actor=user,
        actor_label=actor_label,
    )
    for alert in members:
        changes = {"state": [AlertState.FIRING, alert.state], "note": note}
        audit.record(now, "acknowledged", alert, changes, actor=user, actor_label=actor_label)
    return members


@transaction.atomic
def resolve_incident(incident: Incident, user: Any, now: datetime, actor_label: str = "") -> int:
    """Resolve every open member by hand (audited per alert and for the incident), which closes
    the incident at once; returns how many alerts were resolved."""
    if not incident.is_open:
        raise ValidationError(
            f"only an open incident can be resolved (this one is {incident.state})"
        )
    members = list(incident.alerts.filter(state__in=OPEN_STATES))
    was = incident.state
    for alert in members:
        was_alert = alert.state
        alert.resolve(now, ResolvedHow.MANUAL, user=user)
        changes = {"state": [was_alert, alert.state]}
        audit.record(now, "resolved", alert, changes, actor=user, actor_label=actor_label)
    closing = incidents.after_resolved(members, now, by_hand=True)
    if not members:  # nothing open underneath (all recovering): close it now
        incident.resolve(now)
        closing = [incident]
    policy.tell_closed(closing, now)
    incident.refresh_from_db()
    audit.record(
        now,
        "resolved",
        incident,
        {"state": [was, incident.state]},
        actor=user,
        actor_label=actor_label,
    )
    return len(members)


@transaction.atomic
def unacknowledge_incident(
    incident: Incident, user: Any, now: datetime, actor_label: str = ""
) -> list[Alert]:
    was = incident.state
    members = incident.unacknowledge(user, now)
    policy.tell_state_change(incident, NotificationEvent.UNACKNOWLEDGED, now)
    audit.record(
        now,
        "unacknowledged",
        incident,
        {"state": [was, incident.state]},
        actor=user,
        actor_label=actor_label,
    )
    for alert in members:
        changes = {"state": [AlertState.ACKNOWLEDGED, alert.state]}
        audit.record(now, "unacknowledged", alert, changes, actor=user, actor_label=actor_label)
    return members


# Rules and their per-source overrides: the one door the admin, the REST API and
# ``restore_default_rules`` call; it validates with ``full_clean`` and audits. (A source's own
# settings have theirs in monitoring/operations.py.)

RULE_RELATIONS = ("channels", "escalation_channels", "scope_sources")


def rule_snapshot(rule: AlertRule) -> dict[str, Any]:
    """The rule's fields and its many-to-many choices (as sorted ids), for the audit trail."""
    values = audit.snapshot(rule)
    if rule.pk:
        for name in RULE_RELATIONS:
            values[name] = sorted(getattr(rule, name).values_list("pk", flat=True))
    return values


@transaction.atomic
def save_rule(
    rule: AlertRule,
    relations: dict[str, list[Any]],
    user: Any,
    now: datetime,
    actor_label: str = "",
) -> AlertRule:
    """Validate as the admin does (``full_clean``), save, set ``relations`` and audit the diff
    (nothing is recorded when nothing but the save time changed).

    Raises Django's ``ValidationError`` (nothing saved) when the rule is invalid.
    """
    created = rule.pk is None
    before = {} if created else rule_snapshot(AlertRule.objects.get(pk=rule.pk))
    rule.full_clean()
    rule.save()
    for name, objects in relations.items():
        getattr(rule, name).set(objects)
    changes = audit.diff(before, rule_snapshot(rule))
    policy.send_waiting(now, [rule])  # its alerts nobody was told about, now it has channels
    # Saved as it was (the admin's form saved to edit its overrides only): no change to record.
    if created or changes:
        action = "created" if created else "changed"
        audit.record(now, action, rule, changes, actor=user, actor_label=actor_label)
    return rule


@transaction.atomic
def save_channel(channel: Channel, user: Any, now: datetime, actor_label: str = "") -> Channel:
    """Validate (``full_clean``: the kind's config and secret, routes, a unique name), save and
    audit what changed (masked). The door validates whoever calls it (admin, API, provisioning,
    a shell), so no path stores a channel its transport cannot use. The first channel created
    is a default channel, so a fresh install reaches it with no rule edited; alerts nobody was
    told about go out as soon as a channel can take them.

    Raises Django's ``ValidationError`` (nothing saved) when the channel is invalid.
    """
    created = channel.pk is None
    before = {} if created else audit.snapshot(Channel.objects.get(pk=channel.pk))
    # A channel with routes takes only the sources they match (Channel.clean_routes).
    if created and not channel.has_routes and not Channel.objects.exists():
        channel.is_default = True
    channel.full_clean()
    channel.save()
    action = "created" if created else "changed"
    changes = audit.diff(before, audit.snapshot(channel))
    audit.record(now, action, channel, changes, actor=user, actor_label=actor_label)
    policy.send_waiting(now)
    return channel


@transaction.atomic
def delete_channel(channel: Channel, user: Any, now: datetime, actor_label: str = "") -> None:
    """Delete a channel with its outbox rows, as the admin does, and audit it (masked)."""
    audit.record(
        now, "deleted", channel, audit.snapshot(channel), actor=user, actor_label=actor_label
    )
    channel.delete()


def set_rule_enabled(
    rule: AlertRule, enabled: bool, user: Any, now: datetime, actor_label: str = ""
) -> bool:
    """Switch a rule on or off as the admin's actions do; False when it already was."""
    if rule.enabled == enabled:
        return False
    rule.enabled = enabled
    rule.save(update_fields=["enabled", "updated_at"])
    changes = {"enabled": [not enabled, enabled]}
    audit.record(now, "changed", rule, changes, actor=user, actor_label=actor_label)
    return True


@transaction.atomic
def delete_rule(rule: AlertRule, user: Any, now: datetime, actor_label: str = "") -> None:
    """Delete a rule with its alerts, as the admin does. A default rule may be deleted too:
    ``manage.py restore_default_rules`` (and the next ``migrate``) brings it back."""
    audit.record(now, "deleted", rule, rule_snapshot(rule), actor=user, actor_label=actor_label)
    rule.delete()


@transaction.atomic
def save_override(
    override: RuleOverride, user: Any, now: datetime, actor_label: str = ""
) -> RuleOverride:
    """Validate (only the kind's overridable parameters, valid values) and save, audited."""
    fields = ["parameters", "enabled"]
    before = {}
    if override.pk:
        before = audit.snapshot(RuleOverride.objects.get(pk=override.pk), fields)
    override.full_clean(validate_unique=False)
    action = "changed" if override.pk else "created"
    override.save()
    changes = audit.diff(before, audit.snapshot(override, fields))
    audit.record(now, action, override, changes, actor=user, actor_label=actor_label)
    return override


@transaction.atomic
def delete_override(
    override: RuleOverride, user: Any, now: datetime, actor_label: str = ""
) -> None:
    fields = ["parameters", "enabled"]
    changes = audit.snapshot(override, fields)
    audit.record(now, "deleted", override, changes, actor=user, actor_label=actor_label)
    override.delete()


REEXECUTE_CLAIM_SECONDS = 300


def alert_deployment(alert: Alert) -> Deployment | None:
    if alert.source_id:
        return alert.source.deployment if alert.source else None
    return alert.deployment


def can_reexecute(alert: Alert) -> bool:
    """The alert names a Dagster run, of a deployment confops can ask to re-execute it."""
    return bool(alert.run_id) and alert_deployment(alert) is not None


def reexecute(alert: Alert, user: Any, now: datetime, actor_label: str = "") -> str:
    """Re-execute the alert's failed run from its failure; link and audit the new run.

    Raises ``ValidationError`` when the alert has no Dagster run, and the typed ``DagsterError``
    of the client when Dagster refuses or cannot be reached (nothing is recorded then).
    """
    deployment = alert_deployment(alert)
    if not alert.run_id or deployment is None:
        raise ValidationError("this alert is not about a Dagster run")
    if alert.events.filter(
        kind=AlertEventKind.REEXECUTED, data__parent_run_id=alert.run_id
    ).exists():
        raise ValidationError(f"run {alert.run_id} was already re-executed from this alert")
    # A double click or two operators at once must launch one run, not two.
    claim = f"confops:reexecute:{alert.pk}:{alert.run_id}"
    if not cache.add(claim, "claimed", REEXECUTE_CLAIM_SECONDS):
        raise ValidationError(f"a re-execution of run {alert.run_id} is already under way")
    who = getattr(user, "username", "") or "confops"
    tags = {"confops/triggered_by": who, "confops/alert_id": str(alert.pk)}
    try:
        # Outside any transaction: an SQLite write lock must not wait on Dagster's answer.
        new_run_id = reexecute_from_failure(deployment, alert.run_id, tags=tags)
    except BaseException:
        cache.delete(claim)  # refused or unreachable: another try may go ahead
        raise
    with transaction.atomic():
        alert.record(
            AlertEventKind.REEXECUTED,
            now,
            actor=user,
            note=f"Re-executed run {alert.run_id} from its failure",
            parent_run_id=alert.run_id,
            new_run_id=new_run_id,
            new_run_url=deployment.run_url(new_run_id),
        )
        changes = {"run_id": [alert.run_id, new_run_id]}
        audit.record(now, "reexecuted", alert, changes, actor=user, actor_label=actor_label)
    return new_run_id
