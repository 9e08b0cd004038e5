"""/metrics: the Prometheus text format, parsed with the client's own parser, from seeded data;
protected by a token or an address list, else behind login; a fixed number of queries."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from alerts.choices import AlertState, NotificationStatus, Severity
from alerts.models import Notification
from confops.common import queues
from confops.runtime import heartbeat
from confops.runtime.metrics import filesystem_queue_lengths, record_evaluation
from monitoring.models import Deployment, PollRecord, Source
from tests.alerts import factories as f

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TOKEN = "scrape-me-please-0123456789"


@pytest.fixture(autouse=True)
def at_now(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test lives at NOW from its first write to its last read: the heartbeats' cache entries
    expire on the clock, so a scrape at NOW between writes and reads on the real clock would read
    entries written a week before today as expired. The real processes keep the real clock."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    with time_machine.travel(NOW, tick=False):
        yield


def scrape(client: Client, **headers: str) -> dict[str, list[Sample]]:
    """Samples by family name, through the real URL and the client's own text parser."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def value(samples: list[Sample], **labels: str) -> float:
    found = [s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{labels}: {len(found)} samples"
    return found[0]


@pytest.fixture
def token_settings(settings: Any) -> Any:
    settings.METRICS_BEARER_TOKEN = TOKEN
    return settings


@pytest.fixture
def seeded(db: None) -> dict[str, Any]:
    return seed()


def seed() -> dict[str, Any]:
    """Two deployments (one failing), three sources, runs, an alert, notifications, polls."""
    prod = f.deployment("prod", last_success_at=NOW - timedelta(seconds=4))
    f.deployment(
        "broken",
        last_success_at=NOW - timedelta(hours=1),
        consecutive_failures=3,
        poll_interval_seconds=120,
    )
    good = f.source("wikicfp", prod)
    bad = f.source("elra", prod)
    pushed = f.source("fastapi-scraper")
    f.run(good, NOW - timedelta(hours=2), metrics={"count": 1234, "preview": 7}, duration_s=42.5)
    f.run(good, NOW - timedelta(hours=1), ok=False, duration_s=3.0)
    f.run(bad, NOW - timedelta(hours=30), metrics={"count": 10})
    f.run(bad, NOW - timedelta(minutes=5), ok=False, duration_s=8.0)
    f.run(pushed, NOW - timedelta(minutes=30), metrics={"count": 5}, duration_s=1.5)
    rule = f.rule("elra down", "run_failed", severity=Severity.CRITICAL)
    alert = f.alert(rule, bad, NOW - timedelta(minutes=5))
    slack, mail = f.channel("slack"), f.channel("mail", kind="email", failing_since=NOW)
    f.notification(slack, "firing", [alert], NOW)
    failed = f.notification(mail, "firing", [alert], NOW)
    Notification.objects.filter(pk=failed.pk).update(status=NotificationStatus.FAILED)
    for ms, ok in ((20, True), (80, True), (700, True), (3000, False)):
        PollRecord.objects.create(
            deployment=prod, started_at=NOW - timedelta(seconds=60), duration_ms=ms, ok=ok
        )
    PollRecord.objects.create(
        deployment=prod, started_at=NOW - timedelta(hours=1), duration_ms=9000, ok=False
    )
    return {"good": good, "bad": bad, "pushed": pushed}


def test_a_scrape_has_the_documented_families_and_values(
    seeded: dict[str, Any], token_settings: Any, client: Client
) -> None:
    heartbeat.record_beat(NOW.timestamp() - 12)
    record_evaluation("timer", 0.25, NOW.timestamp())
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    good = {"deployment": "prod", "source": seeded["good"].slug, "kind": "asset"}
    bad = {"deployment": "prod", "source": seeded["bad"].slug, "kind": "asset"}
    pushed = {"deployment": "", "source": seeded["pushed"].slug, "kind": "pushed"}

    assert value(families["confops_source_state"], **good) == 0
    assert value(families["confops_source_state"], **bad) == 2
    assert value(families["confops_source_seconds_since_last_success"], **good) == 7200
    assert value(families["confops_source_last_run_duration_seconds"], **good) == 3.0
    assert value(families["confops_source_last_run_duration_seconds"], **pushed) == 1.5
    metric = families["confops_source_last_metric_value"]
    assert value(metric, metric="count", **good) == 1234
    assert not [s for s in metric if s.labels["metric"] == "preview"], "not in the list"
    runs = families["confops_source_runs"]
    assert {s.name for s in runs} == {"confops_source_runs_total"}
    assert value(runs, status="success", **good) == 1
    assert value(runs, status="failure", **good) == 1


def test_deployments_polls_alerts_and_notifications_are_exported(
    seeded: dict[str, Any], token_settings: Any, client: Client
) -> None:
    families = scrape(client, Authorization=f"Bearer {TOKEN}")

    assert value(families["confops_deployment_reachable"], deployment="prod") == 1
    assert value(families["confops_deployment_reachable"], deployment="broken") == 0
    assert value(families["confops_deployment_consecutive_poll_failures"], deployment="broken") == 3
    since = families["confops_deployment_seconds_since_last_successful_poll"]
    assert value(since, deployment="prod") == 4
    interval = families["confops_deployment_poll_interval_seconds"]
    assert value(interval, deployment="broken") == 120
    buckets = families["confops_deployment_poll_duration_seconds"]
    assert value(buckets, deployment="prod", le="0.05") == 1
    assert value(buckets, deployment="prod", le="1.0") == 3
    assert value(buckets, deployment="prod", le="+Inf") == 4, "the 1 h old poll is outside"
    assert value(families["confops_deployment_poll_duration_seconds_gsum"], deployment="prod") == (
        pytest.approx(3.8)
    )
    assert value(families["confops_deployment_failed_polls"], deployment="prod") == 1
    open_alerts = families["confops_alerts_open"]
    assert value(open_alerts, rule="elra down", severity="critical", state="firing") == 1
    assert value(open_alerts, rule="elra down", severity="critical", state="acknowledged") == 0
    notifications = families["confops_notifications"]
    assert value(notifications, channel_kind="email", status="failed") == 1
    assert value(notifications, channel_kind="slack", status="pending") == 1
    assert value(families["confops_channels_failing"], channel_kind="email") == 1
    assert value(families["confops_channels_failing"], channel_kind="slack") == 0


def test_process_families_come_from_the_shared_cache_and_the_broker(
    db: None, token_settings: Any, client: Client
) -> None:
    heartbeat.record_beat(NOW.timestamp() - 12)
    heartbeat.record_worker("celery@w1", NOW.timestamp() - 3)
    record_evaluation("poll", 0.125, NOW.timestamp())
    families = scrape(client, Authorization=f"Bearer {TOKEN}")

    assert value(families["confops_beat_heartbeat_age_seconds"]) == 12
    assert math.isinf(value(families["confops_worker_task_heartbeat_age_seconds"]))
    workers = families["confops_worker_heartbeat_age_seconds"]
    assert value(workers, worker="celery@w1") == 3
    assert value(families["confops_evaluation_duration_seconds"], trigger="poll") == 0.125
    assert not [s for s in families["confops_evaluation_duration_seconds"] if s.labels == {}]
    assert value(families["confops_celery_broker_up"]) == 1
    assert value(families["confops_celery_queue_length"], queue="poll") >= 0


def test_a_long_dead_worker_leaves_the_series_and_the_list(
    db: None, token_settings: Any, client: Client
) -> None:
    token_settings.HEARTBEAT_STALE_SECONDS = 60  # forgotten after 10 x 60 s
    heartbeat.record_worker("celery@alive", NOW.timestamp() - 30)
    heartbeat.record_worker("celery@stale", NOW.timestamp() - 600)
    heartbeat.record_worker("celery@crashed", NOW.timestamp() - 601)
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    workers = families["confops_worker_heartbeat_age_seconds"]

    assert {s.labels["worker"]: s.value for s in workers} == {
        "celery@alive": 30,
        "celery@stale": 600,
    }
    assert cache.get(heartbeat.WORKER_NAMES_KEY) == ["celery@alive", "celery@stale"]
    assert cache.get(heartbeat.worker_key("celery@crashed")) is None


def test_with_every_worker_long_dead_the_newest_is_kept_to_show_its_age(
    db: None, token_settings: Any, client: Client
) -> None:
    token_settings.HEARTBEAT_STALE_SECONDS = 60
    heartbeat.record_worker("celery@old", NOW.timestamp() - 7200)
    heartbeat.record_worker("celery@last", NOW.timestamp() - 3600)
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    workers = families["confops_worker_heartbeat_age_seconds"]

    assert {s.labels["worker"]: s.value for s in workers} == {"celery@last": 3600}
    assert heartbeat.read_workers(NOW.timestamp()) == {"celery@last": NOW.timestamp() - 3600}


def test_the_file_system_queue_counts_message_files_of_the_queue(tmp_path: Path) -> None:
    for name in ("1_a.poll.msg", "2_b.poll.msg", "3_c.other.msg", "4_d.poll.tmp"):
        (tmp_path / name).write_text("{}")
    lengths = filesystem_queue_lengths(str(tmp_path))
    assert lengths["poll"] == 2 and set(lengths) == set(queues.ALL) and sum(lengths.values()) == 2


def test_a_broker_that_does_not_answer_shows_as_down_without_failing_the_scrape(
    db: None, token_settings: Any, client: Client
) -> None:
    # Nothing listens on port 9 (discard) here: the connection is refused at once.
    token_settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    assert value(families["confops_celery_broker_up"]) == 0
    assert families.get("confops_celery_queue_length", []) == []


def test_label_values_are_escaped(db: None, token_settings: Any, client: Client) -> None:
    dep = f.deployment('prod "eu"\\west')
    src = Source.objects.create(deployment=dep, kind="asset", key="k", slug='odd"slug\\x\ny')
    rule = f.rule('say "hi"', "run_failed")
    f.alert(rule, src, NOW)
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    labels = {"deployment": 'prod "eu"\\west', "source": 'odd"slug\\x\ny', "kind": "asset"}
    assert value(families["confops_source_state"], **labels) == 1
    assert value(families["confops_alerts_open"], rule='say "hi"', state="firing") == 1


def test_a_recovering_source_counts_as_healthy(
    db: None, token_settings: Any, client: Client
) -> None:
    """Its only alert has cleared and waits out its resolve hold: nothing to page about."""
    src = f.source("elra_conferences", f.deployment("prod", last_success_at=NOW))
    alert = f.alert(f.rule("elra down", "run_failed", resolve_hold_minutes=30), src, NOW)
    alert.clear_since = NOW
    alert.save(update_fields=["clear_since"])
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    labels = {"deployment": "prod", "source": src.slug, "kind": "asset"}
    assert value(families["confops_source_state"], **labels) == 0


def test_the_query_count_does_not_grow_with_the_number_of_sources(
    db: None, token_settings: Any, client: Client
) -> None:
    dep = f.deployment("prod", last_success_at=NOW)

    def queries_with(total: int) -> int:
        for i in range(Source.objects.count(), total):
            f.run(f.source(f"s{i}", dep), NOW - timedelta(hours=1), metrics={"count": i})
        with CaptureQueriesContext(connection) as captured:
            scrape(client, Authorization=f"Bearer {TOKEN}")
        return len(captured.captured_queries)

    assert queries_with(10) == queries_with(100)
    assert queries_with(100) <= 12


def test_without_the_token_a_protected_scrape_is_refused(
    seeded: dict[str, Any], token_settings: Any, client: Client
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"confops_" not in response.content


def test_an_address_outside_the_allow_list_is_refused(
    db: None, settings: Any, client: Client
) -> None:
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_with_both_set_the_scraper_needs_the_token_and_the_address(
    token_settings: Any, client: Client, db: None
) -> None:
    token_settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.1/32")]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1", headers=auth).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers=auth).status_code == 200


def test_unprotected_metrics_stay_behind_login(
    db: None, client: Client, viewer_user_client: Client, outsider_client: Client
) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    assert outsider_client.get("/metrics").status_code == 403
    assert viewer_user_client.get("/metrics").status_code == 200


def test_a_deployment_never_polled_successfully_is_infinitely_stale(
    db: None, token_settings: Any, client: Client
) -> None:
    Deployment.objects.create(name="new", graphql_url="http://new/graphql")
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    since = families["confops_deployment_seconds_since_last_successful_poll"]
    assert math.isinf(value(since, deployment="new"))
    assert value(families["confops_deployment_reachable"], deployment="new") == 0


def test_a_resolved_alert_leaves_the_firing_count(
    seeded: dict[str, Any], token_settings: Any, client: Client
) -> None:
    from alerts.models import Alert

    Alert.objects.update(state=AlertState.RESOLVED, resolved_at=NOW)
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    assert value(families["confops_alerts_open"], rule="elra down", state="firing") == 0
    bad = {"deployment": "prod", "source": seeded["bad"].slug}
    assert value(families["confops_source_state"], **bad) == 0


@pytest.mark.slow
def test_request_histograms_agree_across_gunicorn_workers(
    transactional_db: None, tmp_path: Path
) -> None:
    """Two real gunicorn workers in multiprocess mode: every scrape, whichever worker answers
    it, counts the requests both workers served."""
    from tests.fixtures.dagster import free_port
    from tests.fixtures.processes import BIN, child_env, start_process, wait_until

    port, folder = free_port(), tmp_path / "prom"
    env = child_env(
        CONFOPS_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        WEB_THREADS="1",
        METRICS_MULTIPROC_DIR=str(folder),
        METRICS_BEARER_TOKEN=TOKEN,
        CONFOPS_DATA_DIR=str(tmp_path),
        ALLOWED_HOSTS="127.0.0.1",
    )
    args = [str(BIN / "gunicorn"), "confops.wsgi:application", "-c", "confops/gunicorn_conf.py"]
    web = start_process("gunicorn", args, env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: up(f"{base}/health"), 60, "gunicorn to answer")
        # Eight at a time on workers of one thread each: both workers serve some of them, once
        # both are up (on a loaded machine the second may still be importing Django when the
        # first answers, and serve nothing of a first batch).
        answers: list[requests.Response] = []

        def both_workers_served() -> bool:
            with ThreadPoolExecutor(8) as pool:
                answers.extend(
                    pool.map(lambda _: requests.get(f"{base}/health", timeout=10), range(40))
                )
            return len(list(folder.glob("histogram_*.db"))) == 2

        wait_until(both_workers_served, 30, "both gunicorn workers to serve requests")
        assert {r.status_code for r in answers} == {200}
        assert len(list(folder.glob("histogram_*.db"))) == 2, web.tail()
        # Sequential scrapes land on either worker; each sums both workers' files.
        counts = {health_requests_counted(base) for _ in range(6)}
        assert len(counts) == 1, counts
        counts_before = counts.pop()
        assert counts_before >= 40
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: requests.get(f"{base}/health", timeout=10), range(10)))
        assert {health_requests_counted(base) for _ in range(4)} == {counts_before + 10}
    finally:
        web.stop()


def health_requests_counted(base: str) -> float:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = requests.get(f"{base}/metrics", headers=auth, timeout=10)
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    samples = families["confops_http_request_duration_seconds"].samples
    wanted = {"view": "health", "method": "GET", "status": "2xx"}
    (count,) = [s.value for s in samples if s.name.endswith("_count") and s.labels == wanted]
    return count


def up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
