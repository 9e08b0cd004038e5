"""The embedded broker (confops/runtime/broker.py): no torn, lost or doubled message under
concurrent
processes, and an unreadable message is set aside instead of killing the consumer."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from kombu import Connection

from benchmarks.broker import run
from confops.celery import app
from confops.common import queues
from confops.runtime import broker, heartbeat
from tests.fixtures.processes import CeleryProcesses, wait_until

TRANSPORT = "confops.runtime.broker:Transport"
TORN, GARBAGE = f"{0:020d}_a_torn.jobs.msg", f"{0:020d}_b_garbage.jobs.msg"


# kombu keeps declared bindings per process, not per folder: each test uses a queue of its own.
def connect(folder: Path) -> Connection:
    return Connection(transport=TRANSPORT, transport_options=broker.transport_options(folder, 0.01))


def test_an_empty_message_file_is_set_aside_and_the_next_one_is_read(tmp_path: Path) -> None:
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("jobs")
        # Named to sort before any real message (``<ns, 20 digits>_<uuid>``), so they are met first.
        (tmp_path / "queue" / TORN).write_bytes(b"")
        (tmp_path / "queue" / GARBAGE).write_bytes(b"{not json")
        queue.put({"n": 1})
        message = queue.get(timeout=2)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()
    assert broker.rejected_count(tmp_path) == 2
    assert sorted(os.listdir(tmp_path / "rejected")) == [
        TORN,
        GARBAGE,
    ]
    assert os.listdir(tmp_path / "queue") == []


def test_a_producer_never_leaves_a_partial_file_in_the_queue(tmp_path: Path) -> None:
    with connect(tmp_path) as connection:
        queue = connection.SimpleQueue("blobs")
        queue.put({"blob": "x" * 100_000})
        queue.close()
    (name,) = os.listdir(tmp_path / "queue")
    assert name.endswith(".blobs.msg")
    assert os.listdir(tmp_path / "staging") == []


def claimed_name(seconds_ago: float, name: str) -> str:
    return f"{time.time_ns() - int(seconds_ago * 1e9):020d}{broker.CLAIM_MARK}{name}"


def test_a_message_orphaned_by_a_crashed_consumer_goes_back_to_the_queue(tmp_path: Path) -> None:
    """Judged by the claim's time in the name, not the file's mtime: a message that waited long
    in the queue (a worker down for an hour) is claimed with an old mtime and is no orphan."""
    broker.transport_options(tmp_path, 0.01)
    claimed = tmp_path / "claimed"
    (claimed / claimed_name(2 * broker.ORPHAN_AFTER_SECONDS, "1_lost.jobs.msg")).write_text("{}")
    being_read = claimed_name(1, "2_being_read.jobs.msg")
    (claimed / being_read).write_text("{}")
    long_ago = time.time() - 3600
    os.utime(claimed / being_read, (long_ago, long_ago))
    with connect(tmp_path) as connection:
        connection.default_channel  # noqa: B018 - opening a channel is what restores orphans
    assert os.listdir(tmp_path / "queue") == ["1_lost.jobs.msg"]
    assert os.listdir(claimed) == [being_read]


@pytest.mark.slow
def test_concurrent_producers_and_consumers_lose_and_double_nothing() -> None:
    figures = run(TRANSPORT, producers=3, consumers=2, count=400, seconds=20)
    assert figures["received"] == figures["sent"] == 1200, figures
    assert figures["lost"] == figures["received twice"] == figures["consumer errors"] == 0, figures


@pytest.mark.slow
def test_a_worker_survives_an_empty_message_and_health_counts_it(
    celery_processes: CeleryProcesses, admin_client: Client, settings: Any
) -> None:
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("the embedded broker's own behaviour; the Redis pass has no broker folder")
    queue = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    # On the heartbeat's queue, so the worker meets it before the heartbeat.
    (queue / f"1_empty.{queues.ROUTES['confops.heartbeat']}.msg").write_bytes(b"")
    worker = celery_processes.worker()
    app.send_task("confops.heartbeat")
    try:
        wait_until(lambda: heartbeat.read(heartbeat.WORKER_TASK_KEY), 60, "a heartbeat task run")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{celery_processes.logs()}") from None
    assert worker.proc.poll() is None, celery_processes.logs()
    assert "broker message set aside" in worker.log()
    broker_check = admin_client.get("/health/detailed").json()["checks"]["broker"]
    assert broker_check["info"]["rejected_messages"] == 1
    metrics = admin_client.get("/metrics").content.decode()
    assert "confops_broker_rejected_messages 1.0" in metrics
