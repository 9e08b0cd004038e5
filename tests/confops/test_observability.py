"""Error tracking (Sentry) and tracing (OpenTelemetry): on when configured, off and free otherwise.

Why real processes: Sentry and OpenTelemetry both install process-wide hooks (Django's request
handler, Celery's signals, a global tracer provider) that cannot be cleanly removed again, so
starting them inside the test process would leak into every later test. A gunicorn and a Celery
worker started with ``DJANGO_SETTINGS_MODULE=tests.confops.observed_site`` (confops's settings
plus a view and a task that fail on purpose, so confops ships no crash endpoint) report to a
local HTTP receiver standing in for both Sentry and an OTLP collector; the test decodes what they
POST: Sentry envelopes and OTLP protobuf.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from confops.celery import app
from confops.common.observability import package_release
from tests.conftest import project_env
from tests.fixtures.dagster import ManagedProcess, free_port
from tests.fixtures.http import HttpResponder, RecordedRequest
from tests.fixtures.processes import BIN, PROJECT, CeleryProcesses, child_env, start_process
from tests.fixtures.processes import wait_until as wait_for

pytestmark = pytest.mark.slow

USERNAME, EMAIL = "olga-operator", "olga@example.com"
# The secret part of a Slack-like webhook URL, as it sits in a path.
HOOK_SECRET = "xoxSECRETpathPART0123456789"


def body_of(request: RecordedRequest) -> bytes:
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(request.body)
    if encoding == "deflate":
        return zlib.decompress(request.body)
    assert encoding in ("", "identity"), f"unexpected encoding {encoding}"
    return request.body


def envelope_items(raw: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """Split a Sentry envelope: a header line, then items of (header line, payload)."""
    _, _, rest = raw.partition(b"\n")
    items = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header, payload))
    return items


def sentry_events(responder: HttpResponder) -> list[tuple[dict[str, Any], bytes]]:
    """Every error event received, with the raw envelope it came in (for the PII check)."""
    events = []
    for request in list(responder.requests):
        if request.path != "/api/1/envelope/":
            continue
        raw = body_of(request)
        events += [(json.loads(p), raw) for h, p in envelope_items(raw) if h["type"] == "event"]
    return events


def exception_of(event: dict[str, Any]) -> dict[str, Any]:
    values: list[dict[str, Any]] = event["exception"]["values"]
    return values[-1]


def spans(responder: HttpResponder) -> list[tuple[str, Span]]:
    """Every span received by the OTLP endpoint, with its resource's service.name."""
    found = []
    for request in list(responder.requests):
        if request.path != "/v1/traces":
            continue
        export = ExportTraceServiceRequest()
        export.ParseFromString(body_of(request))
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                found += [(attributes.get("service.name", ""), span) for span in scope.spans]
    return found


def observed_env(responder: HttpResponder, **overrides: str) -> dict[str, str]:
    port = responder.url.rsplit(":", 1)[1]
    return {
        "DJANGO_SETTINGS_MODULE": "tests.confops.observed_site",
        "SENTRY_DSN": f"http://public@127.0.0.1:{port}/1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": responder.url,
        "OTEL_SERVICE_NAME": "confops-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export spans within 0.1 s, not 5 s
        **overrides,
    }


@pytest.fixture
def web(transactional_db: None, http_responder: HttpResponder, tmp_path: Path) -> Any:
    port = free_port()
    env = child_env()
    env.update(observed_env(http_responder, SENTRY_RELEASE="confops@test-1"))
    env.update(
        # The session cookie the test makes must be valid in the child.
        SECRET_KEY=settings.SECRET_KEY,
        SENTRY_ENVIRONMENT="ci-test",
        CONFOPS_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    args = [str(BIN / "gunicorn"), "confops.wsgi:application"]
    args += ["--config", "confops/gunicorn_conf.py"]
    process: ManagedProcess = start_process("gunicorn", args, env, tmp_path)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(answers, timeout=60, what="gunicorn")
    except AssertionError as exc:
        process.stop()
        raise AssertionError(f"{exc}\n{process.log()[-3000:]}") from None
    yield base, process
    process.stop()


def test_an_unhandled_view_error_reaches_sentry_tagged_and_without_personal_data(
    web: Any, http_responder: HttpResponder, django_user_model: Any
) -> None:
    base, _ = web
    user = django_user_model.objects.create_user(USERNAME, EMAIL, "pw-olga-12345")
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    response = requests.get(
        f"{base}/test/crash/",
        cookies={settings.SESSION_COOKIE_NAME: session},
        headers={"X-Request-ID": "req-sentry-1"},
        timeout=10,
    )
    assert response.status_code == 500
    wait_for(lambda: sentry_events(http_responder), timeout=20, what="a Sentry envelope")

    [(event, raw)] = sentry_events(http_responder)
    exception = exception_of(event)
    assert exception["type"] == "DeliberateViewError"
    assert exception["value"] == "view failed on purpose for /test/crash/"
    assert event["release"] == "confops@test-1"
    assert event["environment"] == "ci-test"
    # send_default_pii=False: nothing that names the person or could replay their session.
    assert USERNAME.encode() not in raw and EMAIL.encode() not in raw
    assert session.encode() not in raw
    assert "cookies" not in event.get("request", {}) or not event["request"]["cookies"]
    assert "username" not in event.get("user", {}) and "email" not in event.get("user", {})


def test_a_request_is_traced_with_a_client_span_for_its_outgoing_call(
    web: Any, http_responder: HttpResponder
) -> None:
    base, _ = web
    downstream = f"{http_responder.url}/downstream"
    response = requests.get(
        f"{base}/test/calls-out/", params={"url": downstream}, timeout=10, allow_redirects=False
    )
    assert response.status_code == 200 and response.text == "downstream said 200"

    def server_and_client() -> bool:
        kinds = {span.kind for _, span in spans(http_responder)}
        return {Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT} <= kinds

    wait_for(server_and_client, timeout=20, what="server and client spans")
    found = spans(http_responder)
    [server] = [s for _, s in found if s.kind == Span.SPAN_KIND_SERVER and "calls-out" in s.name]
    [client] = [s for _, s in found if s.kind == Span.SPAN_KIND_CLIENT]
    assert client.trace_id == server.trace_id, "the outgoing call belongs to the request's trace"
    assert client.parent_span_id == server.span_id
    assert {service for service, _ in found} == {"confops-test"}
    attributes = {a.key: a.value for a in client.attributes}
    url = attributes.get("url.full") or attributes.get("http.url")
    assert url is not None and url.string_value == f"{http_responder.url}/[redacted]"


def test_an_outgoing_call_span_keeps_the_host_but_not_the_secret_path(
    web: Any, http_responder: HttpResponder
) -> None:
    base, _ = web
    hook = f"{http_responder.url}/services/T000/B000/{HOOK_SECRET}?token={HOOK_SECRET}"
    response = requests.get(f"{base}/test/calls-out/", params={"url": hook}, timeout=10)
    assert response.status_code == 200

    def client_spans() -> list[Span]:
        return [s for _, s in spans(http_responder) if s.kind == Span.SPAN_KIND_CLIENT]

    wait_for(client_spans, timeout=20, what="the client span")
    [client] = client_spans()
    assert HOOK_SECRET.encode() not in client.SerializeToString()
    assert "127.0.0.1" in str(client.attributes)


def test_a_failing_form_post_reaches_sentry_without_body_locals_or_hook_url(
    web: Any, http_responder: HttpResponder
) -> None:
    base, _ = web
    hook = f"{http_responder.url}/services/T000/B000/{HOOK_SECRET}"
    response = requests.post(
        f"{base}/test/crash-after-hook/",
        data={"hook": hook, "note": "BODY-MARKER-7"},
        headers={"Authorization": "Bearer AUTH-MARKER-9"},
        timeout=10,
    )
    assert response.status_code == 500
    wait_for(lambda: sentry_events(http_responder), timeout=20, what="a Sentry envelope")

    [(event, raw)] = sentry_events(http_responder)
    assert exception_of(event)["type"] == "DeliberateViewError"
    for marker in (HOOK_SECRET, "BODY-MARKER-7", "AUTH-MARKER-9"):
        assert marker.encode() not in raw, marker
    frames = exception_of(event)["stacktrace"]["frames"]
    assert frames and not any(frame.get("vars") for frame in frames)
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "httplib"]
    assert crumbs[-1]["data"]["url"] == f"{http_responder.url}/[redacted]"


def test_an_unhandled_task_error_reaches_sentry_from_a_real_worker(
    celery_processes: CeleryProcesses, http_responder: HttpResponder
) -> None:
    celery_processes.env.update(observed_env(http_responder))
    celery_processes.worker()
    app.send_task("tests.observability.crash", args=["marker-42"])
    try:
        wait_for(lambda: sentry_events(http_responder), timeout=90, what="a Sentry envelope")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None

    [(event, _)] = sentry_events(http_responder)
    exception = exception_of(event)
    assert exception["type"] == "DeliberateTaskError"
    assert exception["value"] == "task failed on purpose: marker-42"
    assert event["release"] == package_release() == "confops@0.1.0"  # SENTRY_RELEASE unset
    assert event["environment"] == "production"
    assert event["extra"]["celery-job"]["task_name"] == "tests.observability.crash"
    # The same worker traced the task it ran.
    wait_for(
        lambda: any("tests.observability.crash" in s.name for _, s in spans(http_responder)),
        timeout=20,
        what="the task's span",
    )


def test_without_configuration_nothing_is_imported_or_instrumented() -> None:
    """A fresh web process: no Sentry, no OpenTelemetry module loaded, no tracing middleware."""
    code = (
        "import sys; import confops.wsgi; from django.conf import settings; "
        "loaded = sorted({m.split('.')[0] for m in sys.modules "
        "if m.startswith(('sentry_sdk', 'opentelemetry'))}); "
        "print(loaded, any('opentelemetry' in m for m in settings.MIDDLEWARE))"
    )
    env = project_env(DJANGO_SETTINGS_MODULE="confops.settings", SECRET_KEY="s")
    for name in ("SENTRY_DSN", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] False"


def test_this_test_process_runs_without_tracing_middleware() -> None:
    assert not any("opentelemetry" in entry for entry in settings.MIDDLEWARE)


# --- what reaches Sentry of a URL quoted in an exception or a log record ---------------------

SLACK_SECRET = "SlackSecretPath0123456789"


def test_an_exception_quoting_a_webhook_path_reaches_sentry_without_it() -> None:
    from sentry_sdk import Client as SentryClient
    from sentry_sdk.utils import event_from_exception

    from confops.common.observability import scrub_event

    closed = f"http://127.0.0.1:{free_port()}/services/T0/B0/{SLACK_SECRET}"
    try:
        requests.post(closed, json={}, timeout=5)
    except requests.ConnectionError:
        # As init_sentry configures it: no frame variables (the URL is one).
        event, hint = event_from_exception(
            sys.exc_info(), client_options=SentryClient(include_local_variables=False).options
        )
    assert SLACK_SECRET in json.dumps(event)  # requests quotes the path it failed on
    scrubbed = json.dumps(scrub_event(event, hint))  # type: ignore[arg-type]
    assert SLACK_SECRET not in scrubbed and "with url: /[redacted]" in scrubbed


def test_a_urllib3_warning_breadcrumb_keeps_the_host_not_the_path() -> None:
    import logging

    from sentry_sdk.integrations.logging import BreadcrumbHandler

    from confops.common.observability import scrub_breadcrumb

    record = logging.LogRecord(
        "urllib3.connection",
        logging.WARNING,
        __file__,
        1,
        "Failed to parse headers (url=%s): %s",
        (f"https://hooks.slack.com/services/T0/B0/{SLACK_SECRET}", "MissingHeaderBodySeparator"),
        None,
    )
    record.message = record.getMessage()
    crumb = BreadcrumbHandler()._breadcrumb_from_record(record)
    scrubbed = scrub_breadcrumb(crumb, {"log_record": record})
    assert scrubbed["message"].startswith("Failed to parse headers (url=https://hooks.slack.com/")
    assert SLACK_SECRET not in json.dumps(scrubbed, default=str)
