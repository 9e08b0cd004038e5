"""Scenarios replayed through ``manage.py replay`` with the default rules of the test database
(created by migrate; the command exports them to its sandbox) and one channel of each kind.

The files in data/ are written by generate.py (see its docstrings for each scenario). Each file
is replayed once per module and several tests read the result.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.scenarios import generate

pytestmark = pytest.mark.django_db  # the command reads the default rules of the test database
DATA = Path(__file__).parent / "data"
CHANNELS = ["email", "slack", "webhook"]
ELRA, STORE = "elra_conferences", "store_conferences"
COOLDOWN = timedelta(minutes=30)  # the default rules' reminder interval


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class Replayed:
    alerts: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    seconds: float

    def fired(self, rule: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        return [
            a for a in self.alerts if rule in (None, a["rule"]) and source in (None, a["source"])
        ]

    def sent(
        self, event: str | None = None, rule: str | None = None, source: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            n
            for n in self.notifications
            if event in (None, n["event"])
            and rule in (None, n["rule"])
            and (source is None or source in n["sources"])
        ]

    def per_channel(self, **match: str) -> dict[str, list[datetime]]:
        times: dict[str, list[datetime]] = {channel: [] for channel in CHANNELS}
        for n in self.sent(**match):
            times[n["channel"]].append(at(n["at"]))
        return times


Replay = Callable[[str, float], Replayed]


@pytest.fixture(scope="module")
def replay(django_db_setup: None, django_db_blocker: Any) -> Iterator[Replay]:
    done: dict[tuple[str, float], Replayed] = {}

    def run(name: str, tail_hours: float) -> Replayed:
        if (name, tail_hours) not in done:
            out = io.StringIO()
            began = time.perf_counter()
            with django_db_blocker.unblock():
                call_command(
                    "replay",
                    str(DATA / f"{name}.jsonl"),
                    "--json",
                    "--tail",
                    str(tail_hours),
                    stdout=out,
                )
            output = json.loads(out.getvalue())
            assert set(output) == {"alerts", "notifications"}
            seconds = time.perf_counter() - began
            done[(name, tail_hours)] = Replayed(output["alerts"], output["notifications"], seconds)
        return done[(name, tail_hours)]

    yield run


def test_generated_files_are_current() -> None:
    for name, build in generate.SCENARIOS.items():
        written = (DATA / f"{name}.jsonl").read_text(encoding="utf-8")
        assert written == generate.render(build()), f"run tests/scenarios/generate.py ({name})"


# --- (a) ---------------------------------------------------------------------------------------


def test_a_healthy_month_is_noisy_as_promised() -> None:
    """The input really varies: counts ±15 %, a weekend dip, start and duration moving."""
    lines = [json.loads(x) for x in (DATA / "a_healthy_month.jsonl").read_text().splitlines()]
    runs = [line for line in lines if line.get("status") == "success"]
    assert len(runs) == 30 * 6
    wikicfp = [r for r in runs if r["source"] == "wikicfp_conferences"]
    weekday = [r["metrics"]["count"] for r in wikicfp if at(r["at"]).weekday() < 5]
    weekend = [r["metrics"]["count"] for r in wikicfp if at(r["at"]).weekday() >= 5]
    assert max(weekday) / min(weekday) > 1.25
    assert sum(weekend) / len(weekend) < 0.85 * sum(weekday) / len(weekday)
    ends = {at(r["at"]).time() for r in wikicfp}
    assert max(ends).minute - min(ends).minute >= 3
    assert len({r["duration_s"] for r in wikicfp}) > 20


def test_a_healthy_month_fires_nothing(replay: Replay) -> None:
    # A 12 h tail judges the night after the last run without reaching the next 02:00 run,
    # which does not exist in the file (with the default 48 h every source goes stale).
    result = replay("a_healthy_month", 12)
    assert [a for a in result.alerts if a["severity"] == "critical"] == []
    assert result.alerts == []
    assert result.notifications == []


# --- (b) ---------------------------------------------------------------------------------------


def expected_reminders(fired: datetime, resolved: datetime) -> list[datetime]:
    """Every cooldown after firing, until the evaluation that resolves it (which runs first)."""
    moments, moment = [], fired + COOLDOWN
    while moment < resolved:
        moments.append(moment)
        moment += COOLDOWN
    return moments


def test_b_six_hours_of_failures_is_one_alert_per_rule(replay: Replay) -> None:
    """Two default rules judge failures: "Run failed" (at the first) and "Two consecutive
    failures" (at the second). Each is one alert for the whole outage, not one per run."""
    result = replay("b_failing_six_hours", 2)
    assert [(a["rule"], a["source"]) for a in result.alerts] == [
        ("Run failed", ELRA),
        ("Two consecutive failures", ELRA),
    ]
    run_failed, consecutive = result.alerts
    # The source recovers at 16:00; "Run failed" holds 30 min before it resolves (flapping).
    assert (run_failed["fired_at"], run_failed["resolved_at"]) == (
        "2026-11-03T10:00:00Z",
        "2026-11-03T16:30:00Z",
    )
    assert consecutive["fired_at"] == "2026-11-03T11:00:00Z"


RESOLVE_HOLD = {"Run failed": timedelta(minutes=30), "Two consecutive failures": timedelta(0)}


@pytest.mark.parametrize("rule", ["Run failed", "Two consecutive failures"])
def test_b_one_firing_reminders_per_cooldown_and_one_resolved(replay: Replay, rule: str) -> None:
    result = replay("b_failing_six_hours", 2)
    [alert] = result.fired(rule=rule)
    fired, resolved = at(alert["fired_at"]), at(alert["resolved_at"])
    assert result.per_channel(event="firing", rule=rule) == {c: [fired] for c in CHANNELS}
    assert result.per_channel(event="resolved", rule=rule) == {c: [resolved] for c in CHANNELS}
    # No reminder once the condition cleared, while the resolve hold runs out.
    recovered = resolved - RESOLVE_HOLD[rule]
    reminders = expected_reminders(fired, recovered)
    assert len(reminders) == {"Run failed": 11, "Two consecutive failures": 9}[rule]
    assert result.per_channel(event="reminder", rule=rule) == {c: reminders for c in CHANNELS}
    # Escalation is due after 30 min, but the default rules have no escalation channels.
    assert result.sent(event="escalation") == []


# --- (c) ---------------------------------------------------------------------------------------


def test_c_a_40_percent_drop_is_one_volume_alert(replay: Replay) -> None:
    """Two nights at 60 % of the usual count: one alert from the first low night until the
    count is back, not one per night."""
    result = replay("c_count_drop", 12)
    assert [(a["rule"], a["source"]) for a in result.alerts] == [
        ("Volume drop over 30 %", "wikicfp_conferences")
    ]
    [alert] = result.alerts
    assert alert["fired_at"].startswith("2026-11-22T02:0")
    assert alert["resolved_at"].startswith("2026-11-24T02:0")
    assert len(result.sent(event="firing")) == len(CHANNELS)
    assert len(result.sent(event="resolved")) == len(CHANNELS)


# --- (d) ---------------------------------------------------------------------------------------


def test_d_25_hours_without_success_is_one_stale_alert(replay: Replay) -> None:
    """Last success Nov 2 23:00; stale after 24 h + 30 min grace, i.e. at the first step
    after Nov 3 23:30; the success at Nov 4 00:00 resolves it before a reminder is due."""
    result = replay("d_no_success_for_25_hours", 2)
    assert result.alerts == [
        {
            "rule": "Stale after 24 h",
            "kind": "stale",
            "source": ELRA,
            "severity": "critical",
            "fired_at": "2026-11-03T23:35:00Z",
            "resolved_at": "2026-11-04T00:00:00Z",
        }
    ]
    assert Counter(n["event"] for n in result.notifications) == {"firing": 3, "resolved": 3}


# --- (e) ---------------------------------------------------------------------------------------

FLAPPING_HOURS = 6


def test_e_a_flapping_source_is_one_incident(replay: Replay) -> None:
    """Runs alternate every 15 min for 6 h: 'Run failed' holds 30 min before it resolves, so a
    failure that returns within the hold is the same incident: one alert, not twelve; and
    alternating runs never make two failures in a row."""
    result = replay("e_flapping", 2)
    assert {a["rule"] for a in result.alerts} == {"Run failed"}
    assert len(result.fired(rule="Run failed")) == 1
    events = Counter(n["event"] for n in result.notifications)
    assert events["firing"] == events["resolved"] == len(CHANNELS)


def test_e_flapping_is_bounded_by_time_not_by_flaps(replay: Replay) -> None:
    """A source flapping for 6 h is one incident, so each channel hears at most one firing, a
    reminder per cooldown (12 in 6 h) and one resolved message, however fast it flaps."""
    result = replay("e_flapping", 2)
    per_channel = 1 + FLAPPING_HOURS * 60 // 30 + 1
    assert len(result.notifications) <= per_channel * len(CHANNELS)


# --- (f) ---------------------------------------------------------------------------------------


def test_f_an_outage_is_one_deployment_alert(replay: Replay) -> None:
    result = replay("f_deployment_outage", 12)
    [outage] = [a for a in result.alerts if a["kind"] == "deployment_unreachable"]
    assert outage["source"] == "replay"
    assert at(outage["fired_at"]) - at("2026-11-06T01:30:00Z") < timedelta(minutes=10)
    assert outage["resolved_at"] == "2026-11-06T05:00:00Z"
    assert {n["rule"] for n in result.notifications} == {"Deployment unreachable"}
    events = Counter(n["event"] for n in result.notifications)
    assert events["firing"] == events["resolved"] == len(CHANNELS)


def test_f_source_alerts_during_the_outage_are_held_back_not_sent(replay: Replay) -> None:
    """While confops cannot reach Dagster it does not see the 02:00 crawl, so missed-schedule
    and stale alerts open for every source: they are recorded, held back (the deployment is
    unreachable), and resolve silently when the polled runs arrive at 05:00."""
    result = replay("f_deployment_outage", 12)
    held = [a for a in result.alerts if a["kind"] != "deployment_unreachable"]
    assert {a["kind"] for a in held} <= {"missed_schedule", "stale"}
    assert all(a["resolved_at"] == "2026-11-06T05:00:00Z" for a in held)
    sources = {s for n in result.notifications for s in n["sources"]}
    assert sources == {"replay"}


# --- (g) ---------------------------------------------------------------------------------------


def test_g_the_stale_downstream_is_folded_into_the_upstream_failure(replay: Replay) -> None:
    result = replay("g_upstream_failure", 12)
    [failure] = result.fired(rule="Run failed")
    assert failure["source"] == ELRA
    assert len(result.sent(event="firing", rule="Run failed", source=ELRA)) == len(CHANNELS)
    [stale] = result.fired(rule="Stale after 24 h", source=STORE)
    assert at(failure["fired_at"]) < at(stale["fired_at"]) < at(failure["resolved_at"])
    assert result.sent(rule="Stale after 24 h", source=STORE) == []


def test_g_one_notified_incident_names_the_upstream_source(replay: Replay) -> None:
    result = replay("g_upstream_failure", 12)
    told = {(n["rule"], tuple(n["sources"])) for n in result.sent(event="firing")}
    assert told == {("Run failed", (ELRA,))}


# --- (h) ---------------------------------------------------------------------------------------


def test_h_a_failure_dagster_retries_successfully_fires_nothing(replay: Replay) -> None:
    result = replay("h_retried_failure", 12)
    assert result.alerts == []
    assert result.notifications == []


# --- (i) ---------------------------------------------------------------------------------------


def test_i_a_maintenance_window_is_quiet_inside_and_at_its_end(replay: Replay) -> None:
    """Sunday 01:00-04:00 plus one hour of catch-up: the failures inside open alerts that are
    silenced, and the catch-up run at 04:30 resolves them without a word."""
    result = replay("i_maintenance_window", 2)
    window = (at("2026-11-08T01:00:00Z"), at("2026-11-08T05:00:00Z"))
    inside = [a for a in result.alerts if window[0] <= at(a["fired_at"]) < window[1]]
    resolved = {a["rule"]: a["resolved_at"] for a in inside}
    # The catch-up run at 04:30 clears both; "Run failed" waits out its 30 min resolve hold.
    assert resolved == {
        "Run failed": "2026-11-08T05:00:00Z",
        "Two consecutive failures": "2026-11-08T04:30:00Z",
    }
    sunday = [n for n in result.notifications if at(n["at"]) >= window[0]]
    assert sunday == []


def test_i_the_same_failure_outside_the_window_is_sent(replay: Replay) -> None:
    result = replay("i_maintenance_window", 2)
    saturday = Counter(n["event"] for n in result.notifications)
    assert saturday == {"firing": 3, "reminder": 3, "resolved": 3}
    assert all(at(n["at"]).date().isoformat() == "2026-11-07" for n in result.notifications)


# --- (j) ---------------------------------------------------------------------------------------


def test_j_a_volume_drop_two_minutes_after_a_recovery_is_sent(replay: Replay) -> None:
    """The 10:00 failure recovers at 11:00; "Run failed" waits out its 30 min resolve hold until
    11:30. The 80 % drop at 11:02 comes inside the hold: a cleared failure explains nothing, so
    the drop is its own alert, not folded, and its firing message goes to every channel."""
    result = replay("j_recovering_source", 2)
    [drop] = result.fired(rule="Volume drop over 30 %")
    assert drop["fired_at"].startswith("2026-11-02T11:0")
    assert at(drop["fired_at"]) < at("2026-11-02T11:30:00Z")
    firing = result.per_channel(event="firing", rule="Volume drop over 30 %")
    assert firing == {c: [at(drop["fired_at"])] for c in CHANNELS}
    [failure] = result.fired(rule="Run failed")
    assert failure["resolved_at"] == "2026-11-02T11:30:00Z"


# --- Speed -------------------------------------------------------------------------------------


def test_a_month_of_daily_sources_replays_well_under_a_minute(replay: Replay) -> None:
    """The healthy month is six sources with a run a day for 30 days, at the default 300 s
    step (8,800 steps): the whole command, child process and migrate included."""
    result = replay("a_healthy_month", 12)
    assert result.seconds < 40, f"took {result.seconds:.1f} s"
