"""Pages about what is judged: alerts and their incidents, silences, runbooks (the operator
UI), and a source's page, which shows what is observed beside what is judged. The status page
is the site's root (``home``, in ``confops/urls.py``)."""

from django.urls import path

from alerts.views import alerts, incidents, rules, runbooks, silences, source

app_name = "alerts"
urlpatterns = [
    path("alerts/", alerts.alert_list, name="alert-list"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", alerts.acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/unacknowledge/", alerts.unacknowledge, name="alert-unacknowledge"),
    path("alerts/<int:pk>/resolve/", alerts.resolve, name="alert-resolve"),
    path("alerts/<int:pk>/silence/", alerts.silence, name="alert-silence"),
    path("alerts/<int:pk>/reexecute/", alerts.reexecute, name="alert-reexecute"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/acknowledge/", incidents.acknowledge, name="incident-acknowledge"),
    path(
        "incidents/<int:pk>/unacknowledge/",
        incidents.unacknowledge,
        name="incident-unacknowledge",
    ),
    # An old link by id moves to the slug (a unique slug is never all digits).
    path("rules/<int:pk>/", rules.rule_by_id),
    path("rules/<slug:slug>/", rules.rule_detail, name="rule-detail"),
    path("rules/<slug:slug>/backtest/", rules.rule_backtest, name="rule-backtest"),
    path("sources/<slug:slug>/", source.source_detail, name="source"),
    path(
        "sources/<slug:slug>/volume-metric/",
        source.choose_volume_metric,
        name="source-volume-metric",
    ),
    path("silences/", silences.silence_list, name="silence-list"),
    path("silences/new/", silences.silence_create, name="silence-create"),
    path("silences/preview/", silences.silence_preview, name="silence-preview"),
    path("silences/<int:pk>/expire/", silences.silence_expire, name="silence-expire"),
    path("runbooks/", runbooks.runbook_list, name="runbook-list"),
    path("runbooks/new/", runbooks.runbook_create, name="runbook-create"),
    path("runbooks/preview/", runbooks.runbook_preview, name="runbook-preview"),
    path("runbooks/<slug:slug>/", runbooks.runbook_detail, name="runbook-detail"),
    path("runbooks/<slug:slug>/edit/", runbooks.runbook_edit, name="runbook-edit"),
    path("runbooks/<slug:slug>/history/", runbooks.runbook_history, name="runbook-history"),
    path(
        "runbooks/<slug:slug>/history/<int:number>/",
        runbooks.runbook_revision,
        name="runbook-revision",
    ),
]
