"""When the timer pass must judge each source again, so an idle fleet costs next to nothing.

A poll or a push judges the sources it touched at once (``receivers``); what changes a judgement
without new data is time alone, and each time-based kind says when that can next happen for a
source (``RuleKind.next_check``: a stale deadline, the end of a schedule's grace, an open run's
limit). After judging sources the engine stores the earliest of these per source
(``SourceCheck.next_check_at``, indexed), never later than ``RECHECK_AT_MOST_EVERY`` from now,
a bound on any mistake in a kind's answer. The timer pass judges only the sources that are due,
sources without a row (new ones, or every one after a rule changed), and those with an open
alert or an alert resolved by hand whose condition may still hold: their pending period,
resolve hold, silences and suppression move with time and are settled each pass, as before.

The pass is split in shards (``Shard``) so several workers share it: one per deployment with due
sources, and the fleet shard (the sources without a deployment and every deployment-level
subject), which runs every pass. Each shard judges and reconciles only its own subjects, under
its own lock (``alerts.engine.locks``), so two shards run at once and one shard never twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from alerts.choices import OPEN_STATES, AlertState, ResolvedHow
from alerts.engine.history import SOURCE_FILTER_FIELDS, SOURCE_SETTING_FIELDS
from alerts.models import Alert, AlertRule, RuleOverride, SourceCheck
from monitoring.models import Instigator, Source

# Every source is judged at least this often, whatever its kinds answered.
RECHECK_AT_MOST_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Shard:
    """A share of the timer pass that one worker judges alone: a deployment's sources, or
    (``deployment_id`` None, ``FLEET``) the sources without a deployment and the deployments'
    own subjects."""

    deployment_id: int | None = None

    @property
    def lock_name(self) -> str:
        return "fleet" if self.deployment_id is None else f"deployment-{self.deployment_id}"

    def sources(self, path: str = "") -> Q:
        """Sources of this shard, ``path`` leading from the filtered model to its source."""
        if self.deployment_id is None:
            return Q(**{f"{path}deployment__isnull": True})
        return Q(**{f"{path}deployment_id": self.deployment_id})


FLEET = Shard()


def due_source_ids(now: datetime, shard: Shard | None = None) -> set[int]:
    """The sources the timer pass judges at ``now`` (see the module docstring), of one shard
    or of all."""
    due = set(due_checks(now, shard).values_list("source_id", flat=True))
    due.update(unchecked_sources(shard).values_list("pk", flat=True))
    due.update(held_alerts(shard).values_list("source_id", flat=True))
    return due


def due_shards(now: datetime) -> list[Shard]:
    """The deployment shards with a due source at ``now``, in three indexed queries of
    deployment ids (never the sources themselves); the fleet shard is not listed: it runs
    every pass."""
    ids = set(due_checks(now).values_list("source__deployment_id", flat=True).distinct())
    ids.update(unchecked_sources().values_list("deployment_id", flat=True).distinct())
    ids.update(held_alerts().values_list("source__deployment_id", flat=True).distinct())
    return [Shard(pk) for pk in sorted(pk for pk in ids if pk is not None)]


def due_checks(now: datetime, shard: Shard | None = None) -> QuerySet[SourceCheck]:
    rows = SourceCheck.objects.filter(next_check_at__lte=now, source__is_gone=False)
    return rows if shard is None else rows.filter(shard.sources("source__"))


def unchecked_sources(shard: Shard | None = None) -> QuerySet[Source]:
    rows = Source.objects.filter(is_gone=False, next_check__isnull=True)
    return rows if shard is None else rows.filter(shard.sources())


def held_alerts(shard: Shard | None = None) -> QuerySet[Alert]:
    """Source alerts whose pending period, resolve hold or suppression moves with time."""
    rows = Alert.objects.filter(
        Q(state__in=OPEN_STATES)
        | Q(state=AlertState.RESOLVED, resolved_how=ResolvedHow.MANUAL, clear_since=None),
        source__isnull=False,
    )
    return rows if shard is None else rows.filter(shard.sources("source__"))


def store(next_at: dict[int, datetime], now: datetime) -> None:
    """Store when each judged source is next due (``evaluation.next_checks`` says when), no
    later than ``RECHECK_AT_MOST_EVERY`` from ``now``."""
    latest = now + RECHECK_AT_MOST_EVERY
    SourceCheck.objects.bulk_create(
        [SourceCheck(source_id=pk, next_check_at=min(at, latest)) for pk, at in next_at.items()],
        update_conflicts=True,
        unique_fields=["source"],
        update_fields=["next_check_at"],
        batch_size=1000,
    )


def make_due(source_ids: Iterable[int] | QuerySet[Any] | None = None) -> None:
    """Have the next timer pass judge these sources (all of them by default): after a rule,
    an override or a source's settings changed, or when judging after a poll was skipped."""
    rows = SourceCheck.objects.all()
    if source_ids is not None:
        wanted = source_ids if isinstance(source_ids, QuerySet) else list(source_ids)
        rows = rows.filter(source_id__in=wanted)
    rows.delete()


# What rules read of a source's settings and what ``history.load_sources`` filters on (one list
# with the fields it loads, so the two cannot drift), and of a schedule
# (``history.load_schedules``), compared before a save: a change an operator or a discovery
# makes, not new data, so no poll judges it.
JUDGED_SOURCE_FIELDS = (*SOURCE_SETTING_FIELDS, *SOURCE_FILTER_FIELDS)
JUDGED_SCHEDULE_FIELDS = ("deployment_id", "kind", "name", "cron", "timezone", "status", "is_gone")


def changed(instance: Model, fields: tuple[str, ...]) -> bool:
    stored = type(instance)._default_manager.filter(pk=instance.pk).values(*fields).first()
    return stored is None or any(stored[f] != getattr(instance, f) for f in fields)


def source_saving(sender: type[Model], instance: Source, raw: bool = False, **_: Any) -> None:
    if not raw and instance.pk and changed(instance, JUDGED_SOURCE_FIELDS):
        make_due([instance.pk])


def schedule_saving(sender: type[Model], instance: Instigator, raw: bool = False, **_: Any) -> None:
    if raw or not instance.pk or not changed(instance, JUDGED_SCHEDULE_FIELDS):
        return
    make_due(Source.objects.filter(deployment_id=instance.deployment_id).values("pk"))


def rules_changed(**_: Any) -> None:
    make_due()


def connect() -> None:
    """Make sources due when what judges them changes: a rule (its parameters, scope or
    enabled flag), an override, a source's settings, a schedule. New sources have no row."""
    for model in (AlertRule, RuleOverride):
        post_save.connect(rules_changed, sender=model, dispatch_uid=f"deadlines-{model.__name__}")
        post_delete.connect(
            rules_changed, sender=model, dispatch_uid=f"deadlines-del-{model.__name__}"
        )
    m2m_changed.connect(
        rules_changed, sender=AlertRule.scope_sources.through, dispatch_uid="deadlines-scope"
    )
    pre_save.connect(source_saving, sender=Source, dispatch_uid="deadlines-source")
    pre_save.connect(schedule_saving, sender=Instigator, dispatch_uid="deadlines-schedule")
