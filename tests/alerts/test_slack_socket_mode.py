"""Slack Socket Mode (alerts/inbound/slack_socket.py, ``manage.py slack_socket_mode``): slack_sdk's
built-in client against a REAL local WebSocket server standing in for Slack (the fake Web API's
``apps.connections.open`` hands out its ``ws://`` URL). The server says ``hello`` and sends
``interactive`` envelopes as Slack does; the client acknowledges each and acts on the press
through the request URL's own handler (mapping, permissions, audit labelled Slack), once."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from alerts.choices import AlertState, IncidentState
from alerts.inbound import slack
from alerts.inbound.slack_socket import SocketMode
from alerts.models import Incident
from tests.alerts import factories as f
from tests.alerts.integrations import (
    OTTO_SLACK,
    VERA_SLACK,
    audit_of,
    press,
    refusals,
)
from tests.conftest import project_env
from tests.fixtures.processes import wait_until
from tests.fixtures.slack_api import FakeSlack

pytestmark = pytest.mark.django_db(transaction=True)

APP_TOKEN = "xapp-1-A0CONFOPS-1234-abcdef"
PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class FakeSocketSlack:
    """Slack's Socket Mode end: says hello to each connection, sends what ``send`` is given to
    the newest one and keeps every message the client sends back (the acknowledgements)."""

    url: str = ""
    paths: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    outbox: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    stopping: threading.Event = field(default_factory=threading.Event)
    dropping: threading.Event = field(default_factory=threading.Event)

    def send(self, envelope: dict[str, Any]) -> None:
        self.outbox.put(envelope)

    def drop(self) -> None:
        """Close the connection from Slack's side, as Slack does every few hours."""
        self.dropping.set()

    def acknowledged(self) -> list[str]:
        return [m["envelope_id"] for m in list(self.received) if "envelope_id" in m]

    def serve(self, connection: ServerConnection) -> None:
        self.paths.append(connection.request.path if connection.request else "")
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0C"}}
        connection.send(json.dumps(hello))
        try:
            while not self.stopping.is_set():
                if self.dropping.is_set():
                    self.dropping.clear()
                    connection.close()
                    return
                with contextlib.suppress(TimeoutError):
                    self.received.append(json.loads(connection.recv(timeout=0.02)))
                while not self.outbox.empty():
                    connection.send(json.dumps(self.outbox.get()))
        except ConnectionClosed:
            return


def envelope(payload: dict[str, Any], envelope_id: str = "env-1") -> dict[str, Any]:
    """An ``interactive`` envelope as Slack sends a button press over Socket Mode."""
    return {
        "envelope_id": envelope_id,
        "type": "interactive",
        "accepts_response_payload": False,
        "payload": payload,
    }


@pytest.fixture
def fake_socket(fake_slack: FakeSlack) -> Iterator[FakeSocketSlack]:
    fake = FakeSocketSlack()
    with serve(fake.serve, "127.0.0.1", 0, compression=None) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        fake.url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link/?ticket=fake"
        fake_slack.socket_url = fake.url
        try:
            yield fake
        finally:
            fake.stopping.set()
            server.shutdown()
            thread.join(5)


def slack_app_channel(name: str = "ops-slack-app", app_token: str = APP_TOKEN) -> Any:
    return f.channel(
        name,
        kind=slack.KIND,
        secret="xoxb-confops-test",
        config={"channel": "C0OPS", "signing_secret": "s" * 32, "app_token": app_token},
    )


@pytest.fixture
def slack_app(fake_slack: FakeSlack) -> Any:
    """A Slack app channel with an app-level token; the fake Web API knows its people."""
    fake_slack.users.update(
        {
            OTTO_SLACK: {"email": "Otto-Operator@Example.com", "real_name": "Otto O."},
            VERA_SLACK: {"email": "vera-viewer@example.com", "real_name": "Vera V."},
        }
    )
    return slack_app_channel()


@pytest.fixture
def running(fake_socket: FakeSocketSlack, slack_app: Any) -> Iterator[SocketMode]:
    """The socket mode runner in a thread, as the ``slack`` process runs it; connected. At the
    end it is stopped and every thread it started is gone."""
    before = set(threading.enumerate())
    runner, stop = SocketMode(refresh_seconds=0.2), threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: fake_socket.paths, 5, "the Socket Mode connection")
        yield runner
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
        wait_until(lambda: not set(threading.enumerate()) - before, 5, "the client's threads")


def pressed(fake: FakeSocketSlack, payload: dict[str, Any], envelope_id: str = "env-1") -> None:
    fake.send(envelope(payload, envelope_id))
    wait_until(lambda: envelope_id in fake.acknowledged(), 2, "the acknowledgement", poll=0.02)


def test_a_mapped_operators_press_is_acknowledged_and_acknowledges_the_incident_within_2s(
    running: SocketMode,
    fake_socket: FakeSocketSlack,
    fake_slack: FakeSlack,
    outage: Incident,
    operator_user: Any,
) -> None:
    [opened] = fake_slack.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    started = time.perf_counter()
    fake_socket.send(envelope(press(fake_slack, "confops_ack", outage)))
    wait_until(
        lambda: Incident.objects.get(pk=outage.pk).state == IncidentState.ACKNOWLEDGED,
        2,
        "the acknowledge",
        poll=0.02,
    )
    assert time.perf_counter() - started < 2
    assert fake_socket.acknowledged() == ["env-1"]
    outage.refresh_from_db()
    assert outage.acknowledged_by == operator_user
    assert {a.state for a in outage.alerts.all()} == {AlertState.ACKNOWLEDGED}
    entries = audit_of(outage, "acknowledged")
    entries += [e for a in outage.alerts.all() for e in audit_of(a, "acknowledged")]
    assert len(entries) == 3
    assert {(e.actor, e.actor_label) for e in entries} == {(operator_user, "Slack")}
    assert refusals(fake_slack) == []


def test_a_viewers_press_is_acknowledged_but_changes_nothing(
    running: SocketMode,
    fake_socket: FakeSocketSlack,
    fake_slack: FakeSlack,
    outage: Incident,
    viewer_user: Any,
) -> None:
    pressed(fake_socket, press(fake_slack, "confops_ack", outage, user_id=VERA_SLACK))
    wait_until(lambda: refusals(fake_slack), 2, "the refusal to the viewer")
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN and audit_of(outage, "acknowledged") == []
    [refusal] = refusals(fake_slack)
    assert refusal["response_type"] == "ephemeral" and "not allowed" in refusal["text"]


def test_a_dropped_connection_is_opened_again_and_logs_carry_no_token(
    running: SocketMode,
    fake_socket: FakeSocketSlack,
    fake_slack: FakeSlack,
    outage: Incident,
    operator_user: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_socket.drop()
    wait_until(lambda: len(fake_socket.paths) == 2, 15, "the reconnection", poll=0.05)
    assert len(fake_slack.calls_to("apps.connections.open")) >= 2
    pressed(fake_socket, press(fake_slack, "confops_ack", outage))
    wait_until(lambda: audit_of(outage, "acknowledged"), 2, "the acknowledge", poll=0.02)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("alerts.", "slack_sdk"))]
    assert ours and not [line for line in ours if APP_TOKEN in line or "ticket" in line]


def test_the_same_envelope_twice_acts_once(
    running: SocketMode,
    fake_socket: FakeSocketSlack,
    fake_slack: FakeSlack,
    outage: Incident,
    operator_user: Any,
) -> None:
    payload = press(fake_slack, "confops_ack", outage)
    pressed(fake_socket, payload, "env-7")
    wait_until(lambda: audit_of(outage, "acknowledged"), 2, "the acknowledge")
    fake_socket.received.clear()
    pressed(fake_socket, payload, "env-7")  # Slack's retry of an envelope it thinks was lost
    time.sleep(0.3)
    assert len(audit_of(outage, "acknowledged")) == 1
    # Acted on twice, the second would have been told "already acknowledged".
    assert refusals(fake_slack) == []


def test_channels_are_read_again_added_disabled_or_given_a_new_token(
    fake_socket: FakeSocketSlack, fake_slack: FakeSlack
) -> None:
    runner = SocketMode()
    try:
        runner.sync()
        assert runner.connected == {} and fake_slack.calls_to("apps.connections.open") == []
        first = slack_app_channel()
        no_token = slack_app_channel("no-socket", app_token="")
        runner.sync()
        assert list(runner.connected) == [first.pk]
        first.config = {**first.config, "app_token": "xapp-1-A0CONFOPS-5678-new"}
        first.save(update_fields=["config"])
        runner.sync()
        opened = [call.token for call in fake_slack.calls_to("apps.connections.open")]
        # (the SDK may reconnect by itself in between, with the token it holds)
        assert opened[0] == APP_TOKEN and opened[-1] == "xapp-1-A0CONFOPS-5678-new"
        assert runner.connected[first.pk].token == "xapp-1-A0CONFOPS-5678-new"
        first.enabled = False
        first.save(update_fields=["enabled"])
        runner.sync()
        assert runner.connected == {} and no_token.pk not in runner.connected
    finally:
        runner.close()


def test_a_refused_app_token_is_tried_again_at_the_next_read(
    fake_socket: FakeSocketSlack, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    channel = slack_app_channel()
    fake_slack.fail_with("invalid_auth")
    runner = SocketMode()
    try:
        runner.sync()
        assert runner.connected == {}
        runner.sync()
        assert list(runner.connected) == [channel.pk]
    finally:
        runner.close()
    assert "invalid_auth" in caplog.text and APP_TOKEN not in caplog.text


@pytest.mark.slow
def test_the_command_idles_without_channels_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The demo has no Slack app channel: the process says so once, waits and SIGTERM ends it."""
    env = project_env(CONFOPS_DATA_DIR=str(tmp_path), LOG_FORMAT="text")
    env.pop("DATABASE_URL", None)  # a SQLite database of its own, as in the demo
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=PROJECT, env=env, check=True)
    process = subprocess.Popen(
        [*manage, "slack_socket_mode", "--refresh-seconds", "0.2"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("idle" in line for line in lines), 30, "the idle line")
        time.sleep(1)  # five more reads of the channels
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(5)
    output = "".join(lines)
    assert process.returncode == 0, output
    assert output.count("idle") == 1 and "Traceback" not in output
