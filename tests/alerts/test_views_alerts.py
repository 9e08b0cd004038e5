"""The alerts page and an alert's page: what is open and why it is quiet, filters, row actions
answered as htmx fragments, history, consequences, notifications, and re-executing a run."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertEventKind, AlertState, NotificationStatus, ResolvedHow
from alerts.models import Alert, DeliveryAttempt, Notification, Silence
from confops.accounts.models import AuditEntry
from monitoring.models import Deployment, Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident
from tests.fixtures.http import HttpResponder

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def dep() -> Deployment:
    return f.deployment(ui_url="http://dagster.example")


@pytest.fixture
def elra(dep: Deployment) -> Source:
    return f.source("elra_conferences", dep)


@pytest.fixture
def wikicfp(dep: Deployment) -> Source:
    return f.source("wikicfp_conferences", dep)


@pytest.fixture
def store(dep: Deployment) -> Source:
    return f.source("store_conferences", dep, group_name="storage")


def row_of(html: str, alert: Alert) -> str:
    start = html.index(f'id="alert-{alert.pk}"')
    return html[start : html.index("</article>", start)]


# The page


def test_open_alerts_come_first_then_the_recently_resolved(
    viewer_user_client: Client, elra: Source, wikicfp: Source
) -> None:
    old = incident("Run failed", wikicfp, state=AlertState.RESOLVED, summary="wikicfp failed")
    old.resolved_at = timezone.now() - timedelta(hours=2)
    old.save()
    ancient = incident(
        "Stale (no success when expected)", wikicfp, state=AlertState.RESOLVED, summary="ancient"
    )
    ancient.resolved_at = timezone.now() - timedelta(days=8)
    ancient.save()
    incident("Run failed", elra, summary="elra failed: HTTP 503")
    html = viewer_user_client.get("/alerts/").content.decode()
    assert html.index("elra failed: HTTP 503") < html.index("wikicfp failed")
    assert "Resolved in the last 7 days" in html
    assert "ancient" not in html


def test_firing_comes_before_acknowledged_before_held_back(
    viewer_user_client: Client, dep: Deployment
) -> None:
    held = incident("Run failed", f.source("a", dep), summary="held one", inhibited=True)
    acked = incident("Run failed", f.source("b", dep), AlertState.ACKNOWLEDGED, summary="acked")
    firing = incident("Volume drop", f.source("c", dep), summary="firing one")
    html = viewer_user_client.get("/alerts/").content.decode()
    order = [html.index(f'id="alert-{a.pk}"') for a in (firing, acked, held)]
    assert order == sorted(order)


def test_held_back_reasons_are_written_out(
    viewer_user_client: Client, elra: Source, store: Source, dep: Deployment
) -> None:
    cause = incident("Run failed", elra, summary="elra failed: HTTP 503")
    folded = incident("Stale (no success when expected)", store, folded_into=cause)
    silenced_source = f.source("acl_web_conferences", dep)
    silenced = incident("Run failed", silenced_source)
    silenced.silenced_by = Silence.for_alert(silenced, 4, timezone.now(), comment="acl is moving")
    silenced.save()
    inhibited = incident("Volume drop", f.source("x", dep), inhibited=True)
    html = viewer_user_client.get("/alerts/").content.decode()
    assert "Folded into" in row_of(html, folded) and "elra failed: HTTP 503" in row_of(html, folded)
    assert "Silenced" in row_of(html, silenced) and "acl is moving" in row_of(html, silenced)
    assert "Inhibited" in row_of(html, inhibited)
    assert "1 consequence folded into this" in row_of(html, cause)


def test_a_viewer_sees_no_action_buttons(viewer_user_client: Client, elra: Source) -> None:
    alert = incident("Run failed", elra)
    row = row_of(viewer_user_client.get("/alerts/").content.decode(), alert)
    assert "Acknowledge" not in row and "Silence" not in row and "Resolve" not in row


def test_an_operator_sees_the_actions_of_a_firing_alert(
    operator_client: Client, elra: Source
) -> None:
    alert = incident("Run failed", elra)
    row = row_of(operator_client.get("/alerts/").content.decode(), alert)
    assert f'hx-post="/alerts/{alert.pk}/acknowledge/"' in row
    assert f'hx-post="/alerts/{alert.pk}/silence/"' in row
    assert f'hx-post="/alerts/{alert.pk}/resolve/"' in row and "hx-confirm" in row
    assert 'value="1"' in row and 'value="4"' in row and 'value="24"' in row
    assert f"/silences/new/?rule={alert.rule_id}&amp;source={elra.pk}" in row
    assert "Unacknowledge" not in row


def test_a_recovering_alert_says_when_it_closes_and_offers_no_acknowledge(
    operator_client: Client, elra: Source
) -> None:
    """ "Run failed" holds 30 min after its condition cleared: nothing to acknowledge then."""
    cleared = timezone.now() - timedelta(minutes=5)
    alert = incident("Run failed", elra, clear_since=cleared)
    closes = timezone.localtime(cleared + timedelta(minutes=30)).strftime("%H:%M")
    for html in (
        operator_client.get("/alerts/").content.decode(),
        operator_client.get(f"/alerts/{alert.pk}/").content.decode(),
    ):
        row = row_of(html, alert)
        assert f"Recovering, closes at {closes}" in row and "Firing" not in row
        assert f'hx-post="/alerts/{alert.pk}/acknowledge/"' not in row
        assert f'hx-post="/alerts/{alert.pk}/resolve/"' in row


def test_the_page_links_its_own_stylesheet_and_the_rule_runbook(
    viewer_user_client: Client, elra: Source
) -> None:
    incident("Run failed", elra)
    html = viewer_user_client.get("/alerts/").content.decode()
    assert "alerts/alerts.css" in html
    assert 'href="/runbooks/scraper-failure/"' in html


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"severity": "critical"}, ["stale"], ["failed", "dropped"]),
        ({"state": "acknowledged"}, ["dropped"], ["failed", "stale"]),
        ({"state": "firing"}, ["failed", "stale"], ["dropped"]),
        ({"state": "resolved"}, ["gone"], ["failed", "stale", "dropped"]),
    ],
)
def test_filters_narrow_the_lists(
    viewer_user_client: Client,
    elra: Source,
    wikicfp: Source,
    params: dict[str, str],
    shown: list[str],
    hidden: list[str],
) -> None:
    incident("Run failed", elra, summary="elra failed")
    incident("Stale (no success when expected)", wikicfp, summary="wikicfp stale")
    incident("Volume drop", elra, AlertState.ACKNOWLEDGED, summary="elra dropped")
    gone = incident("Count below minimum", elra, AlertState.RESOLVED, summary="elra gone")
    gone.resolved_at = timezone.now()
    gone.save()
    html = viewer_user_client.get("/alerts/", params).content.decode()
    for word in shown:
        assert word in html, word
    for word in hidden:
        assert f"elra {word}" not in html and f"wikicfp {word}" not in html, word


def test_filters_by_rule_source_and_deployment(
    viewer_user_client: Client, elra: Source, wikicfp: Source
) -> None:
    other_dep = f.deployment("retail")
    shop = f.source("shop_products", other_dep)
    a = incident("Run failed", elra, summary="elra failed")
    incident("Stale (no success when expected)", wikicfp, summary="wikicfp stale")
    incident("Run failed", shop, summary="shop failed")

    def summaries(params: dict[str, Any]) -> set[str]:
        html = viewer_user_client.get("/alerts/", params).content.decode()
        return {s for s in ("elra failed", "wikicfp stale", "shop failed") if s in html}

    assert summaries({"rule": a.rule_id}) == {"elra failed", "shop failed"}
    assert summaries({"source": wikicfp.pk}) == {"wikicfp stale"}
    assert summaries({"deployment": other_dep.pk}) == {"shop failed"}
    assert summaries({"rule": "not-a-number"}) == {"elra failed", "wikicfp stale", "shop failed"}


def test_changing_a_filter_with_htmx_gets_only_the_lists(
    viewer_user_client: Client, elra: Source
) -> None:
    incident("Run failed", elra, summary="elra failed")
    response = viewer_user_client.get(
        "/alerts/", {"severity": "warning"}, headers={**HTMX, "HX-Target": "alert-lists"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="alert-lists">')
    assert "elra failed" in html and "<html" not in html


def test_resolved_alerts_are_paginated(viewer_user_client: Client, dep: Deployment) -> None:
    now = timezone.now()
    for i in range(30):
        gone = incident("Run failed", f.source(f"s{i}", dep), AlertState.RESOLVED, summary=f"r{i}")
        gone.resolved_at = now - timedelta(minutes=i)
        gone.save()
    first = viewer_user_client.get("/alerts/").content.decode()
    assert "Page 1 of 2" in first and ">r0<" in first and ">r29<" not in first
    second = viewer_user_client.get("/alerts/", {"page": 2}).content.decode()
    assert ">r29<" in second and ">r0<" not in second


def make_alerts(count: int) -> None:
    dep = f.deployment(f"dep-{count}")
    for i in range(count):
        src = f.source(f"src-{count}-{i}", dep)
        cause = incident("Run failed", src, summary=f"failed {i}")
        incident("Stale (no success when expected)", src, folded_into=cause)
        incident("Volume drop", src, AlertState.ACKNOWLEDGED)
        gone = incident("Count below minimum", src, AlertState.RESOLVED)
        gone.resolved_at = timezone.now()
        gone.save()


def test_the_page_reads_a_fixed_number_of_queries(
    operator_client: Client, django_assert_max_num_queries: Any
) -> None:
    make_alerts(2)
    operator_client.get("/alerts/")  # warm the session and permission caches alike
    with django_assert_max_num_queries(14) as few:
        operator_client.get("/alerts/")
    make_alerts(25)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = operator_client.get("/alerts/")
    assert response.content.decode().count('class="alert-row') > 50


# Actions: htmx fragments


def test_acknowledging_answers_the_row_and_the_counters(
    operator_client: Client, operator_user: Any, elra: Source
) -> None:
    alert = incident("Run failed", elra)
    response = operator_client.post(
        f"/alerts/{alert.pk}/acknowledge/", {"note": "looking at elra"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<article class="alert-row')
    assert f'id="alert-{alert.pk}"' in html and "Acknowledged by otto-operator" in html
    assert 'id="alert-counters"' in html and 'hx-swap-oob="true"' in html
    assert "<strong>0</strong> firing" in html and "<strong>1</strong> acknowledged" in html
    assert "Unacknowledge" in html
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.ack_note == "looking at elra"
    event = alert.events.get()
    assert (event.kind, event.actor, event.note) == (
        AlertEventKind.ACKNOWLEDGED,
        operator_user,
        "looking at elra",
    )


def test_unacknowledging_puts_it_back_to_firing(
    operator_client: Client, operator_user: Any, elra: Source
) -> None:
    alert = incident("Run failed", elra, AlertState.ACKNOWLEDGED)
    response = operator_client.post(f"/alerts/{alert.pk}/unacknowledge/", headers=HTMX)
    assert response.status_code == 200 and "Firing" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING
    assert alert.events.get().actor == operator_user


def test_resolving_by_hand_is_recorded_and_audited(
    operator_client: Client, operator_user: Any, elra: Source
) -> None:
    alert = incident("Run failed", elra)
    response = operator_client.post(f"/alerts/{alert.pk}/resolve/", headers=HTMX)
    assert response.status_code == 200
    assert "Resolved by hand by otto-operator" in " ".join(response.content.decode().split())
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_how, alert.resolved_by) == (
        AlertState.RESOLVED,
        ResolvedHow.MANUAL,
        operator_user,
    )
    assert alert.events.get().kind == AlertEventKind.RESOLVED
    entry = AuditEntry.objects.get(action="resolved")
    assert entry.actor == operator_user and entry.object_id == str(alert.pk)


def test_silencing_for_four_hours_makes_a_silence_and_holds_the_alert(
    operator_client: Client, operator_user: Any, elra: Source
) -> None:
    alert = incident("Run failed", elra)
    response = operator_client.post(f"/alerts/{alert.pk}/silence/", {"hours": "4"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Silenced" in html and "Silenced for 4 h" in html
    assert "<strong>1</strong> held back" in html
    silence = Silence.objects.get()
    assert (silence.rule, silence.source, silence.created_by) == (alert.rule, elra, operator_user)
    assert silence.ends_at - silence.starts_at == timedelta(hours=4)
    alert.refresh_from_db()
    assert alert.silenced_by == silence
    event = alert.events.get()
    assert event.kind == AlertEventKind.SILENCED and event.actor == operator_user
    assert event.data == {"silence": silence.pk}
    assert AuditEntry.objects.get(action="created", object_type="alerts.Silence").actor == (
        operator_user
    )


def test_an_odd_silence_length_is_refused(operator_client: Client, elra: Source) -> None:
    alert = incident("Run failed", elra)
    response = operator_client.post(f"/alerts/{alert.pk}/silence/", {"hours": "99"}, headers=HTMX)
    assert response.status_code == 409
    assert not Silence.objects.exists()


def test_acknowledging_twice_answers_409_with_the_current_row(
    operator_client: Client, elra: Source
) -> None:
    alert = incident("Run failed", elra, AlertState.ACKNOWLEDGED)
    response = operator_client.post(f"/alerts/{alert.pk}/acknowledge/", headers=HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "only a firing alert can be acknowledged" in html and f'id="alert-{alert.pk}"' in html
    assert not alert.events.exists()


def test_without_htmx_an_action_redirects_back_with_a_message(
    operator_client: Client, elra: Source
) -> None:
    alert = incident("Run failed", elra)
    response = operator_client.post(
        f"/alerts/{alert.pk}/acknowledge/", {"next": f"/alerts/{alert.pk}/"}
    )
    assert response.status_code == 303 and response["Location"] == f"/alerts/{alert.pk}/"
    page = operator_client.get(response["Location"]).content.decode()
    assert "Acknowledged" in page


def test_a_redirect_never_leaves_the_site(operator_client: Client, elra: Source) -> None:
    alert = incident("Run failed", elra)
    response = operator_client.post(
        f"/alerts/{alert.pk}/acknowledge/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/alerts/"


def test_actions_need_a_post(operator_client: Client, elra: Source) -> None:
    alert = incident("Run failed", elra)
    assert operator_client.get(f"/alerts/{alert.pk}/acknowledge/").status_code == 405


# One alert's page


def test_the_detail_shows_history_consequences_and_notifications(
    viewer_user_client: Client, operator_user: Any, elra: Source, store: Source
) -> None:
    now = timezone.now()
    alert = incident(
        "Run failed",
        elra,
        run_id="abc-123",
        run_url="http://dagster.example/runs/abc-123",
        details={"error": "ConnectionError: HTTP 503 from elra.info", "step": "elra_conferences"},
    )
    alert.record(AlertEventKind.FIRED, now)
    alert.acknowledge(operator_user, "on it", now)
    stale = incident(
        "Stale (no success when expected)", store, folded_into=alert, summary="store is stale"
    )
    channel = f.channel()
    sent = Notification.objects.create(
        channel=channel,
        event="firing",
        rule=alert.rule,
        status=NotificationStatus.FAILED,
        created_at=now,
        send_after=now,
        attempts=2,
        error="HTTP 500 from hooks.example",
    )
    sent.alerts.add(alert)
    DeliveryAttempt.objects.create(
        notification=sent, number=1, started_at=now, ok=False, status_code=500, error="boom"
    )
    html = viewer_user_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "Acknowledged" in html and "otto-operator" in html and "on it" in html
    assert "store is stale" in html and f"/alerts/{stale.pk}/" in html
    assert "ops-slack" in html and "HTTP 500 from hooks.example" in html and "HTTP 500" in html
    assert "ConnectionError: HTTP 503 from elra.info" in html
    assert "http://dagster.example/runs/abc-123" in html
    assert 'href="/runbooks/scraper-failure/"' in html


def test_the_detail_escapes_what_came_from_outside(
    viewer_user_client: Client, elra: Source
) -> None:
    alert = incident(
        "Run failed", elra, summary="<img src=x onerror=alert(1)>", details={"error": "<script>x"}
    )
    html = viewer_user_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "<img src=x" not in html and "<script>x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_source_runbook_nobody_wrote_is_offered_to_operators(
    operator_client: Client, dep: Deployment
) -> None:
    src = f.source("elra_conferences", dep, runbook_slug="elra-specials")
    alert = incident("Run failed", src)
    html = operator_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "/runbooks/new/?slug=elra-specials" in html


# Re-executing the failed run


def reexecution_answer(run_id: str = "new-run-1") -> str:
    return json.dumps(
        {
            "data": {
                "launchRunReexecution": {
                    "__typename": "LaunchRunSuccess",
                    "run": {
                        "runId": run_id,
                        "status": "QUEUED",
                        "parentRunId": "abc",
                        "rootRunId": "abc",
                    },
                }
            }
        }
    )


@pytest.fixture
def failed_run_alert(http_responder: HttpResponder) -> Alert:
    dep = Deployment.objects.create(
        name="local", graphql_url=f"{http_responder.url}/graphql", ui_url="http://dagster.example"
    )
    return incident("Run failed", f.source("elra_conferences", dep), run_id="abc")


def test_reexecution_asks_for_confirmation_first(
    operator_client: Client, failed_run_alert: Alert, http_responder: HttpResponder
) -> None:
    html = operator_client.get(f"/alerts/{failed_run_alert.pk}/").content.decode()
    assert f"/alerts/{failed_run_alert.pk}/reexecute/" in html
    page = operator_client.get(f"/alerts/{failed_run_alert.pk}/reexecute/")
    assert page.status_code == 200 and "from its failure" in page.content.decode()
    assert not http_responder.requests  # nothing is launched by looking


def test_reexecution_links_the_new_run_and_is_audited(
    operator_client: Client,
    operator_user: Any,
    failed_run_alert: Alert,
    http_responder: HttpResponder,
) -> None:
    http_responder.respond(200, reexecution_answer())
    response = operator_client.post(f"/alerts/{failed_run_alert.pk}/reexecute/")
    assert response.status_code == 303
    sent = http_responder.requests[0].json()
    assert sent["variables"]["parentRunId"] == "abc"
    assert sent["variables"]["strategy"] == "FROM_FAILURE"
    assert {"key": "confops/triggered_by", "value": "otto-operator"} in sent["variables"][
        "extraTags"
    ]
    event = failed_run_alert.events.get(kind=AlertEventKind.REEXECUTED)
    assert event.actor == operator_user
    assert event.data["new_run_id"] == "new-run-1"
    assert event.data["new_run_url"] == "http://dagster.example/runs/new-run-1"
    audit = AuditEntry.objects.get(action="reexecuted")
    assert audit.changes == {"run_id": ["abc", "new-run-1"]} and audit.actor == operator_user
    page = operator_client.get(response["Location"]).content.decode()
    assert "new-run-1" in page and "http://dagster.example/runs/new-run-1" in page


def test_a_refused_reexecution_says_why_and_records_nothing(
    operator_client: Client, failed_run_alert: Alert, http_responder: HttpResponder
) -> None:
    body = {
        "data": {
            "launchRunReexecution": {
                "__typename": "PythonError",
                "message": "dagster._core.errors.DagsterInvariantViolationError: Cannot reexecute "
                "from failure a run that is not failed or canceled",
                "className": "DagsterInvariantViolationError",
            }
        }
    }
    http_responder.respond(500, json.dumps(body))
    response = operator_client.post(f"/alerts/{failed_run_alert.pk}/reexecute/")
    assert response.status_code == 502
    assert "Run abc did not fail" in response.content.decode()
    assert not failed_run_alert.events.exists()
    assert not AuditEntry.objects.filter(action="reexecuted").exists()


def test_an_alert_without_a_run_cannot_be_reexecuted(
    operator_client: Client, dep: Deployment
) -> None:
    alert = incident("Deployment unreachable", None, dep=dep)
    assert "Re-execute" not in operator_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert operator_client.post(f"/alerts/{alert.pk}/reexecute/").status_code == 409
