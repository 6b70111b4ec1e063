"""`stream(world, ...)`: plays a world against a running leadflow, through topics and HTTP.

Per day: the commands that must come first, the day's records, a wait until leadflow holds
every record the day's commands depend on, then the commands. Safe to kill and run again
with the same arguments: records keep their event_ids (deduplicated by leadflow), commands
their Idempotency-Keys (replayed), and lead ids are found again by email.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError

from leadflow.simulate.client import Api
from leadflow.simulate.facts import Ledger
from leadflow.simulate.model import ENGAGEMENT, Command, Record, World
from leadflow.simulate.rules import SimulationError

ACTIONS = {"assign": "assign", "status": "status", "qualify": "qualify", "convert": "convert"}


@dataclass
class RunReport:
    published: int = 0
    republished: int = 0
    commands: int = 0
    refused: int = 0  # 409s the truth expects
    unexpected: list[str] = field(default_factory=list)


class Publisher:
    """kafka-python, idempotent and acks=all; a failed batch is sent again as a whole."""

    def __init__(
        self, bootstrap: str, prefix: str, rate: float | None, patience: float = 300.0
    ) -> None:
        self.bootstrap, self.prefix, self.rate, self.patience = bootstrap, prefix, rate, patience
        self._producer: KafkaProducer | None = None
        self._sent_at = time.monotonic()

    def topic(self, r: Record) -> str:
        return f"{self.prefix}marketing.{r.topic}"

    def _connect(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=20,
                request_timeout_ms=15000,
                max_block_ms=15000,
            )
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            # Closing a producer whose broker is gone may fail; it is gone either way.
            with contextlib.suppress(Exception):
                self._producer.close(timeout=5)
            self._producer = None

    def _pace(self, r: Record) -> None:
        if self.rate and r.topic == ENGAGEMENT:
            self._sent_at = max(self._sent_at + 1 / self.rate, time.monotonic())
            time.sleep(max(0.0, self._sent_at - time.monotonic()))

    def send(self, records: list[Record]) -> None:
        deadline, pause = time.monotonic() + self.patience, 0.5
        while True:
            try:
                producer = self._connect()
                futures = []
                for r in records:
                    self._pace(r)
                    futures.append(producer.send(self.topic(r), key=r.key, value=r.value))
                producer.flush(timeout=60)
                failed = [f for f in futures if not f.succeeded()]
                if not failed:
                    return
                problem = repr(failed[0].exception)
            except (KafkaError, OSError) as e:
                problem = type(e).__name__
            self.close()
            if time.monotonic() > deadline:
                raise SimulationError(
                    f"the broker at {self.bootstrap} took no records for"
                    f" {self.patience:.0f}s (last: {problem})"
                )
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


class Runner:
    def __init__(
        self,
        w: World,
        api: Api,
        publisher: Publisher,
        progress: Callable[[int], None] | None = None,
        stall: float = 60.0,
    ) -> None:
        self.w, self.api, self.publisher = w, api, publisher
        self.progress, self.stall = progress, stall
        self.ledger = Ledger(w.rules)
        self.report = RunReport()
        self.lead_ids: dict[str, str] = {}
        self.contact_ids: dict[str, str] = {}
        self.sent: dict[str, list[Record]] = {}  # per email, every valid record so far

    def run(self) -> RunReport:
        for phase in range(self.w.days):
            for c in self.w.phase_commands(phase, before_publish=True):
                self.ledger.command(c)
                self.execute(c)
            records = self.w.phase_records(phase)
            self.publisher.send(records)
            self.report.published += len(records)
            for r in records:
                self.ledger.publish(r)
                if r.email is not None:
                    self.sent.setdefault(r.email, []).append(r)
            commands = self.w.phase_commands(phase, before_publish=False)
            self.wait({c.email for c in commands if c.email in self.ledger.leads})
            for c in commands:
                self.ledger.command(c)
                self.execute(c)
            if self.progress:
                self.progress(phase)
        # Every lead complete at the end too, so that records a broker lost after the last
        # command that needed them are sent again.
        self.wait(set(self.ledger.leads))
        return self.report

    def wait(self, emails: set[str]) -> None:
        """Until each lead exists in leadflow with every record the truth gives it so far."""
        pending = {e: {t.event_id for t in self.ledger.leads[e].touches} for e in emails}
        last_progress = started = time.monotonic()
        while pending:
            for email, ids in list(pending.items()):
                lead = self.api.lead(email)
                if lead is not None and ids <= {b["event_id"] for b in lead["score_breakdown"]}:
                    self.lead_ids[email] = lead["id"]
                    del pending[email]
                    last_progress = time.monotonic()
            if not pending:
                return
            if time.monotonic() - last_progress > self.stall:
                # A broker that restarted empty loses what it held: send those leads' records
                # again (same event_ids, same order), which leadflow deduplicates.
                again = [r for e in sorted(pending) for r in self.sent.get(e, [])]
                self.publisher.send(again)
                self.report.republished += len(again)
                last_progress = time.monotonic()
            if time.monotonic() - started > 20 * self.stall:
                raise SimulationError(f"{len(pending)} lead(s) never showed all their records")
            time.sleep(0.3)

    def lead_id(self, email: str, fresh: bool = False) -> str:
        if fresh or email not in self.lead_ids:
            lead = self.api.lead(email)
            if lead is None:
                raise SimulationError("a lead the truth expects is missing from leadflow")
            self.lead_ids[email] = lead["id"]
        return self.lead_ids[email]

    def path(self, c: Command, fresh: bool = False) -> str:
        if c.action == "create_contact":
            return "/contacts"
        if c.action in ACTIONS:
            return f"/leads/{self.lead_id(c.email, fresh)}/{ACTIONS[c.action]}"
        lead = self.api.lead(c.email)
        opp = ((lead or {}).get("conversion") or {}).get("opportunity_id")
        if opp is None:
            raise SimulationError("an opportunity the truth expects is missing from leadflow")
        return f"/opportunities/{opp}/{c.action}"

    def execute(self, c: Command) -> None:
        contact_id = self.contact_ids.get(c.link_contact) if c.link_contact else None
        body = c.json_body(contact_id)
        r = self.api.request("POST", self.path(c), content=body, key=c.key)
        if r.status_code == 404 and c.action in ACTIONS:
            r = self.api.request("POST", self.path(c, fresh=True), content=body, key=c.key)
        self.report.commands += 1
        if c.action == "create_contact" and r.status_code == 201:
            self.contact_ids[c.email] = r.json()["id"]
        if r.status_code == 409 and c.expect == 409:
            self.report.refused += 1
        elif r.status_code != c.expect:
            # Error texts name ids and rules, never personal data.
            self.report.unexpected.append(
                f"{c.key} {c.action}: expected HTTP {c.expect}, got {r.status_code} {r.text[:200]}"
            )


def stream(
    w: World,
    bootstrap: str,
    api_url: str,
    *,
    api_key: str | None = None,
    topic_prefix: str = "",
    rate: float | None = None,
    progress: Callable[[int], None] | None = None,
    patience: float = 300.0,
) -> RunReport:
    """Plays `w` against leadflow; the report lists any answer the truth did not expect."""
    publisher = Publisher(bootstrap, topic_prefix, rate, patience)
    try:
        with Api(api_url, api_key, patience=patience) as api:
            return Runner(w, api, publisher, progress).run()
    finally:
        publisher.close()
