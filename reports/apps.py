from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The daily health report: builder, renderers, stored reports, pages, API and task. The
    Admin role gets this app's permissions (who receives the report): confops/accounts/roles.py."""

    name = "reports"
