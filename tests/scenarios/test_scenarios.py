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

# The command reads the default rules of the test database and replays on its own SQLite
# sandbox in a child process: the PostgreSQL pass would replay the same thing again.
pytestmark = [pytest.mark.django_db, pytest.mark.sandboxed_replay]
DATA = Path(__file__).parent / "data"
CHANNELS = ["email", "slack", "webhook"]
ELRA, STORE = "elra_conferences", "store_conferences"
STALE = "Stale (no success when expected)"
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


def test_b_six_hours_of_failures_is_one_alert_per_rule(replay: Replay) -> None:
    """Two default rules judge failures: "Run failed" (at the first) and "Two consecutive
    failures" (at the second). Each is one alert for the whole outage, not one per run; the
    stale alert (an hourly source, stale by its cadence) is folded into the failure."""
    result = replay("b_failing_six_hours", 2)
    assert [(a["rule"], a["source"]) for a in result.alerts] == [
        ("Run failed", ELRA),
        ("Consecutive failures", ELRA),
        (STALE, ELRA),
    ]
    run_failed, consecutive, _ = result.alerts
    # The source recovers at 16:00; "Run failed" holds 30 min before it resolves (flapping).
    assert (run_failed["fired_at"], run_failed["resolved_at"]) == (
        "2026-11-03T10:00:00Z",
        "2026-11-03T16:30:00Z",
    )
    assert consecutive["fired_at"] == "2026-11-03T11:00:00Z"


def test_b_one_incident_one_thread_with_reminders_that_back_off(replay: Replay) -> None:
    """The three alerts are one incident: per channel one firing message (10:00), one when it
    turns critical (11:00), reminders backing off and waiting for the next hourly run (1 h 10,
    then 1 h 10, then 2 h after the previous message), and one resolved once the source has
    stayed well for its next run (16:00 + 1 h 10)."""
    result = replay("b_failing_six_hours", 2)
    expected = [
        ("firing", "2026-11-03T10:00:00Z"),
        ("severity_raised", "2026-11-03T11:00:00Z"),
        ("reminder", "2026-11-03T12:10:00Z"),
        ("reminder", "2026-11-03T13:20:00Z"),
        ("reminder", "2026-11-03T15:20:00Z"),
        ("resolved", "2026-11-03T17:10:00Z"),
    ]
    for channel in CHANNELS:
        told = [(n["event"], n["at"]) for n in result.notifications if n["channel"] == channel]
        assert told == expected
    assert len({n["incident"] for n in result.notifications}) == 1
    # Escalation is due after 30 min, but the default rules have no escalation channels and
    # the default channels are not set in a replay: nothing to escalate to.
    assert result.sent(event="escalation") == []


# --- (c) ---------------------------------------------------------------------------------------


def test_c_a_40_percent_drop_is_one_volume_alert(replay: Replay) -> None:
    """Two nights at 60 % of the usual count: one alert from the first low night until the
    count is back, not one per night."""
    result = replay("c_count_drop", 12)
    assert [(a["rule"], a["source"]) for a in result.alerts] == [
        ("Volume drop", "wikicfp_conferences")
    ]
    [alert] = result.alerts
    assert alert["fired_at"].startswith("2026-11-22T02:0")
    assert alert["resolved_at"].startswith("2026-11-24T02:0")
    assert len(result.sent(event="firing")) == len(CHANNELS)
    assert len(result.sent(event="resolved")) == len(CHANNELS)


# --- (d) ---------------------------------------------------------------------------------------


def test_d_25_hours_without_success_is_one_stale_alert(replay: Replay) -> None:
    """Last success Nov 2 23:00 of an hourly source: stale by its cadence (due 00:00, late by
    one interval and the 30 min grace) at the first step after 01:30, not after 24 h; the
    success at Nov 4 00:00 resolves it."""
    result = replay("d_no_success_for_25_hours", 2)
    assert result.alerts == [
        {
            "rule": STALE,
            "kind": "stale",
            "source": ELRA,
            "severity": "critical",
            "fired_at": "2026-11-03T01:35:00Z",
            "resolved_at": "2026-11-04T00:00:00Z",
        }
    ]
    # Reminders back off over the 22 h: 1 h 10 (its next hourly run), 1 h 10, 2 h, 4 h, 8 h.
    events = Counter(n["event"] for n in result.notifications)
    assert events == {"firing": 3, "reminder": 15, "resolved": 3}


# --- (e) ---------------------------------------------------------------------------------------

FLAPPING_HOURS = 6


def test_e_a_flapping_source_is_one_incident(replay: Replay) -> None:
    """Runs alternate every 15 min for 6 h: 'Run failed' holds 30 min before it resolves, so a
    failure that returns within the hold is the same alert, not twelve; and alternating runs
    never make two failures in a row."""
    result = replay("e_flapping", 1)
    assert {a["rule"] for a in result.alerts} == {"Run failed"}
    assert len(result.fired(rule="Run failed")) == 1


def test_e_flapping_pages_at_most_three_times(replay: Replay) -> None:
    """Recognised as flapping at its first return (02:30): per channel one firing, one
    flapping message, then nothing until it has been stable, and one resolved."""
    result = replay("e_flapping", 1)
    for channel in CHANNELS:
        told = [n["event"] for n in result.notifications if n["channel"] == channel]
        assert told == ["firing", "flapping", "resolved"]


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
    [stale] = result.fired(rule=STALE, source=STORE)
    assert at(failure["fired_at"]) < at(stale["fired_at"]) < at(failure["resolved_at"])
    assert result.sent(rule=STALE, source=STORE) == []
    # The downstream's missed schedule and staleness are the same incident, folded: no
    # message of their own and no update.
    assert {n["incident"] for n in result.notifications} == {result.notifications[0]["incident"]}
    assert "update" not in {n["event"] for n in result.notifications}


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
        "Consecutive failures": "2026-11-08T04:30:00Z",
        STALE: "2026-11-08T04:30:00Z",
    }
    sunday = [n for n in result.notifications if at(n["at"]) >= window[0]]
    assert sunday == []


def test_i_the_same_failure_outside_the_window_is_sent(replay: Replay) -> None:
    result = replay("i_maintenance_window", 2)
    saturday = Counter(n["event"] for n in result.notifications)
    # Its next hourly run (11:00) recovers it before a reminder is due (11:10).
    assert saturday == {"firing": 3, "resolved": 3}
    assert all(at(n["at"]).date().isoformat() == "2026-11-07" for n in result.notifications)


# --- (j) ---------------------------------------------------------------------------------------


def test_j_a_volume_drop_two_minutes_after_a_recovery_is_sent(replay: Replay) -> None:
    """The 10:00 failure recovers at 11:00; "Run failed" waits out its 30 min resolve hold until
    11:30. The 80 % drop at 11:02 comes inside the hold: a cleared failure explains nothing, so
    the drop is its own alert, not folded, and its firing message goes to every channel."""
    result = replay("j_recovering_source", 2)
    [drop] = result.fired(rule="Volume drop")
    assert drop["fired_at"].startswith("2026-11-02T11:0")
    assert at(drop["fired_at"]) < at("2026-11-02T11:30:00Z")
    firing = result.per_channel(event="firing", rule="Volume drop")
    assert firing == {c: [at(drop["fired_at"])] for c in CHANNELS}
    [failure] = result.fired(rule="Run failed")
    assert failure["resolved_at"] == "2026-11-02T11:30:00Z"


# --- (k) ---------------------------------------------------------------------------------------

MAX_MESSAGES_PER_INCIDENT = 8  # the bound for a 3-day outage, per channel


def test_k_a_three_day_outage_of_a_daily_source_is_a_handful_of_messages(replay: Replay) -> None:
    """Three failed nights of a daily source (with its downstream stale and its schedule missed)
    were 240 messages per channel. Now one incident: firing at the first failure, one message
    when it turns critical (the second failure), one reminder when the third night's run has
    failed too (not on a timer), and one resolved."""
    result = replay("k_three_day_outage", 6)
    [failure] = result.fired(rule="Run failed")
    assert failure["fired_at"].startswith("2026-11-11T02:0")  # at the first failed run
    for channel in CHANNELS:
        told = [n for n in result.notifications if n["channel"] == channel]
        assert len(told) <= MAX_MESSAGES_PER_INCIDENT
        assert [n["event"] for n in told] == ["firing", "severity_raised", "reminder", "resolved"]
        assert [n["at"][:13] for n in told] == [
            "2026-11-11T02",
            "2026-11-12T02",
            "2026-11-13T02",
            "2026-11-14T02",
        ]
    assert len({n["incident"] for n in result.notifications}) == 1


def test_k_no_critical_outside_the_outage(replay: Replay) -> None:
    result = replay("k_three_day_outage", 6)
    critical = [a for a in result.alerts if a["severity"] == "critical"]
    assert critical and all(
        at("2026-11-11T02:00:00Z") <= at(a["fired_at"]) < at("2026-11-14T02:00:00Z")
        for a in critical
    )


# --- (l) ---------------------------------------------------------------------------------------

MAX_MESSAGES_PER_FLAPPING_EPISODE = 3


def test_l_twelve_hours_of_hourly_flapping_is_three_messages(replay: Replay) -> None:
    """Fail, succeed, fail... every hour for 12 h: was 12 messages. The failure at 02:00 comes
    back while the incident waits for the next run to close it: flapping from then on, one
    message saying so, quiet until the source has been stable for two runs, one resolved."""
    result = replay("l_hourly_flapping", 1)
    assert len(result.fired(rule="Run failed")) == 6
    for channel in CHANNELS:
        told = [n for n in result.notifications if n["channel"] == channel]
        assert len(told) <= MAX_MESSAGES_PER_FLAPPING_EPISODE
        assert [(n["event"], n["at"]) for n in told] == [
            ("firing", "2026-11-03T00:00:00Z"),
            ("flapping", "2026-11-03T02:00:00Z"),
            ("resolved", "2026-11-03T13:15:00Z"),
        ]
    assert not [a for a in result.alerts if a["severity"] == "critical"]


# --- (m) ---------------------------------------------------------------------------------------

MAX_FIRING_PER_STORM = 5


def test_m_forty_sources_with_one_cause_are_one_incident(replay: Replay) -> None:
    """40 hourly connectors fail together for 2 h with the same proxy error: was 16 firing
    messages per channel. One incident: the first message at once with the first wave (no
    wait for the others), later members in a batched update a cooldown later, and the
    messages name the shared cause."""
    result = replay("m_storm", 1)
    assert len(result.fired(rule="Run failed")) == generate.STORM_SOURCES
    assert len({n["incident"] for n in result.notifications}) == 1
    for channel in CHANNELS:
        told = [n for n in result.notifications if n["channel"] == channel]
        firing = [n for n in told if n["event"] in ("firing", "update", "severity_raised")]
        assert len(firing) <= MAX_FIRING_PER_STORM
        first = firing[0]
        assert first["event"] == "firing" and first["at"] == "2026-11-03T10:01:00Z"
        assert len(first["sources"]) < generate.STORM_SOURCES  # the first wave only
        assert f"{generate.STORM_SOURCES} sources, same error: ProxyError" in told[-1]["title"]
        assert [n["event"] for n in told][-1] == "resolved"
    updates = result.sent(event="update")
    assert {len(set(n["sources"])) for n in updates} == {generate.STORM_SOURCES}


# --- Speed -------------------------------------------------------------------------------------


def test_a_month_of_daily_sources_replays_well_under_a_minute(replay: Replay) -> None:
    """The healthy month is six sources with a run a day for 30 days, at the default 300 s
    step (8,800 steps): the whole command, child process and migrate included."""
    result = replay("a_healthy_month", 12)
    assert result.seconds < 40, f"took {result.seconds:.1f} s"
