"""Every endpoint refuses a request without a token (401) and one whose token lacks the scope
(403), and changes nothing then; `admin` implies every other scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Silence
from confops.accounts.choices import TokenScope
from confops.accounts.models import AuditEntry
from tests.alerts import factories
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db

# (method, path with placeholders, body, the scope it needs)
WRITES: list[tuple[str, str, Any, str]] = [
    ("post", "/rules", {"name": "n", "kind": "stale"}, TokenScope.ADMIN),
    ("patch", "/rules/{rule}", {"severity": "critical"}, TokenScope.ADMIN),
    ("post", "/rules/{rule}/enable", None, TokenScope.ADMIN),
    ("post", "/rules/{rule}/disable", None, TokenScope.ADMIN),
    ("delete", "/rules/{rule}", None, TokenScope.ADMIN),
    ("post", "/channels", {"name": "n", "kind": "email", "config": {"to": ["a@b.co"]}}, "admin"),
    ("patch", "/channels/{channel}", {"enabled": False}, TokenScope.ADMIN),
    ("post", "/channels/{channel}/test", None, TokenScope.ADMIN),
    ("delete", "/channels/{channel}", None, TokenScope.ADMIN),
    ("patch", "/sources/{source}", {"owner": "me"}, TokenScope.ADMIN),
    ("put", "/sources/{source}/overrides/{rule}", {"enabled": False}, TokenScope.ADMIN),
    ("delete", "/sources/{source}/overrides/{rule}", None, TokenScope.ADMIN),
    ("post", "/alerts/{alert}/acknowledge", {"note": "n"}, TokenScope.OPERATE),
    ("post", "/alerts/{alert}/unacknowledge", None, TokenScope.OPERATE),
    ("post", "/alerts/{alert}/resolve", None, TokenScope.OPERATE),
    ("post", "/silences", {"group": "x", "comment": "c", "duration_minutes": 5}, "operate"),
    ("post", "/silences/{silence}/expire", None, TokenScope.OPERATE),
]
READS = [
    "/rules",
    "/rules/{rule}",
    "/channel-kinds",
    "/channels",
    "/channels/{channel}",
    "/alerts",
    "/alerts/{alert}",
    "/silences",
    "/silences/{silence}",
    "/sources",
    "/sources/{source}",
    "/runbooks",
    "/runbooks/stale-source",
]
# A token with every scope but the one needed.
LACKING = {
    TokenScope.ADMIN: [TokenScope.READ, TokenScope.OPERATE, TokenScope.PUSH],
    TokenScope.OPERATE: [TokenScope.READ, TokenScope.PUSH],
    TokenScope.READ: [TokenScope.PUSH],
}


@pytest.fixture
def ids() -> dict[str, Any]:
    src = factories.source("elra_conferences")
    rule = AlertRule.objects.get(name="Stale (no success when expected)")
    alert = factories.alert(rule, src, timezone.now())
    now = timezone.now()
    silence = Silence.objects.create(
        group="x", comment="c", starts_at=now, ends_at=now + timedelta(hours=1)
    )
    channel = factories.channel("ops-mail", "email", config={"to": ["ops@example.com"]})
    return {
        "rule": rule.pk,
        "alert": alert.pk,
        "silence": silence.pk,
        "source": src.slug,
        "channel": channel.pk,
    }


def call(api: Api, method: str, path: str, body: Any, ids: dict[str, Any]) -> Any:
    url = path.format(**ids)
    return api.call(method, url, body) if method != "get" else api.get(url)


@pytest.mark.parametrize(("method", "path", "body", "scope"), WRITES)
def test_a_write_without_a_token_is_a_401_and_changes_nothing(
    ids: dict[str, Any], method: str, path: str, body: Any, scope: str
) -> None:
    audited = AuditEntry.objects.count()

    response = call(Api(Client(enforce_csrf_checks=True), None), method, path, body, ids)

    assert response.status_code == 401
    assert response.json()["error"].startswith("missing token")
    assert response["WWW-Authenticate"] == 'Bearer realm="confops"'
    assert AuditEntry.objects.count() == audited


@pytest.mark.parametrize(("method", "path", "body", "scope"), WRITES)
def test_a_write_with_a_token_lacking_its_scope_is_a_403_and_changes_nothing(
    ids: dict[str, Any], operator_user: Any, method: str, path: str, body: Any, scope: str
) -> None:
    _, raw = token_for(operator_user, *LACKING[scope])
    audited = AuditEntry.objects.count()

    response = call(Api(Client(enforce_csrf_checks=True), raw), method, path, body, ids)

    assert response.status_code == 403
    assert response.json() == {"error": f"token lacks the '{scope}' scope"}
    assert AuditEntry.objects.count() == audited


@pytest.mark.parametrize(("method", "path", "body", "scope"), WRITES)
def test_an_admin_token_may_do_every_write(
    ids: dict[str, Any], admin_api: Api, method: str, path: str, body: Any, scope: str
) -> None:
    response = call(admin_api, method, path, body, ids)

    # 404: the override to delete does not exist; 409: the alert was not acknowledged.
    assert response.status_code < 400 or response.status_code in (404, 409), response.content


@pytest.mark.parametrize("path", READS)
def test_a_read_needs_the_read_scope(ids: dict[str, Any], operator_user: Any, path: str) -> None:
    _, push_only = token_for(operator_user, TokenScope.PUSH)
    _, reader = token_for(operator_user, TokenScope.READ, name="reader")

    anonymous = call(Api(Client(), None), "get", path, None, ids)
    refused = call(Api(Client(), push_only), "get", path, None, ids)
    allowed = call(Api(Client(), reader), "get", path, None, ids)

    assert (anonymous.status_code, refused.status_code, allowed.status_code) == (401, 403, 200)


@pytest.mark.parametrize("path", READS[:3])
def test_an_operate_token_may_read_what_it_acts_on(
    ids: dict[str, Any], operator_user: Any, path: str
) -> None:
    _, operator = token_for(operator_user, TokenScope.OPERATE, name="oncall")

    assert call(Api(Client(), operator), "get", path, None, ids).status_code == 200


def test_a_revoked_token_is_refused(ids: dict[str, Any], admin_api: Api, admin_token: Any) -> None:
    admin_token[0].revoke(timezone.now())

    response = admin_api.post(f"/rules/{ids['rule']}/disable")

    assert response.status_code == 401 and response.json() == {"error": "token revoked"}
    assert AlertRule.objects.get(pk=ids["rule"]).enabled
