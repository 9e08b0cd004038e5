"""When a silence is in force, and which alerts it covers."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from alerts.choices import OPEN_STATES
from alerts.models import Alert, Silence


def active_silences(now: datetime) -> list[Silence]:
    candidates = Silence.objects.filter(
        Q(expired_at__isnull=True) | Q(expired_at__gt=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        starts_at__lte=now,
    ).select_related("rule", "source", "deployment")
    return [s for s in candidates if s.is_active(now)]


def covers(silence: Silence, alert: Alert) -> bool:
    """Every matcher that is set must match (an unset matcher matches anything)."""
    source = alert.source
    deployment_id = alert.deployment_id or (source.deployment_id if source else None)
    checks = [
        silence.rule_id is None or silence.rule_id == alert.rule_id,
        silence.source_id is None or silence.source_id == alert.source_id,
        silence.deployment_id is None or silence.deployment_id == deployment_id,
        not silence.group
        or (source is not None and fnmatch.fnmatchcase(source.group_name, silence.group)),
        not silence.tag_key or (source is not None and tag_matches(source.tags, silence)),
        not silence.severity or silence.severity == alert.severity,
    ]
    return all(checks)


def tag_matches(tags: dict[str, str], silence: Silence) -> bool:
    if silence.tag_key not in tags:
        return False
    return not silence.tag_value or tags[silence.tag_key] == silence.tag_value


def silence_for(alert: Alert, silences: Iterable[Silence]) -> Silence | None:
    return next((s for s in silences if covers(s, alert)), None)


def matchers(silence: Silence) -> list[str]:
    """The silence's matchers in words, e.g. ["rule Run failed", "group scrap*"]."""
    described = []
    if silence.rule_id:
        described.append(f"rule {silence.rule}")
    if silence.source_id and silence.source:
        where = silence.source.deployment.name if silence.source.deployment else "pushed"
        described.append(f"source {silence.source.key} ({where})")
    if silence.deployment_id:
        described.append(f"deployment {silence.deployment}")
    if silence.group:
        described.append(f"group {silence.group}")
    if silence.tag_key:
        described.append(f"tag {silence.tag_key}={silence.tag_value or '*'}")
    if silence.severity:
        described.append(f"severity {silence.severity}")
    return described


def with_relations(silences: QuerySet[Silence]) -> QuerySet[Silence]:
    """What the silence pages and the API show of each: matchers' objects, alerts held now."""
    return silences.select_related(
        "rule", "source", "source__deployment", "deployment", "created_by"
    ).annotate(holding=Count("alerts", filter=Q(alerts__state__in=OPEN_STATES)))
