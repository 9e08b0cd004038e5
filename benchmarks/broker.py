"""Several producer and consumer processes hammer one file-system broker folder.

    .venv/bin/python benchmarks/broker.py [--producers 4] [--consumers 3] [--messages 1500]

Runs the same load through kombu's own ``filesystem`` transport and through confops' one
(confops/runtime/broker.py) and prints, for each, messages sent, received, lost, received twice and
the
errors consumers met (each of which kills a Celery worker). Evidence for the embedded broker's
choice: docs/architecture.md.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kombu import Connection

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from benchmarks.health import machine  # noqa: E402
from confops.runtime import broker  # noqa: E402

TRANSPORTS = {
    "kombu": "kombu.transport.filesystem:Transport",
    "confops": "confops.runtime.broker:Transport",
}
QUEUE = "stress"


def connect(folder: str, transport: str) -> Connection:
    options = broker.transport_options(Path(folder), polling_interval=0.01)
    return Connection(transport=transport, transport_options=options)


def produce(folder: str, transport: str, producer: int, count: int) -> None:
    with connect(folder, transport) as connection:
        queue = connection.SimpleQueue(QUEUE)
        for number in range(count):
            queue.put({"producer": producer, "number": number})
        queue.close()


def consume(folder: str, transport: str, results: Any, deadline: float) -> None:
    received, errors = [], 0
    with connect(folder, transport) as connection:
        queue = connection.SimpleQueue(QUEUE)
        while time.time() < deadline:
            try:
                message = queue.get(timeout=0.2)
            except queue.Empty:
                continue
            except Exception:  # what kills a Celery worker: counted, not hidden
                errors += 1
                continue
            received.append((message.payload["producer"], message.payload["number"]))
            message.ack()
        queue.close()
    results.put((received, errors))


def run(
    transport: str, producers: int, consumers: int, count: int, seconds: float
) -> dict[str, int]:
    folder = tempfile.mkdtemp(prefix="confops-broker-")
    # Spawned, not forked: a fork would inherit the caller's open sockets (a test's database
    # and Redis connections), and a child reading one blocks for good.
    spawn = multiprocessing.get_context("spawn")
    results: Any = spawn.Queue()
    deadline = time.time() + seconds
    readers = [
        spawn.Process(target=consume, args=(folder, transport, results, deadline))
        for _ in range(consumers)
    ]
    writers = [
        spawn.Process(target=produce, args=(folder, transport, p, count)) for p in range(producers)
    ]
    for process in readers + writers:
        process.start()
    for process in writers:
        process.join()
    outcomes = [results.get(timeout=seconds + 30) for _ in readers]
    for process in readers:
        process.join()
    if any(p.exitcode != 0 for p in readers + writers):
        raise SystemExit(f"{transport}: a producer or consumer process died")
    seen = collections.Counter(item for received, _ in outcomes for item in received)
    sent = producers * count
    lost = sum(1 for p in range(producers) for n in range(count) if (p, n) not in seen)
    twice = sum(n - 1 for n in seen.values() if n > 1)
    errors = sum(e for _, e in outcomes)
    rejected = broker.rejected_count(Path(folder))
    return {
        "sent": sent,
        "received": sum(seen.values()),
        "lost": lost,
        "received twice": twice,
        "consumer errors": errors,
        "set aside": rejected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--consumers", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1500, help="per producer")
    parser.add_argument("--seconds", type=float, default=40, help="consumers stop after this")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "confops.settings")
    print(f"machine: {machine()}")
    print(f"{args.producers} producers x {args.messages} messages, {args.consumers} consumers")
    for label, transport in TRANSPORTS.items():
        figures = run(transport, args.producers, args.consumers, args.messages, args.seconds)
        print(f"{label:8} " + ", ".join(f"{name} {n}" for name, n in figures.items()))


if __name__ == "__main__":
    main()
