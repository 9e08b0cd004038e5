"""Email through Django's email backend (SMTP from ``EMAIL_URL``): subject, text and HTML parts.

Config: ``{"to": ["oncall@example.com", ...]}``. No secret: the SMTP credentials are the
portal's (``EMAIL_URL``), not the channel's.

SMTP reply codes decide whether to try again (RFC 5321 §4.2.1): 5xx is a permanent negative
reply (no such mailbox, relaying denied, message refused) and retrying the same message cannot
succeed; 4xx is transient (mailbox busy, greylisting) and so are timeouts and dropped
connections. Bad SMTP credentials (535) are permanent for this message: an operator must fix
``EMAIL_URL``.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from pydantic import field_validator

from alerts.choices import ChannelKind
from alerts.notify.messages import Message
from alerts.notify.transports.base import Config, DeliveryError, SendResult, Transport, register
from confops.common import queues


class EmailConfig(Config):
    to: list[str]

    @field_validator("to", mode="before")
    @classmethod
    def split_text(cls, value: object) -> object:
        """Accept "a@x, b@y" as well as a list: the admin's JSON field invites both."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("to")
    @classmethod
    def valid_addresses(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one recipient address")
        for address in value:
            try:
                validate_email(address)
            except DjangoValidationError:
                raise ValueError(f"'{address}' is not an email address") from None
        return value


@register
class EmailTransport(Transport):
    kind = ChannelKind.EMAIL
    queue = queues.DELIVER_EMAIL
    label = "Email"
    config_schema = EmailConfig
    config: EmailConfig
    example_config = {"to": ["oncall@example.com"]}

    @classmethod
    def secret_values(cls, config: Mapping[str, Any] | None, secret: str) -> list[str]:
        """The SMTP password is the portal's, but an SMTP error could quote it."""
        password = str(getattr(settings, "EMAIL_HOST_PASSWORD", "") or "")
        return [*super().secret_values(config, secret), *([password] if password else [])]

    def send(self, message: Message) -> SendResult:
        recipients = message.recipients or list(self.config.to)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients,
            headers=self.headers(message),
        )
        email.attach_alternative(message.html, "text/html")
        try:
            with get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT) as conn:
                sent = conn.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            raise refused(exc.recipients) from None
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {decode(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
                status_code=exc.smtp_code,
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
        if not sent:
            raise DeliveryError("the email backend sent nothing")
        return SendResult(status_code=250, detail=f"to {', '.join(recipients)}")

    @staticmethod
    def headers(message: Message) -> dict[str, str]:
        headers = {"X-Confops-Event": message.event}
        if message.notification_id is not None:
            # Lets mail clients and receivers spot a repeat of the same notification.
            headers["X-Confops-Notification"] = str(message.notification_id)
        return headers


def refused(recipients: dict[str, tuple[int, bytes]]) -> DeliveryError:
    """Every recipient was refused: permanent only if all refusals are 5xx."""
    codes = [code for code, _ in recipients.values()]
    detail = "; ".join(f"{addr}: {code} {decode(msg)}" for addr, (code, msg) in recipients.items())
    return DeliveryError(
        f"SMTP refused the recipients: {detail}",
        permanent=all(code >= 500 for code in codes),
        status_code=max(codes) if codes else None,
    )


def decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
