"""No success for longer than expected."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from alerts.rules._common import MAX_HOURS, MAX_MINUTES, iso, limits
from alerts.rules.base import Finding, Loosening, Params, RuleKind, SourceHistory, register
from confops.common.formatting import number, span


class StaleParams(Params):
    max_age_hours: Annotated[float, limits(gt=0, le=MAX_HOURS)] = 24
    # Runs end a little earlier or later each day; without grace a daily job would go stale
    # for a few minutes whenever today's run ends later than yesterday's.
    grace_minutes: Annotated[float, limits(ge=0, le=MAX_MINUTES)] = 30


@register
class Stale(RuleKind):
    """Fires when the last success is older than max_age + grace; clears at the next success.

    A source that never succeeded is measured from when confops first saw it, so a new source
    gets the same allowance instead of being stale at once.
    """

    name = "stale"
    consequence = True
    label = "Stale (no recent success)"
    params = StaleParams
    overridable = ("max_age_hours", "grace_minutes")
    time_based = True

    def loosened(self, parameters: dict[str, Any]) -> Loosening:
        """Half as long again."""
        current = float(parameters.get("max_age_hours", 24))
        return Loosening("max_age_hours", current, current * 1.5)

    def freshness_limit(self, params: StaleParams) -> timedelta:
        return timedelta(hours=params.max_age_hours, minutes=params.grace_minutes)

    def evaluate_source(
        self, history: SourceHistory, params: StaleParams, now: datetime
    ) -> Finding | None:
        last_success = latest_success(history)
        reference = last_success or history.first_seen_at
        allowed = self.freshness_limit(params)
        if now <= reference + allowed:
            return None
        age = span((now - reference).total_seconds())
        limit = f"limit {number(params.max_age_hours)} h + {number(params.grace_minutes)} min"
        summary = (
            f"{history.key} last succeeded {age} ago ({limit})"
            if last_success
            else f"{history.key} has not succeeded in the {age} since it was first seen ({limit})"
        )
        return Finding(
            summary=summary,
            since=reference + allowed,
            details={
                "last_success_at": iso(last_success),
                "first_seen_at": iso(history.first_seen_at),
                "age_hours": round((now - reference).total_seconds() / 3600, 2),
                "max_age_hours": params.max_age_hours,
                "grace_minutes": params.grace_minutes,
            },
        )


def latest_success(history: SourceHistory) -> datetime | None:
    """The newer of the stored last success and any success in the window (they may lag)."""
    moments = [run.at for run in history.successes() if run.at is not None]
    if history.last_success_at is not None:
        moments.append(history.last_success_at)
    return max(moments, default=None)
