"""confops itself stopped working: beat, every worker or the poller stalled.

This kind is judged by the watcher (``confops/runtime/watchdog.py``), not by the rule engine's pass:
that pass is scheduled by beat, and a dead beat cannot report its own death. The watcher runs
from every worker's watcher thread and from the health probes, and reconciles the one alert of
this rule (subject: confops) with the same engine code, and sends its reminders and escalation
too. The rule row carries what operators tune at run time: on/off, severity, channels, cooldown,
escalation, runbook. Without channels of its own it goes to every enabled channel, and without
escalation channels it escalates to those (``alerts.engine.policy.channels_for``).
"""

from __future__ import annotations

from datetime import datetime

from alerts.choices import RuleTarget
from alerts.rules.base import DeploymentHistory, Finding, Params, RuleKind, SourceHistory, register

KIND = "confops_stalled"


class ConfopsStalledParams(Params):
    """None: the thresholds are settings the health endpoints share (see the class)."""


@register
class ConfopsStalled(RuleKind):
    """Thresholds come from the settings (``HEARTBEAT_STALE_SECONDS``,
    ``WATCHER_STALE_POLL_INTERVALS``, ``WATCHER_STALE_POLL_FLOOR_SECONDS``): the same values
    the health endpoints report with, so the page and the alert never disagree."""

    name = KIND
    label = "Stalled confops: beat, workers or poller"
    target = RuleTarget.CONFOPS
    internal = True
    params = ConfopsStalledParams

    def evaluate_source(self, history: SourceHistory, params: Params, now: datetime) -> None:
        return None  # about confops, never about a source

    def evaluate_deployment(
        self, history: DeploymentHistory, params: Params, now: datetime
    ) -> Finding | None:
        return None  # a deployment Dagster being down is ``deployment_unreachable``'s
