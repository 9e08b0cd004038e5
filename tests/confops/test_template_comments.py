"""Django's ``{# #}`` comment is one line only: a comment spread over lines is rendered as
text (the alerts page once showed the actions' comment to every reader). No template holds one,
and no portal page shows one."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from alerts.choices import Severity
from tests.alerts import factories as f

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_no_template_opens_a_one_line_comment_it_closes_on_another_line() -> None:
    spread = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\{#(?!.*#\})", line)
    ]
    assert spread == []


@pytest.mark.django_db
def test_no_portal_page_shows_a_template_comment(admin_persona_client: Client) -> None:
    now = timezone.now()
    dep = f.deployment(last_success_at=now)
    src = f.source("elra_conferences", dep, last_run_at=now, last_success_at=now)
    failed = f.rule("run failed", "run_failed", severity=Severity.CRITICAL)
    alert = f.alert(failed, src, now - timedelta(minutes=5))
    pages = ["/", "/alerts/", f"/alerts/{alert.pk}/", "/silences/", "/runbooks/", "/reports/"]
    pages.append(f"/sources/{src.slug}/")
    for url in pages:
        response = admin_persona_client.get(url, follow=True)
        assert response.status_code == 200, url
        assert "{#" not in response.content.decode(), url
