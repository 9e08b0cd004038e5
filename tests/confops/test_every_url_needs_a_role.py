"""Every URL the site answers refuses a logged-in user who holds no role, except the few that are
public on purpose: walking the resolver means a new page cannot forget its permission check."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Public on purpose: probes, the two login forms, logging out, the API's own pages (its
# endpoints answer by token, never by session, and refuse with 401), and the neutral favicon a
# browser asks for on the login page (an image of no state, tests/alerts/test_counts.py).
PUBLIC = {"health", "health/ready", "accounts/login/", "accounts/logout/", "admin/login/"}
PUBLIC |= {"admin/logout/", "api/v1/", "api/v1/docs", "api/v1/schema", "favicon.ico"}
REFUSED = {302, 401, 403}
CONVERTER = re.compile(r"<(?:\w+:)?\w+>")
SAMPLE_FOR_REGEX = {
    r"^(?P<app_label>auth|django_celery_beat|monitoring|alerts|reports)/$": "auth/",
    r"(?P<url>.*)$": "no-such-page/",
}


def routes(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    """Every URL pattern as a concrete path, path converters filled with ``1``."""
    for entry in resolver.url_patterns:
        raw = str(entry.pattern)
        concrete = SAMPLE_FOR_REGEX.get(raw, CONVERTER.sub("1", raw))
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + concrete)
        elif isinstance(entry, URLPattern):
            yield prefix + concrete


ALL_ROUTES = sorted(set(routes(get_resolver())))


def test_the_walk_finds_every_kind_of_page() -> None:
    for expected in ("", "health/detailed", "metrics", "admin/", "alerts/1/acknowledge/"):
        assert expected in ALL_ROUTES
    assert "runbooks/1/history/1/" in ALL_ROUTES and "api/v1/sources/1/runs" in ALL_ROUTES


@pytest.mark.parametrize("route", [r for r in ALL_ROUTES if r not in PUBLIC])
def test_a_logged_in_user_without_a_role_is_refused_everywhere(
    outsider_client: Client, route: str
) -> None:
    url = "/" + route
    methods = ("get", "post", "put", "patch", "delete")
    answers = {getattr(outsider_client, method)(url).status_code for method in methods}
    # A method a URL does not serve (405) says nothing; the ones it serves must refuse.
    answers.discard(405)
    assert answers and answers <= REFUSED, f"{url} answered {sorted(answers)}"


def test_the_detailed_health_needs_the_viewer_role(
    outsider_client: Client, viewer_user_client: Client
) -> None:
    assert outsider_client.get("/health/detailed").status_code == 403
    assert viewer_user_client.get("/health/detailed").status_code in (200, 503)


@pytest.mark.parametrize("route", ["health", "health/ready", "accounts/login/"])
def test_the_probes_and_the_login_stay_public(client: Client, route: str) -> None:
    assert client.get("/" + route).status_code in (200, 503)
