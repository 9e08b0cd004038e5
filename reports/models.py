"""Daily health reports: one stored report per day, and who receives them."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import F

from alerts.models import Channel


class DailyReport(models.Model):
    """The report of one day (in ``time_zone``): its figures, its HTML and text, and its sends.

    Regenerating a day replaces the content in place (``store``); the send bookkeeping stays, so
    a regenerated report is not sent again by accident. ``send_round`` counts sends: the first
    send and every forced one each claim a round with a compare-and-swap (``claim_send``).
    """

    date = models.DateField(unique=True)
    time_zone = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    generated_at = models.DateTimeField()
    summary = models.JSONField(
        default=dict, help_text="The report's figures (the builder's output)."
    )
    html = models.TextField(help_text="The full report as sent by email (sanitised).")
    text = models.TextField(help_text="The plain-text part of the email.")
    send_round = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.CharField(max_length=200, blank=True, help_text="Who asked for the last send.")

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"daily report {self.date}"

    @property
    def is_partial(self) -> bool:
        """Built before its day ended (today's report "so far"): the daily task, which runs
        after the day, replaces it with the full report; no field needed, the times tell."""
        return self.generated_at < self.window_end

    @classmethod
    def store(
        cls,
        day: dt.date,
        time_zone: str,
        window: tuple[datetime, datetime],
        generated_at: datetime,
        content: tuple[dict[str, Any], str, str],
    ) -> DailyReport:
        """Create or replace the report of ``day`` (summary, html, text)."""
        summary, html, text = content
        report, _ = cls.objects.update_or_create(
            date=day,
            defaults={
                "time_zone": time_zone,
                "window_start": window[0],
                "window_end": window[1],
                "generated_at": generated_at,
                "summary": summary,
                "html": html,
                "text": text,
            },
        )
        return report

    def claim_send(self, now: datetime, by: str, force: bool = False) -> bool:
        """Take the next send round; True only for the one caller whose UPDATE changed the row.

        Unforced, only a report never sent can be claimed, so two "send" calls for one date
        write one set of outbox rows. Forced, the claim is on the round seen, so two forced
        calls racing still send once each round.
        """
        rows = type(self).objects.filter(pk=self.pk, send_round=self.send_round)
        if not force:
            rows = rows.filter(sent_at__isnull=True)
        won = rows.update(send_round=F("send_round") + 1, sent_at=now, sent_by=by[:200]) == 1
        if won:
            self.refresh_from_db(fields=["send_round", "sent_at", "sent_by"])
        return won


class ReportDistribution(models.Model):
    """Who receives the daily report; one row, edited in the admin (no redeploy needed).

    Channels get the report in their own form: email the full HTML with a text part, Slack a
    short Block Kit summary with a link, a webhook the summary as JSON. ``email_to`` adds people
    who are on no email channel.
    """

    all_channels = models.BooleanField(
        default=True, help_text="Send to every enabled channel (the list below is then ignored)."
    )
    channels = models.ManyToManyField(Channel, blank=True, related_name="+")
    email_to = models.TextField(
        blank=True, help_text="More email addresses, one per line or separated by commas."
    )
    enabled = models.BooleanField(default=True, help_text="Untick to generate without sending.")

    class Meta:
        verbose_name = "report distribution"

    def __str__(self) -> str:
        return "daily report distribution"

    @classmethod
    def current(cls) -> ReportDistribution:
        distribution, _ = cls.objects.get_or_create(pk=1)
        return distribution

    @property
    def addresses(self) -> list[str]:
        parts = self.email_to.replace(",", "\n").splitlines()
        return list(dict.fromkeys(part.strip() for part in parts if part.strip()))

    def clean(self) -> None:
        for address in self.addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    {"email_to": f"'{address}' is not an email address"}
                ) from None

    def recipients(self) -> list[Channel]:
        if self.all_channels:
            return list(Channel.objects.filter(enabled=True))
        return list(self.channels.filter(enabled=True))
