"""Thresholds are edited as typed fields generated from each rule kind's parameter schema: units,
bounds and defaults for the selected kind only, and errors that name the field and its bound."""

from __future__ import annotations

import pytest
from django import forms
from django.test import Client

from alerts import param_fields
from alerts.models import AlertRule
from alerts.rules.base import all_kinds
from tests.alerts.test_rule_admin import rule_form


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_every_kind_gets_one_field_per_parameter(name: str) -> None:
    kind = all_kinds()[name]
    fields = param_fields.param_fields(kind)
    assert list(fields) == [f"param__{p}" for p in kind.params.model_fields]
    assert all(field.help_text or field.label for field in fields.values())


@pytest.mark.parametrize("name", sorted(all_kinds()))
def test_every_parameter_says_what_it_means_first_in_its_help(name: str) -> None:
    """On call, a threshold box explains itself: its kind's own one-line meaning leads the
    help, before the bounds and the default."""
    kind = all_kinds()[name]
    fields = param_fields.param_fields(kind)
    for parameter, info in kind.params.model_fields.items():
        description = (info.description or "").strip()
        assert description, f"{name}.{parameter} has no description"
        assert "\n" not in description, f"{name}.{parameter}: one line"
        assert fields[f"param__{parameter}"].help_text.startswith(description)


def test_a_count_of_runs_says_runs_where_its_name_does_not() -> None:
    history = param_fields.param_fields(all_kinds()["volume_drop"])["param__min_history"]
    assert history.label == "Min history (runs)"
    assert history.help_text.startswith("The fewest earlier successful runs needed")
    assert "Default: 3 runs." in history.help_text
    z = param_fields.param_fields(all_kinds()["volume_anomaly"])["param__z"]
    assert z.label == "Z (standard deviations)"


def test_a_bounded_number_carries_its_unit_and_bounds() -> None:
    fields = param_fields.param_fields(all_kinds()["volume_drop"])
    percent = fields["param__percent"]
    assert isinstance(percent, forms.FloatField)
    assert percent.label == "Percent (%)"
    assert percent.widget.attrs["max"] == 100 and percent.widget.attrs["min"] == 0
    assert "Must be above 0 and at most 100%." in percent.help_text
    assert "Default: 30 %." in percent.help_text
    assert isinstance(fields["param__seasonal"], forms.BooleanField)
    runs = fields["param__window_runs"]
    assert isinstance(runs, forms.IntegerField) and runs.widget.attrs["min"] == 1
    grace = param_fields.param_fields(all_kinds()["stale"])["param__grace_minutes"]
    assert grace.label == "Grace minutes (minutes)"


def test_choices_and_lists_become_choice_fields() -> None:
    op = param_fields.param_fields(all_kinds()["metadata_threshold"])["param__op"]
    assert isinstance(op, forms.ChoiceField) and ">=" in [value for value, _ in op.widget.choices]
    statuses = param_fields.param_fields(all_kinds()["run_stuck"])["param__statuses"]
    assert isinstance(statuses, forms.MultipleChoiceField)


def typed_form(**overrides: object) -> dict[str, object]:
    data = rule_form(name="Volume", kind="volume_drop", parameters="{}")
    data.update(
        {
            "_param_kind": "volume_drop",
            "param__metric": "auto",
            "param__percent": "30",
            "param__window_runs": "7",
            "param__min_history": "3",
            "param__seasonal": "on",
        }
    )
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_only_the_selected_kinds_fields_are_shown(admin_client: Client) -> None:
    html = admin_client.get("/admin/alerts/alertrule/add/?kind=volume_drop").content.decode()
    assert 'name="param__percent"' in html and 'name="param__window_runs"' in html
    assert 'name="param__max_age_hours"' not in html


@pytest.mark.django_db
def test_saving_typed_fields_stores_only_what_differs_from_the_defaults(
    admin_client: Client,
) -> None:
    response = admin_client.post("/admin/alerts/alertrule/add/", typed_form(param__percent="40"))
    assert response.status_code == 302
    assert AlertRule.objects.get(name="Volume").parameters == {"percent": 40.0}


@pytest.mark.django_db
def test_an_out_of_bounds_value_names_the_field_and_keeps_the_other_inputs(
    admin_client: Client,
) -> None:
    response = admin_client.post(
        "/admin/alerts/alertrule/add/",
        typed_form(param__percent="150", param__window_runs="9"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "percent: must be at most 100" in html
    assert 'name="param__window_runs" value="9"' in html
    assert not AlertRule.objects.filter(name="Volume").exists()


@pytest.mark.django_db
def test_a_non_number_is_refused_by_its_field(admin_client: Client) -> None:
    response = admin_client.post("/admin/alerts/alertrule/add/", typed_form(param__percent="x"))
    assert response.status_code == 200
    assert "Enter a number." in response.content.decode()
    assert not AlertRule.objects.filter(name="Volume").exists()


@pytest.mark.django_db
def test_choosing_another_kind_on_a_rule_shows_that_kinds_fields(admin_client: Client) -> None:
    rule = AlertRule.objects.create(name="Stale", kind="stale", parameters={"max_age_hours": 4})
    html = admin_client.get(
        f"/admin/alerts/alertrule/{rule.pk}/change/?kind=volume_drop"
    ).content.decode()
    assert 'name="param__percent"' in html and 'name="param__max_age_hours"' not in html
    assert '<option value="volume_drop" selected>' in html
    assert "alerts/rule_kind.js" in html
    assert f'href="/rules/{rule.slug}/"' in html
