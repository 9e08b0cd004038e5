"""What is judged and who is told: rules, alerts with their history, silences, channels, the
notification outbox, runbooks and the audit trail."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from cronsim import CronSim
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils.text import slugify

from alerts.choices import (
    OPEN_INCIDENT_STATES,
    OPEN_STATES,
    SEVERITY_RANK,
    AlertEventKind,
    AlertState,
    ChannelKind,
    IncidentState,
    NotificationEvent,
    NotificationStatus,
    ResolvedHow,
    ScopeKind,
    Severity,
)
from alerts.notify import outbox
from alerts.notify.thread import Thread
from alerts.notify.transports import ConfigError, Transport, all_transports, transport_class
from alerts.rules.base import Params, ParamsError, all_kinds, kind
from confops.common import queues
from confops.common.secrets import (
    RedactsItsSecrets,
    mask_keys,
    mask_secret,
    redact_text,
    secret_strings,
)
from monitoring.filters import owner_matches, tag_matches
from monitoring.models import Deployment, Source
from monitoring.validators import validate_cron


class Runbook(models.Model):
    """A page of what to do, linked from rules, sources and alerts (the wiki grows around it)."""

    slug = models.SlugField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RunbookRevision(models.Model):
    """One saved version of a runbook page: the text as it then was, who wrote it and when.

    Every save through the wiki adds one, numbered from 1 per page, so the history shows who
    changed what (as a diff against the previous revision).
    """

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    summary = models.CharField(max_length=300, blank=True, help_text="What changed, and why.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["runbook", "number"], name="one_revision_number_per_runbook"
            )
        ]

    def __str__(self) -> str:
        return f"{self.runbook} revision {self.number}"


def channel_kind_choices() -> list[tuple[str, str]]:
    """The registered transports: adding one module under alerts/notify/transports adds a kind."""
    return sorted((kind, str(t.label)) for kind, t in all_transports().items())


class Channel(RedactsItsSecrets, models.Model):
    """Where notifications go; secrets (webhook URLs, signing keys) are shown masked only.

    ``config`` and ``secret`` are validated by the kind's transport (its ``Config`` schema).
    ``failing_since`` is set when its sends keep failing (the other channels are told, see
    ``alerts.engine.delivery``) and cleared by the next success.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=60, choices=channel_kind_choices)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(
        "default",
        default=False,
        help_text="Rules with no channels of their own, and escalations with none, go here. "
        "The first channel created is a default channel.",
    )
    min_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        default=Severity.WARNING,
        help_text="Only alerts at least this severe are sent here.",
    )
    config = models.JSONField(
        default=dict, blank=True, help_text="Kind-specific settings, e.g. email recipients."
    )
    secret = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="Its last messages all failed; cleared by a success."
    )
    failure_notice_at = models.DateTimeField(
        null=True, blank=True, help_text="When the other channels were last told it is failing."
    )
    # Routes (docs/notifications.md, "Routing by owner and tag"): like an Alertmanager route,
    # a channel also takes the alerts of the sources it matches, whatever their rule's channels.
    route_owners = models.JSONField(
        "route owners",
        default=list,
        blank=True,
        help_text="JSON list. Also send alerts of sources with one of these owners (Dagster "
        'owners such as "team:ingestion" or "alice@example.com", or the owner set in confops).',
    )
    route_tags = models.JSONField(
        "route tags",
        default=list,
        blank=True,
        help_text='JSON list. Also send alerts of sources with one of these tags ("domain=retail",'
        ' or "domain" for any value). With owners too, a source must match both.',
    )

    # The fields a person sets as they are, besides config and secret (which the kind validates
    # and which are shown masked): one list for the admin form and the channels API.
    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "name",
        "kind",
        "enabled",
        "is_default",
        "min_severity",
        "route_owners",
        "route_tags",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def has_routes(self) -> bool:
        return bool(self.route_owners or self.route_tags)

    def routes(self, owner: str, dagster_owners: Iterable[str], tags: dict[str, Any]) -> bool:
        """Whether a source with these owners and tags is routed here: one of the owners (if
        any are set) and one of the tags (if any are set)."""
        if not self.has_routes:
            return False
        if self.route_owners and not owner_matches(self.route_owners, [owner, *dagster_owners]):
            return False
        return not self.route_tags or any(tag_matches(t, tags) for t in self.route_tags)

    @property
    def masked_secret(self) -> str:
        return mask_secret(self.secret)

    @property
    def masked_config(self) -> dict[str, Any]:
        """The config as every reader may see it (admin, audit trail): the values its kind names
        secret masked; all of it for a kind no transport knows."""
        transport = self.transport_class()
        if transport is None:
            return mask_keys(self.config or {}, (self.config or {}).keys())
        return transport.masked_config(self.config)

    def masked_value(self, name: str) -> Any:
        """A field's value as the audit trail may keep it."""
        if name == "secret":
            return self.masked_secret
        return self.masked_config if name == "config" else getattr(self, name)

    def secret_values(self) -> list[str]:
        """Every text that gives this channel away: its secret, the default secret of its kind
        and its config's secret values."""
        transport = self.transport_class()
        if transport is None:
            config = self.config or {}
            return [self.secret, *secret_strings(config, config.keys())]
        return transport.secret_values(self.config, self.secret)

    def transport_class(self) -> type[Transport] | None:
        return all_transports().get(self.kind)

    def clean(self) -> None:
        self.clean_routes()
        transport = all_transports().get(self.kind)
        if transport is None:
            return  # the field's choices already say so
        try:
            transport.parse_config(self.config, self.secret)
        except ConfigError as exc:
            errors: dict[str, list[str]] = {}
            for where, message in exc.messages.items():
                field = where if where in ("kind", "secret") else "config"
                text = message if field != "config" else f"{where}: {message}"
                errors.setdefault(field, []).append(text)
            raise ValidationError(errors) from None

    def clean_routes(self) -> None:
        """Lists of non-empty texts, a tag ``key`` or ``key=value``; and no default channel with
        routes: a default channel takes every rule without channels, so its routes would narrow
        nothing (it would not receive "only the sources it matches", as its routes say)."""
        errors: dict[str, list[str]] = {}
        for field in ("route_owners", "route_tags"):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() for v in value
            ):
                errors[field] = ['A JSON list of non-empty texts, e.g. ["team:ingestion"].']
        tags = self.route_tags if "route_tags" not in errors else []
        if any(not t.partition("=")[0].strip() for t in tags):
            errors["route_tags"] = ['Each tag is "key" or "key=value", e.g. "domain=retail".']
        if self.is_default and self.has_routes and not errors:
            errors["is_default"] = [
                "A channel with route owners or tags takes only the sources they match; it "
                "cannot also be a default channel (which takes every rule without channels)."
            ]
        if errors:
            raise ValidationError(errors)

    def transport(self) -> Transport:
        """The kind's transport with this channel's validated config and secret."""
        return transport_class(self.kind).from_channel(self.config, self.secret)

    def accepts(self, severity: str) -> bool:
        return (
            self.enabled
            and SEVERITY_RANK[Severity(severity)] >= SEVERITY_RANK[Severity(self.min_severity)]
        )


def kind_choices() -> list[tuple[str, str]]:
    return sorted((name, k.label) for name, k in all_kinds().items())


def rule_slug(name: str, others: models.QuerySet[Any]) -> str:
    """A slug for a rule named ``name`` that none of ``others`` has: "volume-drop", then
    "volume-drop-2". Never digits alone, which the API would read as an id."""
    base = slugify(name)[:190] or "rule"
    if base.isdigit():
        base = f"rule-{base}"
    slug, n = base, 1
    while others.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class AlertRule(models.Model):
    """A kind with parameters, a scope, a severity and who hears about it. Editable at run time."""

    name = models.CharField(max_length=200, unique=True)
    # How the API and URLs name the rule: made from the name when the rule is first saved and
    # kept when it is renamed, so a link or a script that names it does not break.
    slug = models.SlugField(max_length=200, unique=True, editable=False)
    kind = models.CharField(max_length=50, choices=kind_choices)
    parameters = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)

    scope = models.CharField(max_length=20, choices=ScopeKind.choices, default=ScopeKind.ALL)
    scope_deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scope_group = models.CharField(max_length=255, blank=True)
    scope_tags = models.JSONField(
        default=dict, blank=True, help_text='Sources having all these tags, e.g. {"team": "data"}.'
    )
    scope_sources = models.ManyToManyField(Source, blank=True, related_name="scoped_rules")
    include_asset_jobs = models.BooleanField(
        default=False,
        help_text="Also judge asset jobs (their outcome is already on their assets).",
    )

    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    escalation_channels = models.ManyToManyField(
        Channel, blank=True, related_name="escalating_rules"
    )
    escalate_after_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Critical alerts unacknowledged this long escalate."
    )
    cooldown_minutes = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="Reminder interval while firing and unacknowledged.",
    )
    pending_minutes = models.PositiveIntegerField(
        default=0, help_text="The condition must hold this long before the alert fires."
    )
    resolve_hold_minutes = models.PositiveIntegerField(
        default=0, help_text="The condition must stay clear this long before the alert resolves."
    )
    runbook = models.ForeignKey(Runbook, null=True, blank=True, on_delete=models.SET_NULL)
    is_default = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = rule_slug(self.name, AlertRule.objects.exclude(pk=self.pk))
        super().save(*args, **kwargs)

    @property
    def kind_impl(self) -> Any:
        return kind(self.kind)

    @property
    def threshold(self) -> str:
        """The threshold in words, shown beside the name ("over 30 %"); "" when the kind has
        none or the stored parameters no longer parse."""
        try:
            return str(self.kind_impl.threshold(self.params()))
        except (KeyError, ParamsError):
            return ""

    @property
    def target(self) -> str:
        return str(self.kind_impl.target)

    def clean(self) -> None:
        if self.kind not in all_kinds():
            raise ValidationError({"kind": f"unknown rule kind '{self.kind}'"})
        try:
            self.kind_impl.parse_params(self.parameters)
        except ParamsError as exc:
            raise ValidationError(
                {"parameters": [f"{k}: {v}" for k, v in exc.messages.items()]}
            ) from None
        if self.scope == ScopeKind.DEPLOYMENT and self.scope_deployment is None:
            raise ValidationError({"scope_deployment": "choose the deployment this rule covers"})
        if self.scope == ScopeKind.GROUP and not self.scope_group:
            raise ValidationError({"scope_group": "name the group this rule covers"})
        if self.scope == ScopeKind.TAGS and not self.scope_tags:
            raise ValidationError({"scope_tags": "give at least one tag"})

    def params(self, override: dict[str, Any] | None = None) -> Params:
        return self.kind_impl.parse_params({**self.parameters, **(override or {})})

    def covers_source(self, source: Source) -> bool:
        """Scope test on a source row (the engine uses the same logic on snapshots)."""
        return scope_matches(self, source.deployment_id, source.group_name, source.tags, source.pk)

    def covers_deployment(self, deployment_id: int) -> bool:
        return self.scope in (
            ScopeKind.ALL,
            ScopeKind.TAGS,
            ScopeKind.GROUP,
            ScopeKind.SOURCES,
        ) or (self.scope_deployment_id == deployment_id)


def scope_matches(
    rule: AlertRule, deployment_id: int | None, group: str, tags: dict[str, str], source_id: int
) -> bool:
    if rule.scope == ScopeKind.ALL:
        return True
    if rule.scope == ScopeKind.DEPLOYMENT:
        return deployment_id == rule.scope_deployment_id
    if rule.scope == ScopeKind.GROUP:
        return fnmatch.fnmatchcase(group, rule.scope_group)
    if rule.scope == ScopeKind.TAGS:
        return all(tags.get(k) == v for k, v in rule.scope_tags.items())
    return source_id in {s.pk for s in rule.scope_sources.all()}


class RuleOverride(models.Model):
    """A per-source change of a rule's threshold (wikicfp stale after 48 h), or a per-source off."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="overrides")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="rule_overrides")
    parameters = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True, help_text="Untick to switch the rule off here.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "source"], name="one_override_per_rule_source")
        ]

    def __str__(self) -> str:
        return f"{self.rule} for {self.source}"

    def clean(self) -> None:
        if not self.rule_id:
            return
        allowed = set(self.rule.kind_impl.overridable)
        unknown = sorted(set(self.parameters) - allowed)
        if unknown:
            listed = ", ".join(sorted(allowed)) or "none"
            raise ValidationError(
                {"parameters": f"{', '.join(unknown)} cannot be overridden (allowed: {listed})"}
            )
        try:
            self.rule.params(self.parameters)
        except ParamsError as exc:
            raise ValidationError(
                {"parameters": [f"{k}: {v}" for k, v in exc.messages.items()]}
            ) from None


class SourceCheck(models.Model):
    """When the timer pass must next judge a source: the earliest moment a time-based rule's
    judgement of it could change without new data (``alerts.engine.deadlines``). A source
    without a row is due; deleting rows is how a rule edit makes every source due again."""

    source = models.OneToOneField(
        Source, primary_key=True, on_delete=models.CASCADE, related_name="next_check"
    )
    next_check_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.source_id} at {self.next_check_at:%Y-%m-%d %H:%M:%S}"


LONG_SILENCE_HOURS = 24
SILENCE_REMINDER_BEFORE = timedelta(hours=1)


class Silence(models.Model):
    """Holds back notifications of matching alerts (they are still recorded and shown silenced).

    A one-off silence runs from ``starts_at`` to ``ends_at``; a recurring maintenance window
    repeats at ``recurrence_cron`` for ``duration_minutes``, plus ``catch_up_minutes`` after each
    window so that a source catching up does not alert the moment the window ends.
    """

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.CASCADE)
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.CASCADE)
    group = models.CharField(max_length=255, blank=True)
    tag_key = models.CharField(max_length=255, blank=True)
    tag_value = models.CharField(max_length=255, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)

    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    recurrence_cron = models.CharField(max_length=100, blank=True, validators=[validate_cron])
    recurrence_timezone = models.CharField(max_length=64, blank=True, default="UTC")
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    catch_up_minutes = models.PositiveIntegerField(default=0)

    comment = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"silence {self.pk}: {self.comment[:60]}"

    def clean(self) -> None:
        if not self.comment.strip():
            raise ValidationError({"comment": "say why alerts are silenced"})
        if self.recurrence_cron:
            if not self.duration_minutes:
                raise ValidationError({"duration_minutes": "a recurring window needs a duration"})
        elif self.ends_at is None:
            raise ValidationError({"ends_at": "give an end (or a recurrence)"})
        elif self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "must be after the start"})
        if not any(
            [
                self.rule_id,
                self.source_id,
                self.deployment_id,
                self.group,
                self.tag_key,
                self.severity,
            ]
        ):
            raise ValidationError("a silence needs at least one matcher")

    @classmethod
    def for_alert(
        cls, alert: Alert, hours: float, now: datetime, user: Any = None, comment: str = ""
    ) -> Silence:
        """Silence this alert's rule on its source (or deployment) for some hours: one call."""
        silence = cls(
            rule=alert.rule,
            source=alert.source,
            deployment=alert.deployment if alert.source_id is None else None,
            starts_at=now,
            ends_at=now + timedelta(hours=hours),
            comment=comment or f"Silenced from alert {alert.pk} for {hours:g} h",
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        silence.full_clean()
        silence.save()
        return silence

    @property
    def is_long(self) -> bool:
        """Long enough that its end deserves a reminder to its author."""
        if self.ends_at is None or self.recurrence_cron:
            return False
        return self.ends_at - self.starts_at >= timedelta(hours=LONG_SILENCE_HOURS)

    def expire(self, now: datetime) -> None:
        self.expired_at = now
        self.save(update_fields=["expired_at"])

    def is_active(self, now: datetime) -> bool:
        if self.expired_at is not None and self.expired_at <= now:
            return False
        if now < self.starts_at or (self.ends_at is not None and now >= self.ends_at):
            return False
        if not self.recurrence_cron:
            return True
        return self.current_window(now) is not None

    def current_window(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The maintenance window (start, end including catch-up) that ``now`` falls in, if any."""
        length = timedelta(minutes=(self.duration_minutes or 0) + self.catch_up_minutes)
        zone = ZoneInfo(self.recurrence_timezone or "UTC")
        cursor = (now - length - timedelta(minutes=1)).astimezone(zone)
        for start in CronSim(self.recurrence_cron, cursor):
            if start > now:
                return None
            if now < start + length:
                return start, start + length
        return None  # pragma: no cover - CronSim iterates forever


class Incident(models.Model):
    """What pages: the alerts of one source about one cause, with those folded into them and
    the sources failing with them in a storm (alerts/engine/incidents.py decides who joins).

    Alerts stay per rule underneath (audit, backtest, per-rule figures); the incident is what
    is messaged (one firing, one severity rise, batched updates, reminders that back off, one
    resolved), acknowledged and listed first. It closes once every member has resolved and it
    stayed quiet for its settle time, so a failure that returns meanwhile (flapping) joins it
    instead of paging anew.
    """

    title = models.CharField(max_length=500)
    state = models.CharField(
        max_length=20, choices=IncidentState.choices, default=IncidentState.OPEN
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.CASCADE, related_name="incidents"
    )
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="incidents"
    )
    cause = models.CharField(
        max_length=500, blank=True, help_text="What the member sources share, in a storm."
    )
    opened_at = models.DateTimeField()
    quiet_since = models.DateTimeField(
        null=True, blank=True, help_text="Every member resolved or recovering since then."
    )
    closes_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Paging bookkeeping (alerts/engine/policy.py).
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notified_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    messages_sent = models.PositiveIntegerField(default=0)
    reminders_sent = models.PositiveIntegerField(default=0)
    update_due = models.BooleanField(
        default=False, help_text="Members joined or left since the last message."
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    flaps = models.PositiveIntegerField(
        default=0, help_text="Times it failed again while recovering."
    )
    flapping_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["state", "source"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_INCIDENT_STATES

    @property
    def flapping(self) -> bool:
        return self.flapping_since is not None

    def acknowledge(self, user: Any, note: str, now: datetime) -> list[Alert]:
        """Acknowledge the incident and every firing member; returns the members acknowledged."""
        if self.state != IncidentState.OPEN:
            raise ValidationError(
                f"only an open incident can be acknowledged (this one is {self.state})"
            )
        members = list(self.alerts.filter(state=AlertState.FIRING))
        for alert in members:
            alert.acknowledge(user, note, now)
        self.state, self.acknowledged_at, self.acknowledged_by = (
            IncidentState.ACKNOWLEDGED,
            now,
            user,
        )
        self.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        return members

    def unacknowledge(self, user: Any, now: datetime) -> list[Alert]:
        if self.state != IncidentState.ACKNOWLEDGED:
            raise ValidationError("only an acknowledged incident can be unacknowledged")
        members = list(self.alerts.filter(state=AlertState.ACKNOWLEDGED))
        for alert in members:
            alert.unacknowledge(user, now)
        self.state, self.acknowledged_at, self.acknowledged_by = IncidentState.OPEN, None, None
        self.last_notified_at = now  # reminders restart from now, not at once
        self.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "last_notified_at"])
        return members

    def resolve(self, now: datetime) -> None:
        self.state, self.resolved_at, self.closes_at = IncidentState.RESOLVED, now, None
        self.save(update_fields=["state", "resolved_at", "closes_at"])

    @property
    def duration(self) -> timedelta:
        """From the first member's first failure to the last member's recovery."""
        members = list(self.alerts.all())
        start = min((a.condition_since for a in members), default=self.opened_at)
        ends = [a.clear_since or a.resolved_at or a.last_seen_at for a in members]
        end = self.quiet_since or self.resolved_at or max(ends, default=self.opened_at)
        return max(end - start, timedelta(0))


class Alert(models.Model):
    """One incident of one rule on one source (or deployment). At most one is open per pair."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    state = models.CharField(max_length=20, choices=AlertState.choices, default=AlertState.PENDING)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    run_id = models.CharField(max_length=100, blank=True)
    run_url = models.URLField(max_length=500, blank=True)

    opened_at = models.DateTimeField()
    condition_since = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField()
    clear_since = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_how = models.CharField(max_length=20, choices=ResolvedHow.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurrences = models.PositiveIntegerField(default=1)

    # Notification bookkeeping and the reasons a firing alert is held back.
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    silenced_by = models.ForeignKey(
        Silence, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    inhibited = models.BooleanField(
        default=False, help_text="Held back: the source's deployment is unreachable."
    )
    folded_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="consequences"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "source"],
                condition=Q(state__in=OPEN_STATES) & Q(source__isnull=False),
                name="one_open_alert_per_rule_and_source",
            ),
            models.UniqueConstraint(
                fields=["rule", "deployment"],
                condition=Q(state__in=OPEN_STATES) & Q(source__isnull=True),
                name="one_open_alert_per_rule_and_deployment",
            ),
            # NULLs are distinct in a unique index: the alert about confops itself (no source,
            # no deployment) needs a constraint of its own, or two watchers could open two.
            models.UniqueConstraint(
                fields=["rule"],
                condition=Q(state__in=OPEN_STATES)
                & Q(source__isnull=True)
                & Q(deployment__isnull=True),
                name="one_open_alert_per_rule_about_confops",
            ),
        ]
        indexes = [models.Index(fields=["state", "rule"]), models.Index(fields=["-fired_at"])]
        # What the Operator role may do beyond reading (confops/accounts/roles.py).
        permissions = [
            ("acknowledge_alert", "Can acknowledge and unacknowledge alerts"),
            ("resolve_alert", "Can resolve alerts by hand"),
            ("silence_alert", "Can silence alerts"),
            ("reexecute_run", "Can re-execute the failed Dagster run of an alert"),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def subject(self) -> str:
        if self.source_id is None and self.deployment_id is None:
            return "confops"  # the watcher's alert about confops itself
        return self.source.key if self.source else str(self.deployment)

    @property
    def suppressed(self) -> bool:
        """Recorded and visible, but its notifications are held back."""
        return bool(self.silenced_by_id or self.inhibited or self.folded_into_id)

    def record(
        self, kind: str, now: datetime, actor: Any = None, note: str = "", **data: Any
    ) -> None:
        AlertEvent.objects.create(alert=self, kind=kind, at=now, actor=actor, note=note, data=data)

    def fire(self, now: datetime) -> None:
        self.state, self.fired_at = AlertState.FIRING, now
        self.save(update_fields=["state", "fired_at"])
        self.record(AlertEventKind.FIRED, now, summary=self.summary)

    def acknowledge(self, user: Any, note: str, now: datetime) -> None:
        if self.state != AlertState.FIRING:
            raise ValidationError(
                f"only a firing alert can be acknowledged (this one is {self.state})"
            )
        self.state, self.acknowledged_at = AlertState.ACKNOWLEDGED, now
        self.acknowledged_by, self.ack_note = user, note
        self.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "ack_note"])
        self.record(AlertEventKind.ACKNOWLEDGED, now, actor=user, note=note)

    def unacknowledge(self, user: Any, now: datetime) -> None:
        if self.state != AlertState.ACKNOWLEDGED:
            raise ValidationError("only an acknowledged alert can be unacknowledged")
        self.state, self.acknowledged_at, self.acknowledged_by = AlertState.FIRING, None, None
        self.last_notified_at = now  # reminders restart from now, not at once
        self.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "last_notified_at"])
        self.record(AlertEventKind.UNACKNOWLEDGED, now, actor=user)

    def resolve(self, now: datetime, how: str = ResolvedHow.CLEARED, user: Any = None) -> None:
        if not self.is_open:
            raise ValidationError("this alert is already resolved")
        self.state, self.resolved_at, self.resolved_how = AlertState.RESOLVED, now, how
        self.resolved_by = user
        self.save(update_fields=["state", "resolved_at", "resolved_how", "resolved_by"])
        self.record(AlertEventKind.RESOLVED, now, actor=user, how=how)

    @property
    def duration(self) -> timedelta | None:
        if self.fired_at is None:
            return None
        return (self.resolved_at or self.last_seen_at) - self.fired_at

    @property
    def incident_duration(self) -> timedelta:
        """From the first failure (the condition's start) to its recovery (when a pass found it
        cleared), what "Resolved after N min" means to on-call; not the alert's age, which
        counts from firing (after the pending period) to closing (after the resolve hold). An
        alert resolved by hand while its condition held counts to the resolve."""
        end = self.clear_since or self.resolved_at or self.last_seen_at
        return end - self.condition_since


# Alerts held back from paging: silenced, inhibited by an upstream cause, or folded into another.
SUPPRESSED = Q(silenced_by__isnull=False) | Q(inhibited=True) | Q(folded_into__isnull=False)


class AlertEvent(models.Model):
    """The alert's history: every state change with its actor and time."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=AlertEventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An outbox row: one message to one channel, about one or several alerts of one rule."""

    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        help_text="Empty for a message to one person (payload 'to'), e.g. a silence's author.",
    )
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    alerts = models.ManyToManyField(Alert, blank=True, related_name="notifications")
    status = models.CharField(
        max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    send_after = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "send_after"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel or self.payload.get('to', '?')} ({self.status})"

    @classmethod
    def enqueue(
        cls,
        channel: Channel | None,
        event: str,
        payload: dict[str, Any],
        now: datetime,
        *,
        rule: AlertRule | None = None,
        alerts: Iterable[Alert] = (),
        incident: Incident | None = None,
        send: bool = True,
    ) -> Notification:
        """The one door that writes an outbox row: the policy's messages, the channel-failing
        notice, a silence's reminder, a test message and the daily report all come through it.
        The row is due at once and handed to a worker when the transaction commits;
        ``send=False`` leaves that to the caller (a test message is delivered in the request)."""
        row = cls.objects.create(
            channel=channel,
            event=event,
            rule=rule,
            incident=incident,
            payload=payload,
            created_at=now,
            send_after=now,
        )
        if told := list(alerts):
            row.alerts.set(told)
        if send:
            row.send_on_commit()
        return row

    def send_on_commit(self) -> None:
        """Hand the row to a delivery worker once the current transaction commits."""
        outbox.send_on_commit(self.pk, self.delivery_queue())

    def delivery_queue(self) -> str:
        """The Celery queue of the channel's transport family; a message to one person (no
        channel) goes by email. An unknown kind goes to the default queue, whose worker books
        the failure."""
        if self.channel is None:
            return queues.DELIVER_EMAIL
        transport = self.channel.transport_class()
        return queues.DEFAULT if transport is None else transport.queue

    # State transitions. Each is a conditional UPDATE, so two workers can race on one row and
    # exactly one wins: ``claim`` is the compare-and-swap that makes a send happen once.

    @classmethod
    def claim(cls, pk: int, now: datetime) -> bool:
        """PENDING and due -> SENDING, counting the attempt; True only for the one winner."""
        return (
            cls.objects.filter(
                pk=pk, status=NotificationStatus.PENDING, send_after__lte=now
            ).update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
            == 1
        )

    def finish(self, claim: datetime, /, **fields: Any) -> bool:
        """Book the outcome of the claim taken at ``claim``; False if the claim was lost
        meanwhile (the sweeper judged this worker dead and handed the row to another). An error
        text is redacted here, the last door before it is stored, shown and sent on."""
        if fields.get("error"):
            fields["error"] = self.redact(fields["error"])
        return (
            type(self)
            .objects.filter(pk=self.pk, status=NotificationStatus.SENDING, claimed_at=claim)
            .update(**fields)
            == 1
        )

    def redact(self, text: str) -> str:
        """Its channel's secrets masked; a message to one person goes by email, whose only
        secret is the portal's SMTP password."""
        if self.channel is not None:
            return self.channel.redact(text)
        return redact_text(text, transport_class(ChannelKind.EMAIL).secret_values({}, ""))

    def retry_by_hand(self, now: datetime) -> bool:
        """A failed or cancelled row goes back to the outbox with a fresh attempt budget."""
        return (
            type(self)
            .objects.filter(
                pk=self.pk,
                status__in=[NotificationStatus.FAILED, NotificationStatus.CANCELLED],
            )
            .update(
                status=NotificationStatus.PENDING,
                send_after=now,
                attempts=0,
                claimed_at=None,
                error="",
            )
            == 1
        )


class DeliveryAttempt(models.Model):
    """One try at sending a notification: when, how long, and what came of it.

    Written before the send (``ok`` empty) and completed after it, so an attempt whose worker
    died mid-send stays visible; the sweeper closes it as abandoned when it re-queues the row.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(null=True, blank=True)
    ok = models.BooleanField(null=True, help_text="Empty while sending, or if the worker died.")
    status_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(default=False, help_text="Retrying could not help.")
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        outcome = {True: "ok", False: "failed", None: "unknown"}[self.ok]
        return f"attempt {self.number} of notification {self.notification_id}: {outcome}"

    def complete(
        self,
        *,
        ok: bool,
        duration_ms: float,
        error: str = "",
        status_code: int | None = None,
        permanent: bool = False,
    ) -> None:
        """Book what came of this attempt; the error text redacted before it is stored."""
        self.ok, self.duration_ms = ok, duration_ms
        self.status_code, self.permanent = status_code, permanent
        self.error = self.notification.redact(error)[:2000] if error else ""
        self.save(update_fields=["ok", "duration_ms", "status_code", "error", "permanent"])


class IncidentMirror(models.Model):
    """What a two-way channel shows of one incident: Slack's root message (its ``ts`` in the
    channel it went to) or PagerDuty's incident (its dedup key), and the state it shows.

    Written by delivery after each successful send (alerts/notify/alerts/notify/thread.py); read to
    edit that message rather than post another, to tell the channel of an acknowledge, and by
    the reconciler, which resolves there what closed here while the receiver was unreachable.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="mirrors")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="mirrors")
    reference = models.CharField(max_length=200, help_text="Slack ts, PagerDuty dedup key.")
    conversation = models.CharField(max_length=200, blank=True, help_text="Slack channel id.")
    remote_state = models.CharField(max_length=20, blank=True)
    last_notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "incident"], name="one_mirror_per_channel")
        ]

    def __str__(self) -> str:
        return f"incident {self.incident_id} on {self.channel_id}: {self.reference}"

    def thread(self) -> Thread:
        return Thread(
            reference=self.reference,
            conversation=self.conversation,
            remote_state=self.remote_state,
            last_notification_id=self.last_notification_id,
        )


class ChatIdentity(models.Model):
    """A person of a chat or paging tool (a Slack user of a workspace, a PagerDuty user) linked
    to a confops user: their button presses act as that user, with that user's role."""

    provider = models.CharField(max_length=20)  # "slack", "pagerduty"
    workspace = models.CharField(max_length=100, blank=True, help_text="Slack team id.")
    external_id = models.CharField(max_length=100)
    display_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_identities"
    )
    linked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "workspace", "external_id"], name="one_link_per_chat_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.external_id} -> {self.user_id}"


class InboundRequest(models.Model):
    """A signed request from Slack or PagerDuty, or a one-use link, already acted on: the same
    one again (a replay, a retry) is answered without acting twice. Rows older than the
    receivers' freshness window are pruned."""

    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the request.")
    provider = models.CharField(max_length=20)
    received_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.provider} {self.digest[:12]}"

    @classmethod
    def first_time(cls, provider: str, digest: str, now: datetime) -> bool:
        """Record the request; False when it was seen before (the unique digest refuses it).
        Rows of the provider older than it could come again are forgotten on the way."""
        try:
            with transaction.atomic():
                cls.objects.create(digest=digest, provider=provider, received_at=now)
        except IntegrityError:
            return False
        cls.objects.filter(
            provider=provider, received_at__lt=now - cls.remembered_for(provider)
        ).delete()
        return True

    @staticmethod
    def remembered_for(provider: str) -> timedelta:
        """How long a request can come again: a signed Slack request 5 min (kept 10); a
        PagerDuty delivery is retried for hours (kept a week); an acknowledge link until it
        expires (and an hour more for clocks)."""
        if provider == "ack-link":
            return timedelta(hours=settings.ACK_LINK_MAX_AGE_HOURS + 1)
        if provider == "pagerduty":
            return timedelta(days=7)
        return timedelta(minutes=10)
