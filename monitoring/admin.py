from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models

from monitoring.models import Deployment


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
        if self.instance.pk and self.instance.auth_header_value:
            self.fields[
                "auth_header_value"
            ].help_text = (
                f"Stored: {self.instance.masked_auth_header_value}. Leave blank to keep it."
            )

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
class DeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
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


# API tokens have their own module: creating one shows its secret once.
from monitoring import admin_tokens  # noqa: E402,F401
