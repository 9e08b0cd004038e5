"""Fixtures shared by the alert engine's tests."""

from __future__ import annotations

import pytest

from alerts.models import AlertRule, Incident
from monitoring.models import Source
from tests.alerts import factories as f
from tests.alerts.incidents import incident, incident_of


@pytest.fixture
def only_our_rules() -> None:
    """No rule but the ones the test makes: the default rules are tested on their own."""
    AlertRule.objects.all().delete()


@pytest.fixture
def elra() -> Source:
    """A source on a deployment with a Dagster UI (its alerts' messages link there)."""
    return f.source("elra_conferences", f.deployment(ui_url="http://dagster.example"))


@pytest.fixture
def outage(elra: Source) -> Incident:
    """A critical incident of two firing alerts on ``elra``: what a Slack press acts on."""
    failed = incident("Run failed", elra, summary="elra failed: HTTP 503")
    twice = incident("Consecutive failures", elra, summary="elra failed twice")
    return incident_of("elra_conferences: run failed", failed, twice, severity="critical")
