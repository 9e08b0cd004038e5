"""The silences pages: active, upcoming and expired; a new silence with matchers, a one-off or
recurring window, a required comment and a live preview of the alerts it would hold; expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertEventKind, AlertState
from alerts.models import AlertRule, Silence
from confops.accounts.models import AuditEntry
from monitoring.models import Deployment, Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def dep() -> Deployment:
    return f.deployment()


@pytest.fixture
def elra(dep: Deployment) -> Source:
    return f.source("elra_conferences", dep, tags={"site": "elra"})


@pytest.fixture
def store(dep: Deployment) -> Source:
    return f.source("store_conferences", dep, group_name="storage")


def silence(**fields: Any) -> Silence:
    now = timezone.now()
    values: dict[str, Any] = {
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(hours=3),
        "comment": "elra maintenance",
        "group": "scrapers",
    }
    values.update(fields)
    return Silence.objects.create(**values)


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def form_data(**fields: Any) -> dict[str, Any]:
    now = timezone.now()
    data = {
        "window": "once",
        "starts_at": now.strftime(FMT),
        "ends_at": (now + timedelta(hours=2)).strftime(FMT),
        "recurrence_timezone": "UTC",
        "catch_up_minutes": "0",
        "comment": "elra is moving servers",
    }
    data.update({k: str(v) for k, v in fields.items()})
    return data


def test_the_list_splits_active_upcoming_and_expired(viewer_user_client: Client) -> None:
    now = timezone.now()
    silence(comment="holding now")
    silence(
        comment="later today", starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=4)
    )
    silence(comment="over already", ends_at=now - timedelta(minutes=5))
    silence(comment="ended by hand", expired_at=now - timedelta(minutes=1))
    silence(
        comment="sunday window",
        ends_at=None,
        recurrence_cron="0 1 * * 0",
        duration_minutes=60,
        starts_at=now - timedelta(days=1),
    )
    html = viewer_user_client.get("/silences/").content.decode()
    active, upcoming, expired = (
        section(html, h) for h in ("active-heading", "upcoming-heading", "expired-heading")
    )
    assert "holding now" in active
    assert "later today" in upcoming
    # A weekly window is upcoming (with its next window) except during its hour on Sunday.
    assert ("sunday window" in upcoming and "next window" in upcoming) or "sunday window" in active
    assert "over already" in expired and "ended by hand" in expired
    assert 'Matches: <span class="matcher">group scrapers</span>' in active


def test_a_viewer_sees_no_write_buttons(viewer_user_client: Client) -> None:
    silence()
    html = viewer_user_client.get("/silences/").content.decode()
    assert "Expire now" not in html and "New silence" not in html
    assert viewer_user_client.get("/silences/new/").status_code == 403


def test_an_operator_creates_a_one_off_silence(
    operator_client: Client, operator_user: Any, elra: Source
) -> None:
    rule = AlertRule.objects.get(name="Run failed")
    alert = incident("Run failed", elra)
    response = operator_client.post("/silences/new/", form_data(rule=rule.pk, source=elra.pk))
    assert response.status_code == 303 and response["Location"] == "/silences/"
    created = Silence.objects.get()
    assert (created.rule, created.source, created.created_by) == (rule, elra, operator_user)
    assert created.comment == "elra is moving servers"
    alert.refresh_from_db()
    assert alert.silenced_by == created  # shown silenced at once, not at the next evaluation
    assert alert.events.get().kind == AlertEventKind.SILENCED
    assert AuditEntry.objects.get(object_type="alerts.Silence", action="created").actor == (
        operator_user
    )


def test_a_recurring_window_needs_a_cron_and_a_duration(operator_client: Client) -> None:
    response = operator_client.post(
        "/silences/new/", form_data(window="recurring", group="scrapers", ends_at="")
    )
    assert response.status_code == 422
    assert "a recurring window needs a cron expression" in response.content.decode()
    response = operator_client.post(
        "/silences/new/",
        form_data(window="recurring", group="scrapers", ends_at="", recurrence_cron="0 1 * * 0"),
    )
    assert response.status_code == 422
    assert "a recurring window needs a duration" in response.content.decode()
    response = operator_client.post(
        "/silences/new/",
        form_data(
            window="recurring",
            group="scrapers",
            ends_at="",
            recurrence_cron="0 1 * * 0",
            recurrence_timezone="Europe/Paris",
            duration_minutes=120,
            catch_up_minutes=30,
        ),
    )
    assert response.status_code == 303
    window = Silence.objects.get()
    assert (window.recurrence_cron, window.duration_minutes, window.catch_up_minutes) == (
        "0 1 * * 0",
        120,
        30,
    )
    assert window.ends_at is None and window.recurrence_timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"comment": ""}, "This field is required"),
        ({}, "a silence needs at least one matcher"),
        (
            {
                "group": "scrapers",
                "recurrence_timezone": "Mars/Base",
                "window": "recurring",
                "recurrence_cron": "0 1 * * 0",
                "duration_minutes": 5,
            },
            "not a known time zone",
        ),
        (
            {
                "group": "scrapers",
                "window": "recurring",
                "recurrence_cron": "99 * * * *",
                "duration_minutes": 5,
            },
            "not a valid cron expression",
        ),
    ],
)
def test_a_bad_silence_is_explained(
    operator_client: Client, fields: dict[str, Any], message: str
) -> None:
    response = operator_client.post("/silences/new/", form_data(**fields))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Silence.objects.exists()


def test_a_one_off_silence_keeps_no_recurrence(operator_client: Client) -> None:
    response = operator_client.post(
        "/silences/new/",
        form_data(group="scrapers", recurrence_cron="0 1 * * 0", duration_minutes=5),
    )
    assert response.status_code == 303
    assert Silence.objects.get().recurrence_cron == ""


def test_a_link_from_an_alert_prefills_the_form_and_its_preview(
    operator_client: Client, elra: Source
) -> None:
    alert = incident("Run failed", elra, summary="elra failed: HTTP 503")
    html = operator_client.get(
        f"/silences/new/?rule={alert.rule_id}&source={elra.pk}"
    ).content.decode()
    assert f'<option value="{alert.rule_id}" selected>' in html
    assert f'<option value="{elra.pk}" selected>' in html
    assert "elra failed: HTTP 503" in html  # the preview already lists it
    assert "Active as soon as it is saved" in html
    assert '<option value="" selected>Any</option>' in html  # severity: any
    assert 'hx-get="/silences/preview/"' in html


def test_the_preview_lists_the_open_alerts_the_matchers_cover(
    operator_client: Client, elra: Source, store: Source, dep: Deployment
) -> None:
    incident("Run failed", elra, summary="elra failed")
    incident("Stale (no success when expected)", store, summary="store stale")
    incident("Volume drop", f.source("acl", dep), AlertState.RESOLVED, summary="acl old")
    response = operator_client.get(
        "/silences/preview/", {"group": "scrapers", "window": "once"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "elra failed" in html and "store stale" not in html and "acl old" not in html
    tagged = operator_client.get("/silences/preview/", {"tag_key": "site", "tag_value": "elra"})
    assert "elra failed" in tagged.content.decode()
    by_severity = operator_client.get("/silences/preview/", {"severity": "critical"})
    assert "store stale" in by_severity.content.decode()
    assert "elra failed" not in by_severity.content.decode()


def test_the_preview_says_when_the_silence_would_not_hold_yet(
    operator_client: Client, elra: Source
) -> None:
    incident("Run failed", elra)
    later = (timezone.now() + timedelta(days=1)).strftime(FMT)
    html = operator_client.get(
        "/silences/preview/", {"group": "scrapers", "window": "once", "starts_at": later}
    ).content.decode()
    assert "Not active now" in html


def test_the_preview_without_a_matcher_asks_for_one(operator_client: Client) -> None:
    html = operator_client.get("/silences/preview/", {"comment": "x"}).content.decode()
    assert "Choose at least one matcher" in html


def test_a_viewer_gets_no_preview(viewer_user_client: Client) -> None:
    assert viewer_user_client.get("/silences/preview/", {"group": "x"}).status_code == 403


def test_expiring_a_silence_now_is_audited(
    operator_client: Client, operator_user: Any, elra: Source
) -> None:
    held = silence()
    response = operator_client.post(f"/silences/{held.pk}/expire/")
    assert response.status_code == 303
    held.refresh_from_db()
    assert held.expired_at is not None and held.expired_at <= timezone.now()
    assert AuditEntry.objects.get(action="expired").actor == operator_user
    html = operator_client.get("/silences/").content.decode()
    assert "elra maintenance" in section(html, "expired-heading")


def test_expiring_twice_is_explained(operator_client: Client) -> None:
    held = silence(expired_at=timezone.now() - timedelta(minutes=1))
    response = operator_client.post(f"/silences/{held.pk}/expire/", follow=True)
    assert "already expired" in response.content.decode()


def test_a_silence_shows_how_many_open_alerts_it_holds(
    viewer_user_client: Client, elra: Source
) -> None:
    held = silence()
    incident("Run failed", elra, silenced_by=held)
    assert "holds 1 open alert" in viewer_user_client.get("/silences/").content.decode()
