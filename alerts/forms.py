"""Forms of the operator UI: alert filters and actions, silences, runbook pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from alerts.choices import AlertState, Severity
from alerts.models import AlertRule, Runbook, Silence
from alerts.operations import SILENCE_HOURS
from monitoring.models import Deployment, Source
from monitoring.validators import validate_timezone

HELD_BACK = "held_back"
STATE_FILTERS = [
    ("", "Any"),
    (AlertState.FIRING, "Firing"),
    (AlertState.ACKNOWLEDGED, "Acknowledged"),
    (HELD_BACK, "Held back (silenced, inhibited, folded)"),
    (AlertState.PENDING, "Pending"),
    (AlertState.RESOLVED, "Resolved"),
]
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class SourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        where = obj.deployment.name if obj.deployment_id else "pushed"
        return f"{obj.key} ({where})"


def source_choices() -> Any:
    return Source.objects.select_related("deployment").order_by("key", "deployment__name")


class SourceFilterField(forms.CharField):
    """A source named by its key, slug or id, typed rather than picked: a list of every source
    would make the page (and its rendering time) grow with the number of sources."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"placeholder": "key or slug", "size": 18})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Source | None:
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        match = Q(slug=text) | Q(key=text)
        if text.isdigit():
            match |= Q(pk=int(text))
        source = Source.objects.filter(match).order_by("pk").first()
        if source is None:
            raise forms.ValidationError(f"no source '{text}'")
        return source


class AlertFilterForm(forms.Form):
    """The alerts page's filters, read from the query string; an invalid value is ignored."""

    state = forms.ChoiceField(choices=STATE_FILTERS, required=False)
    severity = forms.ChoiceField(choices=[("", "Any"), *Severity.choices], required=False)
    rule = forms.ModelChoiceField(AlertRule.objects.all(), required=False, empty_label="Any")
    source = SourceFilterField(required=False)
    deployment = forms.ModelChoiceField(Deployment.objects.all(), required=False, empty_label="Any")

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class AcknowledgeForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False)


class SilenceHoursForm(forms.Form):
    hours = forms.TypedChoiceField(choices=[(h, f"{h} h") for h in SILENCE_HOURS], coerce=int)


class SilenceForm(forms.ModelForm):
    """A one-off silence (start, end) or a recurring window (cron, duration, catch-up)."""

    ONCE, RECURRING = "once", "recurring"
    window = forms.ChoiceField(
        choices=[(ONCE, "Once, from start to end"), (RECURRING, "Recurring window")],
        widget=forms.RadioSelect,
        initial=ONCE,
    )
    source = SourceChoiceField(source_choices(), required=False)

    class Meta:
        model = Silence
        fields = [
            "rule",
            "source",
            "deployment",
            "group",
            "tag_key",
            "tag_value",
            "severity",
            "window",
            "starts_at",
            "ends_at",
            "recurrence_cron",
            "recurrence_timezone",
            "duration_minutes",
            "catch_up_minutes",
            "comment",
        ]
        widgets = {
            "starts_at": DATETIME_WIDGET,
            "ends_at": DATETIME_WIDGET,
            "comment": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "group": "Group (glob, e.g. scrap*)",
            "tag_value": "Tag value (empty: any)",
            "ends_at": "Ends at",
            "recurrence_cron": "Cron (e.g. 0 1 * * 0)",
            "recurrence_timezone": "Time zone of the cron",
            "duration_minutes": "Window length (minutes)",
            "catch_up_minutes": "Catch-up after each window (minutes)",
        }
        help_texts = {"comment": "Required: why are these alerts silenced?"}

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = (now or timezone.now()).replace(second=0, microsecond=0)
        self.now = now
        for name in ("starts_at", "ends_at"):
            field: Any = self.fields[name]
            field.input_formats = DATETIME_FORMATS
        self.fields["starts_at"].initial = now
        self.fields["ends_at"].initial = now + timedelta(hours=4)
        for name in ("rule", "source", "deployment"):
            choice: Any = self.fields[name]
            choice.empty_label = "Any"
        severity: Any = self.fields["severity"]
        severity.choices = [("", "Any"), *Severity.choices]

    def clean_recurrence_timezone(self) -> str:
        name = self.cleaned_data.get("recurrence_timezone") or "UTC"
        validate_timezone(name)
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("window") == self.ONCE:
            data["recurrence_cron"], data["duration_minutes"] = "", None
            data["catch_up_minutes"] = 0
        elif not data.get("recurrence_cron"):
            self.add_error("recurrence_cron", "a recurring window needs a cron expression")
        return data

    def transient(self) -> Silence:
        """A silence built from whatever is valid so far, never saved: the live preview."""
        self.is_valid()
        data = self.cleaned_data
        fields = [f for f in self.Meta.fields if f != "window" and f in data]
        silence = Silence(**{name: data[name] for name in fields})
        # Times not given (yet) are the form's defaults: now, and four hours from now.
        silence.starts_at = data.get("starts_at") or self.fields["starts_at"].initial
        if not data.get("recurrence_cron") and "ends_at" not in self.data:
            silence.ends_at = self.fields["ends_at"].initial
        return silence


def silence_initial(params: Any) -> dict[str, Any]:
    """Prefill the form from the query string (a link from an alert: ?rule=1&source=2)."""
    keys = ("rule", "source", "deployment", "group", "tag_key", "tag_value", "severity")
    return {k: params[k] for k in keys if params.get(k)}


RESERVED_SLUGS = frozenset({"new", "preview"})


class RunbookForm(forms.ModelForm):
    """Title and Markdown body of a page; the slug only when creating it."""

    summary = forms.CharField(max_length=300, required=False, label="What changed (optional)")
    base_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Runbook
        fields = ["title", "slug", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 22, "spellcheck": "true"})}
        help_texts = {
            "slug": "Part of the address: /runbooks/<slug>/. Sources name their page by it.",
            "body": "Markdown. Scripts, event handlers and javascript: links are removed.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        body: Any = self.fields["body"]
        body.strip = False  # trailing newlines are part of the text (and of its diff)
        if self.instance.pk:
            del self.fields["slug"]

    def clean_body(self) -> str:
        """Browsers send CRLF line ends from a textarea; the page keeps LF."""
        return str(self.cleaned_data["body"]).replace("\r\n", "\n")

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"])
        if slug in RESERVED_SLUGS:
            raise ValidationError(f"'{slug}' is reserved; choose another address")
        return slug


class PreviewForm(forms.Form):
    body = forms.CharField(required=False)
