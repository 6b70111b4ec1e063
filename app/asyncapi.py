"""The AsyncAPI 3.0 description of leadflow's topics (CONTRACT 2-5), generated from the code.

Payload schemas come from the pydantic models that validate inbound records and that
subscribers parse with, so the document cannot drift from them:

    python -m leadflow.asyncapi > docs/asyncapi.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from leadflow.consumers.inbound import ENGAGEMENT_GROUP, SPEND_GROUP
from leadflow.domain.engagement import ENGAGEMENT_TYPES
from leadflow.producers.envelope import SCHEMA_VERSION
from leadflow.schemas import EngagementIn, SpendIn
from leadflow.subscribe import Envelope, LeadConverted, PersonErased
from leadflow.topics import AGGREGATE_TYPES, Topics

CONTRACT_VERSION = "1.1.0"
KAFKA_BINDING = "0.5.0"
DLQ_HEADERS = ("leadflow.error", "leadflow.source.topic", "leadflow.source.partition",
               "leadflow.source.offset")  # fmt: skip

# What the models check in validators, which their JSON Schema cannot show by itself.
_NOTES: dict[str, dict[str, dict[str, Any]]] = {
    "EngagementIn": {
        "type": {"enum": list(ENGAGEMENT_TYPES), "description": "a key of the points table"},
        "occurred_at": {"description": "RFC 3339 with an offset; at most 24 h in the future"},
        "email": {"description": "a valid address; its identity is email.strip().lower()"},
    },
    "SpendIn": {
        "amount": {"description": ">= 0, as a decimal string or a number"},
        "currency": {"description": "must be the reporting currency (LEADFLOW_CURRENCY)"},
        "period_end": {"description": "on or after period_start"},
        "replaces": {"description": "an earlier spend event_id whose amount this replaces"},
    },
    "PersonIn": {"country": {"description": "ISO 3166-1 alpha-2"}},
}

ENGAGEMENT_EXAMPLE: dict[str, Any] = {
    "event_id": "mkto-8812731", "type": "webinar_attended",
    "occurred_at": "2026-09-14T16:02:11+02:00", "email": "Ada.Lovelace@Example.com ",
    "source": "webinar", "campaign": "2026-q3-analytics-webinar",
    "person": {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines Ltd",
               "job_title": "CTO", "country": "GB", "company_size": 120, "industry": "software",
               "phone": "+44 20 7946 0000", "product_interest": "analytics"},
    "properties": {"url": "https://example.com/webinars/42"},
}  # fmt: skip
SPEND_EXAMPLE: dict[str, Any] = {
    "event_id": "spend-2026-09-li", "source": "paid_social",
    "campaign": "2026-q3-analytics-webinar", "amount": "4200.00", "currency": "USD",
    "period_start": "2026-09-01", "period_end": "2026-09-30", "replaces": None,
}  # fmt: skip
LEAD_CONVERTED_EXAMPLE: dict[str, Any] = {
    "event_id": "0b6f2c1e-5d0a-5c7e-9a43-3f1b7f0f2a10", "type": "LeadConverted",
    "schema_version": SCHEMA_VERSION, "aggregate_type": "Lead",
    "aggregate_id": "8d1e4c7a-2b9f-4e0d-a6c3-5f7b9e1d2c40", "aggregate_version": 7,
    "position": 48213, "occurred_at": "2026-09-20T12:00:00Z",
    "recorded_at": "2026-09-20T12:00:01.204Z", "causation_id": "convert-8812", "actor": "crm",
    "payload": {
        "lead_id": "8d1e4c7a-2b9f-4e0d-a6c3-5f7b9e1d2c40", "email": "ada.lovelace@example.com",
        "contact_id": "3c9a7e52-81f4-4b6d-9e0a-7d2f5c1b8e63", "contact_created": True,
        "account_id": "f4b2d8e1-6a3c-4f9e-8b7d-1c5e9a2f4d86", "account_created": True,
        "opportunity_id": "a7e3c9f1-2d8b-4e6a-9c5f-3b1d7e9a2c48",
        "opportunity_amount": "1250.00", "owner": "alice", "source": "webinar",
        "campaign": "2026-q3-analytics-webinar", "converted_at": "2026-09-20T12:00:00Z",
    },
}  # fmt: skip

PERSON_ERASED_EXAMPLE: dict[str, Any] = {
    "event_id": "5e2b8c1d-7f3a-5b9e-8d4c-2a6f1e9b3c70", "type": "PersonErased",
    "schema_version": SCHEMA_VERSION, "aggregate_type": "Person",
    "aggregate_id": "c2f7a9e4-3b1d-4c8e-9f6a-8e4d2b7c1a95", "aggregate_version": 1,
    "position": 50120, "occurred_at": "2026-10-02T09:30:00.125Z",
    "recorded_at": "2026-10-02T09:30:00.125Z", "causation_id": None, "actor": "dpo",
    "payload": {
        "person_id": "c2f7a9e4-3b1d-4c8e-9f6a-8e4d2b7c1a95",
        "lead_ids": ["8d1e4c7a-2b9f-4e0d-a6c3-5f7b9e1d2c40"],
        "contact_ids": ["3c9a7e52-81f4-4b6d-9e0a-7d2f5c1b8e63"],
        "account_ids": [], "opportunity_ids": ["a7e3c9f1-2d8b-4e6a-9c5f-3b1d7e9a2c48"],
        "erased_at": "2026-10-02T09:30:00.125Z",
    },
}  # fmt: skip


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)}


def _schemas(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    """Component schemas of ``models`` and of every model they nest, with refs rewritten."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    for name, notes in _NOTES.items():
        for field, extra in notes.items():
            out[name]["properties"][field].update(extra)
    return dict(sorted(out.items()))


def _headers(names: Sequence[str], describe: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {n: {"type": "string", "description": describe[n]} for n in names},
        "required": list(names),
    }


def _key(description: str, **schema: Any) -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "description": description, **schema},
                      "bindingVersion": KAFKA_BINDING}}  # fmt: skip


def _messages() -> dict[str, Any]:
    dlq_headers = _headers(DLQ_HEADERS, {
        "leadflow.error": "why the record was rejected, for a person to read",
        "leadflow.source.topic": "the topic the record was read from",
        "leadflow.source.partition": "its partition, in decimal",
        "leadflow.source.offset": "its offset, in decimal",
    })  # fmt: skip
    event_headers = _headers(("event_type", "schema_version"), {
        "event_type": "the envelope's type, e.g. LeadConverted",
        "schema_version": f"the envelope's schema_version, in decimal (now {SCHEMA_VERSION})",
    })  # fmt: skip
    converted_headers = copy.deepcopy(event_headers)
    converted_headers["properties"]["event_type"]["const"] = "LeadConverted"
    erased_headers = copy.deepcopy(event_headers)
    erased_headers["properties"]["event_type"]["const"] = "PersonErased"
    aggregate_key = _key("the aggregate id: one aggregate's events stay in order", format="uuid")
    rejected = {
        "contentType": "application/octet-stream",
        "headers": dlq_headers,
        "payload": {"description": "the rejected record's value, byte for byte (may not be JSON)"},
        "bindings": _key("the key as received"),
    }
    return {
        "Engagement": {
            "name": "Engagement",
            "title": "Engagement event (CONTRACT 3)",
            "payload": _ref("components", "schemas", "EngagementIn"),
            "bindings": _key(
                "the normalised email (senders should), so one person's records stay in order"
            ),
            "examples": [{"name": "webinar", "payload": ENGAGEMENT_EXAMPLE}],
        },
        "Spend": {
            "name": "Spend",
            "title": "Spend record (CONTRACT 4)",
            "payload": _ref("components", "schemas", "SpendIn"),
            "bindings": _key("the source"),
            "examples": [{"name": "monthly", "payload": SPEND_EXAMPLE}],
        },
        "RejectedEngagement": {
            "name": "RejectedEngagement",
            **rejected,
            "title": "Rejected engagement input (CONTRACT 3.4)",
        },
        "RejectedSpend": {
            "name": "RejectedSpend",
            **rejected,
            "title": "Rejected spend input (CONTRACT 3.4)",
        },
        "DomainEvent": {
            "name": "DomainEvent",
            "title": "Domain event envelope (CONTRACT 5)",
            "summary": (
                "At least once, same event_id on re-delivery; per aggregate in "
                "aggregate_version order. Ignore unknown fields."
            ),
            "headers": event_headers,
            "payload": _ref("components", "schemas", "Envelope"),
            "bindings": aggregate_key,
        },
        "LeadConverted": {
            "name": "LeadConverted",
            "title": "A lead was converted (one atomic event)",
            "headers": converted_headers,
            "payload": _ref("components", "schemas", "LeadConvertedEnvelope"),
            "bindings": aggregate_key,
            "examples": [
                {
                    "name": "with-opportunity",
                    "payload": LEAD_CONVERTED_EXAMPLE,
                    "headers": {
                        "event_type": "LeadConverted",
                        "schema_version": str(SCHEMA_VERSION),
                    },
                }
            ],
        },
        "PersonErased": {
            "name": "PersonErased",
            "title": "A person was erased (CONTRACT 9): delete your copies of their data",
            "summary": (
                "Ids and time only. Their earlier events, delivered again from now on, carry "
                "no personal data (email, names, phone, notes are null or absent)."
            ),
            "headers": erased_headers,
            "payload": _ref("components", "schemas", "PersonErasedEnvelope"),
            "bindings": _key("the person id (random, not derived from the email)", format="uuid"),
            "examples": [
                {
                    "name": "converted-lead",
                    "payload": PERSON_ERASED_EXAMPLE,
                    "headers": {
                        "event_type": "PersonErased",
                        "schema_version": str(SCHEMA_VERSION),
                    },
                }
            ],
        },
    }


def _channel(address: str, description: str, messages: dict[str, str]) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "messages": {k: _ref("components", "messages", m) for k, m in messages.items()},
        "bindings": {"kafka": {"topic": address, "partitions": 6, "bindingVersion": KAFKA_BINDING}},
    }


def build_document() -> dict[str, Any]:
    t = Topics()
    channels: dict[str, Any] = {
        "engagement": _channel(t.engagement, "Marketing engagement, read by leadflow.",
                               {"engagement": "Engagement"}),
        "engagementDlq": _channel(t.engagement_dlq, "Engagement records leadflow rejected.",
                                  {"rejected": "RejectedEngagement"}),
        "spend": _channel(t.spend, "Marketing spend, read by leadflow.", {"spend": "Spend"}),
        "spendDlq": _channel(t.spend_dlq, "Spend records leadflow rejected.",
                             {"rejected": "RejectedSpend"}),
    }  # fmt: skip
    operations: dict[str, Any] = {}
    for op, channel, action, group in (
        ("receiveEngagement", "engagement", "receive", ENGAGEMENT_GROUP),
        ("sendRejectedEngagement", "engagementDlq", "send", None),
        ("receiveSpend", "spend", "receive", SPEND_GROUP),
        ("sendRejectedSpend", "spendDlq", "send", None),
    ):
        operations[op] = _operation(channels, channel, action, group)
    for aggregate in AGGREGATE_TYPES:
        name = f"{aggregate[0].lower()}{aggregate[1:]}Events"
        messages = {"domainEvent": "DomainEvent"}
        if aggregate == "Lead":
            messages["leadConverted"] = "LeadConverted"
        if aggregate == "Person":
            messages["personErased"] = "PersonErased"
        note = {
            "Spend": " (not in CONTRACT 2; feeds the ROI read model)",
            "Person": " (not in CONTRACT 2; erasures, CONTRACT 9)",
        }.get(aggregate, "")
        channels[name] = _channel(
            t.events(aggregate), f"Domain events of {aggregate} aggregates{note}.", messages
        )
        operations[f"publish{aggregate}Events"] = _operation(channels, name, "send", None)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "leadflow",
            "version": CONTRACT_VERSION,
            "description": (
                "Event-sourced lead management. Operations are from leadflow's point of "
                "view: it receives the inbound marketing topics and sends dead letters and "
                "domain events. Values are UTF-8 JSON."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:9094",
                "protocol": "kafka",
                "description": "docker compose; elsewhere LEADFLOW_KAFKA_BOOTSTRAP",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": _component_schemas(), "messages": _messages()},
    }


def _operation(
    channels: dict[str, Any], channel: str, action: str, group: str | None
) -> dict[str, Any]:
    messages = channels[channel]["messages"]
    op: dict[str, Any] = {
        "action": action,
        "channel": _ref("channels", channel),
        "messages": [_ref("channels", channel, "messages", m) for m in messages],
    }
    if group is not None:
        op["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [group]},
                                    "bindingVersion": KAFKA_BINDING}}  # fmt: skip
    return op


def _component_schemas() -> dict[str, Any]:
    schemas = _schemas([EngagementIn, SpendIn, Envelope, LeadConverted, PersonErased])
    for event_type, aggregate in (("LeadConverted", "Lead"), ("PersonErased", "Person")):
        schemas[f"{event_type}Envelope"] = {
            "allOf": [
                _ref("components", "schemas", "Envelope"),
                {"type": "object", "properties": {
                    "type": {"const": event_type},
                    "aggregate_type": {"const": aggregate},
                    "payload": _ref("components", "schemas", event_type),
                }},
            ],
        }  # fmt: skip
    return schemas


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print leadflow's AsyncAPI document.")
    parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    if args.output is None:
        sys.stdout.write(render())
    else:
        args.output.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
