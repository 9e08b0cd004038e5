"""Writes the scenario files in tests/scenarios/data/ (run it after changing a scenario):

    .venv/bin/python tests/scenarios/generate.py

Every file is deterministic (seeded), and test_generated_files_are_current checks that the
committed files are what this script writes. The pipeline is ConfRadar's: five scrapers feed
store_conferences; crawl_job materialises all six in one run at 02:00 UTC
(daily_crawl_schedule), so the six lines of one night share a run_id and the run's end time.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
SCRAPERS = {  # typical count and seconds of each scraper
    "ai_deadlines_conferences": (180, 25.0),
    "acl_web_conferences": (420, 60.0),
    "chairing_tool_conferences": (260, 45.0),
    "elra_conferences": (95, 12.0),
    "wikicfp_conferences": (1240, 140.0),
}
STORE = "store_conferences"
GROUP = "confradar"
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
Line = dict[str, Any]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def declarations(schedule: bool = True) -> list[Line]:
    """The six sources, their lineage and the 02:00 schedule they share."""
    lines = []
    for key in [*SCRAPERS, STORE]:
        line: Line = {"type": "source", "source": key, "group": GROUP}
        if key == STORE:
            line["upstream"] = list(SCRAPERS)
        if schedule:
            line |= {"schedule": "0 2 * * *", "schedule_name": "daily_crawl_schedule"}
        lines.append(line)
    return lines


def crawl(
    day: datetime,
    rng: random.Random,
    failing: dict[str, str] | None = None,
    skipped: set[str] | None = None,
    weekend_dip: float = 1.0,
    noise: float = 0.15,
    run_id: str | None = None,
) -> list[Line]:
    """One night of crawl_job: a run starting a little after 02:00, one line per asset."""
    failing, skipped = failing or {}, skipped or set()
    start = day.replace(hour=2) + timedelta(seconds=round(rng.uniform(5, 240)))
    scraper_seconds = max(seconds * rng.uniform(0.75, 1.3) for _, seconds in SCRAPERS.values())
    seconds = round(scraper_seconds + 20 * rng.uniform(0.8, 1.25) + rng.uniform(2, 10))
    end = start + timedelta(seconds=seconds)
    factor = weekend_dip if day.weekday() >= 5 else 1.0
    run = run_id or f"crawl-{day:%Y-%m-%d}"
    lines = []
    for key, (count, _) in [*SCRAPERS.items(), (STORE, (sum_counts(), 20.0))]:
        if key in skipped:
            continue
        line: Line = {
            "at": iso(end),
            "source": key,
            "status": "failure" if key in failing else "success",
            "run_id": run,
            "started_at": iso(start),
            "duration_s": float(seconds),
        }
        if key in failing:
            line["error"] = failing[key]
        else:
            value = count * factor * rng.uniform(1 - noise, 1 + noise)
            line["metrics"] = {"count": round(value)}
        lines.append(line)
    return lines


def sum_counts() -> int:
    """store_conferences keeps what the scrapers found, less about 10 % duplicates."""
    return round(sum(count for count, _ in SCRAPERS.values()) * 0.9)


def hourly(
    key: str, first: datetime, hours: int, rng: random.Random, status: str = "success"
) -> Iterator[Line]:
    """Hourly runs of one source ending on the hour, each 20 to 40 s long."""
    for hour in range(hours):
        line: Line = {
            "at": iso(first + timedelta(hours=hour)),
            "source": key,
            "status": status,
            "duration_s": round(rng.uniform(20, 40), 1),
        }
        if status == "success":
            line["metrics"] = {"count": round(95 * rng.uniform(0.95, 1.05))}
        else:
            line["error"] = "HTTP 503 Service Unavailable from elra.info"
        yield line


# --- Scenarios --------------------------------------------------------------------------------


def healthy_month() -> list[Line]:
    """(a) 30 nights, counts ±15 %, weekends 20 % lower, start and duration varying."""
    rng = random.Random(1)
    lines = declarations()
    for day in range(30):
        lines += crawl(NOV_1 + timedelta(days=day), rng, weekend_dip=0.8)
    return lines


def failing_six_hours() -> list[Line]:
    """(b) elra runs hourly; 10:00 to 15:00 on Nov 3 fail, 16:00 succeeds again."""
    rng = random.Random(2)
    first = datetime(2026, 11, 2, 0, tzinfo=UTC)
    lines = list(hourly("elra_conferences", first, 34, rng))
    lines += hourly("elra_conferences", first + timedelta(hours=34), 6, rng, "failure")
    lines += hourly("elra_conferences", first + timedelta(hours=40), 5, rng)
    return lines


def count_drop() -> list[Line]:
    """(c) wikicfp for four weeks; nights 22 and 23 deliver 40 % less."""
    rng = random.Random(3)
    lines: list[Line] = []
    for day in range(28):
        at = NOV_1 + timedelta(days=day, hours=2, seconds=round(rng.uniform(120, 360)))
        factor = 0.6 if 21 <= day <= 22 else 1.0
        count = round(1240 * factor * rng.uniform(0.97, 1.03))
        lines.append(
            {
                "at": iso(at),
                "source": "wikicfp_conferences",
                "status": "success",
                "duration_s": round(rng.uniform(120, 160), 1),
                "metrics": {"count": count},
            }
        )
    return lines


def no_success_for_25_hours() -> list[Line]:
    """(d) elra runs hourly, then nothing from Nov 2 23:00 until Nov 4 00:00."""
    rng = random.Random(4)
    lines = list(hourly("elra_conferences", datetime(2026, 11, 2, 0, tzinfo=UTC), 24, rng))
    lines += hourly("elra_conferences", datetime(2026, 11, 4, 0, tzinfo=UTC), 4, rng)
    return lines


def flapping() -> list[Line]:
    """(e) elra every 15 min: two good hours, then six hours of fail/success alternating."""
    rng = random.Random(5)
    first = datetime(2026, 11, 2, 0, tzinfo=UTC)
    lines: list[Line] = []
    for quarter in range(4 * 10):
        at = first + timedelta(minutes=15 * quarter)
        flapping_now = 8 <= quarter < 8 + 24
        ok = not flapping_now or quarter % 2 == 1
        line: Line = {
            "at": iso(at),
            "source": "elra_conferences",
            "status": "success" if ok else "failure",
            "duration_s": round(rng.uniform(20, 40), 1),
        }
        if ok:
            line["metrics"] = {"count": round(95 * rng.uniform(0.95, 1.05))}
        else:
            line["error"] = "HTTP 502 Bad Gateway from elra.info"
        lines.append(line)
    return lines


def deployment_outage() -> list[Line]:
    """(f) confops cannot reach Dagster from Nov 6 01:30 to 05:00; the 02:00 crawl runs in
    Dagster all the same and is polled when the deployment is reachable again."""
    rng = random.Random(6)
    lines = declarations()
    for day in range(7):
        night = NOV_1 + timedelta(days=day)
        if day == 5:
            lines.append(
                {
                    "type": "deployment",
                    "at": iso(night.replace(hour=1, minute=30)),
                    "reachable": False,
                    "error": "ConnectionError: connection refused by dagster-webserver:3000",
                }
            )
        lines += crawl(night, rng, noise=0.05)
        if day == 5:
            at = night.replace(hour=5)
            lines.append({"type": "deployment", "at": iso(at), "reachable": True})
    return lines


def upstream_failure() -> list[Line]:
    """(g) elra fails on Nov 8, so store_conferences is skipped that night and goes stale;
    on Nov 9 the whole crawl succeeds again."""
    rng = random.Random(7)
    lines = declarations()
    for day in range(9):
        night = NOV_1 + timedelta(days=day)
        if day == 7:
            error = "requests.exceptions.HTTPError: 503 Server Error for url: https://elra.info/"
            lines += crawl(night, rng, {"elra_conferences": error}, {STORE}, noise=0.05)
        else:
            lines += crawl(night, rng, noise=0.05)
    return lines


def retried_failure() -> list[Line]:
    """(h) On Nov 8 elra fails and Dagster retries the run from the failure: the retry
    re-runs elra and store_conferences, and both succeed."""
    rng = random.Random(8)
    lines = declarations()
    for day in range(9):
        night = NOV_1 + timedelta(days=day)
        if day != 7:
            lines += crawl(night, rng, noise=0.05)
            continue
        first = crawl(night, rng, {"elra_conferences": "ReadTimeout from elra.info"}, {STORE})
        for line in first:
            if line["source"] == "elra_conferences":
                line["will_retry"] = True
        lines += first
        retry_start = datetime.fromisoformat(first[0]["at"]) + timedelta(seconds=30)
        for key, (count, _) in [
            ("elra_conferences", SCRAPERS["elra_conferences"]),
            (STORE, (sum_counts(), 20.0)),
        ]:
            lines.append(
                {
                    "at": iso(retry_start + timedelta(seconds=45)),
                    "source": key,
                    "status": "success",
                    "run_id": f"crawl-{night:%Y-%m-%d}-retry-1",
                    "started_at": iso(retry_start),
                    "duration_s": 45.0,
                    "metrics": {"count": round(count * rng.uniform(0.97, 1.03))},
                }
            )
    return lines


def maintenance_window() -> list[Line]:
    """(i) elra.info is down for maintenance on Sundays 01:00-04:00 UTC, with an hour to catch
    up. On Sunday Nov 8 the hourly runs from 01:00 to 04:00 fail and a catch-up run succeeds
    at 04:30. A failure on Saturday 10:00, outside the window, shows the channels work."""
    rng = random.Random(9)
    lines: list[Line] = [
        {
            "type": "silence",
            "start": "2026-11-01T00:00:00Z",
            "source": "elra_conferences",
            "cron": "0 1 * * 0",
            "duration_minutes": 180,
            "catch_up_minutes": 60,
            "comment": "elra.info maintenance, Sundays 01:00-04:00 UTC",
        }
    ]
    saturday = datetime(2026, 11, 7, 0, tzinfo=UTC)
    for hour in range(40):
        at = saturday + timedelta(hours=hour)
        sunday_hour = at.hour if at.weekday() == 6 else -1
        failed = 1 <= sunday_hour <= 4 or at == saturday.replace(hour=10)
        line = next(hourly("elra_conferences", at, 1, rng, "failure" if failed else "success"))
        lines.append(line)
        if sunday_hour == 4:
            catch_up = next(hourly("elra_conferences", at + timedelta(minutes=30), 1, rng))
            lines.append(catch_up)
    return lines


def month_of_five_sources() -> list[Line]:
    """A speed benchmark: five sources, one run a day each, for a month (docs/replay.md)."""
    rng = random.Random(10)
    lines: list[Line] = []
    for day in range(30):
        for index, (key, (count, seconds)) in enumerate(SCRAPERS.items()):
            at = NOV_1 + timedelta(
                days=day, hours=2, minutes=index, seconds=round(rng.uniform(0, 50))
            )
            lines.append(
                {
                    "at": iso(at),
                    "source": key,
                    "status": "success",
                    "duration_s": round(seconds * rng.uniform(0.8, 1.2), 1),
                    "metrics": {"count": round(count * rng.uniform(0.9, 1.1))},
                }
            )
    return lines


def recovering_source() -> list[Line]:
    """(j) elra runs hourly; the 10:00 run fails, 11:00 recovers, and a run at 11:02 delivers
    80 % less. The drop comes while "Run failed" waits out its resolve hold: it must be sent,
    since a cleared failure no longer explains anything (issue 15)."""
    rng = random.Random(11)
    first = datetime(2026, 11, 2, 0, tzinfo=UTC)
    lines = list(hourly("elra_conferences", first, 10, rng))
    lines += hourly("elra_conferences", first + timedelta(hours=10), 1, rng, "failure")
    lines += hourly("elra_conferences", first + timedelta(hours=11), 1, rng)
    [drop] = hourly("elra_conferences", first + timedelta(hours=11, minutes=2), 1, rng)
    drop["metrics"] = {"count": 19}
    lines.append(drop)
    lines += hourly("elra_conferences", first + timedelta(hours=12), 2, rng)
    return lines


def three_day_outage() -> list[Line]:
    """(k) ConfRadar's daily crawl: ten good nights, then elra fails three nights running
    (Nov 11-13; store_conferences is skipped those nights and goes stale) and recovers on the
    fourth. One incident: the issue's "240 messages per channel" case."""
    rng = random.Random(12)
    lines = declarations()
    error = "requests.exceptions.ProxyError: HTTPSConnectionPool(host='elra.info', port=443)"
    for day in range(14):
        night = NOV_1 + timedelta(days=day)
        if 10 <= day <= 12:
            lines += crawl(night, rng, {"elra_conferences": error}, {STORE}, noise=0.05)
        else:
            lines += crawl(night, rng, noise=0.05)
    return lines


def hourly_flapping() -> list[Line]:
    """(l) elra runs hourly: a good day, then 12 h of runs alternating failure and success
    (from 00:00 on Nov 3), then good again."""
    rng = random.Random(13)
    first = datetime(2026, 11, 2, 0, tzinfo=UTC)
    lines: list[Line] = []
    for hour in range(24 + 12 + 12):
        status = "failure" if 24 <= hour < 36 and hour % 2 == 0 else "success"
        lines += hourly("elra_conferences", first + timedelta(hours=hour), 1, rng, status)
    return lines


STORM_SOURCES = 40


def storm() -> list[Line]:
    """(m) 40 hourly connectors in one deployment; from 10:00 on Nov 3 every run fails for 2 h
    with the same proxy error (its port and request id vary), then all recover."""
    rng = random.Random(14)
    first = datetime(2026, 11, 2, 0, tzinfo=UTC)
    keys = [f"connector_{i:02d}" for i in range(STORM_SOURCES)]
    lines: list[Line] = [{"type": "source", "source": key, "group": "connectors"} for key in keys]
    for hour in range(24 + 10 + 2 + 4):
        failing = 34 <= hour < 36
        for key in keys:
            # Runs end in three waves a minute apart: one poll picks up each wave.
            moment = first + timedelta(hours=hour, minutes=rng.randint(1, 3))
            line: Line = {
                "at": iso(moment),
                "source": key,
                "status": "failure" if failing else "success",
                "duration_s": round(rng.uniform(20, 40), 1),
            }
            if failing:
                line["error"] = (
                    f"ProxyError: Cannot connect to proxy 10.0.3.{rng.randint(2, 250)}:3128 "
                    f"(request {rng.getrandbits(48):012x})"
                )
            else:
                line["metrics"] = {"count": round(500 * rng.uniform(0.95, 1.05))}
            lines.append(line)
    return lines


SCENARIOS = {
    "a_healthy_month": healthy_month,
    "b_failing_six_hours": failing_six_hours,
    "c_count_drop": count_drop,
    "d_no_success_for_25_hours": no_success_for_25_hours,
    "e_flapping": flapping,
    "f_deployment_outage": deployment_outage,
    "g_upstream_failure": upstream_failure,
    "h_retried_failure": retried_failure,
    "i_maintenance_window": maintenance_window,
    "j_recovering_source": recovering_source,
    "month_of_five_sources": month_of_five_sources,
    "k_three_day_outage": three_day_outage,
    "l_hourly_flapping": hourly_flapping,
    "m_storm": storm,
}


def render(lines: list[Line]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def main() -> int:
    DATA.mkdir(exist_ok=True)
    for name, build in SCENARIOS.items():
        (DATA / f"{name}.jsonl").write_text(render(build()), encoding="utf-8")
        print(f"wrote {DATA / name}.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
