"""Two-way delivery under failing receivers: 500 alerts to Slack app, PagerDuty and an Apprise
kind while each receiver fails a fifth of its requests; nothing may be lost or doubled.

    .venv/bin/python benchmarks/delivery.py [--failure-rate 0.2] [--seed 17]
        [--database-url postgresql://.../confops_bench17] [--broker-url redis://...]
        [--ambiguous 0.05]

It makes a data folder and database of its own (SQLite unless ``--database-url``; a PostgreSQL
database named there is dropped and created anew), starts the test suite's fake Slack Web API,
fake PagerDuty Events API and a JSON receiver for Apprise's ``json://`` in this process, and two
real Celery worker processes (the embedded file-system broker, or ``--broker-url``). Each
receiver fails ``--failure-rate`` of its requests, seeded, answering BEFORE it acts as the real
services do: Slack 429 with ``Retry-After: 1``, PagerDuty 503, the JSON receiver 429 with
``Retry-After: 1`` or 503. ``--ambiguous`` makes the JSON receiver act and then answer 500 on that
share of requests (a doubled message is then expected there; counted apart).

The alerts go through the real policy and operations on the real clock; before the reminders,
two hours pass for the policy (the alerts' and incidents' stored moments move back), so they
fall due: 200 sources, 100 with four failing rules and 100 with one
(500 alerts, 200 incidents), fired, reminded, a third acknowledged through
``operations.acknowledge_incident``, all resolved through ``operations.resolve_incident``. Each
phase drains before the next (the workers send, this process runs the sweeper every 5 s, as
beat does every 10 s). Per kind it prints rows, sent, failed, attempts and the time from the
commit of a row to its delivery (p50/p95), then what the receivers themselves recorded: lost (a
row's message missing there) and doubled (two Slack roots for one incident, two PagerDuty
incidents for one dedup key or a trigger after its resolve, one message twice at the JSON
receiver). It exits 1 unless nothing was lost or doubled on Slack and PagerDuty, nothing lost on
the Apprise kind, and both workers lived: the figures are never printed as if nothing happened.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import machine  # noqa: E402
from benchmarks.processes import (  # noqa: E402
    BenchProcess,
    celery_worker,
    configure_confops,
    recreate_postgres,
)
from tests.fixtures.http import serving  # noqa: E402
from tests.fixtures.pagerduty import (  # noqa: E402
    ROUTING_KEY,
    FakePagerDuty,
    running_fake_pagerduty,
)
from tests.fixtures.slack_api import FakeSlack, running_fake_slack  # noqa: E402

SLACK_CHANNEL = "C0BENCH17"
RULES = 4
KINDS = ("slack_app", "pagerduty", "apprise")


# --- the JSON receiver behind Apprise's json:// -------------------------------------------------


@dataclass
class JsonReceiver:
    """Records what Apprise's JSON plugin posts; fails a seeded share of requests."""

    failure_rate: float
    ambiguous_rate: float
    seed: int
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)  # acted on
    requests: int = 0
    rng: random.Random = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def answer(self, body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.requests += 1
            roll = self.rng.random()
            if roll < self.failure_rate:  # refused before acting, as rate limits and outages are
                if self.rng.random() < 0.5:
                    return 429, {"Retry-After": "1"}
                return 503, {}
            self.received.append(json.loads(body or b"{}"))
            if roll < self.failure_rate + self.ambiguous_rate:
                return 500, {}  # acted, then failed: the sender cannot know
            return 200, {}


def running_receiver(receiver: JsonReceiver) -> Any:
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers = receiver.answer(body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return serving(Handler, stop)


# --- the confops side ---------------------------------------------------------------------------


def configure(args: argparse.Namespace, data: Path, slack: FakeSlack, pd: FakePagerDuty) -> None:
    """This process's and the workers' environment, then Django, on a fresh database."""
    settings = {"SLACK_API_URL": slack.url, "PAGERDUTY_EVENTS_URL": pd.events_url}
    if args.database_url:
        settings["DATABASE_URL"] = args.database_url
        recreate_postgres(args.database_url)
    if args.broker_url:
        settings["CELERY_BROKER_URL"] = args.broker_url
    configure_confops("delivery", data, **settings)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def set_up(json_url: str, sources: int) -> tuple[list[Any], Any]:
    """Three channels, RULES rules sending to them, ``sources`` pushed sources; the operator."""
    from django.contrib.auth import get_user_model

    from alerts.models import AlertRule, Channel
    from monitoring.choices import SourceKind
    from monitoring.models import Source

    AlertRule.objects.update(enabled=False)  # the defaults stay out of the way
    channels = [
        Channel(
            name="bench slack app",
            kind="slack_app",
            secret="xoxb-bench-17",  # noqa: S106 - the fake's
            config={"channel": SLACK_CHANNEL},
        ),
        Channel(name="bench pagerduty", kind="pagerduty", secret=ROUTING_KEY),
        Channel(name="bench apprise json", kind="apprise", secret=json_url.replace("http", "json")),
    ]
    for channel in channels:
        channel.min_severity = "info"
        channel.full_clean()
        channel.save()
    for number in range(RULES):
        rule = AlertRule.objects.create(
            name=f"bench rule {number}", kind="run_failed", severity="critical", cooldown_minutes=30
        )
        rule.channels.set(channels)
    for number in range(sources):
        Source.objects.create(key=f"bench_{number}", slug=f"bench-{number}", kind=SourceKind.PUSHED)
    user = get_user_model().objects.create_user("bench-operator", "bench@example.com")
    return channels, user


def letters(number: int) -> str:
    """A number as letters: error texts must differ after the incident signature blanks digits."""
    word = ""
    while True:
        number, rest = divmod(number, 26)
        word += chr(ord("a") + rest)
        if not number:
            return word


@dataclass
class Phases:
    """When each phase's rows were committed (wall clock), by notification id."""

    committed: dict[int, float] = field(default_factory=dict)
    alerts: int = 0
    incidents: int = 0
    acknowledged: int = 0

    def stamp(self) -> None:
        from alerts.models import Notification

        now, last = time.time(), max(self.committed, default=0)
        for pk in Notification.objects.filter(pk__gt=last).values_list("pk", flat=True):
            self.committed[pk] = now


def fire(phases: Phases, at: datetime, sources: int, alerts_wanted: int) -> None:
    """Alerts through the policy, one evaluation's transaction per source."""
    from django.db import transaction

    from alerts.engine import policy
    from alerts.models import Alert, AlertRule
    from monitoring.models import Source

    rules = list(AlertRule.objects.filter(name__startswith="bench rule").order_by("name"))
    many = (alerts_wanted - sources) // (RULES - 1)  # sources with every rule, the rest one
    for number, source in enumerate(Source.objects.filter(key__startswith="bench_").order_by("pk")):
        own = rules if number < many else rules[:1]
        with transaction.atomic():
            fired = [
                Alert.objects.create(
                    rule=rule,
                    source=source,
                    severity=rule.severity,
                    state="firing",
                    summary=f"{source.key} failed",
                    details={"error": f"upstream {letters(number)} refused the {rule.name}"},
                    opened_at=at,
                    condition_since=at,
                    fired_at=at,
                    last_seen_at=at,
                )
                for rule in own
            ]
            policy.on_changes(fired, [], [], at)
        phases.alerts += len(fired)
        phases.stamp()


def age(hours: float) -> None:
    """Time passes for the policy: every stored moment of the alerts and incidents moves back
    (rows stay due at the real "now", so workers and the sweeper run on the real clock)."""
    from django.db.models import F

    from alerts.models import Alert, Incident

    delta = timedelta(hours=hours)
    Incident.objects.update(opened_at=F("opened_at") - delta)
    Incident.objects.exclude(last_notified_at=None).update(
        last_notified_at=F("last_notified_at") - delta
    )
    moments = ("opened_at", "condition_since", "fired_at", "last_seen_at", "last_notified_at")
    for name in moments:
        Alert.objects.exclude(**{name: None}).update(**{name: F(name) - delta})


def remind(phases: Phases) -> None:
    from django.utils import timezone

    from alerts.engine import policy

    age(2)
    policy.send_reminders_and_escalations(timezone.now())
    phases.stamp()


def acknowledge(phases: Phases, user: Any, at: datetime) -> None:
    from alerts import operations
    from alerts.models import Incident

    for number, incident in enumerate(Incident.objects.order_by("pk")):
        if number % 3 == 0:
            operations.acknowledge_incident(incident, user, "benchmark: on it", at)
            phases.acknowledged += 1
            phases.stamp()


def resolve(phases: Phases, user: Any, at: datetime) -> None:
    from alerts import operations
    from alerts.models import Incident

    for incident in Incident.objects.order_by("pk"):
        operations.resolve_incident(incident, user, at)
        phases.stamp()
    phases.incidents = Incident.objects.count()


# --- workers and the sweeper --------------------------------------------------------------------


def drain(workers: list[BenchProcess], timeout: float) -> None:
    """Until no row waits or is being sent; the sweeper runs every 5 s meanwhile. A dead worker
    ends the benchmark at once."""
    from alerts import tasks
    from alerts.models import Notification

    deadline = time.monotonic() + timeout
    next_sweep = 0.0
    while Notification.objects.filter(status__in=["pending", "sending"]).exists():
        if deaths := [w.died() for w in workers if w.died()]:
            raise SystemExit("FAILED: a worker process died\n" + "\n".join(deaths))
        if time.monotonic() > deadline:
            raise SystemExit(f"FAILED: rows still waiting after {timeout:.0f} s")
        if time.monotonic() >= next_sweep:
            tasks.sweep_notifications()
            next_sweep = time.monotonic() + 5
        time.sleep(0.2)


# --- what the receivers recorded ----------------------------------------------------------------


@dataclass
class Figures:
    rows: int = 0
    sent: int = 0
    failed: int = 0
    other: int = 0
    attempts: int = 0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0
    doubled_ambiguous: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self, kind: str) -> str:
        p50 = statistics.median(self.latencies) if self.latencies else float("nan")
        p95 = quantile(self.latencies, 0.95)
        return (
            f"{kind:10} rows {self.rows:4}  sent {self.sent:4}  failed {self.failed:2}"
            f"  other {self.other:2}  attempts {self.attempts:4}"
            f"  to delivered p50 {p50:5.2f} s p95 {p95:5.2f} s"
            f"  lost {self.lost}  doubled {self.doubled}"
            + (
                f" (+{self.doubled_ambiguous} after acted-then-500)"
                if self.doubled_ambiguous
                else ""
            )
        )


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def outbox_figures(kind: str, committed: dict[int, float]) -> Figures:
    from django.db.models import Count

    from alerts.models import Notification

    figures = Figures()
    rows = Notification.objects.filter(channel__kind=kind).annotate(n=Count("delivery_attempts"))
    for row in rows:
        figures.rows += 1
        figures.attempts += row.n
        if row.status == "sent":
            figures.sent += 1
            assert row.sent_at is not None
            figures.latencies.append(row.sent_at.timestamp() - committed[row.pk])
        elif row.status == "failed":
            figures.failed += 1
            figures.notes.append(f"row {row.pk} ({row.event}) failed: {row.error}")
        else:
            figures.other += 1
            figures.notes.append(f"row {row.pk} ({row.event}) ended {row.status}: {row.error}")
    return figures


def rows_by_incident(kind: str) -> dict[int, list[str]]:
    from alerts.models import Notification

    events: dict[int, list[str]] = collections.defaultdict(list)
    for incident_id, event in (
        Notification.objects.filter(channel__kind=kind, incident__isnull=False)
        .order_by("pk")
        .values_list("incident_id", "event")
    ):
        events[incident_id].append(event)
    return events


def judge_slack(slack: FakeSlack, figures: Figures) -> None:
    """One root per incident (the one confops keeps), a reply per reminder, a root edit per later
    row, the root showing 'Resolved' at the end."""
    from alerts.models import IncidentMirror

    references = dict(
        IncidentMirror.objects.filter(channel__kind="slack_app").values_list(
            "incident_id", "reference"
        )
    )
    roots = {m.ts: m for m in slack.roots(SLACK_CHANNEL)}
    orphans = set(roots) - set(references.values())
    figures.doubled += len(orphans)
    figures.notes += [f"a second root: {roots[ts].text[:80]}" for ts in sorted(orphans)]
    for incident_id, events in rows_by_incident("slack_app").items():
        root = roots.get(references.get(incident_id, ""))
        if root is None:
            figures.lost += len(events)
            figures.notes.append(f"incident {incident_id}: no root in Slack")
            continue
        replies = len(slack.replies(SLACK_CHANNEL, root.ts))
        wanted = sum(1 for e in events if e in ("reminder", "update", "escalation", "flapping"))
        edits = len(events) - 1
        missing = max(0, wanted - replies) + max(0, edits - root.edits)
        missing += 0 if root.text.split(" ", 1)[-1].startswith("Resolved") else 1
        if missing:
            figures.lost += missing
            figures.notes.append(
                f"incident {incident_id}: {replies}/{wanted} replies, {root.edits}/{edits} edits,"
                f" root shows {root.text[:60]!r}"
            )
        if replies > wanted:
            figures.doubled += replies - wanted
            figures.notes.append(f"incident {incident_id}: {replies} replies for {wanted} rows")


def judge_pagerduty(pd: FakePagerDuty, figures: Figures) -> None:
    """One PagerDuty incident per dedup key, a trigger per firing/reminder row, the acknowledge
    and the resolve; no trigger after the resolve."""
    for incident_id, events in rows_by_incident("pagerduty").items():
        key = f"confops-incident-{incident_id}"
        remote = pd.incidents_of(key)
        actions = [e["event_action"] for e in pd.events if e.get("dedup_key") == key]
        if len(remote) > 1:
            figures.doubled += len(remote) - 1
            figures.notes.append(f"{key}: {len(remote)} PagerDuty incidents")
        if "resolve" in actions and "trigger" in actions[actions.index("resolve") :]:
            figures.doubled += 1
            figures.notes.append(f"{key}: a trigger after the resolve: {actions}")
        wanted = collections.Counter(
            {"resolved": "resolve", "acknowledged": "acknowledge"}.get(e, "trigger") for e in events
        )
        got = collections.Counter(actions)
        missing = sum(max(0, n - got[action]) for action, n in wanted.items())
        if missing or not remote or remote[-1].state != "resolved":
            figures.lost += max(missing, 1)
            figures.notes.append(f"{key}: rows {dict(wanted)}, PagerDuty got {dict(got)}")


def judge_json(receiver: JsonReceiver, figures: Figures) -> None:
    """Each row once at the receiver. The plain-text body names no notification id (Apprise
    posts title and body only), so a message is its (title, body): every row's differs (event,
    state, sources), so fewer distinct messages than rows is a loss, one seen twice a double."""
    from alerts.models import Notification

    got = collections.Counter((r.get("title"), r.get("message")) for r in receiver.received)
    rows = Notification.objects.filter(channel__kind="apprise").count()
    figures.lost = max(0, rows - len(got))
    twice = sum(n - 1 for n in got.values() if n > 1)
    if receiver.ambiguous_rate:
        figures.doubled_ambiguous = twice
    else:
        figures.doubled = twice


# --- the run ------------------------------------------------------------------------------------


def benchmark(args: argparse.Namespace) -> bool:
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="confops-delivery-"))
    receiver = JsonReceiver(args.failure_rate, args.ambiguous, args.seed)
    with (
        running_fake_slack() as slack,
        running_fake_pagerduty() as pd,
        running_receiver(receiver) as json_url,
    ):
        receiver.url = json_url
        slack.fail_randomly(args.failure_rate, seed=args.seed, status=429)
        pd.failure_rate, pd.failure_status = args.failure_rate, 503
        pd.rng = random.Random(args.seed + 1)
        configure(args, data, slack, pd)
        _, user = set_up(json_url + "/hook", args.sources)
        workers = [celery_worker(f"bench{n}", data / f"worker{n}.log") for n in (1, 2)]
        for worker in workers:
            worker.start()
        phases = Phases()
        started = time.monotonic()
        from django.utils import timezone

        try:
            timings = []
            steps: list[tuple[str, Any]] = [
                ("fire", lambda: fire(phases, timezone.now(), args.sources, args.alerts)),
                ("remind", lambda: remind(phases)),
                ("acknowledge", lambda: acknowledge(phases, user, timezone.now())),
                ("resolve", lambda: resolve(phases, user, timezone.now())),
            ]
            for name, step in steps:
                began = time.monotonic()
                step()
                drain(workers, args.timeout)
                timings.append(f"{name} {time.monotonic() - began:.1f} s")
        finally:
            for worker in workers:
                worker.stop()
        seconds = time.monotonic() - started
        return report(args, data, phases, slack, pd, receiver, timings, seconds)


def report(
    args: argparse.Namespace,
    data: Path,
    phases: Phases,
    slack: FakeSlack,
    pd: FakePagerDuty,
    receiver: JsonReceiver,
    timings: list[str],
    seconds: float,
) -> bool:
    from django.db import connection

    from alerts.models import Notification

    print(f"machine: {machine()}")
    broker = args.broker_url.split("://")[0] if args.broker_url else "embedded file-system"
    print(
        f"database {connection.vendor}, broker {broker}, 2 Celery worker processes (concurrency 1)"
        f" + the sweeper; data folder {data}"
    )
    print(
        f"{phases.alerts} alerts in {phases.incidents} incidents; {phases.acknowledged}"
        f" acknowledged, all resolved; receivers fail {args.failure_rate:.0%} before acting"
        + (f", the JSON receiver {args.ambiguous:.0%} acted-then-500" if args.ambiguous else "")
        + f" (seed {args.seed})"
    )
    print(f"phases (each drained before the next): {', '.join(timings)}; {seconds:.1f} s in all")
    events = collections.Counter(Notification.objects.values_list("event", flat=True))
    print("rows by event: " + ", ".join(f"{e} {n}" for e, n in sorted(events.items())))
    print(
        f"requests answered: Slack {len(slack.calls)}, PagerDuty {pd.requests},"
        f" JSON receiver {receiver.requests}"
    )
    judges = {
        "slack_app": lambda f: judge_slack(slack, f),
        "pagerduty": lambda f: judge_pagerduty(pd, f),
        "apprise": lambda f: judge_json(receiver, f),
    }
    ok = phases.alerts == args.alerts
    for kind in KINDS:
        figures = outbox_figures(kind, phases.committed)
        judges[kind](figures)
        print(figures.line(kind))
        for note in figures.notes[:10]:
            print(f"    {note}")
        ok = ok and figures.rows > 0 and figures.lost == 0
        if kind != "apprise":
            ok = ok and figures.doubled == 0
    print("RESULT: " + ("ok" if ok else "FAILED"))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--sources", type=int, default=200, help="one incident each")
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--ambiguous", type=float, default=0.0, help="JSON receiver only")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--database-url", default="", help="PostgreSQL (default: SQLite)")
    parser.add_argument("--broker-url", default="", help="default: the embedded broker")
    parser.add_argument("--timeout", type=float, default=600, help="per phase")
    parser.add_argument("--data-dir", default="", help="default: a new temporary folder")
    args = parser.parse_args()
    sys.exit(0 if benchmark(args) else 1)


if __name__ == "__main__":
    main()
