"""One door per action: whichever way an operator acts (the portal, the REST API, the Django
admin), the action goes through the same function and leaves the same audit entry: the same
action name, on the object acted on, by the same person, naming the same changed fields with the
same values (times and ids aside). Ada, an admin, acts through each door in turn; her token's
owner is herself, so the three rows must agree.

Doors an action does not have (acknowledging in the admin, changing a channel through the API)
are not tested here; re-executing a run, a portal-only door, is audited in test_views_alerts.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from alerts.choices import AlertState, ChannelKind
from alerts.models import AlertRule, Channel, RuleOverride, Runbook, Silence
from alerts.runbooks.wiki import save_page
from confops.accounts.choices import TokenScope
from confops.accounts.models import AuditEntry
from monitoring.models import Source
from reports.data import change_facts
from tests.alerts import factories as f
from tests.alerts.incidents import incident
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db

# Values that differ between two runs of the same action, whatever the door.
VOLATILE = {"id", "created_at", "updated_at", "starts_at", "ends_at", "expired_at"}
FMT = "%Y-%m-%d %H:%M"


class FormReader(HTMLParser):
    """The fields of the admin's change form as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, Any] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def add(self, name: str, value: str) -> None:
        old = self.data.get(name)
        if old is None:
            self.data[name] = value
        else:
            self.data[name] = [*old, value] if isinstance(old, list) else [old, value]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.add(name, a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in a:
            self.add(self.select, a.get("value", ""))
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            text = data[1:] if not self.data[self.textarea] and data.startswith("\n") else data
            self.data[self.textarea] += text


def admin_form(client: Client, url: str, **changes: Any) -> None:
    """Open an admin change page and submit its form with ``changes`` typed over it."""
    page = client.get(url)
    assert page.status_code == 200, url
    reader = FormReader()
    reader.feed(page.content.decode())
    data = {k: v for k, v in reader.data.items() if not k.startswith("_")}
    data.update(changes)
    data["_save"] = "Save"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def admin_action(client: Client, model: str, action: str, obj: Model) -> None:
    response = client.post(
        f"/admin/alerts/{model}/", {"action": action, "_selected_action": [obj.pk]}
    )
    assert response.status_code == 302


Door = Callable[[Any, Any], None]  # (a logged-in client or an API client, the object)


@dataclass(frozen=True)
class Case:
    """One action: the object it starts from, and how each door performs it."""

    setup: Callable[[], Model]
    portal: Door | None = None
    api: Door | None = None
    admin: Door | None = None
    created: type[Model] | None = None  # the audited object is made by the action itself


def ok(response: Any, status: int = 200) -> None:
    assert response.status_code == status, response.content.decode()[:2000]


def firing() -> Any:
    return incident("Run failed", a_source())


def acknowledged() -> Any:
    return incident(
        "Run failed",
        a_source(),
        state=AlertState.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
    )


def a_silence() -> Silence:
    now = timezone.now()
    return Silence.objects.create(
        group="scrapers", starts_at=now, ends_at=now + timedelta(hours=2), comment="move"
    )


def a_rule() -> AlertRule:
    return f.rule(f"Stale {AlertRule.objects.count()}", "stale", parameters={"max_age_hours": 48})


def pager() -> Channel:
    return Channel.objects.get_or_create(name="pager", defaults={"kind": ChannelKind.SLACK})[0]


def a_source() -> Source:
    n = Source.objects.count()
    return f.source(f"src{n}", f.deployment(f"dagster-{n}"))


def a_runbook() -> Runbook:
    slug = f"page-{Runbook.objects.count()}"
    return save_page(slug=slug, title="Elra", body="old", author=None, now=timezone.now())


def override_target() -> tuple[AlertRule, Source]:
    return a_rule(), a_source()


def silence_fields(now: datetime) -> dict[str, str]:
    return {
        "group": "scrapers",
        "starts_at": now.strftime(FMT),
        "ends_at": (now + timedelta(hours=2)).strftime(FMT),
        "comment": "elra is moving servers",
    }


def portal_silence(client: Client, _: Any) -> None:
    data = {"window": "once", "recurrence_timezone": "UTC", "catch_up_minutes": "0"}
    ok(client.post("/silences/new/", data | silence_fields(timezone.now())), 303)


def api_silence(api: Api, _: Any) -> None:
    now = timezone.now()
    body = {"group": "scrapers", "ends_at": (now + timedelta(hours=2)).isoformat()}
    ok(api.post("/silences", body | {"comment": "elra is moving servers"}), 201)


def admin_silence(client: Client, _: Any) -> None:
    now = timezone.now()
    fields = silence_fields(now)
    split = {
        "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": now.strftime("%H:%M:%S"),
        "ends_at_0": (now + timedelta(hours=2)).strftime("%Y-%m-%d"),
        "ends_at_1": (now + timedelta(hours=2)).strftime("%H:%M:%S"),
    }
    admin_form(
        client,
        "/admin/alerts/silence/add/",
        group=fields["group"],
        comment=fields["comment"],
        recurrence_timezone="UTC",
        catch_up_minutes="0",
        **split,
    )


def admin_override(client: Client, target: tuple[AlertRule, Source]) -> None:
    rule, source = target
    admin_form(
        client,
        f"/admin/alerts/alertrule/{rule.pk}/change/",
        **{
            "overrides-TOTAL_FORMS": "1",
            "overrides-0-source": str(source.pk),
            "overrides-0-parameters": json.dumps({"max_age_hours": 72}),
            "overrides-0-enabled": "on",
            "overrides-0-rule": str(rule.pk),
        },
    )


CASES = {
    "acknowledge": Case(
        firing,
        portal=lambda c, a: ok(c.post(f"/alerts/{a.pk}/acknowledge/", {"note": "on it"}), 303),
        api=lambda api, a: ok(api.post(f"/alerts/{a.pk}/acknowledge", {"note": "on it"})),
    ),
    "unacknowledge": Case(
        acknowledged,
        portal=lambda c, a: ok(c.post(f"/alerts/{a.pk}/unacknowledge/"), 303),
        api=lambda api, a: ok(api.post(f"/alerts/{a.pk}/unacknowledge")),
    ),
    "resolve": Case(
        firing,
        portal=lambda c, a: ok(c.post(f"/alerts/{a.pk}/resolve/"), 303),
        api=lambda api, a: ok(api.post(f"/alerts/{a.pk}/resolve")),
    ),
    "silence": Case(
        lambda: Silence(),
        portal=portal_silence,
        api=api_silence,
        admin=admin_silence,
        created=Silence,
    ),
    "expire a silence": Case(
        a_silence,
        portal=lambda c, s: ok(c.post(f"/silences/{s.pk}/expire/"), 303),
        api=lambda api, s: ok(api.post(f"/silences/{s.pk}/expire")),
        admin=lambda c, s: admin_action(c, "silence", "expire_now", s),
    ),
    "change a rule": Case(
        a_rule,
        api=lambda api, r: ok(api.patch(f"/rules/{r.pk}", {"parameters": {"max_age_hours": 72}})),
        admin=lambda c, r: admin_form(
            c,
            f"/admin/alerts/alertrule/{r.pk}/change/",
            parameters=json.dumps({"max_age_hours": 72}),
        ),
    ),
    "change a rule's channels": Case(
        lambda: pager() and a_rule(),
        api=lambda api, r: ok(api.patch(f"/rules/{r.pk}", {"channels": ["pager"]})),
        admin=lambda c, r: admin_form(
            c, f"/admin/alerts/alertrule/{r.pk}/change/", channels=[pager().pk]
        ),
    ),
    "disable a rule": Case(
        a_rule,
        api=lambda api, r: ok(api.post(f"/rules/{r.pk}/disable")),
        admin=lambda c, r: admin_action(c, "alertrule", "disable", r),
    ),
    "delete a rule": Case(
        a_rule,
        api=lambda api, r: ok(api.delete(f"/rules/{r.pk}"), 204),
        admin=lambda c, r: ok(
            c.post(f"/admin/alerts/alertrule/{r.pk}/delete/", {"post": "yes"}), 302
        ),
    ),
    "override a rule for a source": Case(
        override_target,
        api=lambda api, t: ok(
            api.put(
                f"/sources/{t[1].slug}/overrides/{t[0].pk}", {"parameters": {"max_age_hours": 72}}
            ),
            201,
        ),
        admin=admin_override,
        created=RuleOverride,
    ),
    "change a source": Case(
        a_source,
        api=lambda api, s: ok(
            api.patch(f"/sources/{s.slug}", {"owner": "data-team", "paused": True})
        ),
        admin=lambda c, s: admin_form(
            c, f"/admin/monitoring/source/{s.pk}/change/", owner="data-team", paused="on"
        ),
    ),
    "change a runbook": Case(
        a_runbook,
        portal=lambda c, r: ok(
            c.post(
                f"/runbooks/{r.slug}/edit/",
                {"title": "Elra", "slug": r.slug, "body": "new", "base_revision": "1"},
            ),
            303,
        ),
        admin=lambda c, r: admin_form(c, f"/admin/alerts/runbook/{r.pk}/change/", body="new"),
    ),
}


def audited(before: set[int], target: Any, created: type[Model] | None) -> dict[str, Any]:
    """The one audit entry the action left, with what must not depend on the door."""
    entries = list(AuditEntry.objects.exclude(pk__in=before))
    assert len(entries) == 1, [(e.action, e.object_type, e.changes) for e in entries]
    entry = entries[0]
    if created is None:
        obj = target[0] if isinstance(target, tuple) else target
        assert entry.object_type == obj._meta.label and entry.object_id == str(obj.pk)
    else:
        assert entry.object_type == created._meta.label
        assert created._default_manager.filter(pk=entry.object_id).exists()
    changes = entry.changes or {}
    return {
        "action": entry.action,
        "object_type": entry.object_type,
        "actor": entry.actor_id,
        "fields": sorted(changes),
        "values": {k: v for k, v in changes.items() if k not in VOLATILE},
    }


@pytest.fixture
def ada_api(admin_persona: Any) -> Api:
    """Ada's own token: the API records her as the actor, as the portal and the admin do."""
    scopes = (TokenScope.READ, TokenScope.OPERATE, TokenScope.ADMIN)
    return Api(Client(enforce_csrf_checks=True), token_for(admin_persona, *scopes)[1])


@pytest.mark.parametrize("name", list(CASES))
def test_every_door_of_an_action_leaves_the_same_audit_entry(
    name: str, admin_persona: Any, admin_persona_client: Client, ada_api: Api
) -> None:
    case = CASES[name]
    rows: dict[str, dict[str, Any]] = {}
    for door, perform, who in (
        ("portal", case.portal, admin_persona_client),
        ("api", case.api, ada_api),
        ("admin", case.admin, admin_persona_client),
    ):
        if perform is None:
            continue
        target = case.setup()
        before = set(AuditEntry.objects.values_list("pk", flat=True))
        perform(who, target)
        rows[door] = audited(before, target, case.created)
    assert len(rows) >= 2, "an action with one door has nothing to compare"
    first, *others = rows.values()
    assert first["actor"] == admin_persona.pk
    assert all(row == first for row in others), rows


def test_a_channel_change_in_the_admin_is_audited_and_in_the_daily_reports_changes(
    admin_persona: Any, admin_persona_client: Client
) -> None:
    """The admin is a channel's only door: its change is audited, and the daily report, which
    reads the audit trail, lists it with the fields that changed."""
    start = timezone.now()
    channel = f.channel("ops-slack", ChannelKind.SLACK, min_severity="info")
    admin_form(
        admin_persona_client, f"/admin/alerts/channel/{channel.pk}/change/", min_severity="critical"
    )
    entry = AuditEntry.objects.get(object_type="alerts.Channel", action="changed")
    assert entry.actor == admin_persona and entry.changes["min_severity"] == ["info", "critical"]
    facts = change_facts(start, timezone.now() + timedelta(seconds=1))
    assert [(c.actor, c.action, c.object_type, c.fields) for c in facts] == [
        (admin_persona.username, "changed", "alerts.Channel", ["min_severity"])
    ]


def test_restoring_the_default_rules_by_command_is_audited_as_the_command() -> None:
    """The command is a rule's fourth door: a reset default is recorded like any other change,
    and a default left as shipped leaves no entry."""
    rule = AlertRule.objects.get(name="Stale (no success when expected)")
    shipped = rule.parameters
    rule.parameters = {**shipped, "max_age_hours": 99}
    rule.save()

    call_command("restore_default_rules", "--reset", stdout=io.StringIO())

    entry = AuditEntry.objects.get(object_type="alerts.AlertRule")
    assert (entry.action, entry.object_id, entry.actor, entry.actor_label) == (
        "changed",
        str(rule.pk),
        None,
        "manage.py restore_default_rules",
    )
    assert entry.changes["parameters"] == [rule.parameters, shipped]


def test_a_bulk_delete_from_the_admins_list_is_audited_as_one_delete_each(
    admin_persona: Any, admin_persona_client: Client
) -> None:
    """Django's "delete selected" skips ``delete_model``; each object still leaves its entry."""
    channels = [f.channel("ops-slack"), f.channel("ops-mail", ChannelKind.EMAIL)]
    rule, source = a_rule(), a_source()
    for model, objects in (("alerts/channel", channels), ("alerts/alertrule", [rule])):
        response = admin_persona_client.post(
            f"/admin/{model}/",
            {
                "action": "delete_selected",
                "_selected_action": [o.pk for o in objects],
                "post": "yes",
            },
        )
        assert response.status_code == 302
    response = admin_persona_client.post(
        "/admin/monitoring/source/",
        {"action": "delete_selected", "_selected_action": [source.pk], "post": "yes"},
    )
    assert response.status_code == 302
    deleted = AuditEntry.objects.filter(action="deleted", actor=admin_persona)
    assert sorted(deleted.values_list("object_type", "object_id")) == sorted(
        [("alerts.Channel", str(c.pk)) for c in channels]
        + [("alerts.AlertRule", str(rule.pk)), ("monitoring.Source", str(source.pk))]
    )


def test_a_rule_change_lists_only_what_the_operator_changed_not_its_save_time(
    admin_persona: Any, admin_persona_client: Client
) -> None:
    """A rule's save time changes on every save: it is bookkeeping, not a change, so neither the
    audit entry nor the daily report's changes name it (both listed 'updated_at' each time)."""
    start = timezone.now()
    rule = a_rule()
    admin_form(
        admin_persona_client, f"/admin/alerts/alertrule/{rule.pk}/change/", cooldown_minutes=90
    )
    entry = AuditEntry.objects.get(object_type="alerts.AlertRule", action="changed")
    assert set(entry.changes) == {"cooldown_minutes"}
    facts = change_facts(start, timezone.now() + timedelta(seconds=1))
    assert [c.fields for c in facts if c.action == "changed"] == [["cooldown_minutes"]]
