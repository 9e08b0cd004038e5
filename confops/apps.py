from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConfopsConfig(AppConfig):
    """Project-wide wiring: the default beat schedule is loaded after every migrate; the
    runtime listens to the alert engine's evaluations (metrics, the dead man's switch)."""

    name = "confops"
    verbose_name = "confops"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which only exist once
        # every app is loaded, and ready() is where Django says they are.
        from django.apps import apps

        from alerts.signals import evaluated
        from confops.beat import load_default_schedule
        from confops.runtime.metrics import on_evaluated
        from confops.tasks import ping_after_good_cycle

        evaluated.connect(on_evaluated, dispatch_uid="confops.metrics.evaluated")
        evaluated.connect(ping_after_good_cycle, dispatch_uid="confops.deadman.evaluated")

        # Sent once django-celery-beat's tables exist (this app has no models, so no signal).
        post_migrate.connect(
            load_default_schedule, sender=apps.get_app_config("django_celery_beat")
        )
