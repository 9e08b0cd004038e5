"""Hostile Dagster answers are failed polls, never crashes, and a poll error never shows a
deployment's credentials (issue 13, findings 5 and 7).

A real HTTP server on loopback plays a hostile Dagster: JSON nested 100,000 deep, timestamps of
1e308, a body dripped a byte a second, an answer over the size cap, invalid UTF-8, HTML with 200.
Each poll goes through the Celery task's door (``poll_with_lock``), so the lock, the settings and
the poll record are those of production.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from alerts.choices import ChannelKind
from alerts.engine import delivery, evaluation
from alerts.models import Notification
from monitoring import polling
from monitoring.dagster.parse import LocationState
from monitoring.models import Deployment, PollRecord
from monitoring.sync import workspace_fingerprint
from tests.alerts.factories import channel, rule
from tests.fixtures.dagster import free_port
from tests.fixtures.http import HttpResponder, serving
from tests.monitoring.test_polling import HIGH_WATER_MARK, poll_answer, run_json

pytestmark = pytest.mark.django_db

USER, PASSWORD = "poller", "pw-in-the-url-4f1c9e"
TOKEN = "Bearer tok-dagster-7d2b0a55e1"
MIB = 1024 * 1024


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    drip_s: float = 0.0  # seconds between bytes; the server gives up after DRIP_GIVE_UP_S
    chunked: bool = False  # no Content-Length: only a streaming cap can stop it


DRIP_GIVE_UP_S = 12.0


@dataclass
class HostileDagster:
    url: str = ""
    answers: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=lambda: Answer(body=poll_answer([]).encode()))
    basic_auth: str = ""  # when set, anything else is answered 401
    seen_auth: list[str] = field(default_factory=list)


@pytest.fixture
def dagster() -> Iterator[HostileDagster]:
    server_state = HostileDagster()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Authorization", "")
            server_state.seen_auth.append(auth)
            if server_state.basic_auth and auth != server_state.basic_auth:
                answer = Answer(401, b'{"message": "unauthorized"}')
            else:
                answer = (
                    server_state.answers.pop(0) if server_state.answers else server_state.default
                )
            with contextlib.suppress(OSError):  # the client gave up: the point of most answers
                self.send(answer)

        def send(self, answer: Answer) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if answer.chunked:
                for start in range(0, len(answer.body), 64 * 1024):
                    chunk = answer.body[start : start + 64 * 1024]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif answer.drip_s:
                given_up = time.monotonic() + DRIP_GIVE_UP_S
                for byte in answer.body:
                    if stop.wait(answer.drip_s) or time.monotonic() > given_up:
                        self.close_connection = True
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler, stop) as url:
        server_state.url = url
        yield server_state


def watched(url: str, **fields: Any) -> Deployment:
    """Discovered already and ticks just read, so a poll is one request for runs."""
    now = timezone.now()
    return Deployment.objects.create(
        name="confradar",
        graphql_url=url,
        runs_high_water_mark=HIGH_WATER_MARK,
        discovered_at=now,
        ticks_polled_at=now,
        workspace_fingerprint=workspace_fingerprint([LocationState("confradar", 1.0, "")]),
        **fields,
    )


def with_userinfo(base_url: str) -> str:
    return base_url.replace("http://", f"http://{USER}:{PASSWORD}@") + "/graphql"


def basic_auth() -> str:
    return "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def poll(deployment: Deployment, now: Any) -> bool | None:
    """The Celery task's door: takes the lock, polls, records, releases."""
    result = polling.poll_with_lock(deployment.pk, now)
    assert cache.get(polling.poll_lock_key(deployment.pk)) is None, "the lock is released"
    deployment.refresh_from_db()
    return result


def assert_failed_poll(deployment: Deployment, now: Any, expected: str) -> None:
    assert deployment.consecutive_failures == 1 and deployment.failing_since == now
    assert not deployment.is_reachable
    assert expected in deployment.last_error
    record = PollRecord.objects.get(deployment=deployment)
    assert record.ok is False and expected in record.error
    assert deployment.runs_high_water_mark == HIGH_WATER_MARK


def deeply_nested(depth: int) -> bytes:
    return b'{"data": ' + b"[" * depth + b"]" * depth + b"}"


def with_run(**changes: object) -> bytes:
    run = {**run_json("r1", HIGH_WATER_MARK + 5), **changes}
    return poll_answer([run]).encode()


def with_heartbeat(heartbeat: float) -> bytes:
    answer = json.loads(poll_answer([]))
    statuses = [
        {"daemonType": "SENSOR", "required": True, "healthy": True, "lastHeartbeatTime": heartbeat}
    ]
    answer["data"]["instance"]["daemonHealth"]["allDaemonStatuses"] = statuses
    return json.dumps(answer).encode()


HOSTILE = [
    pytest.param(Answer(body=deeply_nested(100_000)), "nested too deep", id="nested-100000"),
    pytest.param(Answer(body=with_run(updateTime=1e308)), "plausible time", id="1e308-run"),
    pytest.param(Answer(body=with_run(creationTime=-1e308)), "plausible time", id="-1e308"),
    pytest.param(Answer(body=with_heartbeat(1e308)), "plausible time", id="1e308-heartbeat"),
    pytest.param(Answer(body=b'{"data": {"version": "\xff\xfe\xfd"}}'), "UTF-8", id="not-utf8"),
    pytest.param(
        Answer(body=b"<html>login</html>", content_type="text/html"), "not JSON", id="html-200"
    ),
    pytest.param(Answer(body=with_run(runId="r" * 1_000_000)), "at most 100", id="huge-run-id"),
    pytest.param(Answer(body=with_run(status=["SUCCESS"])), "expected a string", id="wrong-type"),
    # Parses, but no database takes it: the catch-all still records a failed poll.
    pytest.param(Answer(body=with_run(jobName="\ud800")), "", id="lone-surrogate"),
]


@pytest.mark.parametrize(("answer", "expected"), HOSTILE)
def test_a_hostile_answer_is_a_failed_poll_and_the_next_good_one_recovers(
    dagster: HostileDagster, answer: Answer, expected: str
) -> None:
    deployment = watched(f"{dagster.url}/graphql")
    dagster.answers.append(answer)
    now = timezone.now()

    assert poll(deployment, now) is False

    assert_failed_poll(deployment, now, expected)
    later = now + timedelta(seconds=30)
    assert poll(deployment, later) is True
    assert deployment.is_reachable and deployment.consecutive_failures == 0
    assert deployment.last_success_at == later


def test_a_dripped_answer_is_cut_at_the_request_deadline(
    dagster: HostileDagster, settings: Any
) -> None:
    settings.DAGSTER_REQUEST_TIMEOUT_SECONDS = 1.5
    deployment = watched(f"{dagster.url}/graphql")
    dagster.answers.append(Answer(body=poll_answer([]).encode(), drip_s=1.0))
    now = timezone.now()

    started = time.monotonic()
    assert poll(deployment, now) is False
    elapsed = time.monotonic() - started

    assert elapsed < 4.0, f"the deadline is 1.5 s, the poll took {elapsed:.1f} s"
    assert_failed_poll(deployment, now, "did not finish its answer within 1.5 s")
    assert poll(deployment, now + timedelta(seconds=30)) is True


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_over_the_size_cap_is_a_failed_poll(
    dagster: HostileDagster, settings: Any, chunked: bool
) -> None:
    settings.DAGSTER_MAX_RESPONSE_MB = 1
    deployment = watched(f"{dagster.url}/graphql")
    big = json.dumps({"data": {"version": "x" * (2 * MIB)}}).encode()
    dagster.answers.append(Answer(body=big, chunked=chunked))
    now = timezone.now()

    assert poll(deployment, now) is False

    assert_failed_poll(deployment, now, "larger than 1 MB")
    assert poll(deployment, now + timedelta(seconds=30)) is True


# --- Finding 7: credentials in the GraphQL URL ----------------------------------------------


def test_a_url_with_userinfo_still_polls_with_basic_auth(dagster: HostileDagster) -> None:
    dagster.basic_auth = basic_auth()
    deployment = watched(with_userinfo(dagster.url))

    assert poll(deployment, timezone.now()) is True

    assert dagster.seen_auth == [basic_auth()]
    assert deployment.display_url == f"{dagster.url.replace('http://', 'http://••••@')}/graphql"


def unreachable_with_credentials() -> Deployment:
    """A deployment whose port is closed: requests' error quotes the host, ours the URL."""
    return watched(
        with_userinfo(f"http://127.0.0.1:{free_port()}"),
        auth_header_name="X-Dagster-Token",
        auth_header_value=TOKEN,
    )


SECRETS = (PASSWORD, TOKEN.split()[-1], f"{USER}:")


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_an_unreachable_poll_stores_and_logs_no_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deployment = unreachable_with_credentials()
    now = timezone.now()

    with caplog.at_level("INFO"):
        assert poll(deployment, now) is False

    assert "Dagster unreachable at http://" in deployment.last_error
    assert_no_secret(deployment.last_error)
    assert_no_secret(PollRecord.objects.get(deployment=deployment).error)
    assert "poll of deployment confradar failed" in caplog.text
    assert_no_secret(caplog.text)


def test_an_answer_quoting_the_credentials_is_stored_masked(dagster: HostileDagster) -> None:
    deployment = watched(
        with_userinfo(dagster.url), auth_header_name="X-Dagster-Token", auth_header_value=TOKEN
    )
    echo = f"token {TOKEN.split()[-1]} and password {PASSWORD} refused at {deployment.graphql_url}"
    dagster.answers.append(Answer(400, json.dumps({"errors": [{"message": echo}]}).encode()))

    assert poll(deployment, timezone.now()) is False

    assert "refused at http://127.0.0.1" in deployment.last_error
    assert_no_secret(deployment.last_error)


def test_the_status_page_and_health_show_no_credential(
    viewer_user_client: Client, settings: Any
) -> None:
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.3  # no worker answers pings in this test
    deployment = unreachable_with_credentials()
    assert poll(deployment, timezone.now()) is False

    page = viewer_user_client.get("/").content.decode()
    health = viewer_user_client.get("/health/detailed").content.decode()

    assert "Dagster unreachable at" in page
    assert "Dagster unreachable at" in health
    assert_no_secret(page)
    assert_no_secret(health)


def test_the_admin_list_of_deployments_shows_no_credential(admin_client: Client) -> None:
    unreachable_with_credentials()

    page = admin_client.get("/admin/monitoring/deployment/").content.decode()

    assert "confradar" in page and "••••@127.0.0.1" in page
    assert_no_secret(page)


def test_the_deployment_unreachable_message_shows_no_credential(
    http_responder: HttpResponder,
) -> None:
    slack = channel("ops-slack", ChannelKind.SLACK, secret=f"{http_responder.url}/slack")
    rule("dagster down", "deployment_unreachable", [slack])
    deployment = unreachable_with_credentials()
    now = timezone.now()
    for at in (now - timedelta(minutes=5), now - timedelta(minutes=1)):
        assert polling.poll_deployment(deployment, at) is False
    evaluation.evaluate(now)

    rows = list(Notification.objects.filter(channel=slack))
    assert rows, "Deployment unreachable fired"
    for row in rows:
        delivery.deliver(row.pk, max(now, row.send_after), retries=False)

    sent = [r.body.decode() for r in http_responder.requests if r.path == "/slack"]
    assert sent and all("unreachable" in body for body in sent)
    assert_no_secret(" ".join(sent))
    assert_no_secret(json.dumps([row.payload for row in rows]))
