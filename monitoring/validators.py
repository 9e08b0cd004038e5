"""Validators shared by the admin and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from django.core.exceptions import ValidationError


def validate_cron(expression: str) -> None:
    if not expression:
        return
    try:
        CronSim(expression, datetime.now(tz=UTC))
    except CronSimError as exc:
        raise ValidationError(f"'{expression}' is not a valid cron expression: {exc}") from None


def validate_timezone(name: str) -> None:
    if not name:
        return
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"'{name}' is not a known time zone (e.g. UTC, Europe/Paris)"
        ) from None
