"""Schedules or sensors whose latest tick failed."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from alerts.choices import RuleTarget
from alerts.rules._common import first_line, iso, matches
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, TickSample, register


class TickFailedParams(Params):
    instigator: str | None = Field(
        None,
        description="Only schedules and sensors whose name matches this glob; empty for all.",
    )


@register
class TickFailed(RuleKind):
    """Fires while a matching schedule or sensor's latest tick is a FAILURE; clears when every
    one of them has ticked successfully (or skipped) since. Disabled deployments never fire."""

    name = "tick_failed"
    label = "Schedule or sensor tick failed"
    target = RuleTarget.DEPLOYMENT
    params = TickFailedParams

    def evaluate_deployment(
        self, history: DeploymentHistory, params: TickFailedParams, now: datetime
    ) -> Finding | None:
        failing = sorted(
            name
            for name, status in history.instigator_last_status.items()
            if status == "FAILURE" and matches(name, params.instigator)
        )
        if not history.enabled or not failing:
            return None
        ticks = newest_failed_ticks(history.failed_ticks, failing)
        newest = max(ticks.values(), key=lambda tick: tick.at, default=None)
        return Finding(
            summary=summary(history.name, failing, newest),
            # Only failed ticks are listed, not the good ones between them, so where the
            # current streak began is unknowable; the newest failure is a fact.
            since=newest.at if newest else now,
            details={
                "instigators": failing,
                "ticks": {
                    name: {"tick_id": t.tick_id, "at": iso(t.at), "error": t.error}
                    for name, t in ticks.items()
                },
            },
        )


def newest_failed_ticks(ticks: tuple[TickSample, ...], names: list[str]) -> dict[str, TickSample]:
    newest: dict[str, TickSample] = {}
    for tick in ticks:
        if tick.instigator in names:
            newest.setdefault(tick.instigator, tick)
    return newest


def summary(deployment: str, failing: list[str], newest: TickSample | None) -> str:
    error = first_line(newest.error) if newest else ""
    if len(failing) == 1:
        what = f"{newest.kind} {failing[0]}" if newest else failing[0]
        return f"{deployment}: {what} tick failed" + (f": {error}" if error else "")
    names = ", ".join(failing)
    latest = f"; newest error ({newest.instigator}): {error}" if newest and error else ""
    return f"{deployment}: {len(failing)} schedules/sensors failing ({names}){latest}"
