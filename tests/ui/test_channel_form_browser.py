"""In a real browser, under the Content-Security-Policy: choosing a channel kind in the admin
shows that kind's help under config and secret (static/alerts/channel_form.js)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.browser import log_in
from tests.fixtures.personas import ADA, make_user
from tests.ui.test_csp_browser import violations, watched

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_choosing_a_kind_shows_its_config_and_secret_help(page: Any) -> None:
    make_user(ADA)
    complaints = watched(page)
    log_in(page, ADA.username, ADA.password)
    page.goto("/admin/alerts/channel/add/")
    config_help = page.locator("#id_config_helptext")
    secret_help = page.locator("#id_secret_helptext")
    assert config_help.inner_text() == "JSON: the chosen kind's settings"

    page.select_option("#id_kind", "webhook")

    config_help.get_by_text("webhook: url (required)").wait_for()
    assert "Example:" in config_help.inner_text()
    assert secret_help.inner_text() == (
        "webhook: optional HMAC-SHA256 signing key shared with the receiver"
    )
    page.select_option("#id_kind", "email")
    config_help.get_by_text("email: to (required)").wait_for()
    assert violations(page) == [] and complaints == []
