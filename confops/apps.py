from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConfopsConfig(AppConfig):
    """Project-wide wiring: the default beat schedule is loaded after every migrate."""

    name = "confops"
    verbose_name = "confops"

    def ready(self) -> None:
        from django.apps import apps

        from confops.beat import load_default_schedule

        # Sent once django-celery-beat's tables exist (this app has no models, so no signal).
        post_migrate.connect(
            load_default_schedule, sender=apps.get_app_config("django_celery_beat")
        )
