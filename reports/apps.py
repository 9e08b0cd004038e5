from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    """The daily health report: builder, renderers, stored reports, pages, API and task. After
    migrate, the Admin role gets this app's permissions (who receives the report)."""

    name = "reports"

    def ready(self) -> None:
        from reports.roles import grant_admin_role

        # Sent after alerts' (INSTALLED_APPS order), which creates the roles.
        post_migrate.connect(grant_admin_role, sender=self, dispatch_uid="reports-roles")
