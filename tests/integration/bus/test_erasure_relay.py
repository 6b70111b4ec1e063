"""Erasure on the bus (CONTRACT 9): `PersonErased` is published, read models built from the
topics are scrubbed by it, and re-publishing the store after the erasure carries none of the
person's data while everyone else's events still carry theirs."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.infra.broker import ensure_topics
from leadflow.producers.relay import Relay, RelaySettings
from leadflow.projections.consumer import ProjectionConsumer, ProjectionSettings
from leadflow.settings import DatabaseSettings, Settings
from leadflow.topics import Topics
from tests.integration.bus.test_relay import envelopes, read_records
from tests.integration.erasure_scenario import ADA, ADA_SECRETS, BO, build_history, ctx, present

pytestmark = pytest.mark.kafka
RM = {"rm_leads": "leadflow_rm_leads"}


def publish_all(app: Leadflow, bootstrap: str, topics: Topics) -> int:
    relay = Relay(app.store, RelaySettings(bootstrap=bootstrap, topics=topics, partitions=3))
    relay.start()
    try:
        total = 0
        while (n := relay.publish_batch()) > 0:
            total += n
        return total
    finally:
        relay.close()


def apply_until(consumer: ProjectionConsumer, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while consumer.applied < count:
        assert time.monotonic() < deadline, f"applied {consumer.applied} of {count}"
        consumer.run_once()


def emails(lf: Leadflow) -> set[str | None]:
    return {r[0] for r in lf.store.side.query("SELECT email FROM {rm_leads}", (), RM)}


def test_erasure_is_published_scrubs_projections_and_republishing_carries_no_personal_data(
    app: Leadflow, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    built = build_history(app)
    published = publish_all(app, kafka_bootstrap, topics)
    # Read models built from the topics, in a database of their own.
    elsewhere = build(
        Settings(
            data_dir=tmp_path / "rm", database=DatabaseSettings.from_url(None, tmp_path / "rm")
        ),
        load_config(),
    )
    group = f"rm-{uuid.uuid4().hex[:8]}"
    consumer = ProjectionConsumer(
        elsewhere.store, ProjectionSettings(kafka_bootstrap, topics, group_id=group)
    )
    consumer.start()
    try:
        apply_until(consumer, published)
        assert emails(elsewhere) == {ADA, BO}

        answer = app.erasure.erase(ADA, ctx())
        assert publish_all(app, kafka_bootstrap, topics) == 1
        apply_until(consumer, published + 1)
        assert emails(elsewhere) == {None, BO}
    finally:
        consumer.close()
        elsewhere.close()

    erased = envelopes(read_records(kafka_bootstrap, [topics.events("Person")]))
    assert [e["type"] for e in erased] == ["PersonErased"]
    payload = erased[0]["payload"]
    assert payload["lead_ids"] == [str(built.ada_lead)] == answer["lead_ids"]
    assert payload["contact_ids"] == answer["contact_ids"]
    assert set(payload) == {"person_id", "lead_ids", "contact_ids", "account_ids",
                            "opportunity_ids", "erased_at"}  # fmt: skip
    assert present(json.dumps(erased), ADA_SECRETS) == []

    # The relay starts over (as after a broker that lost its data), to fresh topics.
    again = Topics(prefix=f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics(kafka_bootstrap, again.all, partitions=3)
    app.store.side.set_position("relay", 0)
    assert publish_all(app, kafka_bootstrap, again) == published + 1
    records = envelopes(read_records(kafka_bootstrap, again.domain_events))
    assert len(records) == published + 1
    text = json.dumps(records, ensure_ascii=False)
    assert present(text, ADA_SECRETS) == []
    assert present(text, (BO,)) == [BO]  # the others' events still carry their data
    converted = [e for e in records if e["type"] == "LeadConverted"]
    assert [e["payload"]["email"] for e in converted] == [None]
    ada_events = [e for e in records if e["aggregate_id"] == str(built.ada_lead)]
    assert {e["type"] for e in ada_events} >= {"LeadCaptured", "EngagementRecorded",
                                               "LeadQualified", "LeadConverted"}  # fmt: skip
