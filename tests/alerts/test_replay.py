"""The replay: its line format (base and extensions, errors naming the line), rules files and
exported rules, how the sandbox stores lines, the simulated clock, and the command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from alerts.choices import ScopeKind
from alerts.engine import history
from alerts.models import AlertRule, Channel, RuleOverride, Silence
from alerts.notify import outbox
from alerts.replay.lines import (
    CheckLine,
    DeploymentLine,
    ReplayInputError,
    RunLine,
    SilenceLine,
    SourceLine,
    parse_lines,
)
from alerts.replay.results import ReplayResult, render_text
from alerts.replay.simulation import simulate
from alerts.replay.specs import RuleSpec, export_rules, validate_rules
from monitoring.models import CheckResult, Deployment, Instigator, Run, RunAsset, Source
from tests.alerts import factories as f
from tests.conftest import project_env

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
DESIGN_EXAMPLE = [
    '{"at": "2026-11-01T02:00:00Z", "source": "wikicfp_conferences", "status": "success", '
    '"duration_s": 42.5, "metrics": {"count": 1234}}',
    '{"at": "2026-11-01T03:00:00Z", "source": "elra_conferences", "status": "failure", '
    '"duration_s": 3.1, "error": "HTTP 503 from elra.info"}',
]


def lines(*objects: dict[str, Any]) -> list[str]:
    return [json.dumps(o) for o in objects]


def run(at: str, source: str = "elra_conferences", **fields: Any) -> dict[str, Any]:
    return {"at": at, "source": source, "status": "success", **fields}


def error_of(texts: list[str]) -> str:
    with pytest.raises(ReplayInputError) as caught:
        parse_lines(texts)
    return str(caught.value)


# --- The base format --------------------------------------------------------------------------


def test_the_design_example_parses_unchanged() -> None:
    first, second = (item.line for item in parse_lines(DESIGN_EXAMPLE))
    assert isinstance(first, RunLine) and isinstance(second, RunLine)
    assert (first.at, first.source, first.status) == (T0, "wikicfp_conferences", "success")
    assert (first.duration_s, first.metrics) == (42.5, {"count": 1234})
    assert (second.status, second.error) == ("failure", "HTTP 503 from elra.info")
    assert second.run_id is None and second.will_retry is False and second.started_at is None


def test_only_at_source_and_status_are_required_and_times_become_utc() -> None:
    [item] = parse_lines(
        lines({"at": "2026-11-01T03:00:00+01:00", "source": "x", "status": "success"})
    )
    assert isinstance(item.line, RunLine)
    assert item.line.at == T0 and item.line.at.tzinfo == UTC
    assert item.line.metrics == {} and item.line.duration_s is None


def test_blank_lines_are_skipped_and_numbers_count_them() -> None:
    parsed = parse_lines(["", DESIGN_EXAMPLE[0], "   ", DESIGN_EXAMPLE[1]])
    assert [item.number for item in parsed] == [2, 4]


# --- Extensions -------------------------------------------------------------------------------


def test_run_lines_take_run_id_will_retry_and_started_at() -> None:
    [item] = parse_lines(
        lines(
            run(
                "2026-11-01T02:05:00Z",
                status="failure",
                run_id="crawl-1",
                will_retry=True,
                started_at="2026-11-01T02:00:00Z",
                group="confradar",
            )
        )
    )
    line = item.line
    assert isinstance(line, RunLine)
    assert (line.run_id, line.will_retry, line.started_at, line.group) == (
        "crawl-1",
        True,
        T0,
        "confradar",
    )


def test_each_line_type_parses() -> None:
    parsed = parse_lines(
        lines(
            {
                "type": "source",
                "source": "store_conferences",
                "upstream": ["elra_conferences"],
                "group": "confradar",
                "schedule": "0 2 * * *",
                "timezone": "Europe/Paris",
            },
            {"type": "deployment", "at": "2026-11-01T01:00:00Z", "reachable": False, "error": "x"},
            {
                "type": "silence",
                "start": "2026-11-01T00:00:00Z",
                "source": "elra_conferences",
                "cron": "0 1 * * 0",
                "duration_minutes": 180,
                "catch_up_minutes": 60,
                "comment": "maintenance",
            },
            {
                "type": "silence",
                "start": "2026-11-01T00:00:00Z",
                "end": "2026-11-01T06:00:00Z",
                "comment": "migration",
            },
            {
                "type": "check",
                "at": "2026-11-01T02:06:00Z",
                "source": "store_conferences",
                "check": "min_count",
                "passed": False,
                "severity": "ERROR",
                "description": "only 3 rows",
            },
        )
    )
    types = [type(item.line) for item in parsed]
    assert types == [SourceLine, DeploymentLine, SilenceLine, SilenceLine, CheckLine]
    source = parsed[0].line
    assert isinstance(source, SourceLine)
    assert source.instigator_name == "store_conferences_schedule"


def test_dagster_cron_shorthands_are_schedules_too() -> None:
    parsed = parse_lines(
        lines({"type": "source", "source": "x", "schedule": "@daily"}, run("2026-11-01T02:00:00Z"))
    )
    assert isinstance(parsed[0].line, SourceLine) and parsed[0].line.schedule == "@daily"


# --- Errors name the line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: must be a JSON object, not list"),
        ('{"type": "tick", "at": "2026-11-01T02:00:00Z"}', "line 2: unknown type 'tick'"),
        ('{"at": "2026-11-01T02:00:00Z", "source": "x"}', "line 2: status: is required"),
        (
            '{"at": "2026-11-01T02:00:00Z", "source": "x", "status": "ok"}',
            "line 2: status: Input should be 'success' or 'failure'",
        ),
        (
            '{"at": "2026-11-01T02:00:00", "source": "x", "status": "success"}',
            "line 2: at: needs a time zone",
        ),
        (
            '{"at": "2026-11-01T02:00:00Z", "source": "x", "status": "success", "cnt": 1}',
            "line 2: cnt: is not a field of a run line",
        ),
        (
            '{"at": "2026-11-01T02:00:00Z", "source": "x", "status": "success", '
            '"started_at": "2026-11-01T03:00:00Z"}',
            "line 2: started_at must not be after at",
        ),
        (
            '{"at": "2026-11-01T02:00:00Z", "source": "x", "status": "success", '
            '"will_retry": true}',
            "line 2: will_retry is only meaningful with status failure",
        ),
        (
            '{"at": "2026-11-01T02:00:00Z", "source": "x", "status": "success", '
            '"metrics": {"count": "12"}}',
            "line 2: metrics.count: must be a number",
        ),
        (
            '{"type": "silence", "start": "2026-11-01T00:00:00Z", "comment": "x"}',
            "line 2: give an end (or a cron and duration_minutes)",
        ),
        (
            '{"type": "silence", "start": "2026-11-01T00:00:00Z", "cron": "0 1 * * 0"}',
            "line 2: a recurring window (cron) needs duration_minutes",
        ),
        (
            '{"type": "source", "source": "x", "schedule": "every day"}',
            "line 2: schedule: 'every day' is not a valid cron expression",
        ),
        (
            '{"type": "deployment", "at": "2026-11-01T02:00:00Z", "reachable": "no"}',
            "line 2: reachable: Input should be a valid boolean",
        ),
    ],
)
def test_an_invalid_line_is_named_with_its_problem(text: str, message: str) -> None:
    assert error_of([DESIGN_EXAMPLE[0], text]).startswith(message)


def test_lines_that_contradict_each_other_are_named() -> None:
    conflicting_group = lines(
        run("2026-11-01T02:00:00Z", group="a"), run("2026-11-02T02:00:00Z", group="b")
    )
    assert error_of(conflicting_group).startswith("line 2: group 'b' contradicts group 'a'")
    twice = lines(
        run("2026-11-01T02:00:00Z", run_id="r1"), run("2026-11-01T02:00:00Z", run_id="r1")
    )
    assert error_of(twice) == "line 2: run_id 'r1' already has a line for elra_conferences"
    schedules = lines(
        {"type": "source", "source": "a", "schedule": "0 2 * * *", "schedule_name": "s"},
        {"type": "source", "source": "b", "schedule": "0 3 * * *", "schedule_name": "s"},
        run("2026-11-01T02:00:00Z"),
    )
    assert error_of(schedules).startswith("line 2: schedule 's' was declared earlier")


def test_a_silence_group_is_a_matcher_not_the_group_of_its_source() -> None:
    parse_lines(
        lines(
            run("2026-11-01T02:00:00Z", group="confradar"),
            {
                "type": "silence",
                "start": "2026-11-01T00:00:00Z",
                "end": "2026-11-02T00:00:00Z",
                "source": "elra_conferences",
                "group": "conf*",
            },
        )
    )


def test_a_file_without_events_has_nothing_to_replay() -> None:
    assert error_of(lines({"type": "source", "source": "a"})).startswith("nothing to replay")


# --- Rules ------------------------------------------------------------------------------------


def test_a_rules_file_is_validated_rule_by_rule() -> None:
    with pytest.raises(ReplayInputError, match=r"rule 1 \('Stale'\): .*unknown rule kind"):
        validate_rules([{"name": "Stale", "kind": "staleness"}])
    with pytest.raises(ReplayInputError, match="percent: must be at most 100"):
        validate_rules([{"name": "Drop", "kind": "volume_drop", "parameters": {"percent": 130}}])
    with pytest.raises(ReplayInputError, match="names must be unique: A"):
        validate_rules([{"name": "A", "kind": "stale"}, {"name": "A", "kind": "run_failed"}])
    with pytest.raises(ReplayInputError, match="channel 'pager' is neither"):
        validate_rules([{"name": "A", "kind": "stale", "channels": ["pager"]}])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cooldown_minutes": 0}, "cooldown_minutes"),
        ({"scope": "group"}, "scope_group"),
        ({"parameters": {"max_age_hours": -3}}, "parameters"),
    ],
)
def test_a_rule_spec_is_refused_with_the_message_the_admin_and_api_give(
    fields: dict[str, Any], field: str
) -> None:
    rule = AlertRule(name="Stale", kind="stale", **fields)
    with pytest.raises(ValidationError) as model:
        rule.full_clean(validate_unique=False)
    with pytest.raises(ReplayInputError) as replayed:
        validate_rules([{"name": "Stale", "kind": "stale", **fields}])
    expected = f"{field}: {' '.join(model.value.message_dict[field])}"
    assert str(replayed.value) == f"rules file: rule 1 ('Stale'): {expected}"


def test_disabled_rules_in_a_rules_file_are_left_out() -> None:
    specs = validate_rules(
        [{"name": "A", "kind": "stale"}, {"name": "B", "kind": "run_failed", "enabled": False}]
    )
    assert [s.name for s in specs] == ["A"]


@pytest.mark.django_db
def test_the_configured_rules_are_exported_with_scope_overrides_and_escalation() -> None:
    dep = f.deployment()
    elra = f.source("elra_conferences", dep)
    pager = f.channel("pager", kind="webhook")
    stale = AlertRule.objects.get(name="Stale (no success when expected)")
    stale.escalation_channels.set([pager])
    RuleOverride.objects.create(rule=stale, source=elra, parameters={"max_age_hours": 48})
    scoped = f.rule("Elra only", "run_failed", scope=ScopeKind.SOURCES, cooldown_minutes=60)
    scoped.scope_sources.set([elra])
    f.rule("Off", "run_failed", enabled=False)
    exported = {spec["name"]: spec for spec in export_rules()}
    assert "Off" not in exported and "Run failed" in exported
    assert exported["Stale (no success when expected)"]["overrides"] == [
        {"source": "elra_conferences", "parameters": {"max_age_hours": 48}, "enabled": True}
    ]
    assert exported["Stale (no success when expected)"]["escalation_channels"] == ["webhook"]
    assert exported["Elra only"]["scope_sources"] == ["elra_conferences"]
    assert exported["Elra only"]["cooldown_minutes"] == 60
    assert "channels" not in exported["Run failed"]  # the replay's default channels hear it
    validate_rules(list(exported.values()))


# --- The sandbox, in process ------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[None]:
    """The test database stands in for the sandbox: no rules but the replayed ones, no sends."""
    AlertRule.objects.all().delete()
    with mock.patch.object(outbox, "dispatch", lambda notification_id, queue: None):
        yield


def replay_here(
    texts: list[str],
    rules: list[dict[str, Any]],
    tail_hours: float = 2,
    step_s: int = 300,
    **options: Any,
) -> ReplayResult:
    specs: list[RuleSpec] = validate_rules(rules)
    return simulate(
        parse_lines(texts),
        specs,
        step=timedelta(seconds=step_s),
        tail=timedelta(hours=tail_hours),
        **options,
    )


RUN_FAILED = {"name": "Run failed", "kind": "run_failed"}


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_runs_are_stored_as_the_poller_stores_them() -> None:
    replay_here(
        lines(
            run("2026-11-01T02:05:00Z", duration_s=300, metrics={"count": 7}),
            run("2026-11-01T03:00:00Z", status="failure", error="HTTP 503", run_id="r-2"),
        ),
        [RUN_FAILED],
    )
    elra = Source.objects.get(key="elra_conferences")
    assert (elra.deployment.name, elra.group_name, elra.kind) == ("replay", "default", "asset")
    assert elra.first_seen_at == T0 + timedelta(minutes=5)  # simulated time, not the wall clock
    first, second = Run.objects.order_by("ended_at")
    assert (first.started_at, first.duration_s, first.status) == (T0, 300, "SUCCESS")
    assert RunAsset.objects.get(run=first).metrics == {"count": 7}
    assert (second.run_id, second.status, second.error_message) == ("r-2", "FAILURE", "HTTP 503")
    assert RunAsset.objects.get(run=second).outcome == "failed"
    assert (elra.last_status, elra.last_metrics) == ("FAILURE", {"count": 7})
    assert elra.last_success_at == T0 + timedelta(minutes=5)


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_a_retried_failure_is_followed_by_its_retry_and_fires_nothing() -> None:
    result = replay_here(
        lines(
            run("2026-11-01T02:05:00Z", status="failure", will_retry=True, run_id="r-1"),
            run("2026-11-01T02:10:00Z", run_id="r-1-retry"),
        ),
        [RUN_FAILED],
    )
    retry = Run.objects.get(run_id="r-1-retry")
    assert (retry.parent_run_id, retry.root_run_id, retry.retry_number) == ("r-1", "r-1", 1)
    assert Run.objects.get(run_id="r-1").will_retry
    assert result.alerts == []


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_lines_sharing_a_run_id_are_one_run_that_failed_if_one_of_them_did() -> None:
    replay_here(
        lines(
            run("2026-11-01T02:05:00Z", source="a", run_id="crawl"),
            run("2026-11-01T02:05:00Z", source="b", run_id="crawl", status="failure", error="x"),
        ),
        [RUN_FAILED],
    )
    crawl = Run.objects.get()
    assert (crawl.status, crawl.failed_step) == ("FAILURE", "b")
    assert sorted(crawl.run_assets.values_list("outcome", flat=True)) == ["failed", "materialized"]


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_replayed_runs_rank_by_creation_time_as_polled_ones_do() -> None:
    """A long run that ends after a short one started later is the older run, for the engine
    as for the poll: each link carries its run's creation time (it was once left empty)."""
    replay_here(
        lines(
            run("2026-11-01T03:00:00Z", run_id="long", started_at="2026-11-01T01:00:00Z"),
            run("2026-11-01T02:30:00Z", run_id="short", started_at="2026-11-01T02:00:00Z"),
        ),
        [RUN_FAILED],
    )
    links = RunAsset.objects.select_related("run")
    assert [(link.run_created_at, link.run.created_at) for link in links] == [
        (link.run.created_at, link.run.created_at) for link in links
    ]
    assert all(link.run_created_at is not None for link in links)
    elra = Source.objects.get(key="elra_conferences")
    assert [r.run_id for r in history.load_runs([elra.pk], 5)[elra.pk]] == ["short", "long"]


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_declarations_make_lineage_schedules_silences_and_checks() -> None:
    replay_here(
        lines(
            run("2026-11-01T02:05:00Z", source="elra_conferences"),
            {
                "type": "source",
                "source": "store_conferences",
                "upstream": ["elra_conferences"],
                "group": "confradar",
                "tags": {"team": "data"},
                "schedule": "0 2 * * *",
                "schedule_name": "daily_crawl_schedule",
            },
            {"type": "silence", "start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"},
            {
                "type": "check",
                "at": "2026-11-01T02:06:00Z",
                "source": "store_conferences",
                "check": "min_count",
                "passed": False,
            },
        ),
        [RUN_FAILED],
    )
    store = Source.objects.get(key="store_conferences")
    assert [s.key for s in store.upstream.all()] == ["elra_conferences"]
    assert (store.group_name, store.tags) == ("confradar", {"team": "data"})
    assert store.schedule_names == ["daily_crawl_schedule"]
    schedule = Instigator.objects.get(name="daily_crawl_schedule")
    assert (schedule.kind, schedule.cron, schedule.status) == ("schedule", "0 2 * * *", "RUNNING")
    assert store.first_seen_at == T0 + timedelta(minutes=5)  # declared: there from the start
    silence = Silence.objects.get()
    assert silence.deployment is not None and silence.source is None  # no matcher: everything
    check = CheckResult.objects.get()
    assert (check.check_name, check.passed, check.severity) == ("min_count", False, "ERROR")


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_runs_wait_while_the_deployment_is_unreachable() -> None:
    result = replay_here(
        lines(
            run("2026-11-01T01:00:00Z"),
            {"type": "deployment", "at": "2026-11-01T01:30:00Z", "reachable": False, "error": "x"},
            run("2026-11-01T02:05:00Z", status="failure", error="HTTP 503"),
            {"type": "deployment", "at": "2026-11-01T03:00:00Z", "reachable": True},
        ),
        [RUN_FAILED, {"name": "Unreachable", "kind": "deployment_unreachable"}],
    )
    by_rule = {a.rule: a for a in result.alerts}
    assert by_rule["Unreachable"].fired_at == "2026-11-01T01:35:00Z"
    assert by_rule["Unreachable"].resolved_at == "2026-11-01T03:00:00Z"
    assert by_rule["Run failed"].fired_at == "2026-11-01T03:00:00Z"  # seen when polled
    deployment = Deployment.objects.get(name="replay")
    assert deployment.failing_since is None and deployment.last_error == ""


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_named_channels_replace_the_default_ones() -> None:
    rule = {
        **RUN_FAILED,
        "channels": ["slack", {"name": "pager", "kind": "webhook", "min_severity": "critical"}],
    }
    result = replay_here(lines(run("2026-11-01T02:05:00Z", status="failure")), [rule])
    assert set(Channel.objects.values_list("name", flat=True)) >= {"slack", "pager", "email"}
    assert {n.channel for n in result.notifications} == {"slack"}  # pager: critical only


SKIP_CHECK_RULES = [
    {**RUN_FAILED, "pending_minutes": 10, "resolve_hold_minutes": 20},
    {"name": "Stale", "kind": "stale", "parameters": {"max_age_hours": 2, "grace_minutes": 0}},
    {
        "name": "Two in a row",
        "kind": "consecutive_failures",
        "severity": "critical",
        "escalate_after_minutes": 15,
        "escalation_channels": ["webhook"],
    },
    {
        "name": "Drop",
        "kind": "volume_drop",
        "parameters": {"min_history": 1},
        "cooldown_minutes": 45,
    },
]


@pytest.mark.django_db
@pytest.mark.usefixtures("sandbox")
def test_skipping_quiet_steps_changes_nothing_the_replay_reports() -> None:
    history = lines(
        {
            "type": "silence",
            "start": "2026-11-01T00:00:00Z",
            "cron": "0 9 * * *",
            "duration_minutes": 60,
            "comment": "window",
        },
        {"type": "source", "source": "elra_conferences", "schedule": "0 * * * *"},
        *[
            run(f"2026-11-01T{h:02}:01:00Z", status="failure" if h in (3, 4, 9, 12) else "success")
            for h in range(2, 14)
            if h not in (6, 7, 8)
        ],
        run("2026-11-01T05:30:00Z", source="wikicfp", metrics={"count": 100}),
        run("2026-11-01T10:30:00Z", source="wikicfp", metrics={"count": 40}),
        {"type": "deployment", "at": "2026-11-01T11:00:00Z", "reachable": False},
        {"type": "deployment", "at": "2026-11-01T11:20:00Z", "reachable": True},
    )
    fast = replay_here(history, SKIP_CHECK_RULES, tail_hours=3, step_s=600)
    assert fast.alerts and {n.event for n in fast.notifications} == {
        "firing",
        "severity_raised",
        "reminder",
        "escalation",
        "resolved",
    }
    AlertRule.objects.all().delete()
    Deployment.objects.all().delete()
    Channel.objects.all().delete()
    every_step = replay_here(history, SKIP_CHECK_RULES, tail_hours=3, step_s=600, exhaustive=True)
    assert fast.to_json() == every_step.to_json()
    assert fast.stats["evaluations"] < every_step.stats["evaluations"]


# --- Output -----------------------------------------------------------------------------------


def test_the_text_output_is_two_tables() -> None:
    result = ReplayResult.from_wire(
        json.dumps(
            {
                "alerts": [
                    {
                        "rule": "Run failed",
                        "kind": "run_failed",
                        "source": "elra_conferences",
                        "severity": "warning",
                        "fired_at": "2026-11-01T03:00:00Z",
                        "resolved_at": None,
                    }
                ],
                "notifications": [
                    {
                        "rule": "Run failed",
                        "sources": ["elra_conferences", "acl_web_conferences"],
                        "event": "firing",
                        "channel": "slack",
                        "at": "2026-11-01T03:00:00Z",
                    }
                ],
                "stats": {"lines": 2, "sources": 2},
            }
        )
    )
    text = render_text(result)
    assert "RULE" in text and "FIRED" in text and "RESOLVED" in text
    assert "2026-11-01 03:00:00" in text
    assert "elra_conferences, acl_web_conferences" in text
    assert text.splitlines()[4].endswith("yes")  # a message named it while it was open
    result.notifications.clear()
    assert render_text(result).splitlines()[4].endswith("no (held back)")
    assert all(line == line.rstrip() for line in text.splitlines())


# --- The command ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_invalid_line_fails_the_command_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(DESIGN_EXAMPLE[0] + "\n" + '{"type": "tick"}\n')
    with pytest.raises(CommandError, match="line 2: unknown type 'tick'") as caught:
        call_command("replay", str(path))
    assert caught.value.returncode == 2


def test_from_the_shell_an_invalid_line_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"at": "2026-11-01T02:00:00Z", "source": "x"}\n')
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([RUN_FAILED]))
    done = subprocess.run(
        [sys.executable, "manage.py", "replay", str(path), "--rules", str(rules)],
        cwd=settings.BASE_DIR,
        env=project_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "line 1: status: is required" in done.stderr


@pytest.mark.django_db
def test_inner_mode_refuses_a_database_it_did_not_get_from_the_parent(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text("\n".join(DESIGN_EXAMPLE))
    with pytest.raises(CommandError, match="not a replay sandbox"):
        call_command("replay", str(path), "--inner")
    assert AlertRule.objects.exists()


@pytest.mark.django_db
def test_the_command_replays_with_a_rules_file_and_prints_json(tmp_path: Path) -> None:
    path = tmp_path / "design.jsonl"
    path.write_text("\n".join(DESIGN_EXAMPLE) + "\n")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([RUN_FAILED, {"name": "Stale", "kind": "stale"}]))
    out = io.StringIO()
    call_command("replay", str(path), "--rules", str(rules), "--json", stdout=out)
    output = json.loads(out.getvalue())
    assert set(output) == {"alerts", "notifications"}
    fired = [(a["rule"], a["source"], a["fired_at"]) for a in output["alerts"]]
    assert fired[0] == ("Run failed", "elra_conferences", "2026-11-01T03:00:00Z")
    # The 48 h tail judges staleness after the last run too.
    assert {("Stale", "wikicfp_conferences"), ("Stale", "elra_conferences")} <= {
        (rule, source) for rule, source, _ in fired
    }
    first = output["notifications"][0]
    assert first == {
        "rule": "Run failed",
        "sources": ["elra_conferences"],
        "event": "firing",
        "channel": "email",
        "at": "2026-11-01T03:00:00Z",
        "incident": 1,
        "title": first["title"],
    }
    assert first["title"].startswith("elra_conferences")
    assert {n["channel"] for n in output["notifications"]} == {"email", "slack", "webhook"}
