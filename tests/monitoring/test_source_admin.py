"""Operators edit what is theirs on a source; what Dagster reports stays read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from monitoring.choices import SourceKind
from monitoring.models import Deployment, Run, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset() -> Source:
    deployment = Deployment.objects.create(name="prod", graphql_url="http://d/graphql")
    return Source.objects.create(
        deployment=deployment,
        kind=SourceKind.ASSET,
        key="elra_conferences",
        slug="prod-elra",
        group_name="scrapers",
    )


def operator_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "owner": "data-team",
        "runbook_slug": "scraper-failure",
        "notes": "",
        "expected_cron": "",
        "expected_cron_timezone": "UTC",
    }
    data.update(overrides)
    return data


def test_an_operator_sets_owner_and_runbook(admin_client: Client, asset: Source) -> None:
    response = admin_client.post(f"/admin/monitoring/source/{asset.pk}/change/", operator_form())
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.owner, asset.runbook_slug) == ("data-team", "scraper-failure")


def test_discovered_fields_cannot_be_changed_in_the_admin(
    admin_client: Client, asset: Source
) -> None:
    admin_client.post(
        f"/admin/monitoring/source/{asset.pk}/change/", operator_form(group_name="hacked", key="x")
    )
    asset.refresh_from_db()
    assert (asset.group_name, asset.key) == ("scrapers", "elra_conferences")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expected_cron", "61 * * * *", "is not a valid cron expression"),
        ("expected_cron_timezone", "Mars/Olympus", "is not a known time zone"),
    ],
)
def test_a_bad_schedule_is_refused_with_a_message(
    admin_client: Client, asset: Source, field: str, value: str, message: str
) -> None:
    response = admin_client.post(
        f"/admin/monitoring/source/{asset.pk}/change/", operator_form(**{field: value})
    )
    assert response.status_code == 200
    assert message in response.content.decode()


def test_a_pushed_source_is_created_in_the_admin(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/monitoring/source/add/",
        operator_form(key="temporal-ingest", slug="temporal-ingest", expected_cron="0 */4 * * *"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source = Source.objects.get(slug="temporal-ingest")
    assert source.kind == SourceKind.PUSHED and source.deployment is None


def test_runs_are_read_only(admin_client: Client) -> None:
    run = Run.objects.create(run_id="abc", job_name="crawl_job", status="FAILURE")
    assert admin_client.get(f"/admin/monitoring/run/{run.pk}/change/").status_code == 200
    assert admin_client.get("/admin/monitoring/run/add/").status_code == 403
