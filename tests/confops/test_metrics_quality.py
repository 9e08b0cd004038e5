"""Alert quality per rule on /metrics: the incidents of the trailing week (reports/quality.py),
label values escaped, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.alerts import factories as f
from tests.confops.test_metrics import TOKEN, scrape, value
from tests.reports.quality_day import T0, at, incident, message, seed_incidents

# A day after the hand-made day: its incidents, and the one of the day before, are in the week.
NOW = T0 + timedelta(days=1, hours=7)
HOSTILE = 'say "hi"\\now\nplease'


@pytest.fixture(autouse=True)
def at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def token(settings: Any) -> Any:
    settings.METRICS_BEARER_TOKEN = TOKEN
    return settings


def test_each_rule_has_its_quality_over_the_last_week(db: None, token: Any, client: Client) -> None:
    seed_incidents()
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    # "Run failed" also has the day before's incident (one message to each channel): 3
    # incidents, 5 + 1 messages per channel.
    assert value(families["confops_rule_messages_per_incident"], rule="Run failed") == 2
    assert value(families["confops_rule_messages_per_incident"], rule="Stale") == 1.5
    assert value(families["confops_rule_ack_seconds_median"], rule="Stale") == 600
    assert value(families["confops_rule_resolve_seconds_median"], rule="Run failed") == 5400
    assert value(families["confops_rule_flapping_ratio"], rule="Run failed") == 1 / 3
    assert value(families["confops_rule_flapping_ratio"], rule="Stale") == 0.5
    assert value(families["confops_rule_unacknowledged_incidents"], rule="Run failed") == 2
    assert value(families["confops_rule_unacknowledged_incidents"], rule="Stale") == 1


def test_a_rule_nobody_acknowledged_has_no_ack_median(db: None, token: Any, client: Client) -> None:
    rule = f.rule("Volume", "volume_drop")
    alert = f.alert(rule, f.source("alpha", f.deployment("prod")), at(10))
    message(incident([alert], at(10)), "firing", [alert], [f.channel("slack")], at(10))
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    assert not [s for s in families["confops_rule_ack_seconds_median"] if s.labels]
    assert value(families["confops_rule_unacknowledged_incidents"], rule="Volume") == 1
    assert value(families["confops_rule_messages_per_incident"], rule="Volume") == 1


def test_a_hostile_rule_name_is_escaped(db: None, token: Any, client: Client) -> None:
    seed_incidents(run_failed_name=HOSTILE)
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = response.content.decode()
    escaped = 'say \\"hi\\"\\\\now\\nplease'
    assert f'confops_rule_flapping_ratio{{rule="{escaped}"}}' in text
    families = scrape(client, Authorization=f"Bearer {TOKEN}")
    assert value(families["confops_rule_unacknowledged_incidents"], rule=HOSTILE) == 2


def test_the_quality_families_cost_two_queries_whatever_the_incidents(
    db: None, token: Any, client: Client
) -> None:
    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            scrape(client, Authorization=f"Bearer {TOKEN}")
        return [q["sql"] for q in captured.captured_queries]

    seed_incidents()
    few = queries()
    rule, slack, dep = f.rule("Volume", "volume_drop"), f.channel("more"), f.deployment("more")
    for i in range(50):
        alert = f.alert(rule, f.source(f"extra_{i}", dep), at(10))
        message(incident([alert], at(10)), "firing", [alert], [slack], at(10))
    many = queries()
    assert len(many) == len(few) <= 14
    # The quality families read the incidents of a period (opened_at); the open incidents'
    # own family (confops_incidents_open) reads by state, in one query of its own.
    quality = [sql for sql in many if "alerts_incident" in sql and "opened_at" in sql]
    assert len(quality) == 2
