"""Planted secrets are used where they belong and shown nowhere else.

Every secret-bearing field gets a distinct marker (``SECRETMARK<field><random>``) in the form the
field really takes: a Slack webhook URL's path, a webhook channel's URL and Authorization header,
an HMAC key, a Dagster auth header, the userinfo of a GraphQL URL, the SMTP password, the metrics
bearer token, the dead man's switch URL; an API token's own random value stands in for its
marker. Then the features run for real against local servers: deliveries that succeed and
deliveries that fail with a connection error (the error path is where secrets leak), polls that
fail, a "Deployment unreachable" alert, the daily report, the dead man's switch ping, a /metrics
scrape. Each test then reads one surface (pages as each role, the admin, the API, the audit trail,
log lines, /metrics, health, outgoing messages) and names every secret it finds and where.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import re
import secrets as random_secrets
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.views.debug import technical_500_response

from alerts.choices import NotificationStatus
from alerts.engine import delivery, evaluation
from alerts.models import (
    Alert,
    AlertRule,
    Channel,
    Incident,
    Notification,
    Runbook,
    RunbookRevision,
    Silence,
)
from alerts.notify.links import ack_token
from alerts.notify.transports.webhook import signature
from alerts.operations import create_silence
from confops.accounts.choices import TokenScope
from confops.accounts.models import ApiToken, AuditEntry
from confops.common.logging import JsonLineFormatter, TextLineFormatter
from confops.tasks import ping_dead_mans_switch
from monitoring import polling
from monitoring.models import Deployment, PollRecord, Source
from reports import sending
from reports.models import DailyReport
from tests.alerts import factories as f
from tests.fixtures.dagster import free_port
from tests.fixtures.http import HttpResponder, RecordedRequest
from tests.fixtures.pagerduty import FakePagerDuty
from tests.fixtures.personas import ADA, OTTO, VERA, Persona, logged_in, make_user
from tests.fixtures.slack_api import FakeSlack
from tests.fixtures.smtp import SmtpAuthSink

pytestmark = pytest.mark.django_db

MARK = "SECRETMARK"
# A view-only staff account: the Operator role (view_* of every model) with the admin opened.
STAFF_VIEWER = Persona("sam-staff-viewer", "pw-sam-12345", OTTO.group, staff=True)
SMTP_USER = "confops-mailer"
GRAPHQL_USER = "dagster-reader"
DEADMAN = "dead man's switch URL (DEAD_MANS_SWITCH_URL)"


def marker(name: str) -> str:
    """A marker unique to one field and this run, found whole or not at all."""
    return f"{MARK}{name}{random_secrets.token_hex(6)}"


# --- the planted world ------------------------------------------------------------------------


@dataclass
class Planted:
    """What the scenario planted and ran: secrets by field, and the receivers' records."""

    secrets: dict[str, str]
    receiver: HttpResponder
    smtp: SmtpAuthSink
    api_token: str
    users: dict[str, Any]
    test_message_page: str = ""
    objects: dict[str, list[str]] = field(default_factory=dict)
    metrics_status: int = 0


def plant_settings(settings: Any, receiver: HttpResponder) -> dict[str, str]:
    found = {
        "SMTP password (EMAIL_HOST_PASSWORD)": marker("smtppassword"),
        "metrics bearer token (METRICS_BEARER_TOKEN)": marker("metricstoken"),
        DEADMAN: marker("deadman"),
        "default Slack webhook URL (SLACK_WEBHOOK_URL)": marker("slackdefault"),
    }
    settings.EMAIL_HOST_USER = SMTP_USER
    settings.EMAIL_HOST_PASSWORD = found["SMTP password (EMAIL_HOST_PASSWORD)"]
    settings.METRICS_BEARER_TOKEN = found["metrics bearer token (METRICS_BEARER_TOKEN)"]
    settings.DEAD_MANS_SWITCH_URL = f"{receiver.url}/ping/{found[DEADMAN]}"
    settings.SLACK_WEBHOOK_URL = (
        f"{receiver.url}/services/T0/B0/{found['default Slack webhook URL (SLACK_WEBHOOK_URL)']}"
    )
    return found


def channel_form(name: str, kind: str, config: dict[str, Any], secret: str) -> dict[str, str]:
    return {
        "name": name,
        "kind": kind,
        "enabled": "on",
        "min_severity": "info",
        "config": json.dumps(config),
        "secret": secret,
    }


def plant_channels(admin_client: Client, receiver: HttpResponder, closed: str) -> dict[str, str]:
    """Channels made and changed in the admin (the audited door), one of each kind that holds a
    secret, each reachable and unreachable."""
    found = {
        "Slack webhook URL path (channel slack-ok)": marker("slackok"),
        "Slack webhook URL path (channel slack-down)": marker("slackdown"),
        "webhook URL (channel hook-ok config.url)": marker("hookurlok"),
        "webhook Authorization header (channel hook-ok config.headers)": marker("hookheaderok"),
        "webhook HMAC key (channel hook-ok secret)": marker("hmacok"),
        "webhook URL (channel hook-down config.url)": marker("hookurldown"),
        "webhook Authorization header (channel hook-down config.headers)": marker("hookheaderdn"),
        "webhook HMAC key (channel hook-down secret)": marker("hmacdown"),
        "webhook Authorization header before a change (channel hook-ok)": marker("hookheaderold"),
    }
    s = list(found.values())
    forms = [
        channel_form("slack-ok", "slack", {}, f"{receiver.url}/services/T0/B0/{s[0]}"),
        channel_form("slack-down", "slack", {}, f"{closed}/services/T0/B0/{s[1]}"),
        channel_form("slack-default", "slack", {}, ""),
        channel_form(
            "hook-ok",
            "webhook",
            {"url": f"{receiver.url}/hook/{s[2]}", "headers": {"Authorization": f"Bearer {s[8]}"}},
            s[4],
        ),
        channel_form(
            "hook-down",
            "webhook",
            {"url": f"{closed}/hook/{s[5]}?token={s[5]}", "headers": {"Authorization": s[6]}},
            s[7],
        ),
        channel_form("email", "email", {"to": ["ops@example.com"]}, ""),
    ]
    new_kinds, forms_of_new_kinds = plant_new_kinds(receiver, closed)
    found |= new_kinds
    forms += forms_of_new_kinds
    for form in forms:
        response = admin_client.post(reverse("admin:alerts_channel_add"), form)
        assert response.status_code == 302, (form["name"], response.content.decode()[:3000])
    # A change of the header: the audit trail's old and new values both hold a secret.
    hook_ok = Channel.objects.get(name="hook-ok")
    changed = channel_form(
        "hook-ok",
        "webhook",
        {"url": f"{receiver.url}/hook/{s[2]}", "headers": {"Authorization": f"Bearer {s[3]}"}},
        "",
    )
    response = admin_client.post(reverse("admin:alerts_channel_change", args=[hook_ok.pk]), changed)
    assert response.status_code == 302, response.content.decode()[:3000]
    return found


def plant_new_kinds(receiver: HttpResponder, closed: str) -> tuple[dict[str, str], list[Any]]:
    """Issue 17's kinds, each reachable (the fake Slack and PagerDuty, the local receiver) and
    unreachable (a closed port; PagerDuty's one Events URL is the fake's, so a refused key
    stands for its failure): a Slack app's bot token, signing secret and app token, a PagerDuty
    routing key and webhook secret, a Teams Workflows URL's signature, Apprise URLs with a
    password and a token (the generic kind and a service kind)."""
    found = {
        "Slack app bot token (channel app-ok)": "xoxb-" + marker("botok"),
        "Slack app signing secret (channel app-ok)": marker("signok"),
        "Slack app app token (channel app-ok)": "xapp-" + marker("appok"),
        "Slack app bot token (channel app-down)": "xoxb-" + marker("botdown"),
        "PagerDuty routing key (channel pd-ok)": (marker("pdkey") + "0" * 32)[:32],
        "PagerDuty webhook secret (channel pd-ok)": marker("pdhook"),
        "Teams Workflows signature (channel teams-ok)": marker("teamsok"),
        "Teams Workflows signature (channel teams-down)": marker("teamsdown"),
        "Apprise URL password (channel apprise-ok)": marker("apprisepw"),
        "Apprise URL token (channel apprise-ok)": marker("apprisetok"),
        "Apprise URL password (channel apprise-down)": marker("apprisepwdn"),
        "Apprise service URL token (channel apprise-json-down)": marker("appjsontok"),
    }
    s = list(found.values())
    host, down = receiver.url.removeprefix("http://"), closed.removeprefix("http://")
    app = {"channel": "C0OPS", "signing_secret": s[1], "app_token": s[2]}
    forms = [
        channel_form("app-ok", "slack_app", app, s[0]),
        channel_form("app-down", "slack_app", {"channel": "C0GONE"}, s[3]),
        channel_form("pd-ok", "pagerduty", {"webhook_secret": s[5]}, s[4]),
        channel_form("teams-ok", "teams", {}, f"{receiver.url}/workflows/1/invoke?sig={s[6]}"),
        channel_form("teams-down", "teams", {}, f"{closed}/workflows/2/invoke?sig={s[7]}"),
        channel_form("apprise-ok", "apprise", {}, f"json://bot:{s[8]}@{host}/a?token={s[9]}"),
        channel_form("apprise-down", "apprise", {}, f"json://bot:{s[10]}@{down}/a"),
        channel_form("apprise-json-down", "apprise-json", {}, f"json://{down}/t/{s[11]}"),
    ]
    return found, forms


def plant_deployments(receiver: HttpResponder, closed: str) -> dict[str, str]:
    """One deployment whose Dagster answers nonsense (the credentials reach it), one whose port
    is closed. The answering one sends its token in a header of its own: requests lets a URL's
    userinfo replace an ``Authorization`` header."""
    found = {
        "GraphQL URL userinfo (deployment dagster-answers)": marker("gqlok"),
        "Dagster auth header (deployment dagster-answers)": marker("dagsterheaderok"),
        "GraphQL URL userinfo (deployment dagster-down)": marker("gqldown"),
        "Dagster auth header (deployment dagster-down)": marker("dagsterheaderdn"),
    }
    s = list(found.values())
    host = receiver.url.removeprefix("http://")
    Deployment.objects.create(
        name="dagster-answers",
        graphql_url=f"http://{GRAPHQL_USER}:{s[0]}@{host}/graphql",
        auth_header_name="Dagster-Cloud-Api-Token",
        auth_header_value=s[1],
    )
    Deployment.objects.create(
        name="dagster-down",
        graphql_url=f"http://{GRAPHQL_USER}:{s[2]}@{closed.removeprefix('http://')}/graphql",
        auth_header_value=s[3],
    )
    found["GraphQL basic auth, encoded (deployment dagster-answers)"] = basic_auth(s[0])[6:]
    return found


def basic_auth(password: str) -> str:
    raw = f"{GRAPHQL_USER}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def failed_run(now: datetime) -> None:
    """A source of the answering deployment whose last run failed (a "Run failed" alert)."""
    source = f.source("crawl_asset", Deployment.objects.get(name="dagster-answers"))
    f.run(source, now - timedelta(hours=1), ok=False)


def poll_until_unreachable(now: datetime) -> None:
    """Two failed polls five minutes apart, then the evaluation that judges them; every rule
    tells every channel."""
    for rule in AlertRule.objects.all():
        rule.channels.set(Channel.objects.all())
    for at in (now - timedelta(minutes=5), now - timedelta(minutes=1)):
        for deployment in Deployment.objects.order_by("pk"):
            assert polling.poll_deployment(deployment, at) is False
    evaluation.evaluate(now)


def deliver_everything(now: datetime) -> None:
    """Send every due row once, without retries: failures fail at once and three of them mark
    a channel failing, which tells the other channels (the ``channel_failing`` message)."""
    done: set[int] = set()
    for _ in range(10):
        due = Notification.objects.filter(status=NotificationStatus.PENDING).exclude(pk__in=done)
        rows = list(due.order_by("pk"))
        if not rows:
            return
        for row in rows:
            done.add(row.pk)
            delivery.deliver(row.pk, max(now, row.send_after), retries=False)
            if row.channel_id is not None:
                delivery.note_channel_failure(Channel.objects.get(pk=row.channel_id), now)


def send_test_messages(admin_client: Client) -> str:
    """The admin's "send a test message" action on each channel (one at a time: the messages
    travel in a cookie of limited size); the page then shows what each receiver answered."""
    pages = []
    for channel in Channel.objects.order_by("pk"):
        response = admin_client.post(
            reverse("admin:alerts_channel_changelist"),
            {"action": "send_test_message", "_selected_action": [channel.pk]},
            follow=True,
        )
        pages.append(response.content.decode())
        outcome = "failed" if channel.name.endswith("-down") else "sent"
        # The admin writes each message with a capital first letter.
        assert f"{channel.name}: test message {outcome}" in pages[-1].lower()
    return "\n".join(pages)


def push_run(client: Client, token: str, now: datetime) -> None:
    """A job outside Dagster reports a failed run with the token (and one with a wrong one)."""
    source = f.source("nightly_export")
    url = f"/api/v1/sources/{source.slug}/runs"
    body = json.dumps({"at": now.isoformat(), "status": "failure", "error": "disk full"})
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(url, body, content_type="application/json", headers=headers)
    assert response.status_code == 201, response.content
    wrong = {"Authorization": f"Bearer {token[:-4]}xxxx"}
    response = client.post(url, body, content_type="application/json", headers=wrong)
    assert response.status_code == 401


def mail_down(settings: Any) -> None:
    """The email channel's test message with the SMTP server gone: its error is stored."""
    settings.EMAIL_PORT = free_port()
    outcome = delivery.send_test(Channel.objects.get(name="email"), timezone.now())
    assert outcome.status != delivery.SENT and "SMTP" in outcome.error


def seed_objects(admin_user: Any, now: datetime) -> dict[str, list[str]]:
    """Objects behind every URL with an id: a source, a silence, a runbook revision, a report."""
    source = Source.objects.get(key="crawl_asset")
    silence = create_silence(
        Silence(
            source=source, starts_at=now, ends_at=now + timedelta(hours=1), comment="maintenance"
        ),
        admin_user,
        now,
    )
    runbook = Runbook.objects.order_by("pk").first() or Runbook.objects.create(
        slug="stale", title="Stale", body="Look."
    )
    revision = RunbookRevision.objects.filter(runbook=runbook).first()
    if revision is None:
        revision = RunbookRevision.objects.create(
            runbook=runbook, number=1, title=runbook.title, body=runbook.body, created_at=now
        )
    report = DailyReport.objects.order_by("-date").first()
    return {
        "sources": [s.slug for s in Source.objects.all()],
        "alerts": [str(pk) for pk in Alert.objects.values_list("pk", flat=True)],
        "incidents": [str(pk) for pk in Incident.objects.values_list("pk", flat=True)],
        "silences": [str(silence.pk)],
        "runbooks": [runbook.slug],
        "history": [str(revision.number)],
        "reports": [report.date.isoformat()] if report else [],
        "rules": [str(pk) for pk in AlertRule.objects.values_list("pk", flat=True)[:5]],
        # An acknowledge link's confirm page (alerts/inbound/ack_links.py) of each incident.
        "ack_links": [ack_token(pk, now) for pk in Incident.objects.values_list("pk", flat=True)],
        "channels": [str(pk) for pk in Channel.objects.values_list("pk", flat=True)],
    }


@pytest.fixture
def planted(
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    http_responder: HttpResponder,
    smtp_auth_sink: SmtpAuthSink,
    client: Client,
    fake_slack: FakeSlack,
    fake_pagerduty: FakePagerDuty,
) -> Planted:
    caplog.set_level(logging.DEBUG)
    now = timezone.now()
    closed = f"http://127.0.0.1:{free_port()}"
    users = {
        "viewer": make_user(VERA),
        "operator": make_user(OTTO),
        "admin": make_user(ADA),
        "view-only staff": make_user(STAFF_VIEWER),
    }
    fake_slack.channels = {"C0OPS"}  # app-down posts to C0GONE: Slack's channel_not_found
    found = plant_settings(settings, http_responder)
    found |= plant_channels(logged_in(users["admin"]), http_responder, closed)
    found |= plant_deployments(http_responder, closed)
    _, raw = ApiToken.issue("secrets-test", [TokenScope.ADMIN], created_by=users["admin"])
    found["API token"] = raw.split("_", 2)[2]  # cfo_<prefix>_<secret>

    failed_run(now)
    poll_until_unreachable(now)
    for _ in range(2):  # sent twice: with the alerts, three failures mark a channel failing
        sending.send(sending.yesterday(now), now, force=True)
    deliver_everything(now)
    assert ping_dead_mans_switch() is True
    settings.DEAD_MANS_SWITCH_URL = f"{closed}/ping/{found[DEADMAN]}"
    assert ping_dead_mans_switch() is False  # the failure path logs too
    metrics = client.get(
        "/metrics", headers={"Authorization": f"Bearer {settings.METRICS_BEARER_TOKEN}"}
    )

    push_run(client, raw, now)
    test_message_page = send_test_messages(logged_in(users["admin"]))
    mail_down(settings)
    planted = Planted(found, http_responder, smtp_auth_sink, raw, users, test_message_page)
    planted.metrics_status = metrics.status_code
    planted.objects = seed_objects(users["admin"], now)
    return planted


# --- finding secrets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    surface: str
    where: str
    field: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.surface} | {self.where} | {self.field} | ...{self.excerpt}..."


def leaks_in(
    text: str, secrets: dict[str, str], surface: str, where: str, allowed: Iterable[str] = ()
) -> list[Leak]:
    """Every planted secret in the text (but the allowed fields), and any piece of a marker
    left once the whole secrets are taken out (a secret cut short is still a leak)."""
    found = []
    rest = text
    for name, secret in secrets.items():
        if secret in text and name not in allowed:
            at = text.index(secret)
            found.append(Leak(surface, where, name, text[max(0, at - 60) : at + len(secret) + 20]))
        rest = rest.replace(secret, "")
    if MARK in rest:
        at = rest.index(MARK)
        found.append(Leak(surface, where, "a piece of a marker", rest[max(0, at - 60) : at + 30]))
    return found


def assert_no_leaks(leaks: list[Leak]) -> None:
    leaks = list(dict.fromkeys(leaks))  # a record or page seen twice is one leak
    assert not leaks, f"{len(leaks)} secret(s) shown:\n" + "\n".join(map(str, leaks[:40]))


def text_of(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return headers + "\n" + response.content.decode("utf-8", "replace")


# --- walking the URLs -------------------------------------------------------------------------


def routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# The object that fills a URL's parameter, by the path segment before it.
FILLED_BY = {
    "sources": "sources",
    "alerts": "alerts",
    "incidents": "incidents",
    "silences": "silences",
    "runbooks": "runbooks",
    "history": "history",
    "reports": "reports",
    "daily": "reports",
    "rules": "rules",
    "overrides": "rules",
    "ack": "ack_links",
    "channels": "channels",
    "slack": "channels",
    "pagerduty": "channels",
}


def filled(route: str, objects: dict[str, list[str]]) -> list[str]:
    """The route with every parameter filled by each real object's id or slug."""
    segments = route.split("/")
    choices: list[list[str]] = []
    for i, segment in enumerate(segments):
        if not PARAM.fullmatch(segment):
            choices.append([segment])
            continue
        before = segments[i - 1] if i else ""
        assert before in FILLED_BY, f"a new URL {route!r}: add what fills {segment} to FILLED_BY"
        choices.append(objects[FILLED_BY[before]])
    return ["/" + "/".join(combination) for combination in itertools.product(*choices)]


def page_urls(objects: dict[str, list[str]]) -> list[str]:
    return [
        url
        for route in routes()
        if not route.startswith(("admin/", "api/v1/"))
        for url in filled(route, objects)
    ]


def api_urls(objects: dict[str, list[str]]) -> list[str]:
    return [
        url for route in routes() if route.startswith("api/v1/") for url in filled(route, objects)
    ]


def crawl(
    client: Client, urls: Iterable[str], planted: Planted, surface: str, htmx: bool = True
) -> list[Leak]:
    """GET each URL (and its htmx fragment): no 500, and no secret in headers or body."""
    found = []
    variants: list[dict[str, str]] = [{}, {"HX-Request": "true"}] if htmx else [{}]
    for url in urls:
        for extra in variants:
            response = client.get(url, headers=extra)
            assert response.status_code != 500, (url, response.status_code)
            found += leaks_in(text_of(response), planted.secrets, surface, url)
    return found


PERSONAS = ["anonymous", "viewer", "operator", "admin", "view-only staff"]


def client_as(planted: Planted, persona: str) -> Client:
    return Client() if persona == "anonymous" else logged_in(planted.users[persona])


# --- the surfaces -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_page_shows_a_secret_to_any_role(planted: Planted, persona: str) -> None:
    urls = page_urls(planted.objects)
    assert "/alerts/" in urls and any(u.startswith("/sources/") for u in urls)
    assert_no_leaks(crawl(client_as(planted, persona), urls, planted, f"page as {persona}"))


def admin_urls() -> Iterator[str]:
    for model in admin.site._registry:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        yield reverse(f"{base}_changelist")
        for pk in model._default_manager.values_list("pk", flat=True)[:60]:
            for view in ("change", "history", "delete"):
                yield reverse(f"{base}_{view}", args=[pk])


@pytest.mark.parametrize("persona", ["admin", "view-only staff"])
def test_no_admin_view_shows_a_secret(planted: Planted, persona: str) -> None:
    client = client_as(planted, persona)
    urls = list(admin_urls())
    channel = Channel.objects.get(name="hook-ok")
    assert client.get(reverse("admin:alerts_channel_change", args=[channel.pk])).status_code == 200
    found = crawl(client, urls, planted, f"admin as {persona}", htmx=False)
    if persona == "admin":
        found += leaks_in(planted.test_message_page, planted.secrets, "admin", "test messages")
    assert_no_leaks(found)


def test_no_api_response_shows_a_secret(planted: Planted) -> None:
    client = Client()
    headers = {"Authorization": f"Bearer {planted.api_token}"}
    assert client.get("/api/v1/sources", headers=headers).status_code == 200
    found = []
    for url in api_urls(planted.objects):
        response = client.get(url, headers=headers)
        assert response.status_code < 500, (url, response.status_code)
        found += leaks_in(text_of(response), planted.secrets, "API", url)
    assert_no_leaks(found)


def test_no_audit_entry_holds_a_secret(planted: Planted) -> None:
    entries = list(AuditEntry.objects.order_by("pk"))
    assert any(e.object_repr.startswith("hook-ok") and e.action == "changed" for e in entries)
    found = []
    for entry in entries:
        text = json.dumps([entry.object_repr, entry.actor_label, entry.changes])
        where = f"{entry.action} {entry.object_type} {entry.object_repr}"
        found += leaks_in(text, planted.secrets, "audit entry", where)
    assert_no_leaks(found)


def test_no_log_line_holds_a_secret(planted: Planted, caplog: pytest.LogCaptureFixture) -> None:
    """Each record as the configured handler writes it (its filters run first), in both formats.
    aiosmtpd's "mail.log" is the test's own SMTP server, not confops."""
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert any("dead man's switch ping failed" in r.getMessage() for r in records)
    assert any(r.name.startswith("urllib3") for r in records)  # DEBUG is on
    console = next(h for h in logging.getLogger().handlers if h.name == "console")
    formatters = [JsonLineFormatter(), TextLineFormatter()]
    found = []
    for record in records:
        if record.name == "mail.log" or not console.filter(record):
            continue
        for formatter in formatters:
            line = formatter.format(record)
            found += leaks_in(line, planted.secrets, "log line", f"{record.name}:{record.lineno}")
    assert_no_leaks(found)


def test_metrics_hold_no_secret(planted: Planted) -> None:
    assert planted.metrics_status == 200
    token = planted.secrets["metrics bearer token (METRICS_BEARER_TOKEN)"]
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert Client().get("/metrics").status_code == 401
    assert_no_leaks(leaks_in(text_of(response), planted.secrets, "/metrics", "/metrics"))


@pytest.mark.parametrize("persona", ["anonymous", "viewer", "admin"])
def test_no_health_endpoint_shows_a_secret(planted: Planted, persona: str) -> None:
    client = client_as(planted, persona)
    found = []
    for url in ("/health", "/health/ready", "/health/detailed"):
        response = client.get(url)
        found += leaks_in(text_of(response), planted.secrets, f"health as {persona}", url)
    assert_no_leaks(found)


def debug_error_page(request: Any) -> str:
    """The page for an error raised here, where no local variable holds a secret."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return str(technical_500_response(request, *sys.exc_info()).content.decode())


def test_a_debug_error_page_shows_no_secret(planted: Planted, settings: Any) -> None:
    """The DEBUG page (the demo runs with DEBUG) lists settings and the request's headers."""
    settings.DEBUG = True
    token = planted.secrets["metrics bearer token (METRICS_BEARER_TOKEN)"]
    html = debug_error_page(RequestFactory().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert "DEAD_MANS_SWITCH_URL" in html
    assert_no_leaks(leaks_in(html, planted.secrets, "DEBUG error page", "/metrics"))


def own_secrets(request: RecordedRequest, secrets: dict[str, str]) -> list[str]:
    """The fields a request may carry: those its path names, and the answering Dagster's
    credentials on its GraphQL requests."""
    own = [name for name, secret in secrets.items() if secret in request.path]
    if request.path == "/graphql":
        own += [name for name in secrets if name.endswith("(deployment dagster-answers)")]
    if any(name.endswith("(channel hook-ok config.url)") for name in own):
        own.append("webhook Authorization header (channel hook-ok config.headers)")
    return own


def test_no_outgoing_message_holds_a_secret(planted: Planted) -> None:
    found = []
    for request in planted.receiver.requests:
        where = f"{request.method} {request.path[:40]}"
        own = own_secrets(request, planted.secrets)
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        found += leaks_in(
            request.path + "\n" + headers, planted.secrets, "HTTP request", where, own
        )
        body = request.body.decode("utf-8", "replace")
        found += leaks_in(body, planted.secrets, "HTTP message body", where)
    for received in planted.smtp.received:
        found += leaks_in(received.message.as_string(), planted.secrets, "email", received.subject)
    for sent in mail.outbox:
        found += leaks_in(str(sent.message()), planted.secrets, "email (outbox)", sent.subject)
    assert_no_leaks(found)


# --- and the features still work -------------------------------------------------------------


def requests_to(planted: Planted, field_name: str) -> list[RecordedRequest]:
    secret = planted.secrets[field_name]
    return [r for r in planted.receiver.requests if secret in r.path]


def test_every_secret_is_still_used_where_it_belongs(planted: Planted) -> None:
    s = planted.secrets
    for slack in (
        "Slack webhook URL path (channel slack-ok)",
        "default Slack webhook URL (SLACK_WEBHOOK_URL)",
    ):
        assert requests_to(planted, slack), f"nothing reached {slack}"
    [*hooks] = requests_to(planted, "webhook URL (channel hook-ok config.url)")
    assert hooks
    for hook in hooks:
        assert hook.headers["Authorization"] == (
            f"Bearer {s['webhook Authorization header (channel hook-ok config.headers)']}"
        )
        stamp = int(hook.headers["X-Confops-Timestamp"])
        key = s["webhook HMAC key (channel hook-ok secret)"]
        assert hook.headers["X-Confops-Signature"] == signature(key, stamp, hook.body)
    graphql = [r for r in planted.receiver.requests if r.path == "/graphql"]
    assert graphql
    assert graphql[0].headers["Authorization"] == basic_auth(
        s["GraphQL URL userinfo (deployment dagster-answers)"]
    )
    assert (
        graphql[0].headers["Dagster-Cloud-Api-Token"]
        == (s["Dagster auth header (deployment dagster-answers)"])
    )
    assert requests_to(planted, DEADMAN)
    assert planted.smtp.received
    assert (SMTP_USER, s["SMTP password (EMAIL_HOST_PASSWORD)"]) in planted.smtp.logins


def test_the_failures_were_recorded(planted: Planted) -> None:
    """The error paths ran: what they stored is what the pages and messages show."""
    failed = Notification.objects.filter(status=NotificationStatus.FAILED)
    assert {n.channel.name for n in failed if n.channel} >= {"slack-down", "hook-down"}
    assert all(n.error for n in failed)
    assert PollRecord.objects.filter(ok=False).count() == 4
    assert Alert.objects.filter(rule__kind="deployment_unreachable").count() == 2
    rows = Notification.objects.values_list("channel__name", "event", "status")
    assert Channel.objects.filter(failing_since__isnull=False).exists(), list(rows)
    assert Notification.objects.filter(
        event="channel_failing", status=NotificationStatus.SENT
    ).exists()


def test_the_crawl_reaches_incident_pages(planted: Planted) -> None:
    """The deployments' outage opened incidents: their pages and API are crawled above."""
    assert planted.objects["incidents"]
