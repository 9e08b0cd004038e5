"""The Admin role (``alerts/roles.py``) also manages the report's distribution.

Reading reports needs no permission of this app: the pages and the API ask for what the report
shows (sources and alerts), which the Viewer role has.
"""

from __future__ import annotations

from alerts.roles import ADMIN


def grant_admin_role(**_: object) -> bool:
    """Add every ``reports`` permission to the Admin group; False while it does not exist."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.filter(name=ADMIN).first()
    if group is None:
        return False
    group.permissions.add(*Permission.objects.filter(content_type__app_label="reports"))
    return True
