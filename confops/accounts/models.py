"""Who may act and what they did: API tokens (the bearer tokens of the push and REST APIs)
and the audit trail. Their tables keep the names they had in `monitoring` and `alerts`. Also the
claims of periodic passes, which every app takes and so must stand below them all."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db import models

from confops.accounts.choices import TokenScope

TOKEN_PREFIX = "cfo_"  # noqa: S105 - a marker that makes leaked tokens greppable, not a secret


class ApiToken(models.Model):
    """A bearer token for the push API (and the REST API): stored as a hash, shown once.

    A token acts for its owner: it authenticates only while the owner exists and is active, and
    deleting the owner deletes their tokens. Which pushed sources it may report for is explicit
    (`all_sources`), never read from an empty list: a token limited to sources that were all
    deleted since may report for none.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Any of: " + ", ".join(TokenScope.values))
    all_sources = models.BooleanField(
        "all pushed sources",
        default=False,
        help_text="May report runs of every pushed source, including those added later. "
        "Otherwise only of the sources chosen below.",
    )
    sources = models.ManyToManyField(
        "monitoring.Source",
        blank=True,
        # Only a pushed source (not one read from a Dagster deployment) receives pushed runs.
        limit_choices_to={"kind": "pushed", "deployment__isnull": True},
        related_name="tokens",
        help_text="Pushed sources this token may report for, unless it may report for all.",
    )
    # Deleting the person deletes the tokens that act for them (there is no one left to act
    # for); audit entries keep the token's name as text. Null only on tokens created by the
    # command before tokens needed an owner: those no longer authenticate.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when tokens lived in `monitoring`: moving the model
        # between apps moved no data.
        db_table = "monitoring_apitoken"
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        """Tokens carry 190 random bits, so a fast hash is enough (no brute force to slow)."""
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(
        cls,
        name: str,
        scopes: list[str],
        created_by: Any,
        sources: Iterable[Any] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[ApiToken, str]:
        """Create a token acting for `created_by`, for the given pushed `sources` (None: all of
        them); the raw value is returned once and never stored."""
        prefix = secrets.token_hex(4)
        raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(24)}"
        token = cls.objects.create(
            name=name,
            prefix=prefix,
            token_hash=cls.hash(raw),
            scopes=scopes,
            created_by=created_by,
            all_sources=sources is None,
            expires_at=expires_at,
        )
        if sources is not None:
            token.sources.set(sources)
        return token, raw

    @classmethod
    def find(cls, raw: str) -> ApiToken | None:
        if not raw.startswith(TOKEN_PREFIX):
            return None
        return cls.objects.select_related("created_by").filter(token_hash=cls.hash(raw)).first()

    def is_active(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def owner_is_active(self) -> bool:
        """A token acts for a person: none (deleted, or never set) or a deactivated one stops it."""
        owner = self.created_by
        return owner is not None and owner.is_active

    def allows_source(self, source: models.Model) -> bool:
        return self.all_sources or self.sources.filter(pk=source.pk).exists()

    def has_scope(self, scope: str) -> bool:
        """Scopes nest: admin includes operate, operate includes read (whoever acknowledges an
        alert must be able to list it). Push stands alone: a job's token reads nothing."""
        implied_by = {
            TokenScope.READ: {TokenScope.READ, TokenScope.OPERATE, TokenScope.ADMIN},
            TokenScope.OPERATE: {TokenScope.OPERATE, TokenScope.ADMIN},
        }.get(TokenScope(scope), {TokenScope(scope), TokenScope.ADMIN})
        return any(granted in implied_by for granted in self.scopes)

    def revoke(self, now: datetime) -> None:
        self.revoked_at = now
        self.save(update_fields=["revoked_at"])


class AuditEntry(models.Model):
    """Who changed what, from what to what: rules, thresholds, acknowledgements, silences."""

    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="e.g. an API token")
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    object_repr = models.CharField(max_length=300)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "alerts_auditentry"  # the name it had in `alerts`
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        who = self.actor or self.actor_label or "system"
        return f"{who} {self.action} {self.object_type} {self.object_repr}"


class PassClaim(models.Model):
    """One periodic pass (a beat entry) and when it may run again: the row a pass claims with a
    compare-and-swap (``confops.accounts.passes.claim_pass``), so two beats, or a message the
    broker delivered twice, make one pass per interval. Below every app, as the audit trail is,
    because monitoring, alerts and reports all claim their passes here."""

    name = models.CharField(max_length=200, unique=True, help_text="the beat entry's name")
    next_due_at = models.DateTimeField()
    claimed_at = models.DateTimeField()
    passes = models.PositiveBigIntegerField(default=0, help_text="passes claimed so far")

    def __str__(self) -> str:
        return f"{self.name} (next due {self.next_due_at.isoformat()})"


def pushable_sources() -> models.QuerySet[Any]:
    """The sources a token may be limited to (pushed ones), read through the token's own
    relation so that this app needs no import of `monitoring`."""
    field = ApiToken._meta.get_field("sources")
    source_model = cast(type[models.Model], field.related_model)
    return source_model._default_manager.complex_filter(field.get_limit_choices_to())
