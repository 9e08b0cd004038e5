"""The registry of rule kinds: one module per kind, named alike, with defaults that validate."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest

import alerts.rules
from alerts.choices import RuleTarget
from alerts.rules.base import (
    KINDS,
    BoundsBand,
    DropBand,
    Params,
    ParamsError,
    RuleKind,
    all_kinds,
    cause_kinds,
    consequence_kinds,
    internal_kinds,
    kind,
    kinds_answering,
)
from tests.alerts.rules.factories import NOW, deployment, history

SOURCE_KINDS = {
    "run_failed",
    "consecutive_failures",
    "stale",
    "missed_schedule",
    "volume_drop",
    "volume_anomaly",
    "volume_bounds",
    "duration",
    "check_failed",
    "metadata_threshold",
    "run_never_finished",
}
DEPLOYMENT_KINDS = {
    "tick_failed",
    "deployment_unhealthy",
    "deployment_unreachable",
    "run_stuck",
    "instigator_stopped",
}
# Judged by the watcher (alerts/engine/watcher.py), not by the engine's pass: internal.
CONFOPS_KINDS = {"confops_stalled"}
TIME_BASED = {
    "stale",
    "missed_schedule",
    "duration",
    "deployment_unreachable",
    "run_never_finished",
    "run_stuck",
}
# A failure that explains the data alerts (consequences) on its source and downstream.
CAUSES = {"run_failed", "consecutive_failures"}
CONSEQUENCES = {
    "stale",
    "missed_schedule",
    "volume_drop",
    "volume_anomaly",
    "volume_bounds",
    "check_failed",
    "metadata_threshold",
}
# Kinds that cannot judge anything without being told what: {} must name what is missing.
REQUIRED = {"metadata_threshold": ("metric", "value"), "volume_bounds": ("min", "max")}
MINIMAL: dict[str, dict[str, Any]] = {
    "metadata_threshold": {"metric": "duplicates", "value": 0},
    "volume_bounds": {"min": 1},
}
ALL = sorted(SOURCE_KINDS | DEPLOYMENT_KINDS | CONFOPS_KINDS)


def kind_modules() -> list[str]:
    """Modules of alerts.rules other than the contract and private helpers."""
    names = [module.name for module in pkgutil.iter_modules(alerts.rules.__path__)]
    return [name for name in names if name != "base" and not name.startswith("_")]


def test_the_kinds_are_the_ones_documented() -> None:
    assert set(all_kinds()) == set(ALL)
    assert sorted(kind_modules()) == ALL


@pytest.mark.parametrize("module_name", ALL)
def test_every_module_registers_exactly_one_kind_named_after_it(module_name: str) -> None:
    module = importlib.import_module(f"alerts.rules.{module_name}")
    defined = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, RuleKind) and obj.__module__ == module.__name__
    ]
    assert len(defined) == 1
    assert defined[0].name == module_name
    assert type(all_kinds()[module_name]) is defined[0]


def test_helper_modules_register_nothing() -> None:
    all_kinds()
    before = dict(KINDS)
    importlib.import_module("alerts.rules._common")
    assert before == KINDS
    assert all(type(k).__module__ != "alerts.rules._common" for k in KINDS.values())


@pytest.mark.parametrize("name", sorted(set(ALL) - set(REQUIRED)))
def test_defaults_validate(name: str) -> None:
    assert isinstance(kind(name).parse_params({}), kind(name).params)


@pytest.mark.parametrize(("name", "fields"), sorted(REQUIRED.items()))
def test_kinds_with_required_parameters_name_them(name: str, fields: tuple[str, ...]) -> None:
    with pytest.raises(ParamsError) as caught:
        kind(name).parse_params({})
    assert all(field in str(caught.value) for field in fields), str(caught.value)


@pytest.mark.parametrize("name", ALL)
def test_every_kind_describes_itself(name: str) -> None:
    impl = kind(name)
    assert impl.label and impl.label[0].isupper()
    assert issubclass(impl.params, Params) and impl.params is not Params
    assert impl.params.model_config.get("extra") == "forbid"
    assert set(impl.overridable) <= set(impl.params.model_fields)
    assert impl.time_based is (name in TIME_BASED)
    expected = RuleTarget.DEPLOYMENT if name in DEPLOYMENT_KINDS else RuleTarget.SOURCE
    expected = RuleTarget.CONFOPS if name in CONFOPS_KINDS else expected
    assert impl.target == expected
    assert type(impl).__doc__


@pytest.mark.parametrize("name", ALL)
def test_every_kind_refuses_unknown_parameters(name: str) -> None:
    with pytest.raises(ParamsError) as caught:
        kind(name).parse_params({"colour": "blue"})
    assert caught.value.messages.get("colour") == "is not a parameter of this rule kind"


@pytest.mark.parametrize("name", sorted(SOURCE_KINDS))
def test_source_kinds_judge_a_new_source_without_runs_as_fine(name: str) -> None:
    impl = kind(name)
    params = impl.parse_params(MINIMAL.get(name, {}))
    assert impl.evaluate_source(history(first_seen_at=NOW), params, NOW) is None


@pytest.mark.parametrize("name", sorted(DEPLOYMENT_KINDS))
def test_deployment_kinds_judge_a_healthy_deployment_as_fine(name: str) -> None:
    impl = kind(name)
    assert impl.evaluate_deployment(deployment(), impl.parse_params({}), NOW) is None


def test_each_kind_says_whether_it_is_a_cause_a_consequence_or_internal() -> None:
    assert cause_kinds() == CAUSES
    assert consequence_kinds() == CONSEQUENCES
    assert internal_kinds() == CONFOPS_KINDS


def test_only_stale_answers_how_long_a_source_may_go_without_a_success() -> None:
    assert kinds_answering("freshness_limit") == {"stale"}
    limit = kind("stale").freshness_limit(kind("stale").parse_params({"max_age_hours": 2}))
    assert limit is not None and limit.total_seconds() == 2 * 3600 + 30 * 60


def test_volume_kinds_draw_their_bands_on_the_metric_chart() -> None:
    assert kinds_answering("chart_band") == {"volume_drop", "volume_bounds"}
    drop = kind("volume_drop").chart_band(kind("volume_drop").parse_params({"percent": 40}))
    # The default metric is "auto": the chart draws it on the source's chosen volume key.
    assert drop == DropBand("auto", 40, window_runs=7, min_history=3)
    bounds = kind("volume_bounds").chart_band(kind("volume_bounds").parse_params({"min": 5}))
    assert bounds == BoundsBand("auto", minimum=5, maximum=None)
    chosen = kind("volume_bounds").parse_params({"metric": "Number of records", "min": 5})
    assert kind("volume_bounds").chart_band(chosen) == BoundsBand("Number of records", 5, None)
    assert kind("run_failed").chart_band(kind("run_failed").parse_params({})) is None
