"""Enumerations of the alert engine."""

from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class RuleTarget(models.TextChoices):
    """What one alert of a rule is about: a source, a whole deployment, or confops itself."""

    SOURCE = "source"
    DEPLOYMENT = "deployment"
    CONFOPS = "confops", "confops itself (beat, workers, poller)"


class ScopeKind(models.TextChoices):
    ALL = "all", "All sources"
    DEPLOYMENT = "deployment", "One deployment"
    GROUP = "group", "A group"
    TAGS = "tags", "Sources with tags"
    SOURCES = "sources", "Listed sources"


class AlertState(models.TextChoices):
    PENDING = "pending", "Pending (condition holding, not yet fired)"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATES = (AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED)


class ResolvedHow(models.TextChoices):
    CLEARED = "cleared", "Condition cleared"
    MANUAL = "manual", "Resolved by hand"
    RULE_GONE = "rule_gone", "Rule disabled or deleted"
    SOURCE_GONE = "source_gone", "Source gone"


class AlertEventKind(models.TextChoices):
    OPENED = "opened"
    FIRED = "fired"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    SILENCED = "silenced"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    FOLDED = "folded", "Folded into an upstream alert"
    NOTIFIED = "notified"
    REEXECUTED = "reexecuted", "Run re-executed"


class IncidentState(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_INCIDENT_STATES = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED)


class NotificationEvent(models.TextChoices):
    FIRING = "firing"
    UPDATE = "update", "Update (sources joined the incident)"
    SEVERITY_RAISED = "severity_raised", "Severity raised"
    FLAPPING = "flapping"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    RESOLVED = "resolved"
    # State changes made by a person, sent only to two-way channels (a transport with
    # ``mirrors_incidents``), whose message of the incident is edited to show them.
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    SILENCE_EXPIRING = "silence_expiring"
    DAILY_REPORT = "daily_report"
    CHANNEL_FAILING = "channel_failing", "Channel failing"
    TEST = "test", "Test message"


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ChannelKind(models.TextChoices):
    """The built-in kinds, for code that names one. ``Channel.kind`` takes its choices from the
    transport registry (``alerts/notify/transports``), so a new kind needs no change here."""

    EMAIL = "email"
    SLACK = "slack"
    WEBHOOK = "webhook"
    PAGERDUTY = "pagerduty"
    SLACK_APP = "slack_app"
    TEAMS = "teams"
