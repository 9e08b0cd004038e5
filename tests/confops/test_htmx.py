"""Every view that serves a page or its fragment answers through confops.common.htmx: a plain
request,
a boosted link and a history restore (the back button after htmx's cache missed) get the whole
page, an htmx swap gets the fragment, and each answer says in Vary what it depended on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails

from alerts.choices import AlertState
from confops.common import htmx
from monitoring.models import Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident

pytestmark = pytest.mark.django_db

# (url, the htmx headers its swap sends, how its fragment starts). The source is made below.
VIEWS = {
    "status": ("/", {"HX-Target": "status-body"}, '<div id="status-body"'),
    "source": (
        "/sources/elra/",
        {"HX-Target": "source-runs"},
        '<section class="card" id="source-runs"',
    ),
    "alerts": ("/alerts/?severity=warning", {"HX-Target": "alert-lists"}, '<div id="alert-lists">'),
    "runbooks": (
        "/runbooks/?q=stale",
        {"HX-Target": "runbook-results"},
        '<div id="runbook-results">',
    ),
}
SWAP = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


@pytest.fixture
def elra() -> Source:
    made = f.source("elra", f.deployment())
    Source.objects.filter(pk=made.pk).update(slug="elra")  # the address VIEWS names
    made.slug = "elra"
    return made


def get(client: Client, view: str, headers: dict[str, str]) -> tuple[str, Any]:
    url = VIEWS[view][0]
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.content.decode(), response


def varies_on_htmx(response: Any) -> bool:
    vary = {h.strip().lower() for h in response["Vary"].split(",")}
    return {"hx-request", "hx-boosted", "hx-history-restore-request"} <= vary


@pytest.mark.parametrize("view", VIEWS)
def test_a_plain_request_gets_the_whole_page(
    viewer_user_client: Client, elra: Source, view: str
) -> None:
    html, response = get(viewer_user_client, view, {})
    assert "<html" in html and varies_on_htmx(response)


@pytest.mark.parametrize("view", VIEWS)
def test_an_htmx_swap_gets_only_the_fragment(
    viewer_user_client: Client, elra: Source, view: str
) -> None:
    html, response = get(viewer_user_client, view, SWAP | VIEWS[view][1])
    assert "<html" not in html and html.lstrip().startswith(VIEWS[view][2])
    assert varies_on_htmx(response)


@pytest.mark.parametrize("view", VIEWS)
def test_a_history_restore_gets_the_whole_page(
    viewer_user_client: Client, elra: Source, view: str
) -> None:
    html, response = get(viewer_user_client, view, RESTORE)
    assert "<html" in html and varies_on_htmx(response)


@pytest.mark.parametrize("view", VIEWS)
def test_a_history_restore_aimed_at_the_fragment_still_gets_the_whole_page(
    viewer_user_client: Client, elra: Source, view: str
) -> None:
    html, response = get(viewer_user_client, view, RESTORE | VIEWS[view][1])
    assert "<html" in html and varies_on_htmx(response)


@pytest.mark.parametrize("view", VIEWS)
def test_a_boosted_link_gets_the_whole_page(
    viewer_user_client: Client, elra: Source, view: str
) -> None:
    html, response = get(viewer_user_client, view, BOOSTED | VIEWS[view][1])
    assert "<html" in html and varies_on_htmx(response)


def test_a_fragment_aimed_elsewhere_gets_the_whole_page(
    viewer_user_client: Client, elra: Source
) -> None:
    html, _ = get(viewer_user_client, "alerts", SWAP | {"HX-Target": "somewhere-else"})
    assert "<html" in html


def test_an_action_answers_htmx_with_the_row_and_a_form_with_a_redirect(
    operator_client: Client, elra: Source
) -> None:
    firing = incident("Run failed", elra)
    other = incident("Run failed", f.source("wikicfp", elra.deployment))
    row = operator_client.post(f"/alerts/{firing.pk}/acknowledge/", headers=SWAP)
    assert row.status_code == 200 and varies_on_htmx(row)
    assert row.content.decode().lstrip().startswith('<article class="alert-row')
    plain = operator_client.post(f"/alerts/{other.pk}/acknowledge/")
    assert plain.status_code == 303 and varies_on_htmx(plain)
    other.refresh_from_db()
    assert other.state == AlertState.ACKNOWLEDGED


def test_partial_reads_the_target_only_when_asked() -> None:
    request = RequestFactory().get("/", headers=SWAP | {"HX-Target": "x"})
    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    assert htmx.partial(request) and htmx.partial(request, "x")
    assert not htmx.partial(request, "y")
