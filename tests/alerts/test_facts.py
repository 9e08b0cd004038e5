"""What a firing message tells beyond the summary: since when, the last success, how many runs
failed since, the deployment and the downstream assets (issue 15, honest messages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.engine import facts, policy
from alerts.models import Alert, AlertRule
from monitoring.models import Source
from tests.alerts import factories as f

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def a_rule(kind: str = "run_failed") -> AlertRule:
    return f.rule(f"Facts of {kind}", kind)


def test_a_failing_source_says_since_when_its_last_success_failed_runs_and_downstream() -> None:
    dep = f.deployment("confradar")
    elra = f.source("elra_conferences", dep)
    merged = f.source("conferences", dep)
    site = f.source("website_export", dep)
    merged.upstream.add(elra)
    site.upstream.add(merged)
    f.run(elra, T0 - timedelta(days=1))
    for hours in (1, 2, 3):
        f.run(elra, T0 + timedelta(hours=hours), ok=False)
    f.run(elra, T0 + timedelta(hours=4), ok=False, will_retry=True)  # not final yet
    alert = f.alert(a_rule(), elra, T0 + timedelta(hours=1))

    assert facts.for_alert(alert) == {
        "since": (T0 + timedelta(hours=1)).isoformat(),
        "deployment": "confradar",
        "last_success_at": (T0 - timedelta(days=1)).isoformat(),
        "failed_runs": 3,
        "downstream": ["conferences", "website_export"],
        "downstream_more": 0,
    }


def test_a_source_that_never_succeeded_counts_every_failure() -> None:
    pushed = f.source("nightly_backup")
    f.run(pushed, T0, ok=False)
    alert = f.alert(a_rule(), pushed, T0)
    found = facts.for_alert(alert)
    assert found["last_success_at"] is None and found["failed_runs"] == 1
    assert "deployment" not in found and found["downstream"] == []


def test_a_wide_lineage_names_ten_and_counts_the_rest_and_survives_a_cycle() -> None:
    dep = f.deployment()
    root = f.source("root", dep)
    for i in range(13):
        f.source(f"child_{i:02}", dep).upstream.add(root)
    root.upstream.add(Source.objects.get(key="child_00"))  # a cycle back to the root
    found = facts.for_alert(f.alert(a_rule(), root, T0))
    assert found["downstream"] == [f"child_{i:02}" for i in range(10)]
    assert found["downstream_more"] == 3


def test_a_deployment_alert_says_only_since_when_and_the_deployment() -> None:
    dep = f.deployment("confradar")
    rule = a_rule("deployment_unreachable")
    alert = Alert.objects.create(
        rule=rule,
        deployment=dep,
        severity="critical",
        summary="confradar unreachable",
        opened_at=T0,
        condition_since=T0,
        fired_at=T0,
        last_seen_at=T0,
    )
    assert facts.for_alert(alert) == {"since": T0.isoformat(), "deployment": "confradar"}


def test_the_policy_payload_carries_the_facts_of_each_alert() -> None:
    elra = f.source("elra_conferences", f.deployment("confradar"))
    rule = a_rule()
    snapshot = policy.payload("firing", rule, [f.alert(rule, elra, T0)], T0)
    assert snapshot["alerts"][0]["deployment"] == "confradar"
    assert snapshot["alerts"][0]["since"] == T0.isoformat()
