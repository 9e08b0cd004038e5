"""The channels' one door (``operations.save_channel``) validates whoever calls it: the admin,
the API and provisioning validate before it, and a shell or a new caller cannot store a channel
its transport cannot use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from alerts import operations
from alerts.choices import ChannelKind
from alerts.models import Channel
from confops.accounts.models import AuditEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def channel_entries(action: str) -> int:
    return AuditEntry.objects.filter(object_type="alerts.Channel", action=action).count()


def test_the_door_refuses_a_channel_its_kind_cannot_use_and_saves_nothing(admin_user: Any) -> None:
    channel = Channel(name="ops", kind=ChannelKind.WEBHOOK, config={"url": "not a url"})
    with pytest.raises(ValidationError):
        operations.save_channel(channel, admin_user, T0)
    assert not Channel.objects.exists() and channel_entries("created") == 0


def test_the_door_refuses_an_unknown_kind(admin_user: Any) -> None:
    with pytest.raises(ValidationError):
        operations.save_channel(Channel(name="ops", kind="carrier-pigeon"), admin_user, T0)
    assert not Channel.objects.exists()


def test_the_door_refuses_a_change_that_breaks_a_stored_channel(admin_user: Any) -> None:
    channel = operations.save_channel(
        Channel(name="ops", kind=ChannelKind.WEBHOOK, config={"url": "https://hook.example/in"}),
        admin_user,
        T0,
    )
    channel.config = {"url": "ftp://hook.example/in"}
    with pytest.raises(ValidationError):
        operations.save_channel(channel, admin_user, T0)
    assert Channel.objects.get().config == {"url": "https://hook.example/in"}
    assert channel_entries("changed") == 0


def test_the_door_saves_and_audits_a_valid_channel(admin_user: Any) -> None:
    channel = Channel(
        name="ops", kind=ChannelKind.WEBHOOK, config={"url": "https://hook.example/in"}
    )
    operations.save_channel(channel, admin_user, T0)
    assert Channel.objects.get().is_default
    assert channel_entries("created") == 1
