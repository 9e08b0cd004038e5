"""Fixtures shared by the alert engine's tests."""

from __future__ import annotations

import pytest

from alerts.models import AlertRule


@pytest.fixture
def only_our_rules() -> None:
    """No rule but the ones the test makes: the default rules are tested on their own."""
    AlertRule.objects.all().delete()
