"""The status page: one coloured cell per source, header counters, filters in the URL, the run
timeline, and the htmx refresh that swaps the body and the counters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertState, Severity
from monitoring.choices import RunStatus, SourceKind
from monitoring.models import Deployment, Source
from tests.alerts.factories import deployment, run, source
from tests.alerts.pages import cell_html, cell_state, clearing, open_alert, shown_slugs

pytestmark = pytest.mark.django_db

FRAGMENT = {"HX-Request": "true"}


@pytest.fixture
def now() -> Any:
    return timezone.now()


@pytest.fixture
def dep() -> Deployment:
    return deployment("confradar", last_success_at=timezone.now(), ui_url="http://dagster:3000")


def healthy(key: str, dep: Deployment | None, now: Any, **fields: Any) -> Source:
    created = source(key, dep, **fields)
    run(created, now - timedelta(hours=2), metrics={"count": 1234})
    created.refresh_from_db()
    return created


def test_anonymous_visitors_are_sent_to_the_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_without_the_viewer_role_is_refused(outsider_client: Client) -> None:
    assert outsider_client.get("/").status_code == 403


def test_cells_take_the_colour_of_their_worst_open_alert(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    calm = healthy("calm", dep, now)
    warned = healthy("warned", dep, now)
    burning = healthy("burning", dep, now)
    acked = healthy("acked", dep, now)
    informed = healthy("informed", dep, now)
    open_alert(warned, Severity.WARNING, now=now)
    open_alert(burning, Severity.WARNING, now=now)
    open_alert(burning, Severity.CRITICAL, now=now)
    open_alert(acked, Severity.CRITICAL, now=now, state=AlertState.ACKNOWLEDGED)
    open_alert(informed, Severity.INFO, now=now)

    html = viewer_user_client.get("/").content.decode()

    assert cell_state(html, calm.slug) == "healthy"
    assert cell_state(html, warned.slug) == "warning"
    assert cell_state(html, burning.slug) == "critical"
    assert cell_state(html, acked.slug) == "critical"
    assert "acknowledged" in cell_html(html, acked.slug)
    assert cell_state(html, informed.slug) == "healthy"


def test_pending_and_resolved_alerts_do_not_colour_a_cell(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    waiting = healthy("waiting", dep, now)
    recovered = healthy("recovered", dep, now)
    open_alert(waiting, Severity.CRITICAL, now=now, state=AlertState.PENDING)
    open_alert(recovered, Severity.CRITICAL, now=now, state=AlertState.RESOLVED)

    html = viewer_user_client.get("/").content.decode()

    assert cell_state(html, waiting.slug) == "healthy"
    assert cell_state(html, recovered.slug) == "healthy"


def test_paused_never_run_and_long_silent_sources_are_grey(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    paused = healthy("paused", dep, now, paused=True)
    fresh = source("brand_new", dep)
    failing = source("only_fails", dep)
    run(failing, now - timedelta(hours=1), ok=False)
    old = source("old", dep)
    run(old, now - timedelta(days=9))

    html = viewer_user_client.get("/").content.decode()

    assert cell_state(html, paused.slug) == "paused"
    assert "Paused" in cell_html(html, paused.slug)
    assert cell_state(html, fresh.slug) == "unknown"
    assert "never run" in cell_html(html, fresh.slug)
    assert cell_state(html, failing.slug) == "unknown"
    assert cell_state(html, old.slug) == "unknown"


def test_sources_of_an_unreachable_deployment_are_grey_and_say_why(
    viewer_user_client: Client, now: Any
) -> None:
    down = deployment(
        "down",
        last_success_at=now - timedelta(minutes=10),
        consecutive_failures=4,
        failing_since=now - timedelta(minutes=6),
        last_poll_at=now,
        last_error="Dagster unreachable at http://down/graphql",
    )
    src = healthy("behind_the_outage", down, now)
    open_alert(src, Severity.CRITICAL, now=now)

    html = viewer_user_client.get("/").content.decode()

    assert cell_state(html, src.slug) == "unknown"
    assert "deployment unreachable for 6 min" in cell_html(html, src.slug)
    assert "Dagster unreachable at http://down/graphql" in html


def test_a_cell_shows_the_last_run_age_count_and_freshness(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    src = source("wikicfp", dep)
    run(src, now - timedelta(hours=5), metrics={"count": 1234})
    run(src, now - timedelta(hours=2), ok=False)

    cell = cell_html(viewer_user_client.get("/").content.decode(), src.slug)

    assert "2 h ago, failure" in cell
    assert "1,234" in cell
    assert "5 h ago" in cell  # last success


def test_every_state_has_an_icon_and_a_word(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    warned = healthy("warned", dep, now)
    open_alert(warned, Severity.WARNING, now=now)

    cell = cell_html(viewer_user_client.get("/").content.decode(), warned.slug)

    assert '<use href="#i-warning"/>' in cell and "Warning" in cell


def test_asset_jobs_and_gone_sources_are_left_out(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    shown = healthy("asset", dep, now)
    job = healthy("crawl_job", dep, now, kind=SourceKind.JOB, is_asset_job=True)
    gone = healthy("removed", dep, now, is_gone=True)

    slugs = shown_slugs(viewer_user_client.get("/").content.decode())

    assert shown.slug in slugs and job.slug not in slugs and gone.slug not in slugs


def test_a_source_whose_alerts_all_wait_out_their_hold_is_recovering_until_they_close(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    mending = healthy("mending", dep, now)
    still = healthy("still_failing", dep, now)
    clearing(open_alert(mending, Severity.WARNING, now=now), now - timedelta(minutes=5))
    clearing(open_alert(still, Severity.WARNING, now=now), now - timedelta(minutes=5))
    open_alert(still, Severity.WARNING, now=now)

    html = viewer_user_client.get("/").content.decode()

    closes = timezone.localtime(now + timedelta(minutes=25)).strftime("%H:%M")
    assert cell_state(html, mending.slug) == "recovering"
    assert "Recovering" in cell_html(html, mending.slug)
    assert f"recovering, closes at {closes}" in cell_html(html, mending.slug)
    assert cell_state(html, still.slug) == "warning"
    # Only the alert whose condition still holds is counted as firing.
    assert 'class="count count-warning is-on" data-count="1"' in html


def test_the_header_counts_firing_critical_and_warning_alerts(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    a, b = healthy("a", dep, now), healthy("b", dep, now)
    open_alert(a, Severity.CRITICAL, now=now)
    open_alert(b, Severity.CRITICAL, now=now)
    open_alert(None, Severity.CRITICAL, now=now, deployment=dep, kind="deployment_unreachable")
    open_alert(a, Severity.WARNING, now=now)
    open_alert(b, Severity.CRITICAL, now=now, state=AlertState.ACKNOWLEDGED)
    open_alert(b, Severity.WARNING, now=now, state=AlertState.RESOLVED)

    html = viewer_user_client.get("/").content.decode()

    assert 'class="count count-critical is-on" data-count="3"' in html
    assert 'class="count count-warning is-on" data-count="1"' in html
    assert "1 acknowledged" in html
    assert "1 open deployment alert" in html


def test_deployments_without_sources_are_listed_with_their_state(
    viewer_user_client: Client, now: Any
) -> None:
    Deployment.objects.create(
        name="confradar-local",
        graphql_url="http://127.0.0.1:3000/graphql",
        last_poll_at=now,
        consecutive_failures=3,
        failing_since=now,
        last_error="Dagster unreachable at http://127.0.0.1:3000/graphql",
    )

    html = viewer_user_client.get("/").content.decode()

    assert "confradar-local" in html and "deployment unreachable" in html
    assert "No sources discovered yet." in html


def test_a_daemon_silent_for_eight_minutes_is_shown_down_not_reachable(
    viewer_user_client: Client, now: Any
) -> None:
    # Dagster's own flag still says healthy (its tolerance is 30 minutes): the grid judges the
    # heartbeat like the deployment_unhealthy rule does.
    beat = (now - timedelta(minutes=8)).timestamp()
    fresh = (now - timedelta(seconds=20)).timestamp()
    daemons = {
        "SCHEDULER": {"required": True, "healthy": True, "last_heartbeat": beat},
        "SENSOR": {"required": True, "healthy": True, "last_heartbeat": fresh},
    }
    deployment("stopped-daemon", last_success_at=now, daemon_health=daemons)
    deployment("fine", last_success_at=now, daemon_health={"SENSOR": daemons["SENSOR"]})
    deployment("broken", last_success_at=now, code_location_errors={"retailfeed": "boom"})

    html = viewer_user_client.get("/").content.decode()

    assert html.count(">reachable</span>") == 1
    assert "daemon SCHEDULER down" in html
    assert "code location retailfeed not loading" in html


class TestFilters:
    @pytest.fixture
    def seeded(self, dep: Deployment, now: Any) -> dict[str, Source]:
        other = deployment("retail", last_success_at=now)
        return {
            "scraper": healthy(
                "scraper", dep, now, group_name="scrapers", tags={"team": "data"}, owner="ana"
            ),
            "store": healthy(
                "store",
                dep,
                now,
                group_name="storage",
                tags={"team": "platform"},
                dagster_owners=["team:platform"],
            ),
            "products": healthy("products", other, now, group_name="scrapers"),
            "pushed": healthy("temporal_flow", None, now, group_name="external"),
        }

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("deployment=confradar", {"scraper", "store"}),
            ("deployment=-", {"pushed"}),
            ("group=scrapers", {"scraper", "products"}),
            ("tag=team%3Ddata", {"scraper"}),
            ("tag=team", {"scraper", "store"}),
            ("owner=ana", {"scraper"}),
            ("owner=team%3Aplatform", {"store"}),
            ("deployment=confradar&group=scrapers", {"scraper"}),
            ("group=nothing-here", set()),
        ],
    )
    def test_filters_narrow_the_grid(
        self, viewer_user_client: Client, seeded: dict[str, Source], query: str, expected: set[str]
    ) -> None:
        html = viewer_user_client.get(f"/?{query}").content.decode()
        assert shown_slugs(html) == {seeded[name].slug for name in expected}

    def test_the_refresh_keeps_the_filters(
        self, viewer_user_client: Client, seeded: dict[str, Source]
    ) -> None:
        html = viewer_user_client.get("/?group=scrapers&tag=&owner=&window=7d").content.decode()
        assert 'hx-get="/?group=scrapers&amp;window=7d"' in html
        assert 'hx-trigger="every 15s"' in html

    def test_the_form_shows_the_choices_and_the_current_values(
        self, viewer_user_client: Client, seeded: dict[str, Source]
    ) -> None:
        html = viewer_user_client.get("/?group=storage").content.decode()
        assert '<option value="storage" selected>' in html
        assert '<option value="team=platform">' in html
        assert '<option value="team:platform">' in html
        assert '<option value="-">Pushed sources</option>' in html

    def test_a_filter_change_pushes_the_canonical_url(
        self, viewer_user_client: Client, seeded: dict[str, Source]
    ) -> None:
        response = viewer_user_client.get(
            "/?deployment=&group=scrapers&tag=&owner=&window=24h",
            headers={**FRAGMENT, "HX-Trigger": "status-filters", "HX-Target": "status-body"},
        )
        assert response["HX-Push-Url"] == "/?group=scrapers"


def test_an_htmx_refresh_gets_the_body_and_the_counters_out_of_band(
    viewer_user_client: Client, dep: Deployment, now: Any
) -> None:
    src = healthy("wikicfp", dep, now)
    open_alert(src, Severity.CRITICAL, now=now)

    response = viewer_user_client.get("/", headers=FRAGMENT)
    html = response.content.decode()

    assert "<html" not in html and 'id="status-filters"' not in html
    assert html.lstrip().startswith('<div id="status-body"')
    assert 'id="status-counts" class="counts" hx-swap-oob="true"' in html
    assert cell_state(html, src.slug) == "critical"
    assert "HX-Request" in response["Vary"]


def test_the_full_page_has_no_out_of_band_markup(viewer_user_client: Client) -> None:
    html = viewer_user_client.get("/").content.decode()
    assert "<html" in html and "hx-swap-oob" not in html


def test_a_history_restore_gets_the_full_page(viewer_user_client: Client) -> None:
    headers = {**FRAGMENT, "HX-History-Restore-Request": "true"}
    assert "<html" in viewer_user_client.get("/", headers=headers).content.decode()


def test_the_refresh_interval_comes_from_the_settings(
    viewer_user_client: Client, settings: Any
) -> None:
    settings.STATUS_REFRESH_SECONDS = 1
    assert 'hx-trigger="every 1s"' in viewer_user_client.get("/").content.decode()


class TestTimeline:
    def test_a_failed_run_is_marked_and_carries_its_error(
        self, viewer_user_client: Client, dep: Deployment, now: Any
    ) -> None:
        src = source("elra", dep)
        run(src, now - timedelta(hours=3))
        failed = run(src, now - timedelta(hours=1), ok=False, error="HTTP 503 from elra.info")

        html = viewer_user_client.get("/").content.decode()

        assert html.count('class="bar bar-ok"') == 1
        assert 'class="bar bar-failed' in html
        assert 'tabindex="0"' in html
        assert "HTTP 503 from elra.info" in html
        assert f'href="http://dagster:3000/runs/{failed.run_id}"' in html

    def test_bars_are_placed_by_start_and_sized_by_duration(
        self, viewer_user_client: Client, dep: Deployment, now: Any
    ) -> None:
        src = source("hourly", dep)
        run(src, now - timedelta(hours=12), duration_s=2 * 3600)

        html = viewer_user_client.get("/").content.decode()

        # Started 14 h ago in a 24 h window: 10/24 of the way; lasted 2/24 of it.
        assert 'style="left:41.66' in html and "width:8.33" in html

    def test_the_seven_day_window_shows_older_runs(
        self, viewer_user_client: Client, dep: Deployment, now: Any
    ) -> None:
        src = source("daily", dep)
        for days in (1.5, 3, 5):
            run(src, now - timedelta(days=days))
        run(src, now - timedelta(hours=3))

        day = viewer_user_client.get("/").content.decode()
        week = viewer_user_client.get("/?window=7d").content.decode()

        assert day.count("bar bar-ok") == 1 and week.count("bar bar-ok") == 4
        assert "Runs in the last 7 days" in week

    def test_a_source_that_runs_very_often_shows_its_latest_runs_only(
        self, viewer_user_client: Client, dep: Deployment, now: Any, monkeypatch: Any
    ) -> None:
        monkeypatch.setattr("alerts.pages.status.RUNS_PER_SOURCE", 3)
        src = source("busy", dep)
        for minutes in range(10, 70, 10):
            run(src, now - timedelta(minutes=minutes), duration_s=30)

        html = viewer_user_client.get("/").content.decode()

        assert html.count("bar bar-ok") == 3 and "latest runs only" in html

    def test_running_runs_reach_now(
        self, viewer_user_client: Client, dep: Deployment, now: Any
    ) -> None:
        src = source("slow", dep)
        started = run(src, now - timedelta(minutes=30))
        started.status, started.ended_at = RunStatus.STARTED, None
        started.save()

        assert "bar bar-running" in viewer_user_client.get("/").content.decode()


def seed_sources(count: int, dep: Deployment, now: Any) -> None:
    """Sources with runs in the window and alerts, as the page meets them."""
    for index in range(count):
        src = source(f"bulk_{index:03d}", dep, group_name=f"group_{index % 3}")
        run(src, now - timedelta(hours=5), metrics={"count": 100 + index})
        run(src, now - timedelta(hours=1), ok=index % 4 != 0)
        if index % 5 == 0:
            open_alert(src, Severity.WARNING, now=now)


@pytest.mark.parametrize("sources", [10, 100])
@pytest.mark.parametrize("query", ["", "?group=group_1&window=7d"])
def test_the_number_of_queries_does_not_grow_with_sources(
    viewer_user_client: Client,
    dep: Deployment,
    now: Any,
    django_assert_max_num_queries: Any,
    sources: int,
    query: str,
) -> None:
    seed_sources(sources, dep, now)
    viewer_user_client.get("/")  # the session is loaded once per test either way
    # Session, user, permissions (2), deployments, sources' health fields, open alerts, the
    # cells' rows, their runs, the filter form's tags and owners.
    with django_assert_max_num_queries(10):
        response = viewer_user_client.get(f"/{query}")
    assert response.status_code == 200
    assert response.content.decode().count('class="cell ') == (
        sources if not query else len(range(1, sources, 3))
    )
