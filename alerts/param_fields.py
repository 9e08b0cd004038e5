"""Typed form fields for a rule kind's parameters, generated from its ``Params`` schema.

A person tunes a threshold in a number box with its unit and bounds, not in a JSON text box:
each parameter of the selected kind becomes a field (numbers with ``min``/``max`` from the
kind's ``limits``, booleans as checkboxes, literals as choices), named ``param__<name>``. The
stored ``parameters`` JSON stays the storage; a form that shows these fields writes back only
what differs from the kind's defaults, keeping the keys the rule already stored. The admin's
rule form and the portal's rule page both use this one home.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from django import forms
from pydantic.fields import FieldInfo

from alerts.rules._common import Limits
from alerts.rules.base import ParamsError, RuleKind
from confops.common.formatting import number

PREFIX = "param__"
MARKER = "_param_kind"  # posted with the typed fields: the kind they were generated for

# What a parameter's name says about its unit, when the kind does not say it itself
# (``json_schema_extra={"unit": ...}`` on its ``Field``).
UNIT_SUFFIXES = {
    "_minutes": "minutes",
    "_hours": "hours",
    "_seconds": "seconds",
    "_days": "days",
    "_runs": "runs",
    "percent": "%",
    "minutes": "minutes",
}


def form_name(parameter: str) -> str:
    return PREFIX + parameter


def is_typed(name: str) -> bool:
    """A field this module adds (not a model field)."""
    return name.startswith(PREFIX) or name == MARKER


def unit_of(name: str, info: FieldInfo) -> str:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("unit"), str):
        return str(extra["unit"])
    return next((unit for suffix, unit in UNIT_SUFFIXES.items() if name.endswith(suffix)), "")


def unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """The bare type, its ``Annotated`` metadata, and whether ``None`` is allowed."""
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else str
    metadata: list[Any] = []
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *metadata = typing.get_args(annotation)
    return annotation, metadata, optional


def bounds_text(bounds: Limits | None, unit: str) -> str:
    """ "above 0 and at most 100%", "at least 1 runs", "" for none."""
    if bounds is None:
        return ""
    low = f"above {number(bounds.gt)}" if bounds.gt is not None else ""
    low = low or (f"at least {number(bounds.ge)}" if bounds.ge is not None else "")
    high = f"at most {number(bounds.le)}" if bounds.le is not None else ""
    text = " and ".join(part for part in (low, high) if part)
    if not text or not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def help_for(name: str, info: FieldInfo, bounds: Limits | None, unit: str, optional: bool) -> str:
    parts = [info.description or ""]
    limit = bounds_text(bounds, unit)
    if limit:
        parts.append(f"Must be {limit}.")
    if not info.is_required():
        default = info.default
        shown = "none" if default is None else default
        if isinstance(default, tuple):
            shown = ", ".join(default) or "none"
        parts.append(f"Default: {shown}{' ' + unit if unit and default is not None else ''}.")
    if optional:
        parts.append("Leave empty for none.")
    return " ".join(part for part in parts if part)


def number_field(base: Any, bounds: Limits | None, required: bool, label: str) -> forms.Field:
    attrs: dict[str, Any] = {"step": "1" if base is int else "any"}
    if bounds is not None:
        low = bounds.ge if bounds.ge is not None else bounds.gt
        if low is not None:
            attrs["min"] = low + 1 if base is int and bounds.ge is None else low
        if bounds.le is not None:
            attrs["max"] = bounds.le
    widget = forms.NumberInput(attrs=attrs)
    if base is int:
        return forms.IntegerField(required=required, label=label, widget=widget)
    return forms.FloatField(required=required, label=label, widget=widget)


def field_for(name: str, info: FieldInfo) -> forms.Field:
    """One parameter as a form field (the help says the unit, bounds and default)."""
    base, metadata, optional = unwrap(info.annotation)
    # pydantic moves a plain field's ``Annotated`` metadata to ``info.metadata``.
    bounds = next((m for m in [*metadata, *info.metadata] if isinstance(m, Limits)), None)
    unit = unit_of(name, info)
    label = name.replace("_", " ").capitalize() + (f" ({unit})" if unit else "")
    required = info.is_required() and not optional
    field: forms.Field
    if base is bool:
        field = forms.BooleanField(required=False, label=label)
    elif base in (int, float):
        field = number_field(base, bounds, required, label)
    elif typing.get_origin(base) is Literal:
        choices = [(value, value) for value in typing.get_args(base)]
        field = forms.ChoiceField(choices=choices, required=required, label=label)
    elif typing.get_origin(base) is tuple:
        item = typing.get_args(base)[0]
        if typing.get_origin(item) is Literal:
            choices = [(value, value) for value in typing.get_args(item)]
            field = forms.MultipleChoiceField(
                choices=choices, required=False, label=label, widget=forms.CheckboxSelectMultiple
            )
        else:
            field = forms.CharField(required=False, label=label + " (comma-separated)")
    else:
        field = forms.CharField(required=required, label=label)
    field.help_text = help_for(name, info, bounds, unit, optional)
    return field


def param_fields(kind: RuleKind) -> dict[str, forms.Field]:
    """The kind's parameters as form fields, in the order its ``Params`` declares them."""
    return {
        form_name(name): field_for(name, info) for name, info in kind.params.model_fields.items()
    }


def initial_values(kind: RuleKind, stored: dict[str, Any]) -> dict[str, Any]:
    """What the fields show: the stored value, else the kind's default."""
    values: dict[str, Any] = {}
    for name, info in kind.params.model_fields.items():
        value = stored.get(name, None if info.is_required() else info.default)
        if isinstance(value, list | tuple) and not isinstance(
            field_for(name, info), forms.MultipleChoiceField
        ):
            value = ", ".join(str(v) for v in value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 800, not 800.0, for a bound saved from a number box
        values[form_name(name)] = value
    return values


def typed_value(field: forms.Field, value: Any) -> Any:
    if isinstance(field, forms.MultipleChoiceField):
        return list(value or [])
    if isinstance(field, forms.CharField) and field.label and "comma-separated" in field.label:
        return [part.strip() for part in str(value or "").split(",") if part.strip()]
    if isinstance(field, forms.CharField) and value == "":
        return None
    return value


def merged_parameters(
    kind: RuleKind, fields: dict[str, forms.Field], cleaned: dict[str, Any], stored: dict[str, Any]
) -> dict[str, Any]:
    """``stored`` with the typed values: a value is written when the rule already stored that
    key or it differs from the kind's default; an emptied optional field removes its key."""
    result = dict(stored)
    for name, info in kind.params.model_fields.items():
        key = form_name(name)
        if key not in cleaned:
            continue  # refused by the field itself; its error is already on the form
        value = typed_value(fields[key], cleaned[key])
        default = None if info.is_required() else info.default
        if value is None:
            result.pop(name, None)
        elif name in stored or not equal(value, default):
            result[name] = value
    return result


def equal(value: Any, default: Any) -> bool:
    if isinstance(default, tuple):
        return list(value) == list(default)
    return bool(value == default)


def apply_to_form(
    form: forms.BaseForm, kind: RuleKind, stored: dict[str, Any]
) -> dict[str, Any] | None:
    """Fold the form's typed fields into parameters and validate them with the kind: each
    message lands on its field ("Must be at most 100") and the other inputs stay as typed.
    None when the parameters are invalid (the errors are on the form)."""
    fields = {name: form.fields[name] for name in form.fields if name.startswith(PREFIX)}
    parameters = merged_parameters(kind, fields, form.cleaned_data, stored)
    try:
        kind.parse_params(parameters)
    except ParamsError as exc:
        for name, message in exc.messages.items():
            target = form_name(name) if form_name(name) in form.fields else None
            form.add_error(target, f"{name}: {message}")
        return None
    return parameters
