"""Admin for API tokens: a new token's value is shown once, in the message after adding it;
afterwards only its prefix is ever shown (the database holds a hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from monitoring.choices import SourceKind, TokenScope
from monitoring.models import TOKEN_PREFIX, ApiToken, Source


class ApiTokenForm(forms.ModelForm):
    """Scopes as checkboxes; only pushed sources can be chosen."""

    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="A job that reports its runs needs only 'Push runs'.",
    )
    sources = forms.ModelMultipleChoiceField(
        queryset=Source.objects.filter(kind=SourceKind.PUSHED, deployment__isnull=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Pushed sources this token may report for; none means all of them.",
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "sources", "expires_at"]

    def clean_expires_at(self) -> datetime | None:
        expires_at: datetime | None = self.cleaned_data.get("expires_at")
        if expires_at is not None and not self.instance.pk and expires_at <= timezone.now():
            raise forms.ValidationError("A new token must expire in the future.")
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = [
        "name",
        "masked_prefix",
        "scope_list",
        "sources_count",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    readonly_fields = ["masked_prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        editable = ("name", "scopes", "sources", "expires_at")
        return editable if obj is None else (*editable, *self.readonly_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return super().get_queryset(request).annotate(source_count=Count("sources"))

    @admin.display(description="token")
    def masked_prefix(self, obj: ApiToken) -> str:
        return f"{TOKEN_PREFIX}{obj.prefix}_…" if obj.prefix else ""

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="sources", ordering="source_count")
    def sources_count(self, obj: ApiToken) -> str:
        count = getattr(obj, "source_count", None)
        if count is None:
            count = obj.sources.count()
        return str(count) if count else "all pushed"

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Issue the token and make the form's instance that row, so the admin saves the chosen
        # sources onto it and redirects to it.
        token, raw = ApiToken.issue(obj.name, list(obj.scopes), created_by=request.user)
        obj.pk, obj.prefix, obj.token_hash = token.pk, token.prefix, token.token_hash
        obj.created_by, obj.created_at = token.created_by, token.created_at
        obj.save(update_fields=["expires_at"])
        messages.success(
            request,
            format_html(
                "Token for “{}”: <code>{}</code> — copy it now. It is shown only this once and "
                "cannot be recovered; if it is lost, revoke it and create another.",
                obj.name,
                raw,
            ),
        )

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = timezone.now()
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            token.revoke(now)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)
