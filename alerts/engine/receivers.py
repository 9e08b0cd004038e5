"""The alert engine listens to monitoring: sources a poll or a push touched are judged at once,
in the same worker, which saves a broker round trip on the path from failure to message."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from alerts.engine import deadlines, evaluation
from alerts.engine.locks import evaluation_locks
from alerts.signals import evaluated
from monitoring.models import Source

logger = logging.getLogger(__name__)


def judge_touched_sources(source_ids: set[int], now: datetime, **_: Any) -> None:
    try:
        with evaluation_locks(shard_locks(source_ids)) as locked:
            if locked:
                started = time.perf_counter()
                evaluation.evaluate(now, source_ids=source_ids, record_next_checks=True)
                seconds = time.perf_counter() - started
                evaluated.send(
                    sender=judge_touched_sources, trigger="poll", seconds=seconds, now=now
                )
            else:
                logger.warning("evaluation of %d sources skipped: lock held", len(source_ids))
                deadlines.make_due(source_ids)  # the timer pass judges them instead
    except Exception:
        # Judging must never break observing: the timer evaluation will catch up.
        logger.exception("evaluation after a poll failed")
        try:
            deadlines.make_due(source_ids)
        except Exception:
            logger.exception("could not leave the touched sources to the timer pass")


def shard_locks(source_ids: set[int]) -> list[str]:
    """The timer pass's shards these sources belong to (a poll touches one deployment's)."""
    deployments = Source.objects.filter(pk__in=source_ids).values_list("deployment_id", flat=True)
    return [deadlines.Shard(pk).lock_name for pk in set(deployments)]
