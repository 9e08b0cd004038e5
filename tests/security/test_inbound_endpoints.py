"""Every ``/integrations/`` endpoint (alerts/inbound/urls.py) proves who is calling: an HMAC
signature (Slack, PagerDuty; csrf_exempt only because of it) or a login with a role (the
acknowledge link, behind a CSRF form). Walking the URL list means a new endpoint must say which
it is; each refuses an unsigned, forged or anonymous request and no answer carries a secret."""

from __future__ import annotations

import json
import secrets as random_secrets
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from alerts.choices import IncidentState
from alerts.inbound import urls as inbound_urls
from alerts.models import Channel, InboundRequest, Incident
from alerts.notify.links import ack_token
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of

pytestmark = pytest.mark.django_db

# Endpoint name -> the channel kind whose secret signs it.
SIGNED = {"slack-actions": "slack_app", "pagerduty-webhook": "pagerduty"}
BEHIND_LOGIN = {"ack-link"}
REFUSED = {302, 401, 403}


def marker(name: str) -> str:
    return f"SECRETMARK{name}{random_secrets.token_hex(8)}"


def patterns() -> list[URLPattern]:
    return [entry for entry in inbound_urls.urlpatterns if isinstance(entry, URLPattern)]


@pytest.fixture
def signed_channels() -> dict[str, tuple[Channel, list[str]]]:
    """One channel per signed endpoint, every secret of it a marker."""
    slack = [marker("bot"), marker("signing"), marker("apptoken")]
    pagerduty = [marker("routing")[:32], marker("pdwebhook")]
    return {
        "slack-actions": (
            Channel.objects.create(
                name="ops-slack-app",
                kind=SIGNED["slack-actions"],
                secret=slack[0],
                config={"channel": "C0OPS", "signing_secret": slack[1], "app_token": slack[2]},
            ),
            slack,
        ),
        "pagerduty-webhook": (
            Channel.objects.create(
                name="ops-pagerduty",
                kind=SIGNED["pagerduty-webhook"],
                secret=pagerduty[0],
                config={"webhook_secret": pagerduty[1]},
            ),
            pagerduty,
        ),
    }


def test_every_inbound_endpoint_is_signed_or_behind_the_login() -> None:
    names = {pattern.name for pattern in patterns()}
    assert names == set(SIGNED) | BEHIND_LOGIN, "a new /integrations/ URL: say how it is proven"


def test_only_the_signed_endpoints_skip_csrf_and_the_login() -> None:
    for pattern in patterns():
        view = pattern.callback
        signed = pattern.name in SIGNED
        assert getattr(view, "csrf_exempt", False) is signed, pattern.name
        assert (getattr(view, "login_required", True) is False) is signed, pattern.name


def slack_forgery(secret_guess: str) -> dict[str, str]:
    stamp = str(int(timezone.now().timestamp()))
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={secret_guess}"}


FORGED = {
    "slack-actions": slack_forgery("0" * 64),
    "pagerduty-webhook": {"X-PagerDuty-Signature": "v1=" + "0" * 64},
}


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_a_signed_endpoint_refuses_unsigned_and_forged_requests_and_shows_no_secret(
    client: Client, signed_channels: dict[str, tuple[Channel, list[str]]], name: str
) -> None:
    channel, secrets = signed_channels[name]
    url = reverse(f"inbound:{name}", args=[channel.pk])
    body = json.dumps({"payload": {"type": "block_actions"}, "event": {"event_type": "x"}})
    answers = [
        client.post(url, body, content_type="application/json"),
        client.post(url, body, content_type="application/json", headers=FORGED[name]),
        client.post(url, {"payload": body}, headers=FORGED[name]),
    ]
    assert [answer.status_code for answer in answers] == [401, 401, 401]
    for answer in answers:
        shown = answer.content.decode() + json.dumps(dict(answer.items()))
        assert not any(secret in shown for secret in secrets)
        assert "SECRETMARK" not in shown
    assert not InboundRequest.objects.exists()  # nothing recorded, so nothing acted on


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_a_signed_endpoint_refuses_a_get(client: Client, name: str) -> None:
    assert client.get(reverse(f"inbound:{name}", args=[1])).status_code in (401, 405)


@pytest.fixture
def outage() -> Incident:
    elra = f.source("elra_conferences", f.deployment())
    failed = incident("Run failed", elra, summary="elra failed: HTTP 503")
    return incident_of("elra_conferences: run failed", failed, severity="critical")


def test_an_acknowledge_link_sends_an_anonymous_visitor_to_the_login(
    client: Client, outage: Incident
) -> None:
    url = reverse("inbound:ack-link", args=[ack_token(outage.pk, timezone.now())])
    for answer in (client.get(url), client.post(url)):
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    outage.refresh_from_db()
    assert outage.state == IncidentState.OPEN


def test_a_user_without_the_role_learns_nothing_from_an_acknowledge_link(
    outsider_client: Client, viewer_user_client: Client, outage: Incident
) -> None:
    """Refused alike whether the link is valid, tampered or of an incident that does not
    exist: the answer does not tell which."""
    tokens = [ack_token(outage.pk, timezone.now()), "tampered", ack_token(999999, timezone.now())]
    for who in (outsider_client, viewer_user_client):
        answers = {who.get(reverse("inbound:ack-link", args=[t])).status_code for t in tokens}
        assert answers == {403}


def test_the_acknowledge_link_confirms_with_a_csrf_protected_form(
    operator_user: Any, outage: Incident
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator_user)
    url = reverse("inbound:ack-link", args=[ack_token(outage.pk, timezone.now())])
    page = browser.get(url)
    assert page.status_code == 200 and 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert browser.post(url).status_code == 403  # a cross-site POST without the token
    assert not InboundRequest.objects.exists()  # and the link is still unused


@pytest.mark.parametrize("route", sorted(SIGNED))
def test_an_unknown_channel_answers_like_a_bad_signature(client: Client, route: str) -> None:
    """No hint which channel ids exist."""
    answer = client.post(reverse(f"inbound:{route}", args=[999999]), b"{}", "application/json")
    assert answer.status_code == 401
