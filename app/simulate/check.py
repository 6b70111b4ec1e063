"""`compare(truth, api_url)`: every read model, a sample of leads and the DLQs vs the truth.

Counts and money must be equal, rates and medians equal as numbers (a tiny tolerance for
the last bits of a float), null exactly where the truth has null. Leads are named in the
differences by their first event_id, never by personal data.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from leadflow.simulate.client import Api, up_to_date
from leadflow.simulate.model import utc
from leadflow.simulate.rules import SimulationError

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


@dataclass(frozen=True)
class Difference:
    where: str
    field: str
    expected: Any
    actual: Any


def same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, float) or isinstance(actual, float):
        return (
            isinstance(actual, int | float)
            and isinstance(expected, int | float)
            and math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
        )
    if isinstance(expected, str) and isinstance(actual, str) and TIME.match(expected):
        try:
            return utc(expected) == utc(actual)
        except ValueError:
            return False
    return bool(expected == actual)


def wait_until_current(api: Api, wait: float) -> bool:
    """Two all-zero /status answers in a row: lags read one by one can race a consumer."""
    deadline, zeros = time.monotonic() + wait, 0
    while time.monotonic() < deadline:
        try:
            zeros = zeros + 1 if up_to_date(api.status()) else 0
        except Exception:  # the API may be restarting: keep waiting until the deadline
            zeros = 0
        if zeros >= 2:
            return True
        time.sleep(0.5)
    return False


def _rows(answer: dict[str, Any], list_key: str, key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]): row for row in answer.get(list_key, [])}


def compare_answer(name: str, expect: dict[str, Any], actual: dict[str, Any]) -> list[Difference]:
    list_key, key = ("stages", "stage") if "stages" in expect else ("rows", "key")
    want, got = _rows(expect, list_key, key), _rows(actual, list_key, key)
    out = []
    for k in sorted(set(want) | set(got)):
        if k not in got or k not in want:
            out.append(
                Difference(
                    name,
                    f"{list_key}[{k}]",
                    "row" if k in want else "no row",
                    "row" if k in got else "no row",
                )
            )
            continue
        for field, value in want[k].items():
            if not same(value, got[k].get(field)):
                out.append(Difference(name, f"{list_key}[{k}].{field}", value, got[k].get(field)))
    return out


LEAD_FIELDS = (
    "status",
    "stage",
    "outcome",
    "score",
    "source",
    "campaign",
    "owner",
    "captured_at",
    "mql_at",
    "sql_at",
    "converted_at",
    "won_at",
    "email_opt_out",
    "profile",
)


def sample(truth: dict[str, Any], size: int) -> list[str]:
    """Every lead when few; else the ones that went somewhere first, then an even spread."""
    emails = list(truth["leads"])
    if len(emails) <= size:
        return emails
    moved = [
        e
        for e in emails
        if truth["leads"][e]["stage"] != "captured" or truth["leads"][e]["status"] != "New"
    ][: size // 2]
    rest = [e for e in emails if e not in set(moved)]
    step = max(1, len(rest) // (size - len(moved)))
    return moved + rest[::step][: size - len(moved)]


def compare_lead(
    api: Api, email: str, want: dict[str, Any], contacts: dict[str, list[str]]
) -> list[Difference]:
    where = f"lead {want['score_breakdown'][0] if want['score_breakdown'] else '?'}"
    got = api.lead(email)
    if got is None:
        return [Difference(where, "exists", True, False)]
    out = [
        Difference(where, f, want[f], got.get(f))
        for f in LEAD_FIELDS
        if not same(want[f], got.get(f))
    ]
    ids = [b["event_id"] for b in got.get("score_breakdown", []) if b.get("event_id")]
    if ids != want["score_breakdown"]:
        out.append(Difference(where, "score_breakdown", want["score_breakdown"], ids))
    conversion = got.get("conversion") or {}
    if bool(conversion) != (want["contact"] is not None):
        out.append(Difference(where, "conversion", want["contact"] is not None, bool(conversion)))
    if want["contact"] is not None and conversion:
        if (conversion.get("opportunity_id") is not None) != want["opportunity"]:
            out.append(
                Difference(
                    where,
                    "conversion.opportunity_id",
                    want["opportunity"],
                    conversion.get("opportunity_id") is not None,
                )
            )
        contact = api.get(f"/contacts/{conversion['contact_id']}")
        activity = sorted(a["event_id"] for a in contact.get("activities", []))
        if activity != contacts[want["contact"]]:
            out.append(Difference(where, "contact.activities", contacts[want["contact"]], activity))
    return out


def dlq_markers(bootstrap: str, topic: str, run_id: str, timeout: float = 30.0) -> set[str]:
    """Every simulation marker in the topic, read from the start up to the high watermark
    a fetch reports (ListOffsets(latest) cannot be trusted on every broker)."""
    pattern = re.compile(re.escape(run_id).encode() + rb"-bad-[es]\d+")
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    found: set[str] = set()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    found.update(m.decode() for m in pattern.findall(record.value or b""))
            highs = [consumer.highwater(tp) for tp in tps]
            if all(
                h is not None and consumer.position(tp) >= h
                for tp, h in zip(tps, highs, strict=True)
            ):
                break
    finally:
        consumer.close()
    return found


def compare_dlq(truth: dict[str, Any], bootstrap: str, prefix: str) -> list[Difference]:
    out = []
    for kind, expected in truth["dlq"].items():
        topic = f"{prefix}marketing.{kind}.dlq"
        try:
            found = dlq_markers(bootstrap, topic, truth["run_id"])
        except Exception as e:  # report, do not crash: the rest of the check still counts
            out.append(Difference(topic, "readable", True, f"{type(e).__name__}: {e}"))
            continue
        if found != set(expected):
            missing, extra = sorted(set(expected) - found), sorted(found - set(expected))
            out.append(Difference(topic, "records (distinct)", len(expected), len(found)))
            if missing or extra:
                out.append(Difference(topic, "missing / unexpected", missing[:5], extra[:5]))
    return out


def compare(
    truth: dict[str, Any],
    api_url: str,
    api_key: str | None = None,
    *,
    bootstrap: str | None = None,
    sample_size: int = 400,
    patience: float = 60.0,
) -> list[Difference]:
    """Every difference between leadflow's answers and the truth (empty when none)."""
    out: list[Difference] = []
    with Api(api_url, api_key, patience=patience) as api:
        for q in truth["queries"]:
            path, _, by = q["path"].partition("?by=")
            params = {**q["params"], **({"by": by} if by else {})}
            try:
                answer = api.get(path, params)
            except SimulationError as e:  # one broken query must not hide the others
                out.append(Difference(q["name"], "answer", "HTTP 200", str(e)))
                continue
            out += compare_answer(q["name"], q["expect"], answer)
        for email in sample(truth, sample_size):
            out += compare_lead(api, email, truth["leads"][email], truth["contacts"])
        for n, email in enumerate(truth["not_leads"][:sample_size]):
            if api.lead(email) is not None:
                out.append(Difference(f"contact #{n}", "lead exists", False, True))
        boot = (
            bootstrap
            or os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP")
            or api.status().get("kafka_bootstrap")
        )
        prefix = truth.get("topic_prefix") or ""
        if boot:
            out += compare_dlq(truth, boot, prefix)
        else:
            out.append(Difference("dlq", "bootstrap", "a broker", "none known"))
    return out
