from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from confops.common.admin_secrets import MaskedSecretsAdmin
from monitoring import operations
from monitoring.choices import SourceKind
from monitoring.models import (
    SOURCE_OPERATOR_FIELDS,
    AssetEvent,
    CheckResult,
    Deployment,
    FailedTick,
    Instigator,
    PollRecord,
    Run,
    RunAsset,
    Source,
)


def https_by_default(field: models.Field, **kwargs: Any) -> forms.Field | None:
    """URLs typed without a scheme mean https (Django 6's default, chosen now)."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class DeploymentForm(forms.ModelForm):
    """Never sends the stored auth secret back to the browser; blank keeps the current one."""

    auth_header_value = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored value. Tick 'clear' below to remove it.",
    )
    clear_auth_header_value = forms.BooleanField(required=False, label="Clear stored secret")

    class Meta:
        model = Deployment
        fields = [  # listed: a new model field is a decision, not a leak
            "name",
            "graphql_url",
            "ui_url",
            "enabled",
            "poll_interval_seconds",
            "auth_header_name",
            "auth_header_value",
        ]
        formfield_callback = https_by_default

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shown_url = self.instance.display_url
        if (
            self.instance.pk
            and shown_url != self.instance.graphql_url
            and "graphql_url" in self.fields
        ):
            # Its user:password@ is basic auth for the poller: the form shows it masked.
            self.initial["graphql_url"] = shown_url
            self.fields["graphql_url"].help_text = (
                "The user:password in it is stored and shown masked; "
                "leave it as shown to keep it, or type the whole URL to change it."
            )
        if self.instance.pk and self.instance.auth_header_value:
            self.fields[
                "auth_header_value"
            ].help_text = (
                f"Stored: {self.instance.masked_auth_header_value}. Leave blank to keep it."
            )

    def clean_graphql_url(self) -> str:
        value: str = self.cleaned_data.get("graphql_url") or ""
        if self.instance.pk and value == self.instance.display_url:
            return self.instance.graphql_url  # came back as shown: the stored credentials stay
        return value

    def clean_auth_header_value(self) -> str:
        value: str = self.cleaned_data.get("auth_header_value") or ""
        if not value and self.instance.pk:
            return self.instance.auth_header_value
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("clear_auth_header_value"):
            cleaned["auth_header_value"] = ""
        return cleaned


@admin.register(Deployment)
class DeploymentAdmin(MaskedSecretsAdmin):
    form = DeploymentForm
    masked_fields = {
        "auth_header_value": "shown_auth_header_value",
        "clear_auth_header_value": "",  # a form-only box
        # Its user:password@ is basic auth for the poller: shown without it, not searched.
        "graphql_url": "shown_graphql_url",
    }
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        "graphql_url",
        "enabled",
        "poll_interval_seconds",
        "last_success_at",
        "consecutive_failures",
        "dagster_version",
    ]
    list_filter = ["enabled"]
    search_fields = ["name", "graphql_url"]
    readonly_fields = [
        "last_poll_at",
        "last_poll_duration_ms",
        "last_success_at",
        "last_error",
        "failing_since",
        "consecutive_failures",
        "dagster_version",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "graphql_url", "ui_url", "enabled", "poll_interval_seconds"]}),
        (
            "Authentication",
            {"fields": ["auth_header_name", "auth_header_value", "clear_auth_header_value"]},
        ),
        ("Last poll", {"fields": tuple(readonly_fields)}),
    ]

    @admin.display(description="auth header value")
    def shown_auth_header_value(self, deployment: Deployment) -> str:
        return deployment.masked_auth_header_value

    @admin.display(description="GraphQL URL", ordering="graphql_url")
    def shown_graphql_url(self, deployment: Deployment) -> str:
        return deployment.display_url

    def save_model(self, request: HttpRequest, obj: Deployment, form: Any, change: bool) -> None:
        """Through the same audited door as ``manage.py provision`` and register_deployment."""
        operations.save_deployment(obj, request.user, timezone.now())


class ReadOnlyAdmin(admin.ModelAdmin):
    """Observed data: Dagster owns it, the admin only shows it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


DISCOVERED_FIELDS = [
    "deployment",
    "kind",
    "key",
    "slug",
    "group_name",
    "description",
    "dagster_owners",
    "tags",
    "kinds",
    "code_location",
    "repository",
    "op_names",
    "job_names",
    "is_asset_job",
    "partitions_definition",
    "freshness_policy",
    "schedule_names",
    "sensor_names",
    "upstream_keys",
    "is_gone",
    "gone_since",
    "first_seen_at",
    "last_seen_at",
]
LATEST_FIELDS = ["last_run_at", "last_status", "last_success_at", "last_failure_at", "last_metrics"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Operators edit owner, runbook, notes, pause and expected cron; discovery owns the rest."""

    list_display = [
        "key",
        "kind",
        "deployment",
        "group_name",
        "owner",
        "last_status",
        "last_success_at",
        "paused",
        "is_gone",
    ]
    list_filter = ["kind", "deployment", "group_name", "paused", "is_gone", "last_status"]
    search_fields = ["key", "slug", "owner", "group_name", "description"]
    readonly_fields = [*DISCOVERED_FIELDS, *LATEST_FIELDS]
    fieldsets = [
        ("Operator", {"fields": SOURCE_OPERATOR_FIELDS}),
        ("From Dagster", {"fields": tuple(DISCOVERED_FIELDS)}),
        ("Latest run", {"fields": tuple(LATEST_FIELDS)}),
    ]

    @admin.display(description="Upstream")
    def upstream_keys(self, source: Source) -> str:
        return ", ".join(s.key for s in source.upstream.all()) or "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Source | None = None) -> list[str]:
        # A pushed source is created here: its identity is editable until it exists.
        if obj is None:
            return [f for f in self.readonly_fields if f not in ("key", "slug")]
        return list(self.readonly_fields)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"kind": SourceKind.PUSHED}

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:
        """Through the same door as ``PATCH /api/v1/sources/{slug}``, which audits the change."""
        if not change:
            obj.kind = SourceKind.PUSHED  # Dagster sources come from discovery only
        before = operations.source_snapshot(Source.objects.get(pk=obj.pk)) if change else {}
        operations.save_source(obj, before, request.user, timezone.now())

    def delete_model(self, request: HttpRequest, obj: Source) -> None:
        operations.delete_source(obj, request.user, timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        """The list's bulk delete: one audited delete each, as from the change page."""
        for source in queryset:
            self.delete_model(request, source)


class RunAssetInline(admin.TabularInline):
    model = RunAsset
    fields = ("source", "outcome")
    readonly_fields = ("source", "outcome")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = [
        "run_id",
        "job_name",
        "deployment",
        "status",
        "ended_at",
        "duration_s",
        "launch_reason",
    ]
    list_filter = ["status", "deployment", "origin", "launch_reason", "will_retry"]
    search_fields = ["run_id", "job_name", "error_message", "failed_step"]
    date_hierarchy = "created_at"
    inlines = [RunAssetInline]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["check_name", "source", "passed", "severity", "evaluated_at"]
    list_filter = ["passed", "severity", "source__deployment"]
    search_fields = ["check_name", "source__key", "description"]


@admin.register(AssetEvent)
class AssetEventAdmin(ReadOnlyAdmin):
    list_display = ["source", "kind", "timestamp", "metrics"]
    list_filter = ["kind", "source__deployment"]
    search_fields = ["source__key", "dagster_run_id"]


@admin.register(Instigator)
class InstigatorAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "kind",
        "deployment",
        "cron",
        "status",
        "last_tick_status",
        "last_tick_at",
    ]
    list_filter = ["kind", "deployment", "status", "last_tick_status", "is_gone"]
    search_fields = ["name"]


@admin.register(FailedTick)
class FailedTickAdmin(ReadOnlyAdmin):
    list_display = ["instigator", "tick_id", "timestamp", "error_class"]
    search_fields = ["instigator__name", "error_message"]


@admin.register(PollRecord)
class PollRecordAdmin(ReadOnlyAdmin):
    list_display = ["deployment", "started_at", "duration_ms", "ok", "error"]
    list_filter = ["ok", "deployment"]
