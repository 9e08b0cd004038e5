"""Admin for API tokens and the audit trail. A new token's value is shown once, in the message
after adding it; afterwards only its prefix is ever shown (the database holds a hash). The audit
trail is read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from confops.accounts.choices import TokenScope
from confops.accounts.models import TOKEN_PREFIX, ApiToken, AuditEntry, pushable_sources


class ApiTokenForm(forms.ModelForm):
    """Scopes as checkboxes; only pushed sources can be chosen, and a token that can push says
    whether it may report for all of them or for the chosen ones (never "none chosen")."""

    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="A job that reports its runs needs only 'Push runs'.",
    )
    sources = forms.ModelMultipleChoiceField(
        queryset=pushable_sources(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Pushed sources this token may report for, unless it may report for all.",
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "all_sources", "sources", "expires_at"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        all_sources, chosen = cleaned.get("all_sources"), cleaned.get("sources")
        if all_sources and chosen:
            raise forms.ValidationError(
                "Either all pushed sources or the chosen ones: untick one of the two."
            )
        if not all_sources and not chosen and can_push(cleaned.get("scopes") or []):
            raise forms.ValidationError(
                "Choose the sources this token may report for, or tick all pushed sources."
            )
        return cleaned

    def clean_expires_at(self) -> datetime | None:
        expires_at: datetime | None = self.cleaned_data.get("expires_at")
        if expires_at is not None and not self.instance.pk and expires_at <= timezone.now():
            raise forms.ValidationError("A new token must expire in the future.")
        return expires_at


def can_push(scopes: list[str]) -> bool:
    return TokenScope.PUSH in scopes or TokenScope.ADMIN in scopes


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = [
        "name",
        "masked_prefix",
        "scope_list",
        "source_list",
        "created_by",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    readonly_fields = ["masked_prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        editable = ("name", "scopes", "all_sources", "sources", "expires_at")
        return editable if obj is None else (*editable, *self.readonly_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return super().get_queryset(request).prefetch_related("sources")

    @admin.display(description="token")
    def masked_prefix(self, obj: ApiToken) -> str:
        return f"{TOKEN_PREFIX}{obj.prefix}_…" if obj.prefix else ""

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="sources")
    def source_list(self, obj: ApiToken) -> str:
        """What the token may report for, as stored: all, the chosen slugs, or none (its
        sources were deleted)."""
        if obj.all_sources:
            return "all pushed"
        return ", ".join(sorted(s.slug for s in obj.sources.all())) or "none"

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Issue the token and make the form's instance that row, so the admin redirects to it.
        sources = None if obj.all_sources else form.cleaned_data.get("sources") or []
        token, raw = ApiToken.issue(
            obj.name, list(obj.scopes), request.user, sources=sources, expires_at=obj.expires_at
        )
        obj.pk, obj.prefix, obj.token_hash = token.pk, token.prefix, token.token_hash
        obj.created_by, obj.created_at = token.created_by, token.created_at
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


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor__username", "actor_label"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
