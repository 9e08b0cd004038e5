"""The default beat schedule is loaded into the database, where the admin can retune it."""

from __future__ import annotations

import pytest
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

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

    from confops import heartbeat

    heartbeat.record_beat(time.time() - 2)
    out = io.StringIO()
    call_command("check_heartbeat", "beat", stdout=out)
    assert "beat heartbeat" in out.getvalue()
    heartbeat.record_beat(time.time() - 500)
    with pytest.raises(CommandError, match=r"heartbeat is 50[01] s old"):
        call_command("check_heartbeat", "beat", "--max-age", "60")
