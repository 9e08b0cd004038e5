"""A source's page: health summary, the metric's trend with rule thresholds, paginated runs,
checks, alerts (open first), the rules that judge it and its runbook."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertState, ScopeKind, Severity
from alerts.models import AlertRule, RuleOverride, Runbook
from monitoring.choices import CheckSeverity, InstigatorKind, SourceKind
from monitoring.models import CheckResult, Deployment, Instigator, Source
from tests.alerts.factories import deployment, rule, run, source
from tests.alerts.pages import clearing, open_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def now() -> Any:
    return timezone.now()


@pytest.fixture
def dep() -> Deployment:
    return deployment("confradar", last_success_at=timezone.now(), ui_url="http://dagster:3000/")


@pytest.fixture
def src(dep: Deployment) -> Source:
    return source(
        "wikicfp_conferences",
        dep,
        owner="ana",
        dagster_owners=["team:scrapers"],
        tags={"tier": "gold"},
        runbook_slug="wikicfp",
        schedule_names=["daily_crawl_schedule"],
        code_location="confradar",
    )


def default_rule(name: str, kind: str, parameters: dict[str, Any]) -> AlertRule:
    """One of the default rules (migrate creates them), as the test needs it."""
    found, _ = AlertRule.objects.update_or_create(
        name=name, defaults={"kind": kind, "parameters": parameters, "enabled": True}
    )
    return found


def page(client: Client, src: Source, query: str = "", **headers: str) -> str:
    response = client.get(f"/sources/{src.slug}/{query}", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login(client: Client, src: Source) -> None:
    response = client.get(f"/sources/{src.slug}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_without_the_viewer_role_is_refused(outsider_client: Client, src: Source) -> None:
    assert outsider_client.get(f"/sources/{src.slug}/").status_code == 403


def test_an_unknown_source_is_not_found(viewer_user_client: Client) -> None:
    assert viewer_user_client.get("/sources/nothing-here/").status_code == 404


def test_the_grid_links_to_the_source_page(viewer_user_client: Client, src: Source) -> None:
    assert f'href="/sources/{src.slug}/"' in viewer_user_client.get("/").content.decode()


def test_the_summary_shows_state_last_failure_and_who_owns_it(
    viewer_user_client: Client, src: Source, dep: Deployment, now: Any
) -> None:
    run(src, now - timedelta(hours=5), metrics={"count": 900})
    run(src, now - timedelta(hours=1), ok=False, error="ConnectionError: wikicfp.com timed out")
    open_alert(src, Severity.WARNING, now=now, rule_name="Run failed here")
    upstream = source("seeds", dep)
    downstream = source("store_conferences", dep)
    src.upstream.add(upstream)
    downstream.upstream.add(src)
    Instigator.objects.create(
        deployment=dep,
        kind=InstigatorKind.SCHEDULE,
        name="daily_crawl_schedule",
        code_location="confradar",
        repository="__repository__",
        cron="0 2 * * *",
        timezone="UTC",
        status="RUNNING",
    )

    html = page(viewer_user_client, src)

    assert 'class="state-badge state-warning"' in html and "Run failed here" in html
    assert "ConnectionError: wikicfp.com timed out" in html
    assert "ana" in html and "team:scrapers" in html and "tier=gold" in html
    assert f'href="/sources/{upstream.slug}/">seeds<' in html
    assert f'href="/sources/{downstream.slug}/">store_conferences<' in html
    assert "daily_crawl_schedule" in html and "<code>0 2 * * *</code>" in html
    assert 'href="http://dagster:3000/assets/wikicfp_conferences"' in html


def test_a_source_waiting_out_a_resolve_hold_is_recovering_with_when_it_closes(
    viewer_user_client: Client, src: Source, now: Any
) -> None:
    run(src, now - timedelta(minutes=10), ok=False)
    run(src, now - timedelta(minutes=5), metrics={"count": 900})
    alert = open_alert(src, Severity.WARNING, now=now, rule_name="Run failed here")
    clearing(alert, now - timedelta(minutes=5), hold_minutes=30)

    html = page(viewer_user_client, src)

    closes = timezone.localtime(now + timedelta(minutes=25)).strftime("%H:%M")
    assert 'class="state-badge state-recovering"' in html and ">Recovering<" in html
    assert f"recovering, closes at {closes}" in html
    assert 'class="state-badge state-warning"' not in html


def test_a_job_links_to_its_page_in_dagster(viewer_user_client: Client, dep: Deployment) -> None:
    job = source("crawl_job", dep, kind=SourceKind.JOB, code_location="confradar")
    assert 'href="http://dagster:3000/locations/confradar/jobs/crawl_job"' in page(
        viewer_user_client, job
    )


def test_the_runbook_is_named_even_before_runbook_pages_exist(
    viewer_user_client: Client, src: Source
) -> None:
    Runbook.objects.create(slug="wikicfp", title="WikiCFP scraper", body="Check the proxy.")
    html = page(viewer_user_client, src)
    assert "WikiCFP scraper" in html


class TestTrend:
    def test_the_chart_draws_the_metric_its_average_and_the_drop_threshold(
        self, viewer_user_client: Client, src: Source, now: Any
    ) -> None:
        default_rule("Volume drop", "volume_drop", {"metric": "count", "percent": 30})
        for day in range(10, 0, -1):
            run(src, now - timedelta(days=day), metrics={"count": 1000 + day})

        html = page(viewer_user_client, src)

        svg = html[html.index('<svg class="chart"') : html.index("</svg>", html.index("chart"))]
        assert 'class="chart-line value"' in svg
        assert 'class="chart-line average"' in svg
        assert 'class="chart-line threshold"' in svg
        assert "Volume drop: 70 % of the trailing average" in html
        assert svg.count('class="chart-dot value"') == 10

    def test_a_minimum_from_a_bounds_rule_is_a_level_line(
        self, viewer_user_client: Client, src: Source, now: Any
    ) -> None:
        rule("Count floor", "volume_bounds", parameters={"metric": "count", "min": 500})
        run(src, now - timedelta(days=1), metrics={"count": 900})
        assert 'class="chart-level bound"' in page(viewer_user_client, src)

    def test_rules_off_for_this_source_draw_nothing(
        self, viewer_user_client: Client, src: Source, now: Any
    ) -> None:
        AlertRule.objects.filter(kind="volume_drop").delete()
        drop = rule("Volume drop", "volume_drop", parameters={"percent": 30})
        RuleOverride.objects.create(rule=drop, source=src, enabled=False)
        run(src, now - timedelta(days=1), metrics={"count": 900})
        html = page(viewer_user_client, src)
        assert "chart-line threshold" not in html and "switched off here" in html

    def test_another_metric_can_be_chosen(
        self, viewer_user_client: Client, src: Source, now: Any
    ) -> None:
        run(src, now - timedelta(days=2), metrics={"count": 10, "duplicates": 3})
        html = page(viewer_user_client, src, "?metric=duplicates")
        assert '<option value="duplicates" selected>' in html
        assert "duplicates over the last 30 days" in html

    def test_a_metric_name_is_escaped_in_the_chart(
        self, viewer_user_client: Client, src: Source
    ) -> None:
        html = page(viewer_user_client, src, "?metric=%3Cscript%3Ealert(1)%3C/script%3E")
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)" in html

    def test_without_data_the_chart_says_so(self, viewer_user_client: Client, src: Source) -> None:
        assert "No data" in page(viewer_user_client, src)


class TestRuns:
    @pytest.fixture
    def thirty_runs(self, src: Source, now: Any) -> list[Any]:
        return [
            run(src, now - timedelta(hours=hour), ok=hour != 3, metrics={"count": hour})
            for hour in range(1, 31)
        ]

    def test_runs_are_paginated_by_25_newest_first(
        self, viewer_user_client: Client, src: Source, thirty_runs: list[Any]
    ) -> None:
        first = page(viewer_user_client, src)
        second = page(viewer_user_client, src, "?page=2")
        assert first.count('<tr class="run-row') == 25 and "Page 1 of 2" in first
        assert second.count('<tr class="run-row') == 5 and "Page 2 of 2" in second
        assert thirty_runs[0].run_id[:8] in first and thirty_runs[-1].run_id[:8] in second

    def test_a_row_has_status_duration_count_error_and_a_dagster_link(
        self, viewer_user_client: Client, src: Source, thirty_runs: list[Any]
    ) -> None:
        html = page(viewer_user_client, src)
        failed = thirty_runs[2]
        assert '<tr class="run-row run-failed">' in html
        assert "HTTP 503 from upstream" in html
        assert f'href="http://dagster:3000/runs/{failed.run_id}"' in html
        assert "1 min" in html

    def test_an_htmx_page_change_gets_only_the_runs(
        self, viewer_user_client: Client, src: Source, thirty_runs: list[Any]
    ) -> None:
        html = page(
            viewer_user_client, src, "?page=2", **{"HX-Request": "true", "HX-Target": "source-runs"}
        )
        assert html.lstrip().startswith('<section class="card" id="source-runs"')
        assert "<html" not in html and html.count('<tr class="run-row') == 5

    def test_a_page_out_of_range_shows_the_last_one(
        self, viewer_user_client: Client, src: Source, thirty_runs: list[Any]
    ) -> None:
        assert "Page 2 of 2" in page(viewer_user_client, src, "?page=99")


def test_checks_show_the_latest_result_and_their_history(
    viewer_user_client: Client, src: Source, now: Any
) -> None:
    for hours, passed in ((3, True), (2, True), (1, False)):
        CheckResult.objects.create(
            source=src,
            check_name="no_duplicates",
            passed=passed,
            severity=CheckSeverity.ERROR,
            evaluated_at=now - timedelta(hours=hours),
        )

    html = page(viewer_user_client, src)

    assert "no_duplicates" in html and "failed (ERROR)" in html
    history = re.findall(r'class="check-dot (passed|failed)"', html)
    assert history == ["passed", "passed", "failed"]


def test_alerts_are_listed_open_first(viewer_user_client: Client, src: Source, now: Any) -> None:
    open_alert(
        src,
        Severity.WARNING,
        now=now - timedelta(days=1),
        rule_name="Old resolved",
        state=AlertState.RESOLVED,
    )
    open_alert(src, Severity.CRITICAL, now=now - timedelta(days=2), rule_name="Still firing")
    html = page(viewer_user_client, src)
    assert html.index("Still firing") < html.index("Old resolved")


def test_the_rules_that_cover_it_are_listed_with_overrides(
    viewer_user_client: Client, src: Source
) -> None:
    stale = default_rule("Stale (no success when expected)", "stale", {"max_age_hours": 24})
    RuleOverride.objects.create(rule=stale, source=src, parameters={"max_age_hours": 48})
    rule("Other group only", "stale", scope=ScopeKind.GROUP, scope_group="retail*")
    rule("Deployment down", "deployment_unreachable")
    AlertRule.objects.create(
        name="Gold tier", kind="run_failed", scope=ScopeKind.TAGS, scope_tags={"tier": "gold"}
    )

    html = page(viewer_user_client, src)

    assert "Stale (no success when expected)" in html and "<code>max_age_hours=48</code>" in html
    assert "overridden" in html and "Gold tier" in html
    assert "Other group only" not in html and "Deployment down" not in html


def test_the_page_says_the_cadence_and_when_the_next_success_is_due(
    viewer_user_client: Client, src: Source, now: Any
) -> None:
    last = now.replace(second=0, microsecond=0) - timedelta(minutes=50)
    for n in range(6):
        run(src, last - n * timedelta(hours=2))
    html = page(viewer_user_client, src)
    due = timezone.localtime(last + timedelta(hours=2)).strftime("%H:%M")
    assert f"expected every 2 h; next success due by {due}" in html
    assert "(learned from 6 successes)" in html


def test_the_page_says_the_schedule_a_cadence_comes_from(
    viewer_user_client: Client, src: Source, dep: Deployment
) -> None:
    Instigator.objects.create(
        deployment=dep,
        kind=InstigatorKind.SCHEDULE,
        name="daily_crawl_schedule",
        code_location="confradar",
        repository="__repository__",
        cron="0 2 * * *",
        timezone="UTC",
        status="RUNNING",
    )
    html = page(viewer_user_client, src)
    assert "expected every 1 d; next success due by" in html
    assert "(schedule daily_crawl_schedule (0 2 * * *, UTC))" in html


def test_an_unknown_cadence_says_the_fallback(viewer_user_client: Client, src: Source) -> None:
    assert "too little history: the 24 h fallback applies" in page(viewer_user_client, src)
