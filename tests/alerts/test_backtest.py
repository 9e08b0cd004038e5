"""Backtest: stored history exported as replay lines, replayed with one rule, alerts counted."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from alerts.choices import ScopeKind
from alerts.models import AlertRule, RuleOverride
from alerts.replay.backtest import (
    BacktestError,
    backtest,
    backtest_spec,
    covered_sources,
    history_lines,
    source_labels,
)
from alerts.replay.lines import RunLine, parse_lines
from monitoring.models import CheckResult, Instigator, Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db
# Noon today: each window then starts at noon, after that day's 02:05 run.
NOW = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
DAYS = 40  # of stored history; the low night is 5 days ago, the failure 10 days ago


def night(days_ago: int) -> datetime:
    return (NOW - timedelta(days=days_ago)).replace(hour=2, minute=5)


@pytest.fixture
def confradar() -> dict[str, Source]:
    """wikicfp and elra feed store_conferences, nightly at 02:00 for 40 days. wikicfp delivers
    44 % less five nights ago; elra failed ten nights ago; store's count check failed once."""
    dep = f.deployment()
    Instigator.objects.create(
        deployment=dep,
        kind="schedule",
        name="daily_crawl_schedule",
        code_location="confradar",
        repository="__repository__",
        cron="0 2 * * *",
        timezone="UTC",
        status="RUNNING",
    )
    names = ["daily_crawl_schedule"]
    wikicfp = f.source("wikicfp_conferences", dep, schedule_names=names)
    elra = f.source("elra_conferences", dep, schedule_names=names)
    store = f.source("store_conferences", dep, schedule_names=names, group_name="storage")
    store.upstream.set([wikicfp, elra])
    for days_ago in range(DAYS, 0, -1):
        f.run(wikicfp, night(days_ago), metrics={"count": 700 if days_ago == 5 else 1240})
        f.run(elra, night(days_ago), ok=days_ago != 10, metrics={"count": 95})
        f.run(store, night(days_ago) + timedelta(minutes=2), metrics={"count": 1200})
    CheckResult.objects.create(
        source=store,
        check_name="min_count",
        passed=False,
        severity="ERROR",
        description="only 3 rows",
        evaluated_at=night(3) + timedelta(minutes=3),
    )
    return {"wikicfp": wikicfp, "elra": elra, "store": store}


def volume_rule() -> AlertRule:
    return AlertRule.objects.get(name="Volume drop")


def test_stored_history_becomes_replay_lines(confradar: dict[str, Source]) -> None:
    sources = covered_sources(volume_rule())
    labels = source_labels(sources)
    lines = history_lines(sources, labels, NOW - timedelta(days=7), NOW)
    parse_lines([json.dumps(line) for line in lines])  # every exported line is valid
    runs = [line for line in lines if "status" in line]
    assert len(runs) == 6 * 3  # one line per RunAsset of the six nights since noon 7 days ago
    failed = [line for line in runs if line["status"] == "failure"]
    assert failed == []  # the failure was ten days ago, outside this window
    wikicfp = [line for line in runs if line["source"] == "wikicfp_conferences"]
    assert {line["metrics"]["count"] for line in wikicfp} == {700, 1240}
    assert all({"run_id", "started_at", "duration_s"} <= set(line) for line in runs)
    store = [line for line in lines if line.get("source") == "store_conferences"]
    declared = [line for line in store if line.get("type") == "source"]
    assert declared[0]["upstream"] == ["elra_conferences", "wikicfp_conferences"]
    assert declared[0]["group"] == "storage"
    assert declared[1]["schedule"] == "0 2 * * *"
    assert declared[1]["schedule_name"] == "confradar/daily_crawl_schedule"
    [check] = [line for line in lines if line.get("type") == "check"]
    assert (check["check"], check["passed"], check["severity"]) == ("min_count", False, "ERROR")


def test_failures_keep_their_error_and_retries(confradar: dict[str, Source]) -> None:
    f.run(confradar["elra"], NOW - timedelta(hours=3), ok=False, error="503", will_retry=True)
    sources = covered_sources(volume_rule())
    lines = history_lines(sources, source_labels(sources), NOW - timedelta(days=11), NOW)
    failures = [
        line for line in parse_lines([json.dumps(x) for x in lines]) if is_failure(line.line)
    ]
    assert [(x.line.error, x.line.will_retry) for x in failures if isinstance(x.line, RunLine)] == [
        ("HTTP 503 from upstream", False),
        ("503", True),
    ]


def is_failure(line: object) -> bool:
    return isinstance(line, RunLine) and line.status == "failure"


def test_the_rule_fires_once_on_the_low_night(confradar: dict[str, Source]) -> None:
    result = backtest(volume_rule(), None, 30, NOW)
    assert result.fired == 1
    [alert] = result.alerts
    assert (alert.source, alert.kind, alert.severity) == (
        "wikicfp_conferences",
        "volume_drop",
        "warning",
    )
    assert datetime.fromisoformat(alert.fired_at) == night(5)
    assert datetime.fromisoformat(alert.resolved_at or "") == night(4)
    assert (result.sources, result.runs) == (3, 36 * 3)  # 30 days and a week of warm-up
    assert result.notifications > 0


def test_overridden_parameters_are_backtested(confradar: dict[str, Source]) -> None:
    result = backtest(volume_rule(), {"percent": 50}, 30, NOW)
    assert result.parameters["percent"] == 50
    assert result.fired == 0  # 700 is 44 % below 1,240


def test_an_unsaved_rule_and_per_source_overrides_are_replayed_as_such(
    confradar: dict[str, Source],
) -> None:
    unsaved = AlertRule(name="", kind="stale", parameters={"max_age_hours": 12})
    spec = backtest_spec(unsaved, None, source_labels(covered_sources(unsaved)))
    assert (spec["name"], spec["parameters"], spec["scope"]) == (
        "unsaved stale rule",
        {"max_age_hours": 12},
        ScopeKind.ALL,
    )
    rule = AlertRule.objects.get(name="Stale (no success when expected)")
    RuleOverride.objects.create(rule=rule, source=confradar["elra"], enabled=False)
    spec = backtest_spec(rule, None, source_labels(covered_sources(rule)))
    assert spec["overrides"] == [{"source": "elra_conferences", "parameters": {}, "enabled": False}]


def test_a_rule_scoped_to_a_group_exports_only_that_group(confradar: dict[str, Source]) -> None:
    rule = f.rule("Storage stale", "stale", scope=ScopeKind.GROUP, scope_group="stor*")
    assert [s.key for s in covered_sources(rule)] == ["store_conferences"]


def test_what_cannot_be_backtested_says_why(confradar: dict[str, Source]) -> None:
    with pytest.raises(BacktestError, match="deployment rules cannot be backtested"):
        backtest(AlertRule.objects.get(kind="deployment_unreachable"), None, 30, NOW)
    with pytest.raises(BacktestError, match="percent: must be at most 100"):
        backtest(volume_rule(), {"percent": 130}, 30, NOW)
    with pytest.raises(BacktestError, match="days must be between 1 and 366"):
        backtest(volume_rule(), None, 0, NOW)


def test_the_command_reports_in_json_and_counts_only_the_window(
    confradar: dict[str, Source],
) -> None:
    out = io.StringIO()
    rule = volume_rule()
    call_command("backtest", str(rule.pk), "--days", "3", "--parameters", '{"percent": 40}',
                 "--json", stdout=out)  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["rule"] == "Volume drop" and report["parameters"]["percent"] == 40
    # The low night (5 days ago) is in the week of warm-up before the window: not counted.
    assert (report["days"], report["fired"], report["alerts"]) == (3, 0, [])
    assert set(report) >= {"from", "to", "sources", "runs", "notifications"}


def test_the_command_names_an_unknown_rule() -> None:
    with pytest.raises(CommandError, match="no rule has the id or name 'Nope'") as caught:
        call_command("backtest", "Nope")
    assert caught.value.returncode == 2
