"""The default beat schedule is loaded into the database, where the admin can retune it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from confops.beat import default_entries, load_default_schedule

pytestmark = pytest.mark.django_db


def test_migrate_loads_every_default_entry() -> None:
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {entry.name for entry in default_entries()} <= names
    heartbeat = PeriodicTask.objects.get(name="confops: heartbeat")
    assert heartbeat.task == "confops.heartbeat" and heartbeat.enabled


def test_every_default_entry_names_a_registered_task() -> None:
    from confops.celery import app

    app.loader.import_default_modules()
    assert {entry.task for entry in default_entries()} <= set(app.tasks)


def test_reloading_keeps_what_an_operator_changed() -> None:
    slow, _ = IntervalSchedule.objects.get_or_create(every=300, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="confops: heartbeat").update(interval=slow, enabled=False)
    assert load_default_schedule() == []
    entry = PeriodicTask.objects.get(name="confops: heartbeat")
    assert entry.interval == slow and entry.enabled is False


def test_a_deleted_entry_comes_back() -> None:
    PeriodicTask.objects.filter(name="confops: heartbeat").delete()
    assert load_default_schedule() == ["confops: heartbeat"]


DAILY = "reports: send the daily report"


def daily_crontab() -> tuple[str, str, str]:
    crontab = PeriodicTask.objects.get(name=DAILY).crontab
    assert crontab is not None
    return (crontab.hour, crontab.minute, str(crontab.timezone))


def test_new_report_settings_move_an_entry_nobody_retuned(settings: Any) -> None:
    settings.REPORT_SEND_AT, settings.REPORT_TIME_ZONE = "06:30", "Europe/Paris"
    assert load_default_schedule() == []
    assert daily_crontab() == ("6", "30", "Europe/Paris")
    description = PeriodicTask.objects.get(name=DAILY).description
    assert description.endswith("(docs/reports.md). [default: daily 06:30 Europe/Paris]")
    settings.REPORT_SEND_AT = "05:00"  # and again: it follows each change
    load_default_schedule()
    assert daily_crontab() == ("5", "0", "Europe/Paris")


def test_a_new_heartbeat_interval_moves_an_entry_nobody_retuned(settings: Any) -> None:
    settings.HEARTBEAT_INTERVAL_SECONDS = 45
    load_default_schedule()
    interval = PeriodicTask.objects.get(name="confops: heartbeat").interval
    assert interval is not None and interval.every == 45


def retune_daily_entry() -> None:
    """What an operator does in the admin: another time for the daily report."""
    later, _ = CrontabSchedule.objects.get_or_create(minute="15", hour="8", timezone="UTC")
    PeriodicTask.objects.filter(name=DAILY).update(crontab=later)


def test_an_entry_retuned_in_the_admin_stays_with_a_warning_when_the_settings_change(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    retune_daily_entry()
    with caplog.at_level(logging.WARNING, logger="confops.beat"):
        load_default_schedule()
        assert caplog.messages == []  # the operator's choice, the defaults did not move
        settings.REPORT_SEND_AT, settings.REPORT_TIME_ZONE = "06:30", "Europe/Paris"
        load_default_schedule()
    assert daily_crontab() == ("8", "15", "UTC")
    assert caplog.messages == [
        "beat entry 'reports: send the daily report' runs daily 08:15 UTC but the settings now "
        "say daily 06:30 Europe/Paris; it was changed in the admin, so it is left as it is: "
        "retune it there"
    ]


def test_an_entry_loaded_without_a_marker_is_left_alone_with_a_warning(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    PeriodicTask.objects.filter(name=DAILY).update(description="loaded by an older confops")
    settings.REPORT_SEND_AT = "06:30"
    with caplog.at_level(logging.WARNING, logger="confops.beat"):
        load_default_schedule()
    assert daily_crontab() == ("7", "0", "UTC")
    assert "the settings now say daily 06:30 UTC" in caplog.text


def test_an_entry_loaded_without_a_marker_gets_one_when_it_matches_the_settings() -> None:
    PeriodicTask.objects.filter(name=DAILY).update(description="loaded by an older confops")
    load_default_schedule()
    description = PeriodicTask.objects.get(name=DAILY).description
    assert description == "loaded by an older confops [default: daily 07:00 UTC]"


def test_an_admin_can_edit_a_beat_entry(admin_client: Client) -> None:
    entry = PeriodicTask.objects.get(name="confops: heartbeat")
    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{entry.pk}/change/")
    assert page.status_code == 200
    assert b"confops.heartbeat" in page.content


def test_check_heartbeat_fails_when_beat_never_ran() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no beat heartbeat"):
        call_command("check_heartbeat", "beat")


def test_check_heartbeat_passes_for_a_fresh_beat_and_fails_for_an_old_one() -> None:
    import io
    import time

    from django.core.management import CommandError, call_command

    from confops.runtime import heartbeat

    heartbeat.record_beat(time.time() - 2)
    out = io.StringIO()
    call_command("check_heartbeat", "beat", stdout=out)
    assert "beat heartbeat" in out.getvalue()
    heartbeat.record_beat(time.time() - 500)
    with pytest.raises(CommandError, match=r"heartbeat is 50[01] s old"):
        call_command("check_heartbeat", "beat", "--max-age", "60")
