"""What confops observes. The foundation holds deployments; sources and runs come with ingestion."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from confops.secrets import mask_secret


class Deployment(models.Model):
    """One Dagster instance watched through its GraphQL API, with the outcome of its polls."""

    name = models.CharField(max_length=100, unique=True)
    graphql_url = models.URLField("GraphQL URL", max_length=500)
    ui_url = models.URLField(
        "UI base URL", max_length=500, blank=True, help_text="Base of links to runs in Dagster."
    )
    auth_header_name = models.CharField(max_length=100, blank=True, default="Authorization")
    auth_header_value = models.CharField(
        max_length=2000, blank=True, help_text="Secret; stored as given, never shown in full."
    )
    poll_interval_seconds = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    enabled = models.BooleanField(default=True)

    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_duration_ms = models.FloatField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    dagster_version = models.CharField(max_length=50, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_auth_header_value(self) -> str:
        return mask_secret(self.auth_header_value)

    def request_headers(self) -> dict[str, str]:
        if self.auth_header_name and self.auth_header_value:
            return {self.auth_header_name: self.auth_header_value}
        return {}

    def is_due(self, now: datetime) -> bool:
        if not self.enabled:
            return False
        if self.last_poll_at is None:
            return True
        return now - self.last_poll_at >= timedelta(seconds=self.poll_interval_seconds)

    @property
    def is_reachable(self) -> bool:
        return self.last_success_at is not None and self.consecutive_failures == 0

    def record_poll_success(self, now: datetime, duration_ms: float, version: str = "") -> None:
        self.last_poll_at = now
        self.last_poll_duration_ms = duration_ms
        self.last_success_at = now
        self.last_error = ""
        self.failing_since = None
        self.consecutive_failures = 0
        if version:
            self.dagster_version = version
        self.save(
            update_fields=[
                "last_poll_at",
                "last_poll_duration_ms",
                "last_success_at",
                "last_error",
                "failing_since",
                "consecutive_failures",
                "dagster_version",
                "updated_at",
            ]
        )

    def record_poll_failure(self, error: str, now: datetime, duration_ms: float) -> None:
        self.last_poll_at = now
        self.last_poll_duration_ms = duration_ms
        self.last_error = error[:4000]
        if self.failing_since is None:
            self.failing_since = now
        self.consecutive_failures += 1
        self.save(
            update_fields=[
                "last_poll_at",
                "last_poll_duration_ms",
                "last_error",
                "failing_since",
                "consecutive_failures",
                "updated_at",
            ]
        )
