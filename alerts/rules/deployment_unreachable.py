"""confops cannot reach a deployment's Dagster webserver."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from alerts.choices import RuleTarget
from alerts.rules._common import MAX_MINUTES, first_line, iso, limits
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, register
from confops.common.formatting import span


class DeploymentUnreachableParams(Params):
    for_minutes: Annotated[float, limits(gt=0, le=MAX_MINUTES)] = Field(
        2, description="How long polls of the deployment must keep failing before it fires."
    )


@register
class DeploymentUnreachable(RuleKind):
    """Fires once polls have failed for ``for_minutes`` (at exactly that age it fires: the
    limit is the tolerated time, reached not exceeded); clears at the next successful poll.

    A single failed poll is a blip; the age threshold keeps restarts of the webserver quiet.
    Disabled deployments are not polled and never fire.
    """

    name = "deployment_unreachable"
    label = "Deployment unreachable"
    target = RuleTarget.DEPLOYMENT
    params = DeploymentUnreachableParams
    time_based = True

    def threshold(self, params: DeploymentUnreachableParams) -> str:
        """How long polls fail before it fires."""
        return f"for {span(params.for_minutes * 60)}"

    def next_deployment_change(
        self, history: DeploymentHistory, params: DeploymentUnreachableParams, now: datetime
    ) -> datetime | None:
        """When failing polls reach the limit; once reached, only a poll changes it."""
        since = history.failing_since
        if not history.enabled or since is None:
            return None
        fires_at = since + timedelta(minutes=params.for_minutes)
        return fires_at if fires_at > now else None

    def evaluate_deployment(
        self, history: DeploymentHistory, params: DeploymentUnreachableParams, now: datetime
    ) -> Finding | None:
        since = history.failing_since
        limit = timedelta(minutes=params.for_minutes)
        if not history.enabled or since is None or now - since < limit:
            return None
        error = first_line(history.last_error) or "no error message"
        return Finding(
            summary=f"{history.name} unreachable for {span((now - since).total_seconds())} "
            f"({history.consecutive_failures} failed polls): {error}",
            since=since + limit,
            details={
                "failing_since": iso(since),
                "last_success_at": iso(history.last_success_at),
                "consecutive_failures": history.consecutive_failures,
                "last_error": history.last_error,
            },
        )
