"""/api/v1/sources: the status page's state per source, a source's runs, alerts and rules, and
what an operator tunes per source (settings and rule overrides), audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import AlertRule, RuleOverride
from confops.accounts.models import AuditEntry
from monitoring.choices import SourceKind
from monitoring.models import Deployment, Source
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def confradar() -> Deployment:
    now = timezone.now()
    return factories.deployment(last_success_at=now, last_poll_at=now)


@pytest.fixture
def healthy(confradar: Deployment) -> Source:
    src = factories.source("wikicfp_conferences", confradar, tags={"team": "data"})
    factories.run(src, timezone.now() - timedelta(hours=2), metrics={"count": 1234})
    return src


@pytest.fixture
def failing(confradar: Deployment) -> Source:
    src = factories.source("elra_conferences", confradar, group_name="other")
    factories.run(src, timezone.now() - timedelta(hours=1), ok=False)
    rule = AlertRule.objects.get(name="Consecutive failures")
    factories.alert(rule, src, timezone.now() - timedelta(minutes=50))
    return src


def test_the_list_shows_each_source_s_state_as_the_status_page_does(
    reader_api: Api, healthy: Source, failing: Source
) -> None:
    pushed = factories.source("temporal_ingest", paused=True)

    body = reader_api.get("/sources").json()

    states = {s["slug"]: (s["state"], s["state_reason"]) for s in body["results"]}
    assert states == {
        healthy.slug: ("healthy", ""),
        failing.slug: ("critical", "Consecutive failures"),
        pushed.slug: ("paused", "paused: not judged"),
    }
    row = next(s for s in body["results"] if s["slug"] == failing.slug)
    assert row["open_alerts"] == {"critical": 1, "warning": 0, "info": 0, "total": 1}


def test_the_list_filters_by_state_deployment_group_kind_and_tag(
    reader_api: Api, healthy: Source, failing: Source
) -> None:
    pushed = factories.source("temporal_ingest", group_name="")

    def slugs(**query: object) -> set[str]:
        response = reader_api.get("/sources", **query)
        assert response.status_code == 200, response.json()
        return {s["slug"] for s in response.json()["results"]}

    assert slugs(state="critical") == {failing.slug}
    assert slugs(deployment="confradar") == {healthy.slug, failing.slug}
    assert slugs(deployment="-") == slugs(kind=SourceKind.PUSHED) == {pushed.slug}
    assert slugs(group="other") == {failing.slug}
    assert slugs(tag="team=data") == {healthy.slug}
    assert reader_api.get("/sources", state="purple").status_code == 400


def test_gone_true_lists_only_gone_sources_and_gone_false_only_present_ones(
    reader_api: Api, healthy: Source, failing: Source
) -> None:
    failing.mark_gone(timezone.now())

    def slugs(**query: object) -> set[str]:
        return {s["slug"] for s in reader_api.get("/sources", **query).json()["results"]}

    assert slugs(gone="true") == {failing.slug}
    assert slugs(gone="false") == slugs() == {healthy.slug}


def test_reading_a_source_gives_runs_summary_and_the_rules_in_force(
    reader_api: Api, failing: Source
) -> None:
    stale = AlertRule.objects.get(name="Stale (no success when expected)")
    RuleOverride.objects.create(rule=stale, source=failing, parameters={"max_age_hours": 48})

    body = reader_api.get(f"/sources/{failing.slug}").json()

    assert body["state"] == "critical" and body["open_alerts"]["total"] == 1
    assert [r["status"] for r in body["recent_runs"]] == ["failure"]
    assert body["recent_runs"][0]["error"] == "HTTP 503 from upstream"
    assert body["runs_summary"] == {"days": 7, "total": 1, "succeeded": 0, "failed": 1}
    rule = next(r for r in body["rules"] if r["name"] == "Stale (no success when expected)")
    assert rule["parameters"]["max_age_hours"] == 48
    assert rule["override"] == {"parameters": {"max_age_hours": 48}, "enabled": True}
    assert reader_api.get("/sources/nope").status_code == 404


def test_an_admin_changes_a_source_s_settings_validated_and_audited(
    admin_api: Api, healthy: Source
) -> None:
    response = admin_api.patch(f"/sources/{healthy.slug}", {"owner": "data-team", "paused": True})

    assert response.status_code == 200, response.json()
    assert response.json()["owner"] == "data-team" and response.json()["state"] == "paused"
    entry = AuditEntry.objects.get(object_type="monitoring.Source")
    assert entry.changes == {"owner": ["", "data-team"], "paused": [False, True]}
    assert entry.actor is not None and entry.actor.username == "ada-admin"
    bad = admin_api.patch(f"/sources/{healthy.slug}", {"expected_cron": "99 * * * *"})
    assert bad.status_code == 400 and "expected_cron" in bad.json()["fields"]


def test_an_override_changes_a_threshold_for_one_source(admin_api: Api, healthy: Source) -> None:
    stale = AlertRule.objects.get(name="Stale (no success when expected)")
    url = f"/sources/{healthy.slug}/overrides/{stale.pk}"

    created = admin_api.put(url, {"parameters": {"max_age_hours": 48}})
    changed = admin_api.put(url, {"parameters": {"max_age_hours": 72}, "enabled": False})

    assert created.status_code == 201 and changed.status_code == 200
    override = RuleOverride.objects.get(rule=stale, source=healthy)
    assert (override.parameters, override.enabled) == ({"max_age_hours": 72}, False)
    actions = list(
        AuditEntry.objects.filter(object_type="alerts.RuleOverride")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["created", "changed"]
    assert admin_api.delete(url).status_code == 204
    assert not RuleOverride.objects.exists()
    assert admin_api.delete(url).status_code == 404


def test_an_override_refuses_what_the_admin_refuses(admin_api: Api, healthy: Source) -> None:
    stale = AlertRule.objects.get(name="Stale (no success when expected)")
    url = f"/sources/{healthy.slug}/overrides/{stale.pk}"

    not_overridable = admin_api.put(url, {"parameters": {"colour": 1}})
    out_of_range = admin_api.put(url, {"parameters": {"max_age_hours": -5}})

    assert not_overridable.status_code == 400
    assert "cannot be overridden" in not_overridable.json()["fields"]["parameters"]
    assert out_of_range.status_code == 400
    assert out_of_range.json()["fields"] == {"parameters.max_age_hours": "must be greater than 0"}
    assert not RuleOverride.objects.exists()
