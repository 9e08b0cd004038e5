"""A rule's page for admins: its thresholds as typed fields, saved through the one door for rule
changes, and a backtest shown as a result (a chart of the saved against the edited setting)."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from alerts import operations, param_fields
from alerts.models import AlertRule
from alerts.pages import backtest_chart
from alerts.views.common import needs, see_other

BACKTEST_DAYS = 30
CHANGE_RULE = "alerts.change_alertrule"


class RuleParamsForm(forms.Form):
    """The rule's parameters as typed fields of its kind (the kind is not changed here)."""

    def __init__(self, rule: AlertRule, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        kind = rule.kind_impl
        self.fields.update(param_fields.param_fields(kind))
        self.initial.update(param_fields.initial_values(kind, rule.parameters or {}))
        self.parameters: dict[str, Any] | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.parameters = param_fields.apply_to_form(
            self, self.rule.kind_impl, self.rule.parameters or {}
        )
        return cleaned


def page(request: HttpRequest, rule: AlertRule, form: RuleParamsForm, **extra: Any) -> HttpResponse:
    context = {"rule": rule, "form": form, "days": BACKTEST_DAYS, **extra}
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "alerts/rule_detail.html", context, status=status)


@needs(CHANGE_RULE)
def rule_by_id(request: HttpRequest, pk: int) -> HttpResponse:
    """A link from before rules had slugs (/rules/7/) moves for good to the rule's slug."""
    rule = get_object_or_404(AlertRule, pk=pk)
    return HttpResponsePermanentRedirect(reverse("alerts:rule-detail", args=[rule.slug]))


@needs(CHANGE_RULE)
def rule_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """GET shows the thresholds; POST saves them through ``operations.save_rule`` (audited)."""
    rule = get_object_or_404(AlertRule, slug=slug)
    if request.method != "POST":
        return page(request, rule, RuleParamsForm(rule))
    form = RuleParamsForm(rule, request.POST)
    if not form.is_valid() or form.parameters is None:
        return page(request, rule, form)
    rule.parameters = form.parameters
    try:
        operations.save_rule(rule, {}, request.user, timezone.now())
    except ValidationError as exc:
        form.add_error(None, exc)
        return page(request, rule, form)
    return see_other(reverse("alerts:rule-detail", args=[rule.slug]))


@require_POST
@needs(CHANGE_RULE)
def rule_backtest(request: HttpRequest, slug: str) -> HttpResponse:
    """The saved and the edited setting replayed over the last 30 days (seconds: the button
    shows progress), answered as a result panel; nothing is saved."""
    rule = get_object_or_404(AlertRule, slug=slug)
    form = RuleParamsForm(rule, request.POST)
    htmx: HtmxDetails = request.htmx  # type: ignore[attr-defined]
    if not form.is_valid() or form.parameters is None:
        return page(request, rule, form)
    context = backtest_context(rule, form.parameters)
    if htmx:
        return render(request, "alerts/partials/backtest_result.html", context)
    return page(request, rule, form, **context)


def backtest_context(rule: AlertRule, parameters: dict[str, Any]) -> dict[str, Any]:
    edited_rule = copy.copy(rule)
    edited_rule.parameters = parameters
    return backtest_chart.compare(rule, edited_rule, BACKTEST_DAYS, timezone.now())
