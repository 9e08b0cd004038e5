"""Deployments and notification channels declared in a YAML file, applied idempotently.

Like Grafana's provisioning: the file is reviewable and repeatable, a second apply changes
nothing, secrets come from the environment as ``${NAME}``. Reading builds a plan (create,
update or unchanged per object) without writing; applying writes the plan in one transaction
through the audited doors (``monitoring.operations.save_deployment``,
``alerts.operations.save_channel`` and ``save_rule``). Every error names the file, the path in
the document and its line, and is redacted of every value taken from the environment.
The format is documented in docs/install.md; deploy/confops.example.yaml is an example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from alerts import operations
from alerts.choices import Severity
from alerts.models import AlertRule, Channel
from confops.common.secrets import redact_text
from monitoring.models import Deployment
from monitoring.operations import save_deployment

ACTOR = "manage.py provision"  # who the audit trail says made the change
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Keys of each object: the model field each sets, and the type its value must have.
DEPLOYMENT_KEYS: dict[str, tuple[str, type]] = {
    "name": ("name", str),
    "graphql_url": ("graphql_url", str),
    "ui_url": ("ui_url", str),
    "poll_interval_seconds": ("poll_interval_seconds", int),
    "auth_header_name": ("auth_header_name", str),
    "auth_header_value": ("auth_header_value", str),
    "enabled": ("enabled", bool),
}
CHANNEL_KEYS: dict[str, tuple[str, type]] = {
    "name": ("name", str),
    "kind": ("kind", str),
    "enabled": ("enabled", bool),
    "default": ("is_default", bool),
    "min_severity": ("min_severity", str),
    "config": ("config", dict),
    "secret": ("secret", str),
    "route_owners": ("route_owners", list),
    "route_tags": ("route_tags", list),
}
ROUTING_KEYS = {"rules": list, "severities": list}
TOP_KEYS = {"deployments": list, "channels": list}
REQUIRED = {"deployment": ("name", "graphql_url"), "channel": ("name", "kind")}


class ProvisioningError(Exception):
    """A file that cannot be applied: where (file, line, path in the document) and why."""

    def __init__(self, file: str, line: int, where: str, message: str) -> None:
        super().__init__(f"{file}:{line}: {where}: {message}")


@dataclass
class Document:
    """The parsed file: its data, the line of every path in it, the environment's values used."""

    file: str
    data: dict[str, Any]
    lines: dict[str, int]
    secrets: set[str] = field(default_factory=set)

    def error(self, where: str, message: str) -> ProvisioningError:
        line = self.lines.get(where) or self.lines.get(where.rsplit(".", 1)[0], 1)
        return ProvisioningError(self.file, line, where, redact_text(message, self.secrets))


@dataclass
class Change:
    """What applying does to one object: create, update (the fields named) or nothing."""

    kind: str
    name: str
    action: str
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        detail = f" ({', '.join(self.fields)})" if self.action == "update" else ""
        return f"{self.kind} {self.name}: {self.action}{detail}"


@dataclass
class Plan:
    """The objects to save, in order, with what changes; applying saves the changed ones."""

    changes: list[Change] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    declared_default: dict[str, bool] = field(default_factory=dict)
    rule_channels: dict[int, tuple[AlertRule, list[str]]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def action(self, kind: str, name: str) -> str:
        return next(c.action for c in self.changes if (c.kind, c.name) == (kind, name))


# --- reading


def load(path: Path, environ: Mapping[str, str]) -> Document:
    """Parse the file keeping each value's line, with ``${NAME}`` taken from ``environ``."""
    file = str(path)
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvisioningError(file, 0, "(file)", str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise ProvisioningError(file, line, "(file)", f"not valid YAML: {exc}") from None
    document = Document(file, {}, {})
    if node is None:
        return document
    data = _value(node, "", document, environ)
    if not isinstance(data, dict):
        raise document.error("(document)", "expected a mapping with deployments and channels")
    document.data = data
    return document


def _value(node: yaml.Node, where: str, doc: Document, environ: Mapping[str, str]) -> Any:
    doc.lines[where or "(document)"] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node))
            path = f"{where}.{key}" if where else key
            if key in result:
                doc.lines[path] = key_node.start_mark.line + 1
                raise doc.error(path, "declared twice")
            result[key] = _value(value_node, path, doc, environ)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_value(n, f"{where}[{i}]", doc, environ) for i, n in enumerate(node.value)]
    value = _scalar(node)
    return _substitute(value, where, doc, environ) if isinstance(value, str) else value


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node)


def _substitute(text: str, where: str, doc: Document, environ: Mapping[str, str]) -> str:
    """``${NAME}`` replaced by the environment's value (kept as a secret to redact)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise doc.error(where, f"environment variable {name} is not set")
        doc.secrets.add(environ[name])
        return environ[name]

    return ENV_REF.sub(replace, text)


# --- planning


def plan(doc: Document) -> Plan:
    """What applying the document would change; reads the database, writes nothing."""
    _check_keys(doc, doc.data, "", TOP_KEYS)
    result = Plan()
    for i, item in enumerate(doc.data.get("deployments") or []):
        result.deployments.append(_deployment(doc, item, f"deployments[{i}]", result))
    for i, item in enumerate(doc.data.get("channels") or []):
        result.channels.append(_channel(doc, item, f"channels[{i}]", result))
    for i, item in enumerate(doc.data.get("channels") or []):
        _routing(doc, item, f"channels[{i}]", result)
    _unique(doc, "deployments", result.deployments)
    _unique(doc, "channels", result.channels)
    result.rule_channels = {
        pk: (rule, names)
        for pk, (rule, names) in result.rule_channels.items()
        if rule.pk is None or names != _channel_names(rule)
    }
    result.changes += [
        Change("rule", rule.name, "update", ["channels"])
        for rule, _ in sorted(result.rule_channels.values(), key=lambda pair: pair[0].name)
    ]
    return result


def _check_keys(doc: Document, item: Any, where: str, allowed: Mapping[str, Any]) -> None:
    if not isinstance(item, dict):
        raise doc.error(where or "(document)", "expected a mapping")
    for key, value in item.items():
        path = f"{where}.{key}" if where else key
        if key not in allowed:
            raise doc.error(path, f"unknown key (allowed: {', '.join(allowed)})")
        expected = allowed[key]
        expected = expected[1] if isinstance(expected, tuple) else expected
        if not _has_type(value, expected):
            raise doc.error(path, f"expected {TYPE_NAMES[expected]}")


TYPE_NAMES = {str: "a text", int: "a whole number", bool: "true or false", dict: "a mapping"}
TYPE_NAMES[list] = "a list"


def _has_type(value: Any, expected: type) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _required(doc: Document, item: dict[str, Any], where: str, kind: str) -> None:
    for key in REQUIRED[kind]:
        if key not in item:
            raise doc.error(where, f"{key} is required")


def _declare(
    doc: Document, obj: Any, item: dict[str, Any], where: str, keys: Mapping[str, Any]
) -> list[str]:
    """Set the declared fields; the names of those whose value changes. Undeclared fields keep
    their stored value (or the model's default for a new object)."""
    changed = []
    for key, (attribute, _) in keys.items():
        if key in item and getattr(obj, attribute) != item[key]:
            setattr(obj, attribute, item[key])
            changed.append(key)
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        by_attribute = {attribute: key for key, (attribute, _) in keys.items()}
        name, messages = next(iter(exc.message_dict.items()))
        key = by_attribute.get(name, "")
        raise doc.error(f"{where}.{key}" if key else where, "; ".join(messages)) from None
    return changed


def _deployment(doc: Document, item: Any, where: str, result: Plan) -> Deployment:
    _check_keys(doc, item, where, DEPLOYMENT_KEYS)
    _required(doc, item, where, "deployment")
    stored = Deployment.objects.filter(name=item["name"]).first()
    deployment = stored or Deployment(name=item["name"])
    changed = _declare(doc, deployment, item, where, DEPLOYMENT_KEYS)
    result.changes.append(_change("deployment", deployment.name, stored, changed))
    return deployment


def _channel(doc: Document, item: Any, where: str, result: Plan) -> Channel:
    _check_keys(doc, item, where, {**CHANNEL_KEYS, **ROUTING_KEYS})
    _required(doc, item, where, "channel")
    stored = Channel.objects.filter(name=item["name"]).first()
    channel = stored or Channel(name=item["name"])
    declared = {k: v for k, v in item.items() if k in CHANNEL_KEYS}
    changed = _declare(doc, channel, declared, where, CHANNEL_KEYS)
    if "default" in item:
        result.declared_default[channel.name] = item["default"]
    result.changes.append(_change("channel", channel.name, stored, changed))
    return channel


def _change(kind: str, name: str, stored: Any, changed: list[str]) -> Change:
    if stored is None:
        return Change(kind, name, "create")
    return Change(kind, name, "update" if changed else "unchanged", changed)


def _unique(doc: Document, key: str, objects: list[Any]) -> None:
    seen: set[str] = set()
    for i, obj in enumerate(objects):
        if obj.name in seen:
            raise doc.error(f"{key}[{i}].name", f"{obj.name!r} is declared twice")
        seen.add(obj.name)


def _routing(doc: Document, item: dict[str, Any], where: str, result: Plan) -> None:
    """A channel's ``rules`` (by name) and ``severities`` are the rules it is one of the
    channels of, exactly: it is added to them and taken off any other rule."""
    if "rules" not in item and "severities" not in item:
        return
    chosen = {rule.pk: rule for rule in _rules_named(doc, item.get("rules") or [], where)}
    severities = _severities(doc, item.get("severities") or [], where)
    chosen |= {rule.pk: rule for rule in AlertRule.objects.filter(severity__in=severities)}
    name = item["name"]
    for rule in AlertRule.objects.prefetch_related("channels").order_by("name"):
        names = result.rule_channels.get(rule.pk, (rule, _channel_names(rule)))[1]
        wanted = rule.pk in chosen
        if (name in names) != wanted:
            names = sorted({*names, name} if wanted else set(names) - {name})
            result.rule_channels[rule.pk] = (chosen.get(rule.pk, rule), names)


def _channel_names(rule: AlertRule) -> list[str]:
    return sorted(channel.name for channel in rule.channels.all())


def _rules_named(doc: Document, names: list[Any], where: str) -> list[AlertRule]:
    rules = []
    for i, name in enumerate(names):
        rule = AlertRule.objects.filter(name=name).first() if isinstance(name, str) else None
        if rule is None:
            raise doc.error(f"{where}.rules[{i}]", "no rule has this name")
        rules.append(rule)
    return rules


def _severities(doc: Document, values: list[Any], where: str) -> list[str]:
    for i, value in enumerate(values):
        if value not in Severity.values:
            raise doc.error(f"{where}.severities[{i}]", f"one of {', '.join(Severity.values)}")
    return [str(value) for value in values]


# --- applying


@transaction.atomic
def apply(result: Plan, now: datetime) -> None:
    """Save what changed, through the audited doors, all or nothing."""
    for deployment in result.deployments:
        if result.action("deployment", deployment.name) != "unchanged":
            save_deployment(deployment, None, now, actor_label=ACTOR)
    for channel in result.channels:
        if result.action("channel", channel.name) != "unchanged":
            _save_channel(channel, result.declared_default.get(channel.name), now)
    by_name = {channel.name: channel for channel in Channel.objects.all()}
    for rule, names in result.rule_channels.values():
        channels = [by_name[name] for name in names]
        operations.save_rule(rule, {"channels": channels}, None, now, actor_label=ACTOR)


def _save_channel(channel: Channel, default: bool | None, now: datetime) -> None:
    operations.save_channel(channel, None, now, actor_label=ACTOR)
    # The first channel created becomes a default one; the file may say otherwise.
    if default is not None and channel.is_default != default:
        channel.is_default = default
        operations.save_channel(channel, None, now, actor_label=ACTOR)
