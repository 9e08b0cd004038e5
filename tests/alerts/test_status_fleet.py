"""The status page at fleet size: deployments collapsed to their health counts (failing cells
still shown), the most urgent first, paginated, opened by a link, in a fixed number of queries.
The threshold is lowered so a few dozen sources make a fleet."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import Severity
from alerts.pages import status as status_page
from monitoring.models import Deployment, Source
from tests.alerts.factories import deployment, run, source
from tests.alerts.pages import cell_state, open_alert

pytestmark = pytest.mark.django_db

FRAGMENT = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def small_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_page, "COLLAPSE_ABOVE", 10)
    monkeypatch.setattr(status_page, "SECTIONS_PER_PAGE", 3)
    monkeypatch.setattr(status_page, "FAILING_CELLS_SHOWN", 2)


def fleet(deployments: int, per_deployment: int) -> list[Deployment]:
    """Deployments named dep_00.. with healthy sources (a run two hours ago)."""
    now = timezone.now()
    made = []
    for d in range(deployments):
        dep = deployment(f"dep_{d:02d}", last_success_at=now)
        for i in range(per_deployment):
            src = source(f"d{d}_s{i}", dep, group_name="g")
            run(src, now - timedelta(hours=2))
        made.append(dep)
    return made


def sections(html: str) -> list[str]:
    """The deployments shown, in order, and whether each is collapsed."""
    return [
        f"{name}{' (collapsed)' if 'collapsed' in classes else ''}"
        for classes, name in re.findall(
            r'<section class="deployment([^"]*)"[^>]*data-deployment="([^"]+)"', html
        )
    ]


def section_html(html: str, name: str) -> str:
    start = html.index(f'data-deployment="{name}"')
    return html[start : html.index("</section>", start)]


def test_above_the_threshold_deployments_are_collapsed_with_their_counts(
    viewer_user_client: Client,
) -> None:
    now = timezone.now()
    fleet(5, 4)
    broken = Source.objects.get(key="d3_s1")
    open_alert(broken, Severity.CRITICAL, now=now)
    warned = Source.objects.get(key="d4_s2")
    open_alert(warned, Severity.WARNING, now=now)

    html = viewer_user_client.get("/").content.decode()

    # The critical deployment first, then the warning one, then the others by name.
    assert sections(html) == ["dep_03 (collapsed)", "dep_04 (collapsed)", "dep_00 (collapsed)"]
    failing = section_html(html, "dep_03")
    assert "4 sources:" in failing
    assert '<span class="summary-item state-critical">1 critical</span>' in failing
    assert '<span class="summary-item state-healthy">3 healthy</span>' in failing
    # The failing cell is visible without a click; its healthy neighbours stay a count.
    assert cell_state(html, broken.slug) == "critical"
    assert cell_state(html, warned.slug) == "warning"
    assert html.count('class="cell ') == 2
    assert 'href="?open=dep_03"' in failing
    # The whole fleet's counts stay in the summary line.
    assert '<span class="summary-item state-healthy">18 healthy</span>' in html


def test_a_collapsed_deployment_shows_a_few_of_its_failing_cells(
    viewer_user_client: Client,
) -> None:
    now = timezone.now()
    fleet(3, 5)
    for key in ("d1_s0", "d1_s1", "d1_s2"):
        open_alert(Source.objects.get(key=key), Severity.CRITICAL, now=now)

    html = viewer_user_client.get("/").content.decode()

    assert html.count('class="cell ') == status_page.FAILING_CELLS_SHOWN
    assert '<span class="summary-item state-critical">3 critical</span>' in section_html(
        html, "dep_01"
    )


def test_opening_a_deployment_shows_its_cells_and_the_refresh_keeps_it(
    viewer_user_client: Client,
) -> None:
    fleet(4, 4)

    html = viewer_user_client.get("/?open=dep_01").content.decode()

    assert "dep_01" in sections(html) and "dep_00 (collapsed)" in sections(html)
    opened = section_html(html, "dep_01")
    assert opened.count('class="cell ') == 4 and "Show all" not in opened
    assert 'hx-get="/?open=dep_01"' in html  # the body refreshes itself from the same URL
    fragment = viewer_user_client.get("/?open=dep_01", headers=FRAGMENT).content.decode()
    assert section_html(fragment, "dep_01").count('class="cell ') == 4


def test_the_deployment_filter_expands_its_deployment(viewer_user_client: Client) -> None:
    fleet(2, 12)
    html = viewer_user_client.get("/?deployment=dep_01").content.decode()
    assert sections(html) == ["dep_01"]
    assert html.count('class="cell ') == 12


def test_pagination_keeps_the_filters_and_the_refresh_keeps_the_page(
    viewer_user_client: Client,
) -> None:
    fleet(7, 3)

    first = viewer_user_client.get("/?window=7d").content.decode()
    assert sections(first) == [f"dep_{i:02d} (collapsed)" for i in range(3)]
    assert "page 1 of 3" in first
    assert 'href="?window=7d&amp;page=2"' in first

    second = viewer_user_client.get("/?window=7d&page=2").content.decode()
    assert sections(second) == [f"dep_{i:02d} (collapsed)" for i in range(3, 6)]
    assert 'hx-get="/?window=7d&amp;page=2"' in second  # the refresh stays on page 2
    assert 'href="?window=7d"' in second  # back to page 1, filters kept
    assert 'href="?window=7d&amp;open=dep_03&amp;page=2"' in second

    last = viewer_user_client.get("/?window=7d&page=99").content.decode()
    assert sections(last) == ["dep_06 (collapsed)"] and "page 3 of 3" in last


def test_below_the_threshold_nothing_is_collapsed(viewer_user_client: Client) -> None:
    fleet(2, 5)
    html = viewer_user_client.get("/").content.decode()
    assert sections(html) == ["dep_00", "dep_01"]
    assert html.count('class="cell ') == 10 and "pagination" not in html


@pytest.mark.parametrize(("deployments", "per_deployment"), [(2, 3), (4, 6), (12, 5)])
@pytest.mark.parametrize("query", ["", "?open=dep_01", "?group=g&window=7d", "?page=2"])
def test_the_number_of_queries_is_fixed_whatever_the_fleet(
    viewer_user_client: Client,
    django_assert_max_num_queries: Any,
    deployments: int,
    per_deployment: int,
    query: str,
) -> None:
    now = timezone.now()
    fleet(deployments, per_deployment)
    open_alert(Source.objects.get(key="d1_s0"), Severity.CRITICAL, now=now)
    viewer_user_client.get("/")  # the session is loaded once per test either way
    # Session, user, permissions (2), deployments, sources' health fields, open alerts, the
    # cells' rows, their runs (both skipped when no cell is shown), the filter form's tags and
    # owners.
    with django_assert_max_num_queries(10):
        assert viewer_user_client.get(f"/{query}").status_code == 200
