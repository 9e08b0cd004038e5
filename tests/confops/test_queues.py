"""Work split by queue (confops/common/queues.py): every task lands on a declared queue, each
kind of work on its own, and a busy delivery worker does not hold up a poll."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from alerts.models import AlertRule, Notification
from alerts.notify.outbox import DELIVER_TASK
from alerts.notify.transports import all_transports
from confops.celery import app
from confops.common import queues
from monitoring.models import Deployment, PollRecord
from tests.alerts import factories as f
from tests.alerts.test_delivery import webhook_channel
from tests.fixtures.http import HttpResponder
from tests.fixtures.processes import CeleryProcesses, wait_until

APPS = ("confops", "monitoring", "alerts", "reports")


def routed_queue(task_name: str, **options: Any) -> str:
    """The queue Celery's router picks for a task sent with ``options`` (as apply_async does)."""
    route = app.amqp.router.route(options, task_name, (), {})
    return str(route["queue"].name)


def our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.split(".")[0] in APPS)


def test_every_task_of_ours_routes_to_a_declared_queue() -> None:
    names = our_tasks()
    assert "monitoring.poll_deployment" in names and DELIVER_TASK in names
    declared = {queue.name for queue in app.conf.task_queues}
    assert declared == set(queues.ALL)
    for name in names:
        assert routed_queue(name) in declared, name


def test_poll_evaluation_each_delivery_family_and_reports_have_queues_of_their_own() -> None:
    kinds = {
        "poll": routed_queue("monitoring.poll_deployment"),
        "evaluation": routed_queue("alerts.evaluate_all"),
        "reports": routed_queue("reports.send_daily_report"),
    }
    families = {transport.queue for transport in all_transports().values()}
    assert families == set(queues.DELIVERY)
    for family in families:
        kinds[family] = routed_queue(DELIVER_TASK, queue=family)
    assert len(set(kinds.values())) == len(kinds) == 3 + 4
    assert queues.DEFAULT not in kinds.values()


@pytest.mark.django_db
def test_each_channel_kind_names_its_family() -> None:
    by_kind = {kind: transport.queue for kind, transport in all_transports().items()}
    assert by_kind["slack"] == by_kind["teams"] == by_kind["slack_app"] == queues.DELIVER_CHAT
    assert by_kind["pagerduty"] == queues.DELIVER_PAGING
    assert by_kind["email"] == queues.DELIVER_EMAIL
    assert by_kind["webhook"] == queues.DELIVER_WEBHOOK
    to_one_person = Notification(channel=None, payload={"to": "ann@example.com"})
    assert to_one_person.delivery_queue() == queues.DELIVER_EMAIL


def refused_url() -> str:
    """A loopback URL nobody listens on: the poll fails at once and records the failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_poll_is_not_held_up_by_a_hanging_receiver(
    http_responder: HttpResponder, celery_processes: CeleryProcesses
) -> None:
    """A webhook that answers after 20 s keeps the delivery worker busy with a backlog of rows;
    a poll queued after them runs at once on the polling queue's worker."""
    from monitoring.tasks import poll_deployment

    http_responder.default.delay_s = 20
    AlertRule.objects.all().delete()
    hook = webhook_channel(f"{http_responder.url}/slow")
    rule = f.rule("Run failed", "run_failed", [hook])
    alert = f.alert(rule, f.source("elra", f.deployment()), timezone.now())
    watched = Deployment.objects.create(name="watched", graphql_url=refused_url())
    celery_processes.worker("deliver@%h", queues=[queues.DELIVER_WEBHOOK])
    celery_processes.worker("poll@%h", queues=[queues.POLL])
    with transaction.atomic():
        rows = [f.notification(hook, "firing", [alert], timezone.now()) for _ in range(5)]
    try:
        wait_until(lambda: hanging(rows), 30, "the hanging send")
        queued_at = time.monotonic()
        poll_deployment.delay(watched.pk)
        wait_until(PollRecord.objects.filter(deployment=watched).exists, 10, "the poll")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None
    waited = time.monotonic() - queued_at
    sending = Notification.objects.filter(pk__in=[r.pk for r in rows], status="sending")
    assert sending.count() == 1, "the delivery worker was not busy while the poll ran"
    assert Notification.objects.filter(status="pending").count() == 4  # the backlog waits
    assert waited < 10, f"the poll waited {waited:.1f} s"
    deliver_log, poll_log = (process.log() for process in celery_processes.started)
    assert "monitoring.poll_deployment[" in poll_log  # the task id follows the name
    assert "monitoring.poll_deployment[" not in deliver_log


def hanging(rows: list[Notification]) -> bool:
    return Notification.objects.filter(pk__in=[r.pk for r in rows], status="sending").exists()


@pytest.mark.django_db
def test_health_detailed_counts_what_waits_in_each_queue() -> None:
    """A queue nobody consumes shows its backlog; the others stay at 0."""
    from confops.runtime import health

    before = health.queue_backlog()["queues"]
    assert set(before) == set(queues.ALL)
    app.send_task("reports.send_daily_report")  # no worker runs in this test
    try:
        after = health.queue_backlog()["queues"]
    finally:  # never left for a later test's worker to run
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queues.REPORTS)
    assert after[queues.REPORTS] == before[queues.REPORTS] + 1
    assert {name: after[name] for name in queues.ALL if name != queues.REPORTS} == {
        name: before[name] for name in queues.ALL if name != queues.REPORTS
    }
