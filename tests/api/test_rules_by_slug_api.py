"""/api/v1/rules/{id or slug}: a rule is named by its id or its slug, and a PATCH merges
`parameters` into the rule's (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import AlertRule
from confops.accounts.models import AuditEntry
from tests.alerts import factories
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def drop_rule(**parameters: Any) -> AlertRule:
    return factories.rule(
        "Rows fell", "volume_drop", parameters={"metric": "auto", "percent": 30, **parameters}
    )


def test_a_rule_is_read_by_id_or_by_slug_with_its_threshold(reader_api: Api) -> None:
    rule = drop_rule()

    by_id = reader_api.get(f"/rules/{rule.pk}").json()
    by_slug = reader_api.get("/rules/rows-fell").json()

    assert by_id == by_slug
    assert (by_id["slug"], by_id["threshold"]) == ("rows-fell", "over 30 %")


def test_the_shipped_volume_rule_is_named_without_its_threshold(reader_api: Api) -> None:
    body = reader_api.get("/rules/volume-drop").json()

    assert (body["name"], body["threshold"], body["is_default"]) == (
        "Volume drop",
        "over 30 %",
        True,
    )


def test_an_unknown_slug_is_a_404_naming_it(reader_api: Api) -> None:
    response = reader_api.get("/rules/no-such-rule")

    assert response.status_code == 404
    assert "no rule no-such-rule" in response.json()["error"]


def test_a_patch_by_slug_merges_parameters_and_audits_the_change(admin_api: Api) -> None:
    rule = drop_rule(window_runs=7)

    response = admin_api.patch("/rules/rows-fell", {"parameters": {"percent": 40}})

    assert response.status_code == 200, response.json()
    assert response.json()["parameters"] == {"metric": "auto", "percent": 40, "window_runs": 7}
    assert response.json()["threshold"] == "over 40 %"
    entry = AuditEntry.objects.get(action="changed", object_id=str(rule.pk))
    assert entry.changes["parameters"] == [
        {"metric": "auto", "percent": 30, "window_runs": 7},
        {"metric": "auto", "percent": 40, "window_runs": 7},
    ]


def test_a_parameter_set_to_null_returns_to_the_kind_default(admin_api: Api) -> None:
    rule = drop_rule(window_runs=3)

    response = admin_api.patch(f"/rules/{rule.pk}", {"parameters": {"window_runs": None}})

    assert response.status_code == 200, response.json()
    rule.refresh_from_db()
    assert rule.parameters == {"metric": "auto", "percent": 30}
    assert rule.params().model_dump()["window_runs"] == 7  # the kind's default


def test_changing_the_kind_replaces_the_parameters_whole(admin_api: Api) -> None:
    rule = drop_rule()

    response = admin_api.patch(
        "/rules/rows-fell", {"kind": "volume_bounds", "parameters": {"min": 5}}
    )

    assert response.status_code == 200, response.json()
    rule.refresh_from_db()
    assert (rule.kind, rule.parameters) == ("volume_bounds", {"min": 5})


def test_an_out_of_bound_value_names_the_field_and_its_bound(admin_api: Api) -> None:
    rule = drop_rule()

    response = admin_api.patch("/rules/rows-fell", {"parameters": {"percent": 150}})

    assert response.status_code == 400
    assert response.json()["fields"] == {"parameters.percent": "must be at most 100"}
    rule.refresh_from_db()
    assert rule.parameters["percent"] == 30


def test_a_viewer_cannot_patch_a_rule_by_slug(reader_api: Api) -> None:
    rule = drop_rule()

    response = reader_api.patch("/rules/rows-fell", {"parameters": {"percent": 40}})

    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.parameters["percent"] == 30


@pytest.mark.parametrize("ref", ["rows-fell", "id"])
def test_enable_disable_and_delete_take_a_slug_or_an_id(admin_api: Api, ref: str) -> None:
    rule = drop_rule()
    path = f"/rules/{rule.pk if ref == 'id' else rule.slug}"

    assert admin_api.post(f"{path}/disable").json()["enabled"] is False
    assert admin_api.post(f"{path}/enable").json()["enabled"] is True
    assert admin_api.delete(path).status_code == 204
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_a_renamed_rule_keeps_its_slug(admin_api: Api) -> None:
    drop_rule()

    admin_api.patch("/rules/rows-fell", {"name": "Rows dropped"})

    assert admin_api.get("/rules/rows-fell").json()["name"] == "Rows dropped"
