"""The embedded broker: kombu's file-system transport with atomic hand-offs.

kombu's own ``filesystem`` transport opens a message file in the queue folder, then locks it, then
writes, while a consumer moves and reads it without the lock (kombu issue 1551): a consumer can
read an empty file, and ``json.loads`` raising there kills the Celery worker (with exit status 0).
Here every hand-off is one ``rename`` inside one folder tree, which POSIX makes atomic:

- a producer writes the whole message under ``staging/`` and renames it into ``queue/``, so a
  consumer never sees a partial file;
- a consumer claims a message by renaming it into ``claimed/`` (its name prefixed with the
  claim's time): of two consumers only one rename succeeds (kombu moved it to the system temp
  folder, a copy across file systems that two consumers could both make);
- a message that still cannot be decoded (an empty or hand-made file) is moved to ``rejected/``
  and logged, and the worker goes on; ``/metrics`` and ``/health/detailed`` count them.

The exchange tables behind broadcast (``celery inspect``) are rewritten under an exclusive lock
without being truncated first, so a reader holding the shared lock never sees an empty table.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.virtual import BrokerState
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

# Sub-folders of the broker folder, beside ``queue/`` and ``control/``.
STAGING = "staging"
CLAIMED = "claimed"
REJECTED = "rejected"
ORPHAN_AFTER_SECONDS = 60
# A claimed message is named <claim time, ns>~<its name in the queue>.
CLAIM_MARK = "~"


def transport_options(broker_dir: Path, polling_interval: float) -> dict[str, Any]:
    """Every folder under one broker folder, on one file system, so that renames are atomic."""
    for name in ("queue", "control", STAGING, CLAIMED, REJECTED):
        (broker_dir / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "control_folder": str(broker_dir / "control"),
        "broker_dir": str(broker_dir),
        "polling_interval": polling_interval,
    }


def rejected_count(broker_dir: Path) -> int:
    """Messages set aside because they could not be decoded (kept for an operator to read)."""
    try:
        with os.scandir(broker_dir / REJECTED) as entries:
            return sum(1 for entry in entries if entry.is_file())
    except FileNotFoundError:
        return 0


def queue_of(filename: str) -> str:
    """A message is named ``<ns>_<uuid>.<queue>.msg``; queue names may contain dots."""
    return filename.partition(".")[2].removesuffix(".msg")


class Channel(filesystem.Channel):
    """See the module docstring for what differs from kombu's channel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._restore_orphans()

    def _restore_orphans(self) -> None:
        """A consumer killed between claiming and reading a message leaves it in ``claimed/``;
        it was never handed to Celery, so it goes back to the queue. A claim lasts microseconds:
        one made over a minute ago is an orphan, never a message being read. The claim's time is
        in its name (a file's mtime is when it was published, which can be long before)."""
        cutoff = time.time_ns() - ORPHAN_AFTER_SECONDS * 1_000_000_000
        for name in os.listdir(self.broker_dir / CLAIMED):
            stamp, _, original = name.partition(CLAIM_MARK)
            if not (stamp.isdigit() and original) or int(stamp) > cutoff:
                continue
            try:
                os.rename(self.broker_dir / CLAIMED / name, Path(self.data_folder_in) / original)
            except FileNotFoundError:
                continue  # read or restored by another process meanwhile
            log.warning("broker message %s put back in the queue after a crash", original)

    @property
    def broker_dir(self) -> Path:
        return Path(self.transport_options["broker_dir"])

    # kombu-stubs gives _put and get_table different signatures on its two base classes.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # Consumers take messages in name order: nanoseconds of the wall clock, zero-padded, keep
        # that order across processes and reboots (kombu's unpadded monotonic milliseconds did not).
        name = f"{time.time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        staged = self.broker_dir / STAGING / name
        try:
            with open(staged, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(staged, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to the broker folder") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        for name in sorted(os.listdir(self.data_folder_in)):
            if not name.endswith(".msg") or queue_of(name) != queue:
                continue
            claimed = self.broker_dir / CLAIMED / f"{time.time_ns():020d}{CLAIM_MARK}{name}"
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
                payload = claimed.read_bytes()
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:
                raise ChannelError(f"Cannot read message {name!r} from the broker") from exc
            try:
                message = loads(bytes_to_str(payload))
            except ValueError:
                self._reject(claimed, name, len(payload))
                continue
            claimed.unlink()
            return message
        raise Empty()

    def _reject(self, claimed: Path, name: str, size: int) -> None:
        os.replace(claimed, self.broker_dir / REJECTED / name)
        log.error(
            "broker message set aside: it is not a readable message",
            extra={"file": str(self.broker_dir / REJECTED / name), "bytes": size},
        )

    def get_table(self, exchange: str) -> list[filesystem.exchange_queue_t]:  # type: ignore[override]
        try:
            return super().get_table(exchange)
        except ValueError:
            # Only a table being created by another process can be empty; it binds nothing yet.
            log.warning("broker exchange table %s unreadable, treated as empty", exchange)
            return []

    def _queue_bind(
        self, exchange: str, routing_key: str | None, pattern: str | None, queue: str | None
    ) -> None:
        path = self._exchange_file(exchange)  # type: ignore[attr-defined]  # not in kombu's stubs
        self.control_folder.mkdir(exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ChannelError(f"Cannot open {path}") from exc
        with os.fdopen(descriptor, "rb+", buffering=0) as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            try:
                content = bytes_to_str(file.read())
                try:
                    table = [filesystem.exchange_queue_t(*q) for q in loads(content or "[]")]
                except ValueError:
                    table = []
                if entry not in table:
                    table.insert(0, entry)
                    file.seek(0)
                    file.write(str_to_bytes(dumps(table)))
                    file.truncate()
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)


class Transport(filesystem.Transport):
    Channel = Channel
    # kombu keeps this on the class; a state of our own keeps the two transports apart.
    global_state = BrokerState()
