"""Rule specifications: the rules a replay runs, from a JSON rules file (``load_rules_file``)
or from the database (``export_rules``), and the sandbox's channels they notify."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)

from alerts.choices import ChannelKind, ScopeKind, Severity
from alerts.models import AlertRule
from alerts.replay.lines import Name, Numbered, ReplayInputError, SilenceLine, describe
from confops.common.field_errors import summary
from monitoring.models import Deployment

# The name of the one deployment of the sandbox; deployment-scoped rules cover it.
REPLAY_DEPLOYMENT = "replay"


class ChannelSpec(BaseModel):
    """A channel of the sandbox; the default ones are named after their kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    kind: ChannelKind
    min_severity: Severity = Severity.INFO


class OverrideSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Name
    parameters: dict[str, Any] = Field(default_factory=dict)
    enabled: StrictBool = True


ChannelRef = Name | ChannelSpec


class RuleSpec(BaseModel):
    """One rule as the replay needs it: the fields of ``AlertRule`` that judge and notify.

    ``channels`` absent means one channel of each kind (email, slack, webhook; severity info);
    a channel is named by a string (one of those, or a channel defined as an object elsewhere
    in the file) or defined by an object ``{"name", "kind", "min_severity"}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    kind: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    severity: Severity = Severity.WARNING
    enabled: StrictBool = True
    description: str = ""
    cooldown_minutes: StrictInt = 30
    pending_minutes: StrictInt = 0
    resolve_hold_minutes: StrictInt = 0
    escalate_after_minutes: StrictInt | None = None
    include_asset_jobs: StrictBool = False
    scope: ScopeKind = ScopeKind.ALL
    scope_group: str = ""
    scope_tags: dict[str, str] = Field(default_factory=dict)
    scope_sources: list[Name] = Field(default_factory=list)
    overrides: list[OverrideSpec] = Field(default_factory=list)
    channels: list[ChannelRef] | None = None
    escalation_channels: list[ChannelRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def valid_as_a_rule(self) -> RuleSpec:
        """Refused as the admin and the API refuse it: the model's own validation of an
        unsaved ``AlertRule`` (each override judged on the parameters it would run with)."""
        refuse_invalid(as_rule(self, self.parameters), "")
        for override in self.overrides:
            parameters = {**self.parameters, **override.parameters}
            refuse_invalid(as_rule(self, parameters), f"overrides[{override.source}]: ")
        return self


def as_rule(spec: RuleSpec, parameters: dict[str, Any]) -> AlertRule:
    """An unsaved rule with the spec's fields; a deployment scope covers the replay's."""
    deployment = Deployment(name=REPLAY_DEPLOYMENT) if spec.scope == ScopeKind.DEPLOYMENT else None
    return AlertRule(
        name=spec.name,
        kind=spec.kind,
        parameters=parameters,
        severity=spec.severity,
        enabled=spec.enabled,
        description=spec.description,
        cooldown_minutes=spec.cooldown_minutes,
        pending_minutes=spec.pending_minutes,
        resolve_hold_minutes=spec.resolve_hold_minutes,
        escalate_after_minutes=spec.escalate_after_minutes,
        include_asset_jobs=spec.include_asset_jobs,
        scope=spec.scope,
        scope_group=spec.scope_group,
        scope_tags=spec.scope_tags,
        scope_deployment=deployment,
    )


def refuse_invalid(rule: AlertRule, prefix: str) -> None:
    """``full_clean`` as ``operations.save_rule`` calls it, but without the database: the
    name's uniqueness is the sandbox's (the rules file's), not the configured rules'."""
    try:
        rule.full_clean(validate_unique=False, validate_constraints=False)
    except DjangoValidationError as exc:
        fields = {name: " ".join(texts) for name, texts in exc.message_dict.items()}
        raise ValueError(prefix + summary(fields)) from None


# The sandbox's channels when the rules name none: one per kind that every message reaches
# (the two-way kinds would add acknowledge rows and the long tail nothing new), so a backtest's
# "messages sent" counts what one email, one Slack and one webhook receiver would get.
REPLAY_CHANNEL_KINDS = (ChannelKind.EMAIL, ChannelKind.SLACK, ChannelKind.WEBHOOK)


def default_channels() -> list[ChannelSpec]:
    return [ChannelSpec(name=str(kind), kind=kind) for kind in REPLAY_CHANNEL_KINDS]


def validate_rules(raw: Any, origin: str = "rules file") -> list[RuleSpec]:
    """Rule objects as specs; names must be unique and channels consistent."""
    if not isinstance(raw, list):
        raise ReplayInputError(f"{origin}: must be a JSON list of rule objects")
    specs = []
    for index, item in enumerate(raw, start=1):
        label = item.get("name") if isinstance(item, dict) else None
        try:
            specs.append(RuleSpec.model_validate(item))
        except ValidationError as exc:
            named = f" ({label!r})" if label else ""
            raise ReplayInputError(
                f"{origin}: rule {index}{named}: {describe(exc, 'rule')}"
            ) from None
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ReplayInputError(f"{origin}: rule names must be unique: {', '.join(duplicates)}")
    channel_table(specs, origin)
    return [spec for spec in specs if spec.enabled]


def channel_table(specs: Sequence[RuleSpec], origin: str = "rules file") -> dict[str, ChannelSpec]:
    """Every channel the rules use, by name: the defaults, then those defined by objects."""
    table = {channel.name: channel for channel in default_channels()}
    defined: dict[str, ChannelSpec] = {}
    refs: list[ChannelRef] = []
    for spec in specs:
        refs.extend([*(spec.channels or []), *spec.escalation_channels])
    for ref in refs:
        if isinstance(ref, ChannelSpec) and defined.setdefault(ref.name, ref) != ref:
            raise ReplayInputError(f"{origin}: channel {ref.name!r} is defined differently")
    table.update(defined)
    for ref in refs:
        if isinstance(ref, str) and ref not in table:
            raise ReplayInputError(
                f"{origin}: channel {ref!r} is neither email, slack, webhook nor defined as an "
                'object {"name", "kind", "min_severity"}'
            )
    return table


def load_rules_file(path: Path) -> list[RuleSpec]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReplayInputError(f"cannot read rules file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReplayInputError(f"rules file {path} is not valid JSON: {exc}") from None
    return validate_rules(raw, origin=f"rules file {path.name}")


def rule_spec(rule: AlertRule, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stored (or unsaved) rule as a rules-file object. Its channels are left out, so the
    replay's default channels hear it; escalation channels are kept by kind."""
    saved = rule.pk is not None
    spec: dict[str, Any] = {
        "name": rule.name or f"unsaved {rule.kind} rule",
        "kind": rule.kind,
        "parameters": {**rule.parameters, **(parameters or {})},
        "severity": rule.severity,
        "cooldown_minutes": rule.cooldown_minutes,
        "pending_minutes": rule.pending_minutes,
        "resolve_hold_minutes": rule.resolve_hold_minutes,
        "escalate_after_minutes": rule.escalate_after_minutes,
        "include_asset_jobs": rule.include_asset_jobs,
        "scope": rule.scope,
        "scope_group": rule.scope_group,
        "scope_tags": rule.scope_tags or {},
        "scope_sources": sorted(s.key for s in rule.scope_sources.all()) if saved else [],
        "overrides": [
            {"source": o.source.key, "parameters": o.parameters, "enabled": o.enabled}
            for o in rule.overrides.select_related("source")
        ]
        if saved
        else [],
        "escalation_channels": sorted({c.kind for c in rule.escalation_channels.all()})
        if saved
        else [],
    }
    return spec


def export_rules(rules: Iterable[AlertRule] | None = None) -> list[dict[str, Any]]:
    """Every enabled rule of the database (or the given ones) as rules-file objects."""
    if rules is None:
        rules = AlertRule.objects.filter(enabled=True).prefetch_related(
            "scope_sources", "escalation_channels"
        )
    return [rule_spec(rule) for rule in rules]


def check_references(parsed: list[Numbered], rules: Sequence[RuleSpec]) -> None:
    names = {rule.name for rule in rules}
    for item in parsed:
        line = item.line
        if isinstance(line, SilenceLine) and line.rule is not None and line.rule not in names:
            raise ReplayInputError(
                f"line {item.number}: rule {line.rule!r} is not among the replayed rules"
            )
