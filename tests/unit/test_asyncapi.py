"""docs/asyncapi.json: generated from the models, shaped as AsyncAPI 3.0, true to CONTRACT 2-5."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadflow.asyncapi import (
    DLQ_HEADERS,
    ENGAGEMENT_EXAMPLE,
    LEAD_CONVERTED_EXAMPLE,
    SPEND_EXAMPLE,
    build_document,
    render,
)
from leadflow.schemas import parse_engagement, parse_spend
from leadflow.subscribe import Envelope, LeadConverted

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.json"
CONTRACT_PLACES = [ROOT / "CONTRACT.md", ROOT / "docs" / "CONTRACT.md",
                   Path("/work/shared/CONTRACT.md")]  # fmt: skip
COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_document()


@pytest.fixture(scope="module")
def contract() -> str:
    places = [Path(p) for p in [os.environ.get("LEADFLOW_CONTRACT")] if p] + CONTRACT_PLACES
    for place in places:
        if place.is_file():
            return place.read_text(encoding="utf-8")
    pytest.skip(f"no CONTRACT.md (set LEADFLOW_CONTRACT); looked in {', '.join(map(str, places))}")


def section(contract: str, number: str) -> str:
    match = re.search(rf"^##+ {re.escape(number)}\.? .*?(?=^##+ \d)", contract, re.M | re.S)
    assert match, f"CONTRACT has no section {number}"
    return match.group(0)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local refs: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_the_committed_document_is_what_the_code_generates_now() -> None:
    assert COMMITTED.is_file(), "run: python -m leadflow.asyncapi > docs/asyncapi.json"
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale; run: python -m leadflow.asyncapi > docs/asyncapi.json"
    )


def test_it_has_the_shape_of_an_asyncapi_3_document(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and re.match(r"^\d+\.\d+\.\d+$", doc["info"]["version"])
    for server in doc["servers"].values():
        assert server["host"] and server["protocol"] == "kafka"
    for ref in refs(doc):
        resolve(doc, ref)
    for name, channel in doc["channels"].items():
        assert channel["address"] and channel["messages"], name
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
    for name, op in doc["operations"].items():
        assert op["action"] in ("send", "receive"), name
        channel_ref = op["channel"]["$ref"]
        for message in op["messages"]:
            # AsyncAPI 3: an operation's messages are those of its own channel.
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
    for kind in ("schemas", "messages"):
        assert all(COMPONENT_NAME.match(n) for n in doc["components"][kind])
    for name, message in doc["components"]["messages"].items():
        assert "payload" in message, name
        if "headers" in message:
            assert message["headers"]["type"] == "object", name
        assert message["bindings"]["kafka"]["bindingVersion"], name


def test_component_schemas_are_valid_json_schema(doc: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft7Validator.check_schema(schema)
    # The examples validate against the schemas they illustrate.
    for message in doc["components"]["messages"].values():
        for example in message.get("examples", []):
            root = {**resolve(doc, message["payload"]["$ref"]), "components": doc["components"]}
            jsonschema.validate(example["payload"], root)


def test_the_examples_are_accepted_by_leadflow_and_by_subscribers() -> None:
    assert parse_engagement(ENGAGEMENT_EXAMPLE).email == "ada.lovelace@example.com"
    assert parse_spend(SPEND_EXAMPLE, "USD").event_id == SPEND_EXAMPLE["event_id"]
    envelope = Envelope.model_validate(LEAD_CONVERTED_EXAMPLE)
    assert LeadConverted.model_validate(envelope.payload).owner == "alice"


def test_every_topic_of_contract_2_is_a_channel_operated_in_its_direction(
    doc: dict[str, Any], contract: str
) -> None:
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|\s*(in|out)\s*\|", section(contract, "2"), re.M)
    assert len(rows) >= 8, "the topic table of CONTRACT 2 did not parse"
    by_address = {c["address"]: name for name, c in doc["channels"].items()}
    for topic, direction in rows:
        assert topic in by_address, f"{topic} is not in docs/asyncapi.json"
        actions = {
            op["action"] for op in doc["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{by_address[topic]}"
        }  # fmt: skip
        assert actions == {"receive" if direction == "in" else "send"}, topic


def test_dead_letter_headers_are_those_of_contract_3_4(doc: dict[str, Any], contract: str) -> None:
    named = set(re.findall(r"`(leadflow\.[a-z.]+)`", section(contract, "3.4")))
    assert named == set(DLQ_HEADERS)
    for name in ("RejectedEngagement", "RejectedSpend"):
        headers = doc["components"]["messages"][name]["headers"]
        assert set(headers["required"]) == named


def test_envelope_and_lead_converted_fields_are_those_of_contract_5(
    doc: dict[str, Any], contract: str
) -> None:
    text = section(contract, "5")
    example = re.search(r"```json\n(.*?)```", text, re.S)
    assert example, "CONTRACT 5 has no envelope example"
    envelope_fields = set(re.findall(r'"([a-z_]+)":', example.group(1)))
    schemas = doc["components"]["schemas"]
    assert envelope_fields <= set(schemas["Envelope"]["properties"])
    listed = re.search(r"`LeadConverted\.payload`: `([^`]+)`", text.replace("\n  ", " "))
    assert listed, "CONTRACT 5 does not list the LeadConverted payload"
    payload_fields = {f.strip() for f in listed.group(1).split(",")}
    assert payload_fields == set(schemas["LeadConverted"]["properties"])
    for name in ("DomainEvent", "LeadConverted"):
        message = doc["components"]["messages"][name]
        assert set(message["headers"]["required"]) == {"event_type", "schema_version"}
