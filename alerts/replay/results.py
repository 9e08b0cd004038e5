"""What a replay found (``ReplayResult``: the alerts that fired, the notifications that would
have been sent) and its renderings: the JSON of ``replay --json``, the wire text the sandbox's
child prints, and the text tables the commands print."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the replay file writes times."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class AlertRow:
    rule: str
    kind: str
    source: str  # the source key, or the deployment name for deployment alerts
    severity: str
    fired_at: str
    resolved_at: str | None


@dataclass(frozen=True)
class NotificationRow:
    rule: str
    sources: list[str]
    event: str
    channel: str
    at: str
    # The incident the message is about (its id in the replay's sandbox) and its title, which
    # names a storm's shared cause.
    incident: int | None = None
    title: str = ""


@dataclass
class ReplayResult:
    """What would have fired and been sent; ``stats`` says what was simulated."""

    alerts: list[AlertRow] = field(default_factory=list)
    notifications: list[NotificationRow] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Exactly the documented output of ``replay --json``."""
        return {
            "alerts": [asdict(row) for row in self.alerts],
            "notifications": [asdict(row) for row in self.notifications],
        }

    def to_wire(self) -> str:
        return json.dumps({**self.to_json(), "stats": self.stats})

    @classmethod
    def from_wire(cls, text: str) -> ReplayResult:
        data = json.loads(text)
        return cls(
            alerts=[AlertRow(**row) for row in data["alerts"]],
            notifications=[NotificationRow(**row) for row in data["notifications"]],
            stats=data.get("stats", {}),
        )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    padded = [
        [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        for row in [headers, *rows]
    ]
    return [("  " + "  ".join(cells)).rstrip() for cells in padded]


def short(moment: str | None) -> str:
    """2026-11-01T02:00:00Z as 2026-11-01 02:00:00 for tables; None as a dash."""
    return moment.replace("T", " ").removesuffix("Z") if moment else "-"


def notified(alert: AlertRow, notifications: Sequence[NotificationRow]) -> bool:
    """Whether a message of its rule named its subject while it was open: an alert held back
    by a silence, an outage or an upstream cause all its life was recorded but never sent."""
    end = alert.resolved_at or "9999"
    return any(
        n.rule == alert.rule and alert.source in n.sources and alert.fired_at <= n.at <= end
        for n in notifications
    )


def render_text(result: ReplayResult) -> str:
    stats = result.stats
    out = [
        f"Replayed {stats.get('lines', 0)} lines ({stats.get('sources', 0)} sources, "
        f"{stats.get('rules', 0)} rules) from {short(stats.get('start'))} to "
        f"{short(stats.get('end'))} UTC in steps of {stats.get('step_s', '?')} s: "
        f"{stats.get('steps', 0)} steps, {stats.get('evaluations', 0)} full evaluations, "
        f"{stats.get('seconds', 0)} s.",
        "",
        f"Alerts that fired: {len(result.alerts)}",
    ]
    if result.alerts:
        out += table(
            ["RULE", "KIND", "SOURCE", "SEVERITY", "FIRED", "RESOLVED", "NOTIFIED"],
            [
                [
                    a.rule,
                    a.kind,
                    a.source,
                    a.severity,
                    short(a.fired_at),
                    short(a.resolved_at),
                    "yes" if notified(a, result.notifications) else "no (held back)",
                ]
                for a in result.alerts
            ],
        )
    out += ["", f"Notifications: {len(result.notifications)}"]
    if result.notifications:
        out += table(
            ["AT", "EVENT", "RULE", "SOURCES", "CHANNEL"],
            [
                [short(n.at), n.event, n.rule, ", ".join(n.sources), n.channel]
                for n in result.notifications
            ],
        )
    return "\n".join(out) + "\n"
