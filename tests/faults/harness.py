"""One leadflow system for fault tests: an embedded broker and every part as its own
`python -m leadflow ...` process, which the test kills, restarts and scales by hand.

Not `leadflow up`: it restarts dead children by itself, and the tests must decide exactly
when a part is down and when it comes back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from leadflow.infra.broker import EmbeddedBroker, ensure_topics
from leadflow.settings import DatabaseSettings
from leadflow.topics import Topics
from tests.faults.process import Process, free_port, wait_until

__all__ = ["Process", "System", "wait_until"]
PARTITIONS = 3
#: The part kinds and the `leadflow` arguments that run one.
COMMANDS: dict[str, list[str]] = {
    "relay": ["relay"],
    "engagement": ["consume", "engagement"],
    "spend": ["consume", "spend"],
    "projections": ["project"],
    "api": ["api"],
}
#: What a part logs (JSON, LEADFLOW_LOG_FORMAT=json) once it has built its store.
STARTED: dict[str, str] = {
    "relay": '"relay started"',
    "engagement": '"consumer started"',
    "spend": '"consumer started"',
    "projections": '"projection consumer started"',
}
#: ... and once it is in its loop (the projections: partitions assigned).
READY = {**STARTED, "projections": '"partitions assigned"'}


class System:
    """Broker, relay, two inbound consumers, projection consumer(s) and the API.

    ``database_url`` is a SQLite file or a PostgreSQL schema; ``app_name`` (PostgreSQL) is
    given to every part as PGAPPNAME, which libpq uses as the connections'
    application_name, so :meth:`terminate_db_connections` hits this system's backends and
    nothing of the tests running beside it.
    """

    def __init__(self, workdir: Path, database_url: str, app_name: str) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.app_name = app_name
        self.broker = EmbeddedBroker()
        self.topics = Topics(prefix="")  # the broker is this system's alone
        self.api_url = f"http://127.0.0.1:{free_port()}"
        self.http = httpx.Client(base_url=self.api_url, timeout=30)
        self.parts: dict[str, list[Process]] = {kind: [] for kind in COMMANDS}
        self.retired: list[Process] = []  # removed by scaling down; their logs stay
        self._serial = 0

    @property
    def bootstrap(self) -> str:
        return str(self.broker.bootstrap)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
        env.update(
            LEADFLOW_KAFKA_BOOTSTRAP=self.bootstrap,
            LEADFLOW_TOPIC_PREFIX=self.topics.prefix,
            LEADFLOW_TOPIC_PARTITIONS=str(PARTITIONS),
            LEADFLOW_DATABASE_URL=self.database_url,
            LEADFLOW_DATA_DIR=str(self.workdir),
            LEADFLOW_HTTP=self.api_url.removeprefix("http://"),
            LEADFLOW_LOG_FORMAT="json",
            PGAPPNAME=self.app_name,
        )
        return env

    # --- starting and stopping --------------------------------------------------------

    def start(self) -> None:
        self.broker.start()
        ensure_topics(self.bootstrap, self.topics.all, PARTITIONS)
        # One at a time, each once it has built its store: eventsourcing creates (or
        # replaces) its tables and functions at every start, and on a PostgreSQL schema two
        # parts doing so at once collide ("tuple concurrently updated", or a duplicate
        # pg_type row) and one exits. The relay first: it writes the broker's epoch marker.
        for kind in COMMANDS:
            self.add(kind)
        self.wait_ready()

    def add(self, kind: str) -> Process:
        """Starts one more process of ``kind`` (several only make sense for projections)
        and waits until it has built its store."""
        self._serial += 1
        process = Process(f"{kind}-{self._serial}", COMMANDS[kind], self.env(), self.workdir)
        process.start()
        self.parts[kind].append(process)
        self.wait_started(process, kind)
        return process

    def wait_started(self, process: Process, kind: str) -> None:
        if kind == "api":
            wait_until(lambda: self.ready(process, kind), 60, f"{process.name} to answer",
                       alive=self.assert_alive)  # fmt: skip
        else:
            wait_until(lambda: STARTED[kind] in process.text(), 60, f"{process.name} to start",
                       alive=self.assert_alive)  # fmt: skip

    def one(self, kind: str) -> Process:
        assert len(self.parts[kind]) == 1, f"{len(self.parts[kind])} {kind} processes"
        return self.parts[kind][0]

    def ready(self, process: Process, kind: str) -> bool:
        if kind == "api":
            try:
                return self.http.get("/status", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False
        return READY[kind] in process.text()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Every running process is in its loop (the projections: partitions assigned)."""
        for kind, processes in self.parts.items():
            for p in processes:
                wait_until(
                    lambda p=p, kind=kind: self.ready(p, kind),  # type: ignore[misc]
                    timeout,
                    f"{p.name} to be ready",
                    alive=self.assert_alive,
                )

    def restart(self, kind: str) -> Process:
        """SIGKILLs the one process of ``kind`` and starts it again at once."""
        process = self.one(kind)
        process.kill()
        process.start()
        self.wait_started(process, kind)
        wait_until(
            lambda: self.ready(process, kind),
            90,
            f"{process.name} to come back",
            alive=self.assert_alive,
        )
        return process

    def remove(self, kind: str, count: int = 1) -> list[int | None]:
        """Stops the ``count`` newest processes of ``kind`` cleanly, all at once (they
        leave their group together); their exit codes."""
        leaving = [self.parts[kind].pop() for _ in range(count)]
        self.retired += leaving
        for p in leaving:
            p.terminate()
        return [p.stop() for p in leaving]

    def restart_broker(self) -> None:
        """Same port, nothing kept: no topics, records, committed offsets or groups."""
        self.broker.restart()

    @contextlib.contextmanager
    def supervised(self) -> Iterator[list[str]]:
        """Starts again every part that exits, as `leadflow up` does; yields the list of
        the exits it saw (name, exit code and the log's last lines), growing as it goes."""
        exits: list[str] = []
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.5):
                for processes in self.parts.values():
                    for p in processes:
                        if p.proc is not None and not p.running:
                            exits.append(f"{p.name} exited ({p.proc.returncode}):\n{p.tail()}")
                            p.start()

        watcher = threading.Thread(target=watch, name="supervisor", daemon=True)
        watcher.start()
        try:
            yield exits
        finally:
            done.set()
            watcher.join(10)

    def assert_alive(self) -> None:
        for processes in self.parts.values():
            for p in processes:
                if p.proc is not None and not p.running:
                    raise AssertionError(f"{p.name} exited ({p.proc.returncode}):\n{p.tail()}")

    def stop(self) -> dict[str, int | None]:
        """Stops every part (SIGTERM to all at once, so no group sees members leave one
        after another), then the broker; the exit codes."""
        codes: dict[str, int | None] = {}
        everything = [p for ps in self.parts.values() for p in ps]
        for p in everything:
            p.terminate()
        for p in everything:
            codes[p.name] = p.stop()
        self.http.close()
        self.broker.stop()
        return codes

    # --- the database ---------------------------------------------------------------

    def terminate_db_connections(self) -> int:
        """pg_terminate_backend on every backend of this system's parts; how many.

        By application_name (PGAPPNAME, set per system) rather than by user or database:
        the tests of other engineers run against the same server with the same user.
        """
        from leadflow.infra.store import admin_connection

        db = DatabaseSettings.from_url(self.database_url, self.workdir)
        assert db.kind == "postgres", "only PostgreSQL has backends to terminate"
        with admin_connection(db) as conn:
            conn.execute("SET application_name = 'leadflow-fault-injector'")
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()", (self.app_name,),
            ).fetchall()  # fmt: skip
        return sum(1 for (done,) in rows if done)

    def db_connections(self) -> int:
        from leadflow.infra.store import admin_connection

        db = DatabaseSettings.from_url(self.database_url, self.workdir)
        with admin_connection(db) as conn:
            conn.execute("SET application_name = 'leadflow-fault-injector'")
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                               (self.app_name,)).fetchone()  # fmt: skip
        return int(row[0])

    # --- what the system says --------------------------------------------------------

    def status(self) -> dict[str, Any]:
        response = self.http.get("/status", timeout=30)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def lags(self) -> dict[str, int]:
        s = self.status()
        out = {"relay": int(s["relay"]["lag"])}
        out.update({f"projection {p['name']}": int(p["lag"]) for p in s["projections"]})
        out.update({f"consumer {c['group']}": int(c["lag"]) for c in s["consumers"]})
        return out

    def settled(self) -> bool:
        try:
            return all(lag == 0 for lag in self.lags().values())
        except httpx.HTTPError:
            return False

    def diagnostics(self) -> str:
        """Every process's last log lines, for a failure message."""
        parts = [f"--- {p.name} ---\n{p.tail()}" for ps in self.parts.values() for p in ps]
        return "\n".join(parts)
