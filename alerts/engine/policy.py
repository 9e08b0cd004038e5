"""Who hears what, and when: the notification policy writes outbox rows, transports send them.

What pages is the incident (alerts/engine/incidents.py), not each rule's alert
(docs/incidents.md):

- firing: once, when an incident's first member fires (or stops being held back);
- update: when other sources join it (a storm) or a member's failing partitions grow (a
  backfill going on), batched: at most one message per cooldown;
- severity raised: once each time it rises (warning to critical);
- flapping: once, when its failure came back while it recovered; then quiet until it closes;
- reminder: while open, unacknowledged and still failing, backing off (the rule's cooldown,
  then 2, 4, 8 and 16 times it, then daily); for a source with a known interval not before its
  next expected run has also failed or not come;
- escalation: once, to the escalation channels, when a critical member stays unacknowledged
  for its rule's escalation delay;
- resolved: once, when the incident closes, if someone was told.
Each goes once per channel, listing the current members that channel takes.

The internal alert about confops itself (a kind with ``internal``: ``confops_stalled``) is the
watcher's: the engine's ``watcher.evaluate_watcher`` reminds and escalates its incident
(``remind_and_escalate(now, incidents)``) because beat, which runs
``send_reminders_and_escalations``, may be the part that died; and while its rule has no
channels of its own, it goes to the default channels, or with none to every enabled channel, so
out of the box someone is told.

Default channels (``Channel.is_default``; the first channel created is one): a rule with no
channels of its own, and an escalation with no escalation channels, go to them. When a rule
first has somewhere to go, ``send_waiting`` sends its open alerts nobody was told about.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from alerts.choices import (
    OPEN_INCIDENT_STATES,
    SEVERITY_RANK,
    AlertEventKind,
    AlertState,
    IncidentState,
    NotificationEvent,
    Severity,
)
from alerts.engine import facts, incidents, mirrors
from alerts.models import (
    SILENCE_REMINDER_BEFORE,
    Alert,
    AlertRule,
    Channel,
    Incident,
    Notification,
    Runbook,
    Silence,
)
from alerts.notify import links, messages
from alerts.rules.base import internal_kinds

# Reminder gaps as multiples of the rule's cooldown, then daily.
BACKOFF_STEPS = (1, 2, 4, 8, 16)
DAILY = timedelta(hours=24)

ChannelsOf = Callable[[AlertRule], Iterable[Channel]]


def on_changes(
    fired: list[Alert],
    released: list[Alert],
    resolved: list[Alert],
    now: datetime,
    returned: Iterable[Alert] = (),
    grown: Iterable[Alert] = (),
) -> int:
    """Messages for what one evaluation changed; returns how many outbox rows were written."""
    # An alert can both fire and be released in one pass (its silence ended as its pending
    # period ran out): it joins once.
    firing = list({a.pk: a for a in [*fired, *released] if not a.suppressed}.values())
    for alert in released:
        # Unfolded (its cause recovered) or no longer silenced: it may be a cause of its own.
        if alert.incident_id is not None and not alert.suppressed:
            alert.incident = None
            alert.save(update_fields=["incident"])
    folded = [a for a in fired if a.folded_into_id and not a.silenced_by_id and not a.inhibited]
    changed = incidents.assign([*firing, *folded], now)
    incidents.flapped(returned, now, changed)
    incidents.grew(grown, changed)
    count = sum(page_changes(joined, now) for joined in changed.values())
    return count + tell_closed(incidents.after_resolved(resolved, now), now)


def page_changes(joined: incidents.Joined, now: datetime) -> int:
    """The one message (if any) an incident's change in this pass deserves."""
    incident = joined.incident
    members = incidents.current_members(incident)
    if not members:
        return 0
    if incident.last_notified_at is None:
        return page(incident, NotificationEvent.FIRING, members, now)
    if joined.began_flapping:
        return page(incident, NotificationEvent.FLAPPING, members, now)
    if incident.flapping:
        return 0  # one flapping message per episode, then the resolved one
    if rank(incident.severity) > rank(incident.notified_severity or Severity.INFO):
        return page(incident, NotificationEvent.SEVERITY_RAISED, members, now)
    # A member listing more failing partitions (a backfill going on) is news too: the first
    # page named the partitions failed so far, the update the count reached.
    if joined.new_sources or joined.returned or joined.grew:
        if now >= incident.last_notified_at + min_gap(members):
            return page(incident, NotificationEvent.UPDATE, members, now)
        incident.update_due = True
        incident.save(update_fields=["update_due"])
    return 0


def rank(severity: str) -> int:
    return SEVERITY_RANK[Severity(severity)]


def min_gap(members: list[Alert]) -> timedelta:
    """The rules' cooldown: the least time between two messages about one incident."""
    return timedelta(minutes=min((a.rule.cooldown_minutes for a in members), default=30))


def tell_closed(closed: Iterable[Incident], now: datetime) -> int:
    """The resolved message of incidents that closed, to whoever was told they fired."""
    count = 0
    for incident in closed:
        # One line per rule and subject: a flapping source's earlier alerts are the same line.
        latest = {
            (a.rule_id, a.source_id, a.deployment_id): a
            for a in incident.alerts.select_related("rule", "source", "deployment").order_by(
                "opened_at", "pk"
            )
            if a.last_notified_at is not None and a.folded_into_id is None
        }
        told = list(latest.values())
        if told and incident.last_notified_at is not None:
            count += page(incident, NotificationEvent.RESOLVED, told, now)
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
    appears. ``page`` marks notified each alert that went into a row, so a second call sends
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
    alerts = list(waiting)
    incidents.assign(alerts, now)
    by_incident: dict[int, list[Alert]] = {}
    for alert in alerts:
        if alert.incident_id is not None:
            by_incident.setdefault(alert.incident_id, []).append(alert)
    count = 0
    for incident in Incident.objects.filter(pk__in=list(by_incident)):
        unsent = by_incident[incident.pk]
        if incident.last_notified_at is None:
            unsent = incidents.current_members(incident) or unsent
        count += page(incident, NotificationEvent.FIRING, unsent, now)
    return count


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


def reminder_due_at(
    incident: Incident,
    members: list[Alert] | None = None,
    intervals: Mapping[int, timedelta] | None = None,
) -> datetime | None:
    """When this incident's next reminder is due, or None when it gets none (acknowledged,
    flapping, recovering, never told, or nothing still failing). ``intervals``: the sources'
    typical intervals read for a pass over many incidents (``incidents.typical_intervals``)."""
    if incident.state != IncidentState.OPEN or incident.last_notified_at is None:
        return None
    if incident.flapping or incident.quiet_since is not None:
        return None
    members = incidents.current_members(incident) if members is None else members
    if not members:
        return None
    step = incident.reminders_sent
    gap = DAILY if step >= len(BACKOFF_STEPS) else min_gap(members) * BACKOFF_STEPS[step]
    due = incident.last_notified_at + min(gap, DAILY)
    if intervals is None:
        interval = incidents.typical_interval(incident.source_id)
    else:
        interval = intervals.get(incident.source_id) if incident.source_id is not None else None
    if interval is not None:
        due = max(due, incident.last_notified_at + min(incidents.next_run_due(interval), DAILY))
    return due


def escalating_members(incident: Incident, members: list[Alert]) -> list[Alert]:
    return [
        a
        for a in members
        if a.severity == Severity.CRITICAL
        and a.state == AlertState.FIRING
        and a.rule.escalate_after_minutes is not None
        and a.fired_at is not None
    ]


def escalation_due_at(incident: Incident, members: list[Alert] | None = None) -> datetime | None:
    """When this incident escalates, or None when it does not (any more)."""
    if incident.state != IncidentState.OPEN or incident.escalated_at is not None:
        return None
    members = incidents.current_members(incident) if members is None else members
    dues = [
        a.fired_at + timedelta(minutes=a.rule.escalate_after_minutes or 0)
        for a in escalating_members(incident, members)
        if a.fired_at is not None
    ]
    return min(dues, default=None)


def update_due_at(incident: Incident, members: list[Alert]) -> datetime | None:
    if not incident.update_due or incident.last_notified_at is None or incident.flapping:
        return None
    return incident.last_notified_at + min_gap(members)


def next_due_at() -> datetime | None:
    """The earliest moment a message or a close is due for any open incident (replay ticks
    there)."""
    dues: list[datetime] = []
    open_incidents = list(Incident.objects.filter(state__in=OPEN_INCIDENT_STATES))
    members_of = incidents.members_of([incident.pk for incident in open_incidents])
    intervals = incidents.typical_intervals([incident.source_id for incident in open_incidents])
    for incident in open_incidents:
        if incident.closes_at is not None:
            dues.append(incident.closes_at)
        members = members_of[incident.pk]
        for due in (
            reminder_due_at(incident, members, intervals),
            escalation_due_at(incident, members),
            update_due_at(incident, members),
        ):
            if due is not None:
                dues.append(due)
    return min(dues, default=None)


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
    """Beat's pass: incidents that close, updates, reminders and escalations due. It leaves the
    internal alert's incident to the watcher: two writers of one reminder would send it twice,
    and the watcher runs wherever this pass can (in a worker) and more."""
    adopt_orphans()
    count = tell_closed(incidents.close_due(now), now)
    others = Incident.objects.exclude(alerts__rule__kind__in=internal_kinds())
    return count + remind_and_escalate(now, others) + remind_silence_authors(now)


def adopt_orphans() -> None:
    """Alerts told about before incidents existed (an upgraded install) get an incident that
    remembers it, so their reminders go on from there."""
    orphans = list(
        Alert.objects.filter(
            state__in=(AlertState.FIRING, AlertState.ACKNOWLEDGED),
            incident__isnull=True,
            last_notified_at__isnull=False,
        ).select_related("rule", "source", "deployment", "folded_into")
    )
    if not orphans:
        return
    first_told = min(a.last_notified_at for a in orphans if a.last_notified_at is not None)
    for joined in incidents.assign(orphans, first_told).values():
        incident = joined.incident
        told = [a.last_notified_at for a in joined.alerts if a.last_notified_at is not None]
        incident.last_notified_at = max(told)
        incident.notified_severity = incident.severity
        incident.reminders_sent = max(a.reminders_sent for a in joined.alerts)
        incident.save(update_fields=["last_notified_at", "notified_severity", "reminders_sent"])


def incidents_of(alerts: QuerySet[Alert]) -> QuerySet[Incident]:
    return Incident.objects.filter(pk__in=alerts.values("incident_id"))


@transaction.atomic
def remind_and_escalate(now: datetime, candidates: QuerySet[Incident]) -> int:
    """Updates, reminders and escalations that are due among open ``candidates``."""
    count = 0
    open_incidents = list(candidates.filter(state__in=OPEN_INCIDENT_STATES).distinct())
    members_of = incidents.members_of([incident.pk for incident in open_incidents])
    intervals = incidents.typical_intervals([incident.source_id for incident in open_incidents])
    for incident in open_incidents:
        members = members_of[incident.pk]
        if not members:
            continue
        if (due := update_due_at(incident, members)) is not None and due <= now:
            count += page(incident, NotificationEvent.UPDATE, members, now)
        elif (due := reminder_due_at(incident, members, intervals)) is not None and due <= now:
            count += remind(incident, members, now)
        if (due := escalation_due_at(incident, members)) is not None and due <= now:
            count += escalate(incident, members, now)
    return count


def remind(incident: Incident, members: list[Alert], now: datetime) -> int:
    count = page(incident, NotificationEvent.REMINDER, members, now)
    if count:
        incident.reminders_sent += 1
        incident.save(update_fields=["reminders_sent"])
        for alert in members:
            alert.reminders_sent += 1
            alert.save(update_fields=["reminders_sent"])
    return count


def escalate(incident: Incident, members: list[Alert], now: datetime) -> int:
    critical = escalating_members(incident, members)
    count = page(incident, NotificationEvent.ESCALATION, critical, now, escalation_channels_for)
    incident.escalated_at = now
    incident.save(update_fields=["escalated_at"])
    for alert in critical:
        alert.escalated_at = now
        alert.save(update_fields=["escalated_at"])
    return count


def page(
    incident: Incident,
    event: str,
    alerts: list[Alert],
    now: datetime,
    channels_of: ChannelsOf | None = None,
) -> int:
    """One row per channel, listing the alerts that channel takes (most severe first); books
    who was told. An alert with no channel to go to was not told to anyone."""
    # Escalations go to the escalation channels only; every other message also to the channels
    # whose routes match the alert's source.
    routed = [] if channels_of else routing_channels()
    channels_of = channels_of or channels_for
    ordered = sorted(alerts, key=lambda a: (-rank(a.severity), a.fired_at or now, a.pk))
    routes: dict[int, tuple[Channel, list[Alert]]] = {}
    per_rule: dict[int, list[Channel]] = {}
    for alert in ordered:
        if alert.rule_id not in per_rule:
            per_rule[alert.rule_id] = list(channels_of(alert.rule))
        for channel in with_routed(per_rule[alert.rule_id], routed, alert):
            if channel.accepts(alert.severity):
                routes.setdefault(channel.pk, (channel, []))[1].append(alert)
    # Channels that take the same alerts get the same snapshot, worked out once (its queries:
    # consequences, runbook) and copied, so that no two rows share one dict.
    contents: dict[tuple[int, ...], dict[str, Any]] = {}
    for channel, chosen in routes.values():
        key = tuple(a.pk for a in chosen)
        if key not in contents:
            contents[key] = payload(event, chosen[0].rule, chosen, now, incident)
        content = copy.deepcopy(contents[key])
        create_notification(channel, event, chosen[0].rule, chosen, now, incident, content)
    if not routes:
        return 0
    told = {a.pk: a for _, chosen in routes.values() for a in chosen}
    for alert in told.values():
        alert.last_notified_at = now
        alert.save(update_fields=["last_notified_at"])
        alert.record(AlertEventKind.NOTIFIED, now, event=event)
    worst = max((a.severity for a in told.values()), key=rank)
    if not incident.notified_severity or rank(worst) > rank(incident.notified_severity):
        incident.notified_severity = worst
    incident.last_notified_at = now
    incident.messages_sent += 1
    incident.update_due = False
    incident.save(
        update_fields=["last_notified_at", "notified_severity", "messages_sent", "update_due"]
    )
    return len(routes)


def tell_state_change(incident: Incident, event: str, now: datetime) -> int:
    """An acknowledge or unacknowledge made by a person, to the two-way channels told of the
    incident (they edit their message; one-way channels hear nothing new)."""
    return tell_incident_state(incident, event, mirrors.mirroring_channels(incident), now)


def tell_incident_state(
    incident: Incident, event: str, channels: list[Channel], now: datetime
) -> int:
    """One row per channel about the incident as it stands, listing its unfolded members (a
    state change, or the reconciler's message a thread missed); how many were written."""
    members = list(
        incident.alerts.filter(folded_into__isnull=True)
        .select_related("rule", "source", "deployment")
        .order_by("opened_at", "pk")
    )
    if not channels or not members:
        return 0
    rule = members[0].rule
    for channel in channels:
        create_notification(channel, event, rule, members, now, incident)
    return len(channels)


def routing_channels() -> list[Channel]:
    """The enabled channels with route owners or tags (docs/notifications.md)."""
    return [c for c in Channel.objects.filter(enabled=True) if c.has_routes]


def with_routed(own: list[Channel], routed: list[Channel], alert: Alert) -> list[Channel]:
    """The rule's channels, then each routed channel that matches the alert's source (once)."""
    source = alert.source
    if source is None:
        return own
    seen = {c.pk for c in own}
    return own + [
        c
        for c in routed
        if c.pk not in seen and c.routes(source.owner, source.dagster_owners, source.tags or {})
    ]


def create_notification(
    channel: Channel,
    event: str,
    rule: AlertRule,
    alerts: list[Alert],
    now: datetime,
    incident: Incident | None = None,
    content: dict[str, Any] | None = None,
) -> Notification:
    """``content``: the payload, when the caller worked it out already."""
    return Notification.enqueue(
        channel,
        event,
        content if content is not None else payload(event, rule, alerts, now, incident),
        now,
        rule=rule,
        alerts=alerts,
        incident=incident,
    )


def payload(
    event: str,
    rule: AlertRule,
    alerts: list[Alert],
    now: datetime,
    incident: Incident | None = None,
) -> dict[str, Any]:
    """A snapshot of what the message says, so a later change cannot rewrite a sent page."""
    runbook = runbook_for(rule, alerts)
    consequences = consequences_of(alerts)
    return {
        "event": event,
        "incident": incident_payload(incident, alerts) if incident is not None else None,
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
                "consequences": consequences.get(a.pk, []),
                # The facts of the listed ones: a storm of 500 shows 20 (messages.MAX_LISTED).
                **(facts.for_alert(a) if index < messages.MAX_LISTED else {}),
            }
            for index, a in enumerate(alerts)
        ],
    }


def consequences_of(alerts: list[Alert]) -> dict[int, list[str]]:
    """The subjects of what is folded into each alert, by alert id, in one query (one per
    alert made a storm's message of 500 alerts cost 500 queries per channel)."""
    found: dict[int, list[str]] = {}
    folded = Alert.objects.filter(folded_into__in=[a.pk for a in alerts]).select_related(
        "source", "deployment"
    )
    for consequence in folded:
        if consequence.folded_into_id is not None:  # always, by the filter
            found.setdefault(consequence.folded_into_id, []).append(consequence.subject)
    return found


def incident_payload(incident: Incident, alerts: list[Alert]) -> dict[str, Any]:
    acknowledged_by = incident.acknowledged_by
    return {
        "id": incident.pk,
        "title": incident.title,
        "state": incident.state,
        "acknowledged_by": (
            (acknowledged_by.get_full_name() or acknowledged_by.get_username())
            if acknowledged_by is not None
            else ""
        ),
        "cause": incident.cause,
        "severity": incident.severity,
        "sources": len({a.source_id for a in alerts}),
        "flapping": incident.flapping,
        "flaps": incident.flaps,
        "opened_at": incident.opened_at.isoformat(),
        "url": links.incident_url(incident.pk),
    }


def runbook_for(rule: AlertRule, alerts: list[Alert]) -> Runbook | None:
    """The rule's runbook, else the runbook named on the (first) source that has one."""
    if rule.runbook is not None:
        return rule.runbook
    slugs = [a.source.runbook_slug for a in alerts if a.source and a.source.runbook_slug]
    return Runbook.objects.filter(slug=slugs[0]).first() if slugs else None
