"""One way of counting open alerts: during a silence the status page's header, its grid, the
alerts page's counters, the tab's title and favicon and /metrics agree (issue 18), and
/favicon.ico answers anyone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts import operations
from alerts.choices import IncidentState, Severity
from alerts.models import Alert, Incident
from alerts.pages.counts import alert_counts, tab_title
from monitoring.models import Source
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def maintenance(operator_user: Any) -> dict[str, Source]:
    """Two critical alerts on elra, both held back by silences; one warning firing on wikicfp."""
    now = timezone.now()
    dep = f.deployment(last_success_at=now)
    elra = f.source("elra_conferences", dep, last_run_at=now, last_success_at=now)
    wikicfp = f.source("wikicfp_conferences", dep, last_run_at=now, last_success_at=now)
    at = now - timedelta(minutes=10)
    for name in ("elra run failed", "elra volume dropped"):
        rule = f.rule(name, "run_failed", severity=Severity.CRITICAL)
        operations.silence_alert(f.alert(rule, elra, at), 2, operator_user, now)
    f.alert(f.rule("wikicfp late", "run_failed", severity=Severity.WARNING), wikicfp, at)
    return {"elra": elra, "wikicfp": wikicfp}


def status_header(html: str) -> dict[str, int]:
    counts = re.search(r'<div id="status-counts".*?</div>', html, re.S)
    assert counts is not None
    found = re.findall(r'class="count count-(\w+)[^"]*" data-count="(\d+)"', counts.group(0))
    return {kind: int(n) for kind, n in found}


def alert_counters(html: str) -> dict[str, int]:
    counters = re.search(r'<div id="alert-counters".*?</div>', html, re.S)
    assert counters is not None
    found = re.findall(r"<strong>(\d+)</strong> ([\w ]+?)<", counters.group(0))
    return {word: int(n) for n, word in found}


def metrics(text: str) -> dict[tuple[str, str], float]:
    found = re.findall(
        r'^confops_alerts_counted\{severity="(\w+)",status="(\w+)"\} (\S+)$', text, re.M
    )
    return {(status, severity): float(value) for severity, status, value in found}


def cell(html: str, source: Source) -> str:
    found = re.search(rf'<li class="cell [^"]*" id="cell-{source.slug}".*?</li>', html, re.S)
    assert found is not None
    return found.group(0)


def test_a_silenced_critical_alert_is_counted_held_back_everywhere_not_firing(
    maintenance: dict[str, Source], operator_client: Client
) -> None:
    assert all(a.silenced_by_id for a in Alert.objects.filter(source=maintenance["elra"]))
    status = operator_client.get("/").content.decode()
    alerts = operator_client.get("/alerts/").content.decode()
    scraped = metrics(operator_client.get("/metrics").content.decode())

    assert status_header(status) == {"incidents": 1, "critical": 0, "warning": 1, "held": 2}
    assert alert_counters(alerts) == {
        "incident firing": 1,
        "firing": 1,
        "acknowledged": 0,
        "held back": 2,
    }
    assert scraped[("firing", "critical")] == 0 and scraped[("firing", "warning")] == 1
    assert scraped[("held_back", "critical")] == 2 and scraped[("acknowledged", "critical")] == 0
    counts = alert_counts()
    assert (counts.firing, counts.held_back, counts.acknowledged) == (1, 2, 0)


def test_the_tab_title_and_favicon_carry_the_firing_count_and_worst_state(
    maintenance: dict[str, Source], operator_client: Client
) -> None:
    status = operator_client.get("/").content.decode()
    alerts = operator_client.get("/alerts/").content.decode()
    assert "<title>(1) Status · confops</title>" in status
    assert "<title>(1) Alerts · confops</title>" in alerts
    for html in (status, alerts):
        assert re.search(r'<link rel="icon" id="favicon"[^>]* href="[^"]*/warning\.svg"', html)
        assert 'data-tab-count="1" data-tab-state="warning"' in html


def test_the_tab_title_has_no_count_when_nothing_fires() -> None:
    assert tab_title("Status", alert_counts()) == "Status · confops"


def test_the_grid_marks_a_source_whose_alerts_are_all_silenced(
    maintenance: dict[str, Source], operator_client: Client
) -> None:
    html = operator_client.get("/").content.decode()
    elra, wikicfp = cell(html, maintenance["elra"]), cell(html, maintenance["wikicfp"])
    assert '<use href="#i-silenced"/></svg>silenced</span>' in elra
    assert "silenced" not in wikicfp


def test_the_grid_marks_an_acknowledged_source_with_an_icon_and_the_word(
    maintenance: dict[str, Source], operator_client: Client, operator_user: Any
) -> None:
    alert = Alert.objects.get(source=maintenance["wikicfp"])
    operations.acknowledge(alert, operator_user, "", timezone.now())
    html = operator_client.get("/").content.decode()
    wikicfp = cell(html, maintenance["wikicfp"])
    assert '<use href="#i-acknowledged"/></svg>acknowledged</span>' in wikicfp


def test_favicon_ico_answers_anyone_with_an_svg(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def incident_of(alerts: list[Alert], state: str = IncidentState.OPEN) -> Incident:
    """An incident holding ``alerts``, as the engine groups them."""
    first = alerts[0]
    incident = Incident.objects.create(
        title=first.summary,
        state=state,
        severity=first.severity,
        source=first.source,
        opened_at=first.opened_at,
    )
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(incident=incident)
    return incident


def incidents_scraped(text: str) -> dict[str, float]:
    found = re.findall(r'^confops_incidents_counted\{status="(\w+)"\} (\S+)$', text, re.M)
    return {status: float(value) for status, value in found}


@pytest.fixture
def two_incidents(operator_user: Any) -> None:
    """Two incidents firing (one of two alerts, one of one), one acknowledged, one whose only
    member is silenced, one whose only member is recovering: the tab says "(2)"."""
    now = timezone.now()
    dep = f.deployment(last_success_at=now)
    at = now - timedelta(minutes=10)
    critical = f.rule("run failed", "run_failed", severity=Severity.CRITICAL)
    late = f.rule("late", "run_failed", severity=Severity.WARNING)

    def alert_on(key: str, rule_: Any, **fields: Any) -> Alert:
        return f.alert(rule_, f.source(key, dep, last_run_at=now), at, **fields)

    incident_of([alert_on("a_conferences", critical), alert_on("b_conferences", late)])
    incident_of([alert_on("c_conferences", late)])
    incident_of([alert_on("d_conferences", critical)], IncidentState.ACKNOWLEDGED)
    silenced = alert_on("e_conferences", critical)
    operations.silence_alert(silenced, 2, operator_user, now)
    incident_of([silenced])
    incident_of([alert_on("f_conferences", late, clear_since=now)])


def test_two_firing_incidents_make_the_tab_say_two_on_every_page_and_in_metrics(
    two_incidents: None, operator_client: Client
) -> None:
    counts = alert_counts()
    assert counts.incidents_firing == 2
    assert counts.firing == 4  # three alerts of the two incidents, one of the acknowledged one
    status = operator_client.get("/").content.decode()
    alerts = operator_client.get("/alerts/").content.decode()
    assert "<title>(2) Status · confops</title>" in status
    assert "<title>(2) Alerts · confops</title>" in alerts
    assert status_header(status)["incidents"] == 2
    assert alert_counters(alerts)["incidents firing"] == 2
    for html in (status, alerts):
        assert 'data-tab-count="2"' in html
    scraped = incidents_scraped(operator_client.get("/metrics").content.decode())
    assert scraped == {"firing": 2.0, "acknowledged": 1.0, "quiet": 2.0}


def test_a_firing_alert_in_no_incident_pages_alone_and_counts_as_one_incident(
    maintenance: dict[str, Source],
) -> None:
    assert alert_counts().incidents_firing == 1
    assert alert_counts().incidents == {"firing": 1}


def test_the_alerts_lists_refresh_brings_the_counters_out_of_band(
    maintenance: dict[str, Source], operator_client: Client
) -> None:
    response = operator_client.get(
        "/alerts/", headers={"HX-Request": "true", "HX-Target": "alert-lists"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="alert-lists">')
    assert '<div id="alert-counters" class="counters" hx-swap-oob="true"' in html
    assert alert_counters(html) == {
        "incident firing": 1,
        "firing": 1,
        "acknowledged": 0,
        "held back": 2,
    }


def test_the_firing_filter_lists_what_the_firing_counter_counts_not_recovering_alerts(
    operator_client: Client,
) -> None:
    now = timezone.now()
    dep = f.deployment(last_success_at=now)
    rule_ = f.rule("run failed", "run_failed", severity=Severity.CRITICAL)
    firing = f.alert(rule_, f.source("a_conferences", dep), now, summary="still failing")
    f.alert(
        rule_, f.source("b_conferences", dep), now, summary="b quietly recovering", clear_since=now
    )
    html = operator_client.get("/alerts/?state=firing").content.decode()
    assert alert_counters(html)["firing"] == 1 and alert_counts().recovering == 1
    assert firing.summary in html
    assert "b quietly recovering" not in html


@pytest.mark.parametrize("url", ["/silences/", "/runbooks/", "/reports/"])
def test_every_portal_page_carries_the_firing_incidents_in_its_tab(
    two_incidents: None, operator_client: Client, url: str
) -> None:
    html = operator_client.get(url, follow=True).content.decode()
    assert re.search(r"<title>\(2\) [^<]+ · confops</title>", html)
    icon = re.search(r'<link rel="icon" id="favicon"[^>]*>', html)
    assert icon is not None
    assert "/critical.svg" in icon.group(0) and 'data-tab-count="2"' in icon.group(0)


def test_the_login_page_shows_no_count_and_keeps_the_default_favicon(client: Client) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert "<title>Log in · confops</title>" in html and 'id="favicon"' not in html
