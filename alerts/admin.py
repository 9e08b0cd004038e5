from __future__ import annotations

import copy
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.db.models import QuerySet
from django.forms.utils import ErrorList
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from alerts import operations, param_fields
from alerts.choices import NotificationStatus
from alerts.engine import delivery
from alerts.models import (
    Alert,
    AlertEvent,
    AlertRule,
    Channel,
    ChatIdentity,
    DeliveryAttempt,
    Incident,
    IncidentMirror,
    Notification,
    RuleOverride,
    Runbook,
    RunbookRevision,
    Silence,
)
from alerts.notify.transports import Transport, all_transports
from alerts.pages import backtest_chart
from alerts.rules.base import all_kinds
from alerts.runbooks import wiki
from confops.accounts import audit
from confops.common.admin_secrets import MaskedSecretsAdmin


class AuditedAdmin(admin.ModelAdmin):
    """Every change made here leaves an audit entry with the fields that changed."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        after = audit.snapshot(obj)
        action = "changed" if change else "created"
        audit.record(timezone.now(), action, obj, audit.diff(before, after), actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.record(timezone.now(), "deleted", obj, audit.snapshot(obj), actor=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """The list's bulk delete: one audited delete each, as from the change page."""
        for obj in queryset:
            self.delete_model(request, obj)


class RuleOverrideInline(admin.TabularInline):
    model = RuleOverride
    extra = 0
    autocomplete_fields = ["source"]
    fields = ["source", "parameters", "enabled"]


def kind_help() -> str:
    rows = []
    for name, kind in sorted(all_kinds().items()):
        fields = kind.params.model_fields
        described = ", ".join(
            f"{field}={info.default!r}" if not info.is_required() else f"{field} (required)"
            for field, info in fields.items()
        )
        rows.append(f"{name}: {described or 'no parameters'}")
    return " | ".join(rows)


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = "__all__"  # noqa: DJ007 - the admin lays them out in fieldsets

    # The kind whose typed parameter fields to show (the admin sets it from ``?kind=``).
    param_kind: str | None = None
    # The result panel of a "Backtest" press (``backtest_panel``), shown above the form.
    backtest: dict[str, Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "parameters" in self.fields:
            self.fields["parameters"].help_text = "JSON. Defaults per kind: " + kind_help()
        self.typed_kind = typed_kind(self)
        if self.param_kind and not self.is_bound:
            self.initial["kind"] = self.param_kind  # the kind asked for with ?kind=
        if self.typed_kind is not None and "parameters" in self.fields:
            add_typed_fields(self, self.typed_kind)

    def clean(self) -> dict[str, Any]:
        """With "Backtest", the form answers what these parameters would have fired over the
        stored history, and stays unsaved with the values as typed."""
        cleaned = super().clean() or {}
        if self.typed_kind is not None and self.data.get(param_fields.MARKER) == self.typed_kind:
            stored = cleaned.get("parameters") or {}
            parameters = param_fields.apply_to_form(self, all_kinds()[self.typed_kind], stored)
            if parameters is not None:
                cleaned["parameters"] = parameters
        if BACKTEST_BUTTON in self.data and not self.errors:
            self.backtest = backtest_panel(self.instance, cleaned)
            # Keeps the form unsaved with the values as typed; the admin shows the result as
            # a result above the form, never as this error (``render_change_form``).
            raise forms.ValidationError("Backtest only: nothing saved.", code=BACKTEST_BUTTON)
        return cleaned


def typed_kind(form: AlertRuleForm) -> str | None:
    """The kind the form edits: as posted, else as asked (``?kind=``), else the rule's."""
    name = form.data.get("kind") if form.is_bound else None
    name = name or form.param_kind or form.instance.kind
    return name if name in all_kinds() else None


def add_typed_fields(form: AlertRuleForm, kind_name: str) -> None:
    """The kind's parameters as typed fields; the JSON stays as the hidden base they merge
    into (another kind starts from its defaults)."""
    kind = all_kinds()[kind_name]
    stored = form.instance.parameters if kind_name == form.instance.kind else {}
    form.fields.update(param_fields.param_fields(kind))
    form.fields[param_fields.MARKER] = forms.CharField(
        widget=forms.HiddenInput, initial=kind_name, required=False
    )
    form.fields["parameters"].widget = forms.HiddenInput()
    form.fields["parameters"].required = False
    form.initial["parameters"] = stored or {}
    for name, value in param_fields.initial_values(kind, stored or {}).items():
        form.initial.setdefault(name, value)


BACKTEST_BUTTON = "_backtest"
BACKTEST_DAYS = 30


def backtest_panel(rule: AlertRule, cleaned: dict[str, Any]) -> dict[str, Any]:
    """The rule page's result panel for the form's settings against the saved rule's (an
    unsaved rule or another kind: these settings alone), with a sentence listing the alerts."""
    edited = copy.copy(rule)
    for name in ("kind", "parameters", "severity", "cooldown_minutes", "pending_minutes"):
        if name in cleaned:
            setattr(edited, name, cleaned[name])
    panel = backtest_chart.compare(rule, edited, BACKTEST_DAYS, timezone.now())
    panel["message"] = backtest_message(panel)
    return panel


def backtest_message(panel: dict[str, Any]) -> str:
    if "result" not in panel:
        return f"Backtest (nothing saved): {panel['backtest_error']}"
    result = panel["result"]
    listed = "; ".join(
        f"{row.source} at {row.fired_at[:16].replace('T', ' ')}" for row in result.alerts[:10]
    )
    more = f" and {result.fired - 10} more" if result.fired > 10 else ""
    return (
        f"Backtest (nothing saved): over the last {BACKTEST_DAYS} days ({result.sources} "
        f"sources, {result.runs} runs) these settings would have fired {result.fired} "
        f"alert{'s' if result.fired != 1 else ''}" + (f": {listed}{more}." if listed else ".")
    )


@admin.register(AlertRule)
class AlertRuleAdmin(AuditedAdmin):
    form = AlertRuleForm
    change_form_template = "admin/alerts/alertrule/change_form.html"
    list_display = [
        "name",
        "threshold",  # beside the name: the names of default rules carry no number
        "kind",
        "severity",
        "enabled",
        "scope",
        "cooldown_minutes",
        "is_default",
    ]
    list_filter = ["enabled", "kind", "severity", "scope", "is_default"]
    search_fields = ["name", "description"]
    filter_horizontal = ["channels", "escalation_channels", "scope_sources"]
    inlines = [RuleOverrideInline]
    actions = ["enable", "disable"]
    fieldsets = [
        (None, {"fields": ("name", "kind", "parameters", "severity", "enabled", "description")}),
        (
            "Scope",
            {
                "fields": (
                    "scope",
                    "scope_deployment",
                    "scope_group",
                    "scope_tags",
                    "scope_sources",
                    "include_asset_jobs",
                )
            },
        ),
        (
            "Notifications",
            {
                "fields": (
                    "channels",
                    "cooldown_minutes",
                    "pending_minutes",
                    "resolve_hold_minutes",
                    "escalation_channels",
                    "escalate_after_minutes",
                    "runbook",
                )
            },
        ),
    ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> Any:
        """A backtest is shown as its result above the form: the error that kept the form
        unsaved is taken out, so no "Please correct the error below" appears."""
        form = context["adminform"].form
        panel = getattr(form, "backtest", None)
        if panel is not None:
            shown = form.errors.pop(NON_FIELD_ERRORS, None)
            context["errors"] = ErrorList([e for e in context["errors"] if e is not shown])
            context["backtest"] = panel
        return super().render_change_form(request, context, add, change, form_url, obj)

    def chosen_kind(self, request: HttpRequest, obj: AlertRule | None) -> str | None:
        """The kind whose fields the page shows: as posted, as asked (``?kind=``), the rule's."""
        name = request.POST.get("kind") or request.GET.get("kind") or (obj.kind if obj else "")
        return name if name in all_kinds() else None

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """The model fields of the fieldsets; the typed parameter fields are the form's own."""
        fields = kwargs.get("fields") or flatten_fieldsets(self.fieldsets)
        kwargs["fields"] = [name for name in fields if not param_fields.is_typed(name)]
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"param_kind": self.chosen_kind(request, obj)})

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The selected kind's parameters right after the kind, the JSON kept hidden; a
        view-only user reads the stored JSON (read-only fields must be the model's)."""
        name = self.chosen_kind(request, obj)
        if name is None or not self.has_change_permission(request, obj):
            return self.fieldsets
        typed = (*param_fields.param_fields(all_kinds()[name]), param_fields.MARKER)
        first = ("name", "kind", *typed, "parameters", "severity", "enabled", "description")
        return [(None, {"fields": first}), *self.fieldsets[1:]]

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        """Through the API's door: validated, saved with its channels and scope, audited."""
        relations = {
            name: form.cleaned_data[name]
            for name in operations.RULE_RELATIONS
            if name in form.cleaned_data
        }
        operations.save_rule(obj, relations, request.user, timezone.now())

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Per-source overrides through the API's door too, each audited."""
        if formset.model is not RuleOverride:
            super().save_formset(request, form, formset, change)
            return
        now = timezone.now()
        changed = formset.save(commit=False)
        for override in formset.deleted_objects:
            operations.delete_override(override, request.user, now)
        for override in changed:
            operations.save_override(override, request.user, now)

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        operations.delete_rule(obj, request.user, timezone.now())

    @admin.action(description="Enable selected rules")
    def enable(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        self.set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected rules")
    def disable(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        self.set_enabled(request, queryset, enabled=False)

    def set_enabled(
        self, request: HttpRequest, queryset: QuerySet[AlertRule], enabled: bool
    ) -> None:
        now = timezone.now()
        for rule in queryset.exclude(enabled=enabled):
            operations.set_rule_enabled(rule, enabled, request.user, now)
        messages.success(
            request, f"{'Enabled' if enabled else 'Disabled'} {queryset.count()} rules."
        )


def channel_kind_help(transport: type[Transport]) -> tuple[str, str]:
    """A kind's help for config and secret, from the transport itself: its settings (required or
    with their default) and a valid example, and what its secret is."""
    fields = transport.config_schema.model_fields
    described = ", ".join(
        f"{name} (required)" if info.is_required() else f"{name}={info.default!r}"
        for name, info in fields.items()
    )
    config, _ = transport.example()
    example = f". Example: {json.dumps(config, ensure_ascii=False)}" if config else ""
    return (
        f"{transport.kind}: {described or 'nothing'}{example}",
        f"{transport.kind}: {transport.secret_help}",
    )


def kinds_by_label() -> list[tuple[str, str]]:
    """Every registered kind, for a dropdown of 150+: ordered by label as people look them up."""
    transports = all_transports().values()
    ordered = sorted(transports, key=lambda t: (str(t.label).lower(), t.kind))
    return [(t.kind, str(t.label)) for t in ordered]


class KindSelect(forms.Select):
    """The kind dropdown; each option carries its kind's help, which static/alerts/channel_form.js
    shows under config and secret when the kind is chosen (the page would otherwise list the
    help of every kind at once)."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)
        transport = all_transports().get(str(option["value"]))
        if transport is not None:
            config, secret = channel_kind_help(transport)
            option["attrs"].update({"data-config-help": config, "data-secret-help": secret})
        return option


CONFIG_HELP = "JSON: the chosen kind's settings"
SECRET_HELP = "What the chosen kind needs: a webhook URL, a token, a signing key."  # noqa: S105


class ChannelForm(forms.ModelForm):
    """The stored secret never goes back to the browser; blank keeps it. The config's secret
    values (a webhook's URL and headers) go back masked, and a masked value that comes back
    unchanged keeps the stored one. The kind's transport validates config and secret
    (``Channel.clean``)."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Webhook URL or signing key. Leave blank to keep the stored one.",
    )

    class Meta:
        model = Channel
        fields = [*Channel.PLAIN_FIELDS, "config", "secret"]

    class Media:
        js = ["alerts/channel_form.js"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields.get("kind")
        if isinstance(kind, forms.ChoiceField):
            kind.widget = KindSelect()
            kind.choices = [("", "---------"), *kinds_by_label()]
        config_help, secret_help = self.chosen_kind_help()
        stored = ""
        if self.instance.pk and self.instance.secret:
            stored = f"Stored: {self.instance.masked_secret}. Leave blank to keep it. "
        self.fields["secret"].help_text = stored + secret_help
        self.fields["secret"].widget.attrs["data-help-before"] = stored
        if "config" not in self.fields:
            return
        edit_note = ""
        if self.instance.pk:
            self.initial["config"] = self.instance.masked_config
            edit_note = (
                ". Secret values (a webhook's URL and headers) show masked: leave a masked value"
                " as it is to keep the stored one, or type the whole new value."
            )
        self.fields["config"].help_text = config_help + edit_note
        self.fields["config"].widget.attrs["data-help-after"] = edit_note

    def chosen_kind_help(self) -> tuple[str, str]:
        """The help of the kind shown chosen when the page loads (the script swaps it after)."""
        transport = all_transports().get(str(self.initial.get("kind") or self.instance.kind))
        return channel_kind_help(transport) if transport else (CONFIG_HELP, SECRET_HELP)

    def clean_config(self) -> Any:
        """Masked values left as shown become the stored ones again."""
        config = self.cleaned_data.get("config")
        transport = self.instance.transport_class() if self.instance.pk else None
        if transport is None or not isinstance(config, dict):
            return config
        return transport.restored_config(config, self.instance.config)

    def clean_secret(self) -> str:
        value: str = self.cleaned_data.get("secret") or ""
        return value or (self.instance.secret if self.instance.pk else "")


@admin.register(Channel)
class ChannelAdmin(MaskedSecretsAdmin, AuditedAdmin):
    form = ChannelForm
    list_display = [
        "name",
        "kind",
        "enabled",
        "is_default",
        "min_severity",
        "secret",
        "failing_since",
    ]
    masked_fields = {"secret": "shown_secret", "config": "shown_config"}
    list_filter = ["kind", "enabled", "is_default"]
    search_fields = ["name"]
    actions = ["send_test_message"]

    def save_model(self, request: HttpRequest, obj: Channel, form: Any, change: bool) -> None:
        """Through the channels' door: audited, the first channel made default, waiting alerts
        sent."""
        operations.save_channel(obj, request.user, timezone.now())

    @admin.display(description="secret")
    def shown_secret(self, channel: Channel) -> str:
        return channel.masked_secret

    @admin.display(description="config")
    def shown_config(self, channel: Channel) -> str:
        return json.dumps(channel.masked_config, indent=2, ensure_ascii=False)

    @admin.action(description="Send a test message to selected channels", permissions=["change"])
    def send_test_message(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        """Sends now, in this request, and shows what the receiver answered."""
        who = request.user.get_username() if request.user.is_authenticated else ""
        for channel in queryset:
            outcome = delivery.send_test(channel, timezone.now(), requested_by=who)
            if outcome.status == delivery.SENT:
                messages.success(request, f"{channel.name}: test message sent.")
            else:
                messages.error(request, f"{channel.name}: test message failed: {outcome.error}")


@admin.register(Silence)
class SilenceAdmin(AuditedAdmin):
    list_display = [
        "pk",
        "comment",
        "starts_at",
        "ends_at",
        "recurrence_cron",
        "created_by",
        "expired_at",
    ]
    list_filter = ["severity"]
    search_fields = ["comment"]
    autocomplete_fields = ["source"]
    actions = ["expire_now"]

    def save_model(self, request: HttpRequest, obj: Silence, form: Any, change: bool) -> None:
        """A new silence through the portal's and the API's door (audited, holds its alerts
        back at once); an edit, which only the admin makes, is audited by ``AuditedAdmin``."""
        if change:
            super().save_model(request, obj, form, change)
        else:
            operations.create_silence(obj, request.user, timezone.now())

    @admin.action(description="Expire selected silences now")
    def expire_now(self, request: HttpRequest, queryset: QuerySet[Silence]) -> None:
        now = timezone.now()
        for silence in queryset.filter(expired_at__isnull=True):
            operations.expire_silence(silence, request.user, now)


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "note", "data")
    readonly_fields = ("at", "kind", "actor", "note", "data")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AlertNotificationInline(admin.TabularInline):
    """The messages about this alert and what came of them (failed ones show their error)."""

    model = Notification.alerts.through
    extra = 0
    can_delete = False
    verbose_name = "notification"
    verbose_name_plural = "notifications"
    fields = ("notification", "event", "channel", "status", "attempts", "sent_at", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("notification__channel")

    @admin.display(description="event")
    def event(self, row: Any) -> str:
        return str(row.notification.event)

    @admin.display(description="channel")
    def channel(self, row: Any) -> str:
        return str(row.notification.channel or row.notification.payload.get("to", ""))

    @admin.display(description="status")
    def status(self, row: Any) -> str:
        return str(row.notification.status)

    @admin.display(description="attempts")
    def attempts(self, row: Any) -> int:
        return int(row.notification.attempts)

    @admin.display(description="sent at")
    def sent_at(self, row: Any) -> Any:
        return row.notification.sent_at

    @admin.display(description="error")
    def error(self, row: Any) -> str:
        return str(row.notification.error)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["summary", "rule", "severity", "state", "fired_at", "resolved_at", "suppressed"]
    list_filter = ["state", "severity", "rule", "inhibited"]
    search_fields = ["summary", "source__key"]
    inlines = [AlertEventInline, AlertNotificationInline]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class IncidentAlertInline(admin.TabularInline):
    """An incident's alerts, each a link to its own page in the admin."""

    model = Alert
    fk_name = "incident"
    extra = 0
    can_delete = False
    fields = ("alert", "rule", "source", "state", "severity", "summary")
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("rule", "source")

    @admin.display(description="alert")
    def alert(self, row: Alert) -> str:
        url = reverse("admin:alerts_alert_change", args=[row.pk])
        return format_html('<a href="{}">#{}</a>', url, row.pk)


class IncidentMirrorInline(admin.TabularInline):
    """Where two-way channels show the incident (a Slack message, a PagerDuty incident) and the
    state they show: a mirror still open after the incident closed is the reconciler's work."""

    model = IncidentMirror
    extra = 0
    can_delete = False
    fields = ("channel", "reference", "conversation", "remote_state", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-only: the engine opens and closes incidents; operators acknowledge them in the
    portal or the API (one door, audited)."""

    list_display = ["title", "state", "severity", "opened_at"]
    list_filter = ["state", "severity"]
    search_fields = ["title", "cause", "source__key"]
    date_hierarchy = "opened_at"
    inlines = [IncidentAlertInline, IncidentMirrorInline]
    readonly_fields = [f.name for f in Incident._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "ok",
        "status_code",
        "permanent",
        "error",
        "worker",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChatIdentityForm(forms.ModelForm):
    provider = forms.ChoiceField(choices=[("slack", "Slack"), ("pagerduty", "PagerDuty")])

    class Meta:
        model = ChatIdentity
        fields = ["provider", "workspace", "external_id", "display_name", "user"]
        help_texts = {
            "external_id": "The Slack user id (U0123...) or the PagerDuty user id (P12345...).",
            "workspace": "Slack only: the team id (T0123...) of the workspace.",
        }


@admin.register(ChatIdentity)
class ChatIdentityAdmin(AuditedAdmin):
    """A Slack or PagerDuty person linked to a confops user by hand: their presses in Slack
    and acknowledges in PagerDuty act as that user (a Slack user is also linked by email on
    their first press). Audited like every admin change."""

    list_display = ["provider", "workspace", "external_id", "display_name", "user", "linked_at"]
    list_filter = ["provider"]
    search_fields = ["external_id", "display_name", "user__username", "user__email"]
    form = ChatIdentityForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.linked_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "event",
        "channel",
        "rule",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "error",
    ]
    list_filter = ["status", "event", "channel"]
    readonly_fields = [f.name for f in Notification._meta.fields] + ["pretty_payload"]
    exclude = ["payload", "alerts"]
    inlines = [DeliveryAttemptInline]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Payload")
    def pretty_payload(self, notification: Notification) -> str:
        return json.dumps(notification.payload, indent=2)

    @admin.action(
        description="Retry selected failed or cancelled notifications", permissions=["change"]
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        now = timezone.now()
        retried = 0
        for notification in queryset.filter(
            status__in=[NotificationStatus.FAILED, NotificationStatus.CANCELLED]
        ):
            if notification.retry_by_hand(now):
                notification.send_on_commit()
                audit.record(now, "retried", notification, actor=request.user)
                retried += 1
        skipped = queryset.count() - retried
        note = f" ({skipped} were not failed or cancelled)" if skipped else ""
        messages.success(request, f"Queued {retried} notifications again{note}.")


@admin.register(Runbook)
class RunbookAdmin(AuditedAdmin):
    list_display = ["title", "slug", "updated_at"]
    search_fields = ["title", "slug", "body"]
    prepopulated_fields = {"slug": ["title"]}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["slug"] if obj is not None else []  # links point at the slug

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj is not None else {"slug": ["title"]}

    def save_model(self, request: HttpRequest, obj: Runbook, form: Any, change: bool) -> None:
        """Through the wiki, so an admin edit is a revision with its author, and audited."""
        with transaction.atomic():
            saved = wiki.save_page(
                slug=obj.slug,
                title=obj.title,
                body=obj.body,
                author=request.user,
                now=timezone.now(),
                summary="edited in the admin",
            )
        obj.pk = saved.pk


@admin.register(RunbookRevision)
class RunbookRevisionAdmin(admin.ModelAdmin):
    list_display = ["runbook", "number", "author", "created_at", "summary"]
    list_filter = ["runbook"]
    readonly_fields = ["runbook", "number", "title", "body", "summary", "author", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
