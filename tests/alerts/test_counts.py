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
from alerts.choices import Severity
from alerts.models import Alert
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

    assert status_header(status) == {"critical": 0, "warning": 1, "held": 2}
    assert alert_counters(alerts) == {"firing": 1, "acknowledged": 0, "held back": 2}
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
