from django.apps import AppConfig
from django.db.models.signals import post_migrate

from confops.accounts.roles import create_roles


class AccountsConfig(AppConfig):
    """Who may do what, and what they did: API tokens, the roles (Viewer, Operator, Admin) and
    the audit trail. Below every domain app: it imports only ``confops.common`` and Django.
    After every migrate (and test flush) the roles gain the permissions new models brought."""

    name = "confops.accounts"
    label = "accounts"

    def ready(self) -> None:
        # No sender: the receiver waits for the turn of the last app the roles draw on.
        post_migrate.connect(create_roles, dispatch_uid="accounts-roles")
