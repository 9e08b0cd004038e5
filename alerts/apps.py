from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AlertsConfig(AppConfig):
    """Connects the engine to monitoring's signal and creates the default rules after migrate."""

    name = "alerts"

    def ready(self) -> None:
        from alerts.defaults import create_default_rules
        from alerts.receivers import judge_touched_sources
        from monitoring.signals import sources_touched

        sources_touched.connect(judge_touched_sources, dispatch_uid="alerts-judge-touched")
        post_migrate.connect(create_default_rules, sender=self, dispatch_uid="alerts-defaults")
