"""A fresh install reaches Slack with no rule edited (issue 15, "reaches someone by default").

What a new user of ``make demo`` does, end to end: ``migrate`` (the test database: the default
rules, no channel) and ``demo_bootstrap`` (the demo's admin and its Dagster deployment) on a
fresh Dagster instance of the bundled example; the admin logs into the Django admin in Chromium
and creates one Slack channel whose webhook is a local Slack stand-in; a scraper of the example
then fails in a real Dagster run, and the poller picks the run up.

The failure is a real run on a real Dagster webserver (its own, ~6 s to start once, ~5 s per
run), not a pushed or hand-made run: that is the path the demo takes, and its poller,
evaluation and rule defaults are what decide whether anyone hears of it. Polling is called as
the beat's task does (``polling.poll_deployment``) and Celery runs eagerly, so evaluation and
delivery take the production path (``sources_touched`` -> evaluation -> outbox row ->
``on_commit`` -> dispatch -> Slack transport) without a worker and a broker's polling in between
(``tests/alerts/test_delivery.py`` covers those). The runs of each test are deleted after it, so
the next test's first poll finds none, as on a fresh install.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.choices import NotificationEvent, NotificationStatus
from alerts.models import Alert, AlertRule, Channel, Notification
from confops.celery import app as celery_app
from monitoring import polling
from monitoring.models import Deployment
from tests.fixtures.dagster import DagsterServer, start_dagster_webserver
from tests.fixtures.http import CannedResponse, HttpResponder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.dagster,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ADMIN_PASSWORD = "pw-demo-admin-12345"
FAILURE = "HTTP 502 Bad Gateway from https://www.elra.info/en/events/ (fresh install e2e)"
HOOK_PATH = "/services/T0/B0/fresh-install"
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId } } } }"
DELETE_RUN_MUTATION = """
mutation DeleteRun($runId: String!) {
  deleteRun(runId: $runId) { __typename ... on PythonError { message } }
}
"""


@pytest.fixture(scope="module")
def example_dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterServer]:
    """The example's own Dagster instance for this file (not the session's, whose earlier runs
    a first poll would find)."""
    server = start_dagster_webserver(tmp_path_factory.mktemp("fresh_dagster"))
    try:
        yield server
    finally:
        server.session.close()
        server.process.stop()


@pytest.fixture
def fresh_dagster(example_dagster: DagsterServer) -> Iterator[DagsterServer]:
    """The instance with no run, as on a first demo: each test's runs are deleted after it, so
    the next test's first poll finds none (cheaper than a new webserver per test)."""
    yield example_dagster
    runs = example_dagster.data(RUNS_QUERY)["runsOrError"]["results"]
    for run in runs:
        deleted = example_dagster.data(DELETE_RUN_MUTATION, {"runId": run["runId"]})
        assert deleted["deleteRun"]["__typename"] == "DeletePipelineRunSuccess", deleted


@pytest.fixture
def demo(fresh_dagster: DagsterServer, settings: Any, tmp_path: Path) -> Deployment:
    """``make demo``'s bootstrap on a migrated database: its admin and its deployment only."""
    settings.DATA_DIR = tmp_path / "var"
    call_command(
        "demo_bootstrap",
        password=ADMIN_PASSWORD,
        dagster_url=fresh_dagster.base_url,
        dotenv=tmp_path / ".env",
        stdout=StringIO(),
    )
    assert not Channel.objects.exists()
    assert not AlertRule.objects.filter(channels__isnull=False).exists()
    return Deployment.objects.get()


@pytest.fixture
def slack(http_responder: HttpResponder) -> HttpResponder:
    """The Slack stand-in: records each post and answers ``ok`` as Slack's webhooks do."""
    http_responder.default = CannedResponse(200, b"ok", "text/plain")
    return http_responder


@pytest.fixture
def eager_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks run in the caller: the poll's evaluation and the admin's save deliver at once."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def poll(deployment: Deployment) -> None:
    """One poll, as the beat's task runs it."""
    assert polling.poll_deployment(deployment, timezone.now()), deployment.last_error
    deployment.refresh_from_db()


def fail_a_scraper(server: DagsterServer) -> str:
    """A real run of the example whose elra_conferences step fails; its run id."""
    server.set_faults({"elra_conferences": {"fail": True, "message": FAILURE}})
    try:
        run_id = server.launch_run("crawl_job", tags={"confops/test": "fresh-install"})
        assert server.wait_for_run(run_id)["status"] == "FAILURE"
    finally:
        server.clear_faults()
    return run_id


def log_into_admin(page: Any) -> None:
    page.goto("/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def create_slack_channel(page: Any, webhook_url: str) -> Channel:
    """Fill the admin's channel form as a new user would: a name, the kind, the webhook."""
    page.goto("/admin/alerts/channel/add/")
    page.fill("#id_name", "ops-slack")
    page.select_option("#id_kind", "slack")
    page.fill("#id_secret", webhook_url)
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r"/admin/alerts/channel/$"))
    assert "was added successfully" in page.inner_text(".messagelist")
    return Channel.objects.get()


def firing_posts(slack: HttpResponder) -> list[str]:
    """The text of each firing message Slack received."""
    texts = [r.json()["text"] for r in slack.requests if r.path == HOOK_PATH]
    return [text for text in texts if "Firing" in text]


def assert_told_once(slack: HttpResponder, page: Any, channel: Channel) -> None:
    """Slack got one firing message naming the source; the alert's page says who was told."""
    [text] = firing_posts(slack)
    assert "elra_conferences" in text
    assert len(slack.requests) == 1, [r.json()["text"] for r in slack.requests]
    row = Notification.objects.get(event=NotificationEvent.FIRING)
    assert row.channel == channel and row.status == NotificationStatus.SENT, row.error
    alert = row.alerts.get()
    assert alert.source is not None and alert.source.key == "elra_conferences"
    page.goto(f"/alerts/{alert.pk}/")
    notified = page.locator("section", has=page.locator("#notifications-heading"))
    assert "ops-slack (slack)" in notified.inner_text()
    assert "Sent" in notified.inner_text()
    assert page.locator("#unreached").count() == 0


def test_a_fresh_demo_with_one_slack_channel_sends_the_first_failure_to_it(
    demo: Deployment,
    fresh_dagster: DagsterServer,
    page: Any,
    slack: HttpResponder,
    eager_celery: None,
) -> None:
    poll(demo)  # the demo's first poll: the example discovered, nothing failed yet
    log_into_admin(page)
    channel = create_slack_channel(page, f"{slack.url}{HOOK_PATH}")
    assert channel.is_default and not AlertRule.objects.filter(channels=channel).exists()

    fail_a_scraper(fresh_dagster)
    poll(demo)

    assert_told_once(slack, page, channel)


def test_a_failure_before_the_first_channel_is_sent_once_the_channel_is_created(
    demo: Deployment,
    fresh_dagster: DagsterServer,
    page: Any,
    slack: HttpResponder,
    eager_celery: None,
) -> None:
    fail_a_scraper(fresh_dagster)
    poll(demo)
    alert = Alert.objects.get(source__key="elra_conferences", rule__name="Run failed")
    assert alert.last_notified_at is None  # open, and nobody was told: there is no channel

    log_into_admin(page)
    page.goto(f"/alerts/{alert.pk}/")
    assert "no channel is marked default" in page.inner_text("#unreached")
    channel = create_slack_channel(page, f"{slack.url}{HOOK_PATH}")
    poll(demo)  # the next poll sends nothing more

    assert_told_once(slack, page, channel)
