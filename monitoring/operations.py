"""What an operator changes on a source (owner, runbook, notes, pause, expected cron) or on a
deployment (its URL, token, poll interval), through one audited door each that the admin, the
API and the commands (register_deployment, provision) call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from confops.accounts import audit
from monitoring.models import SOURCE_OPERATOR_FIELDS, Deployment, Source


@transaction.atomic
def save_source(
    source: Source,
    before: dict[str, Any],
    user: Any,
    now: datetime,
    actor_label: str = "",
    fields: list[str] | None = None,
) -> Source:
    """Validate and save an operator's change to a source (owner, runbook, notes, pause,
    expected cron), audited with the fields that changed; nothing is recorded when none did.

    ``before`` is ``source_snapshot`` taken before the new values were set (empty for a new
    pushed source, which the admin creates); ``fields``, when given, are the only columns
    written, so a change never overwrites what discovery wrote meanwhile. Raises
    ``ValidationError`` (nothing saved).
    """
    created = source.pk is None
    source.full_clean()
    source.save(update_fields=None if created else fields or None)
    changes = audit.diff(before, source_snapshot(source))
    if changes or created:
        action = "created" if created else "changed"
        audit.record(now, action, source, changes, actor=user, actor_label=actor_label)
    return source


def choose_volume_metric(
    source: Source, key: str, user: Any, now: datetime, actor_label: str = ""
) -> Source:
    """Set the metadata key the source's volume is judged and shown by ("" hands the choice
    back to ``monitoring.volume``), through ``save_source``. A key that is not a metadata key's
    name raises ``ValidationError`` and leaves the source as it was, in the database and here.
    """
    before = source_snapshot(source)
    previous, source.volume_metric = source.volume_metric, key.strip()
    try:
        return save_source(source, before, user, now, actor_label, ["volume_metric"])
    except Exception:
        source.volume_metric = previous
        raise


@transaction.atomic
def delete_source(source: Source, user: Any, now: datetime, actor_label: str = "") -> None:
    """Delete a source with its history (the admin's door), audited with its operator fields."""
    audit.record(
        now, "deleted", source, source_snapshot(source), actor=user, actor_label=actor_label
    )
    source.delete()


def source_snapshot(source: Source) -> dict[str, Any]:
    """The fields an operator sets on a source, the ones its audit entries compare."""
    return audit.snapshot(source, list(SOURCE_OPERATOR_FIELDS))


# What an operator declares on a deployment; the rest of its fields are the poller's state.
DEPLOYMENT_OPERATOR_FIELDS = (
    "name",
    "graphql_url",
    "ui_url",
    "auth_header_name",
    "auth_header_value",
    "poll_interval_seconds",
    "enabled",
)


@transaction.atomic
def save_deployment(
    deployment: Deployment, user: Any, now: datetime, actor_label: str = ""
) -> Deployment:
    """Validate (``full_clean``) and save a deployment an operator declared, audited with the
    fields that changed (the auth header value masked); nothing is recorded when none did.

    Raises ``ValidationError`` (nothing saved).
    """
    created = deployment.pk is None
    stored = None if created else Deployment.objects.get(pk=deployment.pk)
    before = deployment_snapshot(stored) if stored else {}
    deployment.full_clean()
    deployment.save()
    changes = audit.diff(before, deployment_snapshot(deployment))
    if stored and stored.auth_header_value != deployment.auth_header_value:
        # Two tokens can mask alike (same last characters): the trail still says it changed.
        changes.setdefault("auth_header_value", [before["auth_header_value"], "(changed)"])
    if changes or created:
        action = "created" if created else "changed"
        audit.record(now, action, deployment, changes, actor=user, actor_label=actor_label)
    return deployment


def deployment_snapshot(deployment: Deployment) -> dict[str, Any]:
    """The fields an operator sets on a deployment, the ones its audit entries compare (the
    auth header value masked: ``audit.SECRET_FIELDS``)."""
    return audit.snapshot(deployment, list(DEPLOYMENT_OPERATOR_FIELDS))
