"""What the browser tests of the portal share: who logs in and the deployment they watch."""

from __future__ import annotations

import pytest
from django.utils import timezone

from monitoring.models import Deployment
from tests.alerts.factories import deployment
from tests.fixtures.personas import Persona


@pytest.fixture
def operator(operator_page_user: Persona) -> tuple[str, str]:
    """Otto, on call (the Operator role): the account each test logs in with."""
    return operator_page_user.username, operator_page_user.password


@pytest.fixture
def dep() -> Deployment:
    return deployment(
        "confradar-local", last_success_at=timezone.now(), ui_url="http://127.0.0.1:3000"
    )
