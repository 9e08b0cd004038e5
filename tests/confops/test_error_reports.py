"""Django's error page (DEBUG) and error emails show no secret a URL setting carries."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

SLACK_PATH = "T0/B0/slackSecretPath0123456789"
PING_ID = "deadmanPingId0123456789"
BROKER_PASSWORD = "brokerPassword0123456789"
CACHE_PASSWORD = "cachePassword0123456789"


@pytest.fixture
def url_settings(settings: Any) -> None:
    settings.DEBUG = True
    settings.SLACK_WEBHOOK_URL = f"https://hooks.slack.com/services/{SLACK_PATH}"
    settings.DEAD_MANS_SWITCH_URL = f"https://hc-ping.com/{PING_ID}"
    settings.CELERY_BROKER_URL = f"redis://:{BROKER_PASSWORD}@redis:6379/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://:{CACHE_PASSWORD}@redis:6379/1",
        }
    }


def error_page(**meta: str) -> str:
    request = RequestFactory().get("/boom", **meta)  # type: ignore[arg-type]
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())
    return response.content.decode()


def test_the_debug_error_page_cuts_url_settings_to_scheme_and_host(url_settings: None) -> None:
    html = error_page()
    for secret in (SLACK_PATH, PING_ID, BROKER_PASSWORD, CACHE_PASSWORD):
        assert secret not in html
    assert "https://hooks.slack.com/[redacted]" in html  # still says which service
    assert "redis://redis:6379/[redacted]" in html


def test_the_debug_error_page_cuts_urls_in_the_request_environment(url_settings: None) -> None:
    # The development server puts the process environment in request.META.
    html = error_page(DEAD_MANS_SWITCH_URL=f"https://hc-ping.com/{PING_ID}")
    assert PING_ID not in html
    assert "https://hc-ping.com/[redacted]" in html


def test_the_debug_error_page_cuts_urls_in_a_failing_frames_variables(url_settings: None) -> None:
    request = RequestFactory().get("/boom")
    try:
        webhook_url = f"https://hooks.slack.com/services/{SLACK_PATH}"
        raise ConnectionError(f"cannot reach {webhook_url.split('/')[2]}")
    except ConnectionError:
        html = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "webhook_url" in html and SLACK_PATH not in html


def test_settings_without_a_url_are_shown_as_they_are(url_settings: None, settings: Any) -> None:
    settings.CONFOPS_BASE_URL = "http://localhost:8000"
    html = error_page()
    assert "http://localhost:8000" in html and "/static/" in html
