"""Channels: the kinds there are, and the channels themselves (list, read, create, change,
delete, send a test message).

Secrets never leave in full: a channel's ``secret`` is answered masked (``••••abcd``) and the
config values its kind names secret (a webhook's URL and headers) masked too, as the admin and
the audit trail show them. A PATCH that sends a masked value back keeps the stored one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field, StrictBool

from alerts import operations
from alerts.api.common import NOT_FOUND, StrictIn, actor, admin_auth, read_auth
from alerts.choices import Severity
from alerts.engine import delivery
from alerts.models import Channel
from alerts.notify.transports import ConfigError, Transport, all_transports
from confops.common.api import (
    AUTH_ERRORS,
    ApiError,
    ErrorOut,
    PageOut,
    PageQuery,
    get_or_404,
    invalid,
    paginate,
)

router = Router()


class ExampleOut(Schema):
    config: dict[str, Any]
    secret: str


class ChannelKindOut(Schema):
    kind: str
    label: str
    two_way: bool = Field(description="Keeps one message per incident and edits it.")
    secret_required: bool
    secret_help: str
    secret_config_keys: list[str] = Field(description="Config keys whose values are secrets.")
    config_schema: dict[str, Any] = Field(description="JSON schema of the kind's `config`.")
    example: ExampleOut = Field(description="A valid configuration (fake values).")


class ChannelKindPage(PageOut):
    results: list[ChannelKindOut]


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    two_way: bool
    enabled: bool
    is_default: bool
    min_severity: str
    route_owners: list[Any]
    route_tags: list[Any]
    config: dict[str, Any] = Field(description="Secret values masked.")
    secret: str = Field(description='Masked ("••••abcd"); "" when none is stored.')
    secret_set: bool
    failing_since: datetime | None
    created_at: datetime


class ChannelPage(PageOut):
    results: list[ChannelOut]


class ChannelChange(StrictIn):
    """Fields of a channel; a PATCH sends only those it changes. ``config`` is replaced whole;
    a secret value in it sent back masked (as read) keeps the stored one. ``secret`` sent back
    masked keeps the stored one too; ``""`` removes it."""

    name: str | None = None
    kind: str | None = None
    enabled: StrictBool | None = None
    is_default: StrictBool | None = None
    min_severity: Severity | None = None
    route_owners: list[str] | None = None
    route_tags: list[str] | None = None
    config: dict[str, Any] | None = Field(
        None, description='The kind\'s settings, e.g. {"to": ["oncall@example.com"]}.'
    )
    secret: str | None = Field(None, max_length=2000)


class ChannelCreate(ChannelChange):
    name: str
    kind: str


class TestMessageOut(Schema):
    status: str = Field(description="`sent` or `failed`.")
    error: str = Field(description="What the receiver answered, secrets redacted.")
    notification_id: int


def kind_out(transport: type[Transport]) -> dict[str, Any]:
    config, secret = transport.example()
    return {
        "kind": transport.kind,
        "label": str(transport.label),
        "two_way": transport.mirrors_incidents,
        "secret_required": transport.secret_required,
        "secret_help": str(transport.secret_help),
        "secret_config_keys": sorted(transport.secret_config_keys),
        "config_schema": transport.config_schema.model_json_schema(),
        "example": {"config": config, "secret": secret},
    }


def channel_out(channel: Channel) -> dict[str, Any]:
    transport = channel.transport_class()
    return {
        **{name: getattr(channel, name) for name in Channel.PLAIN_FIELDS},
        "id": channel.pk,
        "kind_label": str(transport.label) if transport else channel.kind,
        "two_way": bool(transport and transport.mirrors_incidents),
        "config": channel.masked_config,
        "secret": channel.masked_secret,
        "secret_set": bool(channel.secret),
        "failing_since": channel.failing_since,
        "created_at": channel.created_at,
    }


def apply_channel_change(channel: Channel, data: dict[str, Any]) -> None:
    """Set the given fields; masked secrets sent back as read stay the stored ones."""
    nulls = sorted(name for name, value in data.items() if value is None)
    if nulls:
        raise ApiError(
            400, f"invalid request ({', '.join(nulls)})", dict.fromkeys(nulls, "may not be null")
        )
    stored_kind, stored_config = channel.kind, channel.config
    for name in Channel.PLAIN_FIELDS:
        if name in data:
            setattr(channel, name, data[name])
    transport = channel.transport_class()
    if "config" in data:
        config = data["config"]
        if channel.pk and transport is not None and channel.kind == stored_kind:
            config = transport.restored_config(config, stored_config)
        channel.config = config
    if "secret" in data and not (channel.pk and data["secret"] == channel.masked_secret):
        channel.secret = data["secret"]


def config_fields(fields: dict[str, str], channel: Channel) -> dict[str, str]:
    """Replace the model's one `config` message by one per setting (`config.url`), from the
    kind's own schema: what the admin lists under its field, keyed as a client can act on."""
    transport = channel.transport_class()
    if transport is None or not {"config", "secret"} & set(fields):
        return fields
    try:
        transport.parse_config(channel.config, channel.secret)
    except ConfigError as exc:
        fields = {k: v for k, v in fields.items() if k not in ("config", "secret")}
        for where, message in exc.messages.items():
            key = where if where in ("config", "secret", "kind") else f"config.{where}"
            fields[key] = message
    return fields


def save_channel(request: HttpRequest, channel: Channel, data: dict[str, Any]) -> Channel:
    """Validate as the admin does (``full_clean``: the kind's config and secret, routes, a
    unique name), then save through the channels' one door (audited, masked)."""
    apply_channel_change(channel, data)
    try:
        channel.full_clean()
    except DjangoValidationError as exc:
        error = invalid(exc)
        if error.fields:
            error.fields = config_fields(error.fields, channel)
            error.message = f"invalid request ({', '.join(error.fields)})"
        raise error from None
    user, label = actor(request)
    return operations.save_channel(channel, user, timezone.now(), label)


@router.get(
    "/channel-kinds",
    auth=read_auth,
    response={200: ChannelKindPage, AUTH_ERRORS: ErrorOut},
    tags=["channels"],
    summary="List channel kinds",
    description=(
        "Every kind a channel can be: its config's JSON schema, whether it needs a secret and "
        "what that is, which config keys are secret, whether it is two-way, and a valid example. "
        "Ordered by label."
    ),
    url_name="channel-kind-list",
)
def list_channel_kinds(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    kinds = sorted(all_transports().values(), key=lambda t: (str(t.label).lower(), t.kind))
    rows, links = paginate(request, kinds, page)
    return {**links, "results": [kind_out(transport) for transport in rows]}


@router.get(
    "/channels",
    auth=read_auth,
    response={200: ChannelPage, AUTH_ERRORS: ErrorOut},
    tags=["channels"],
    summary="List channels",
    description="Filter: `kind`. Ordered by name. Secrets masked.",
    url_name="channel-list",
)
def list_channels(
    request: HttpRequest, page: Query[PageQuery], kind: str | None = None
) -> dict[str, Any]:
    channels = Channel.objects.order_by("name")
    if kind:
        channels = channels.filter(kind=kind)
    rows, links = paginate(request, channels, page)
    return {**links, "results": [channel_out(channel) for channel in rows]}


@router.get(
    "/channels/{channel_id}",
    auth=read_auth,
    response={200: ChannelOut, NOT_FOUND: ErrorOut},
    tags=["channels"],
    summary="Read a channel",
    url_name="channel-detail",
)
def read_channel(request: HttpRequest, channel_id: int) -> dict[str, Any]:
    return channel_out(get_or_404(Channel.objects.all(), "channel", pk=channel_id))


@router.post(
    "/channels",
    auth=admin_auth,
    response={201: ChannelOut, AUTH_ERRORS: ErrorOut},
    tags=["channels"],
    summary="Create a channel",
    description=(
        "Validated as in the admin: the kind's config (`fields` names each invalid setting, "
        "e.g. `config.url`) and secret, the routes, a unique name. Audited with secrets masked."
    ),
    url_name="channel-create",
)
def create_channel(request: HttpRequest, body: ChannelCreate) -> Status[dict[str, Any]]:
    channel = save_channel(request, Channel(), body.model_dump(exclude_unset=True))
    return Status(201, channel_out(channel))


@router.patch(
    "/channels/{channel_id}",
    auth=admin_auth,
    response={200: ChannelOut, NOT_FOUND: ErrorOut},
    tags=["channels"],
    summary="Change a channel",
    description=(
        "Send only what changes. `config` is replaced whole: secret values sent back masked, "
        "as read, keep the stored ones; so does `secret` sent back masked. Audited."
    ),
    url_name="channel-update",
)
def update_channel(request: HttpRequest, channel_id: int, body: ChannelChange) -> dict[str, Any]:
    with transaction.atomic():
        channel = get_or_404(Channel.objects.select_for_update(), "channel", pk=channel_id)
        save_channel(request, channel, body.model_dump(exclude_unset=True))
    return channel_out(channel)


@router.delete(
    "/channels/{channel_id}",
    auth=admin_auth,
    response={204: None, NOT_FOUND: ErrorOut},
    tags=["channels"],
    summary="Delete a channel",
    description="Deletes it with its outbox rows, as the admin does. Audited.",
    url_name="channel-delete",
)
def delete_channel(request: HttpRequest, channel_id: int) -> Status[None]:
    user, label = actor(request)
    channel = get_or_404(Channel.objects.all(), "channel", pk=channel_id)
    operations.delete_channel(channel, user, timezone.now(), label)
    return Status(204, None)


@router.post(
    "/channels/{channel_id}/test",
    auth=admin_auth,
    response={200: TestMessageOut, NOT_FOUND: ErrorOut},
    tags=["channels"],
    summary="Send a test message",
    description=(
        "Sends now, through the outbox, without retries, and answers what the receiver said "
        "(`failed` with its error, secrets redacted). Admin, as the admin's action."
    ),
    url_name="channel-test",
)
def send_test_message(request: HttpRequest, channel_id: int) -> dict[str, Any]:
    channel = get_or_404(Channel.objects.all(), "channel", pk=channel_id)
    user, label = actor(request)
    who = user.get_username() if user is not None else label
    outcome = delivery.send_test(channel, timezone.now(), requested_by=who)
    status = "sent" if outcome.status == delivery.SENT else "failed"
    error = channel.redact(outcome.error) if outcome.error else ""
    return {"status": status, "error": error, "notification_id": outcome.notification_id}
