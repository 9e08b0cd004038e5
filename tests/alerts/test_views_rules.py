"""A rule's page in the portal, for admins: typed thresholds saved through the audited door, and
the backtest answered as a chart of the saved against the edited setting, not as an error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule
from confops.accounts.models import AuditEntry
from tests.alerts import factories as f

pytestmark = pytest.mark.django_db


def bounded_rule() -> AlertRule:
    """Daily counts around 1,000 with three days under 800 in the last 30 days."""
    wikicfp = f.source("wikicfp_conferences", f.deployment())
    now = timezone.now()
    for days_ago in range(1, 21):
        count = 700 if days_ago in (4, 9, 15) else 1000 + days_ago
        f.run(wikicfp, now - timedelta(days=days_ago), metrics={"count": count})
    return f.rule("Volume bounds", "volume_bounds", parameters={"metric": "count", "min": 500})


def test_viewers_and_operators_may_not_open_a_rule(
    viewer_user_client: Client, operator_client: Client
) -> None:
    rule = f.rule("Failures", "run_failed")
    assert viewer_user_client.get(f"/rules/{rule.pk}/").status_code == 403
    assert operator_client.get(f"/rules/{rule.pk}/").status_code == 403
    assert operator_client.post(f"/rules/{rule.pk}/backtest/").status_code == 403


def test_an_admin_sees_the_kinds_typed_fields(admin_persona_client: Client) -> None:
    rule = f.rule("Stale", "stale", parameters={"max_age_hours": 48})
    html = admin_persona_client.get(f"/rules/{rule.slug}/").content.decode()
    assert "<h1>Stale</h1>" in html
    assert 'name="param__max_age_hours"' in html and 'value="48"' in html
    assert "Grace minutes (minutes)" in html and 'name="param__percent"' not in html


def test_saving_goes_through_the_audited_door(admin_persona_client: Client) -> None:
    rule = f.rule("Stale", "stale", parameters={"max_age_hours": 48})
    response = admin_persona_client.post(
        f"/rules/{rule.slug}/", {"param__max_age_hours": "72", "param__grace_minutes": "30"}
    )
    assert response.status_code == 303
    rule.refresh_from_db()
    assert rule.parameters == {"max_age_hours": 72.0}
    entry = AuditEntry.objects.get(object_id=str(rule.pk), action="changed")
    assert entry.changes["parameters"] == [{"max_age_hours": 48}, {"max_age_hours": 72.0}]


def test_an_out_of_bounds_value_is_refused_on_its_field(admin_persona_client: Client) -> None:
    rule = f.rule("Stale", "stale", parameters={"max_age_hours": 48})
    response = admin_persona_client.post(
        f"/rules/{rule.slug}/", {"param__max_age_hours": "-1", "param__grace_minutes": "45"}
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "max_age_hours: must be greater than 0" in html
    assert 'name="param__grace_minutes" value="45"' in html
    rule.refresh_from_db()
    assert rule.parameters == {"max_age_hours": 48}


def test_the_backtest_answers_with_a_chart_of_both_settings(admin_persona_client: Client) -> None:
    rule = bounded_rule()
    response = admin_persona_client.post(
        f"/rules/{rule.slug}/backtest/",
        {"param__metric": "count", "param__min": "800", "param__max": ""},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Please correct" not in html and "<svg" in html
    assert 'class="threshold threshold-saved"' in html
    assert 'class="threshold threshold-edited"' in html
    assert "saved: 0 alerts, edited: 3 alerts" in html
    assert html.count('class="mark-edited"') == 3
    rule.refresh_from_db()
    assert rule.parameters == {"metric": "count", "min": 500}  # nothing saved


def test_a_rule_that_cannot_be_backtested_says_why_as_a_result(
    admin_persona_client: Client,
) -> None:
    rule = f.rule("Unreachable", "deployment_unreachable")
    response = admin_persona_client.post(
        f"/rules/{rule.slug}/backtest/", {"param__for_minutes": "5"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "deployment rules cannot be backtested" in html and "<svg" not in html


def test_an_old_link_by_id_moves_to_the_slug(admin_persona_client: Client) -> None:
    rule = f.rule("Stale", "stale", parameters={"max_age_hours": 48})
    response = admin_persona_client.get(f"/rules/{rule.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/rules/{rule.slug}/"


def test_the_threshold_is_shown_beside_the_name(admin_persona_client: Client) -> None:
    rule = f.rule("Stale", "stale", parameters={"max_age_hours": 48})
    html = admin_persona_client.get(f"/rules/{rule.slug}/").content.decode()
    assert f'<p class="rule-threshold">fires {rule.threshold}</p>' in html
    assert rule.threshold == "later than 2 d"
