"""A lead's history (CONTRACT 9 "Audit"): its stored events in version order, each with who
asked for it and under which idempotency key.

Events an API command caused carry the key's name as `actor` (or `(loopback)` while the API
was open, `cli` from the command line); events that engagement caused carry `actor: null`,
as no one asked for them: the inbound record (payload `event_id`, `source`) says where they
came from.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from leadflow.domain.errors import NotFound
from leadflow.domain.lead import Lead
from leadflow.infra.store import Store
from leadflow.producers.envelope import to_json_value

MAX_LIMIT = 1000
_INTERNAL = {"originator_id", "originator_version", "timestamp", "originator_topic", "audit"}


def history_item(event: Any) -> dict[str, Any]:
    state = dict(vars(event))
    audit = state.get("audit") or {}
    item: dict[str, Any] = {
        "version": state["originator_version"],
        "type": type(event).__name__,
        "occurred_at": to_json_value(state.get("occurred_at")),
    }
    if state.get("timestamp") is not None:
        item["recorded_at"] = to_json_value(state["timestamp"])
    item["actor"] = audit.get("actor")
    item["idempotency_key"] = audit.get("idempotency_key")
    item["payload"] = {k: to_json_value(v) for k, v in state.items() if k not in _INTERNAL}
    return item


def lead_history(
    store: Store, lead_id: UUID, after: int | None = None, limit: int = MAX_LIMIT
) -> dict[str, Any]:
    """Up to `limit` events after version `after`; `next_cursor` continues, if there are more."""
    if store.find(lead_id, Lead) is None:
        raise NotFound("no such lead", {"lead_id": str(lead_id)})
    events = list(store.app.events.get(lead_id, gt=after, limit=limit + 1))
    items = [history_item(e) for e in events[:limit]]
    more = len(events) > limit
    return {
        "lead_id": str(lead_id),
        "items": items,
        "next_cursor": str(items[-1]["version"]) if more and items else None,
    }
