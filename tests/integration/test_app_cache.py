"""The engagement consumer's trusted cache: a stale aggregate never wins silently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadflow.application.commands import CommandContext
from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.domain.lead import Lead
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def engagement(i: int, kind: str = "webinar_attended") -> object:
    return parse_engagement({
        "event_id": f"c-{i}", "type": kind, "occurred_at": (T0 + timedelta(hours=i)).isoformat(),
        "email": "cache@example.com", "source": "webinar",
    })


def test_stale_cached_lead_is_reloaded_after_a_concurrent_command(
    app: Leadflow, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    consumer = build(Settings(data_dir=tmp_path, database=db_settings), load_config(),
                     sole_writer_cache=True)
    try:
        out = consumer.engagement.record([engagement(0)])  # cached in the consumer
        lead_id = next(iter(out.lead_ids.values()))
        from uuid import UUID

        # Another process changes the lead: the consumer's cached copy is now stale.
        app.leads.set_status(UUID(lead_id), "Working", None, CommandContext.now())
        app.leads.assign(UUID(lead_id), "alice", CommandContext.now())
        consumer.engagement.record([engagement(1, "demo_requested")])
        lead = app.store.get(UUID(lead_id), Lead)
        assert lead.status == "Working" and lead.owner == "alice"
        assert lead.score == 45
        assert [t.event_id for t in lead.touches] == ["c-0", "c-1"]
        # And the consumer's cache now holds the merged truth.
        again = consumer.engagement.record([engagement(2, "form_submitted")])
        assert again.accepted == 1
        assert app.store.get(UUID(lead_id), Lead).score == 55
    finally:
        consumer.close()
