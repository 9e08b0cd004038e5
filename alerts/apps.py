from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AlertsConfig(AppConfig):
    """Connects the engine to monitoring's signal; after migrate, creates the default rules
    and their runbooks."""

    name = "alerts"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which exist only once
        # every app is loaded. The outbox hands rows to the delivery task by name
        # (alerts/notify/outbox.py): importing the tasks registers it in every process that can
        # write a row, not only in workers.
        import alerts.tasks  # noqa: F401
        from alerts.defaults import create_default_rules
        from alerts.engine import deadlines
        from alerts.engine.receivers import judge_touched_sources
        from alerts.runbooks.defaults import create_default_runbooks
        from monitoring.signals import sources_touched

        sources_touched.connect(judge_touched_sources, dispatch_uid="alerts-judge-touched")
        deadlines.connect()
        post_migrate.connect(create_default_rules, sender=self, dispatch_uid="alerts-defaults")
        # After the default rules, so that the shipped runbooks can be linked to them.
        post_migrate.connect(create_default_runbooks, sender=self, dispatch_uid="alerts-runbooks")
