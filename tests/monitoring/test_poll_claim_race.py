"""Two beats' fan-outs at the same instant claim each due deployment once (the compare-and-swap
on ``next_poll_at`` in ``monitoring.polling.claim_due_deployments``), on PostgreSQL where the
UPDATEs truly run at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from monitoring import polling
from monitoring.models import Deployment
from tests.fixtures.races import race


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_fan_outs_claim_each_due_deployment_once() -> None:
    assert connection.vendor == "postgresql"
    now = timezone.now()
    deployments = [
        Deployment.objects.create(
            name=f"team-{n}", graphql_url=f"http://team-{n}/graphql", poll_interval_seconds=10
        ).pk
        for n in range(5)
    ]
    for step in range(3):
        at = now + step * timedelta(seconds=10)
        claims = race(8, lambda at=at: polling.claim_due_deployments(at))
        claimed = sorted(pk for fan_out in claims for pk in fan_out)
        assert claimed == sorted(deployments), (step, claims)
