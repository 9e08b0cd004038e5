"""The channel form in the admin offers every registered kind, ordered by label, each option
carrying its own help (settings, example, secret), and every kind can be created from its
example through the form."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from alerts.admin import ChannelForm, channel_kind_help, kinds_by_label
from alerts.models import Channel
from alerts.notify.transports import all_transports
from confops.accounts.models import AuditEntry

pytestmark = pytest.mark.django_db


def options(html: str) -> list[str]:
    select = html[
        html.index('<select name="kind"') : html.index("</select>", html.index('name="kind"'))
    ]
    return re.findall(r'<option value="([^"]*)"', select)


def test_the_kind_dropdown_lists_every_registered_kind_ordered_by_label(
    admin_client: Client,
) -> None:
    html = admin_client.get("/admin/alerts/channel/add/").content.decode()

    offered = options(html)
    assert offered[0] == "" and sorted(offered[1:]) == sorted(all_transports())
    labels = [str(all_transports()[kind].label).lower() for kind in offered[1:]]
    assert labels == sorted(labels)
    assert offered[1:] == [kind for kind, _ in kinds_by_label()]
    assert "alerts/channel_form.js" in html


def test_each_option_carries_its_kind_s_help_and_a_new_form_shows_no_kind_s() -> None:
    form = ChannelForm()
    html = str(form["kind"])

    config_help, secret_help = channel_kind_help(all_transports()["webhook"])
    assert (
        config_help
        == 'webhook: url (required), headers={}. Example: {"url": "https://receiver.example.com/confops"}'
    )
    assert 'data-config-help="webhook: url (required)' in html
    assert secret_help == "webhook: optional HMAC-SHA256 signing key shared with the receiver"
    assert 'data-secret-help="slack: the incoming webhook URL' in html
    assert form.fields["config"].help_text == "JSON: the chosen kind's settings"


def test_an_edit_form_explains_only_its_own_kind_and_keeps_the_masked_notes() -> None:
    channel = Channel.objects.create(
        name="ops-hook",
        kind="webhook",
        config={"url": "https://h.example/x/secret-path"},
        secret="signing-key-0123456789",
    )

    form = ChannelForm(instance=channel)

    config_help = form.fields["config"].help_text
    assert config_help.startswith("webhook: url (required)") and "email:" not in config_help
    assert config_help.endswith("or type the whole new value.")
    assert form.fields["secret"].help_text == (
        "Stored: ••••6789. Leave blank to keep it. "
        "webhook: optional HMAC-SHA256 signing key shared with the receiver"
    )
    assert form.fields["secret"].widget.attrs["data-help-before"].startswith("Stored: ••••6789")


@pytest.mark.parametrize("kind", sorted(all_transports()))
def test_every_registered_kind_can_be_created_in_the_admin_from_its_example(
    admin_client: Client, kind: str
) -> None:
    config, secret = all_transports()[kind].example()
    form = {
        "name": f"every-{kind}"[:100],
        "kind": kind,
        "enabled": "on",
        "min_severity": "warning",
        "config": json.dumps(config),
        "secret": secret,
        "route_owners": "[]",
        "route_tags": "[]",
    }

    response = admin_client.post("/admin/alerts/channel/add/", form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    channel = Channel.objects.get(kind=kind)
    assert channel.secret == secret and channel.config == config
    assert AuditEntry.objects.filter(object_type="alerts.Channel", action="created").exists()
