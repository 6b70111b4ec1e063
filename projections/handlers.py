"""Projections: a class per read model, one handler per event type.

Handlers take the published envelope (CONTRACT 5) and a transaction. Each aggregate's row
carries the last applied `aggregate_version`: an event at or below it is a re-delivery and
changes nothing, which makes every projection idempotent and safe to replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from leadflow.infra.sidetables import Tx
from leadflow.projections.erasure import not_erased, on_person_erased
from leadflow.projections.facts import lead_of

Envelope = dict[str, Any]
# Earlier than any business time: "since the lead was captured".
FROM_CAPTURE = "0001-01-01T00:00:00.000000Z"
Handler = Callable[[Tx, Envelope], None]


def ts(value: str | None) -> str | None:
    """Fixed-width UTC text, so that comparing the text compares the times."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    # strftime's %Y does not pad years before 1000, which would break the text order.
    return f"{parsed.year:04d}" + parsed.strftime("-%m-%dT%H:%M:%S.%fZ")


class Projection:
    """Routes envelopes of one aggregate type to `on_<EventType>` methods."""

    aggregate_type = ""
    table = ""
    key = ""

    def handles(self, envelope: Envelope) -> bool:
        return bool(envelope.get("aggregate_type") == self.aggregate_type)

    def set_columns(self, env: Envelope) -> dict[str, Any] | None:
        """The columns a column-only change sets (None when the event type needs a handler)."""
        setter = getattr(self, f"set_{env['type']}", None)
        return None if setter is None else dict(setter(env))

    def update_statement(
        self, aggregate_id: str, version: int, columns: dict[str, Any]
    ) -> tuple[str, tuple[Any, ...]]:
        """The version claim and the columns in one statement; alike ones can run as a batch."""
        assignments = "".join(f", {c} = ?" for c in columns)
        return (
            f"UPDATE {{{self.table}}} SET version = ?{assignments}"
            f" WHERE {self.key} = ? AND version < ?",
            (version, *columns.values(), aggregate_id, version),
        )

    def set_statement(self, env: Envelope) -> tuple[str, tuple[Any, ...]] | None:
        """A column-only change as one statement (None when the event type needs a handler)."""
        columns = self.set_columns(env)
        if columns is None:
            return None
        return self.update_statement(env["aggregate_id"], env["aggregate_version"], columns)

    def apply(self, tx: Tx, env: Envelope) -> None:
        statement = self.set_statement(env)
        if statement is not None:
            tx.execute(*statement)
            return
        handler = getattr(self, f"on_{env['type']}", None)
        if env["aggregate_version"] == 1:
            if handler is not None:
                handler(tx, env)
            return
        # Claim the version first: only the first delivery of an event gets past this.
        claimed = tx.execute(
            f"UPDATE {{{self.table}}} SET version = ? WHERE {self.key} = ? AND version < ?",
            (env["aggregate_version"], env["aggregate_id"], env["aggregate_version"]),
        )
        if claimed and handler is not None:
            handler(tx, env)


class LeadsProjection(Projection):
    aggregate_type, table, key = "Lead", "rm_leads", "lead_id"

    def on_LeadCaptured(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        tx.execute(
            "INSERT INTO {rm_leads} (lead_id, version, email, captured_at, source, campaign,"
            f" status) VALUES (?, ?, {not_erased()}, ?, ?, ?, 'New')"
            " ON CONFLICT (lead_id) DO NOTHING",
            (
                env["aggregate_id"],
                env["aggregate_version"],
                env["aggregate_id"],
                p.get("email"),
                ts(p["occurred_at"]),
                p["source"],
                p.get("campaign"),
            ),
        )

    def _set(self, tx: Tx, env: Envelope, **columns: Any) -> None:
        assignments = ", ".join(f"{c} = ?" for c in columns)
        tx.execute(
            f"UPDATE {{rm_leads}} SET {assignments} WHERE lead_id = ?",
            (*columns.values(), env["aggregate_id"]),
        )

    def _change(
        self, tx: Tx, env: Envelope, kind: str, value: str | None, at: str | None = None
    ) -> None:
        tx.execute(
            "INSERT INTO {rm_lead_changes} (lead_id, version, kind, occurred_at, value)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (lead_id, version, kind) DO NOTHING",
            (
                env["aggregate_id"],
                env["aggregate_version"],
                kind,
                at or ts(env["occurred_at"]),
                value,
            ),
        )

    def set_EngagementRecorded(self, env: Envelope) -> dict[str, Any]:
        return {"email_opt_out": 1} if env["payload"].get("type") == "unsubscribed" else {}

    def set_LeadFirstTouchChanged(self, env: Envelope) -> dict[str, Any]:
        p = env["payload"]
        return {
            "captured_at": ts(p["captured_at"]),
            "source": p["source"],
            "campaign": p.get("campaign"),
        }

    def set_LeadScored(self, env: Envelope) -> dict[str, Any]:
        return {"score": env["payload"]["score"]}

    def set_LeadQualified(self, env: Envelope) -> dict[str, Any]:
        column = "mql_at" if env["payload"]["stage"] == "MQL" else "sql_at"
        return {column: ts(env["payload"]["occurred_at"])}

    def on_LeadStatusChanged(self, tx: Tx, env: Envelope) -> None:
        self._set(tx, env, status=env["payload"]["status"])
        self._change(tx, env, "status", env["payload"]["status"])

    def on_LeadAssigned(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        self._set(tx, env, owner=p.get("owner"))
        if p.get("rule") is not None and p.get("previous") is None:
            # A rule's owner comes with the capture, and a late event may yet move the capture
            # earlier: it holds from the lead's first touch, whenever that turns out to be.
            self._change(tx, env, "owner", p.get("owner"), at=FROM_CAPTURE)
        else:
            self._change(tx, env, "owner", p.get("owner"))

    def on_LeadConverted(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        self._set(
            tx,
            env,
            status="Converted",
            converted_at=ts(p["converted_at"]),
            contact_id=p["contact_id"],
            account_id=p["account_id"],
            opportunity_id=p.get("opportunity_id"),
        )
        self._change(tx, env, "status", "Converted")


class OpportunitiesProjection(Projection):
    aggregate_type, table, key = "Opportunity", "rm_opportunities", "opportunity_id"

    def on_OpportunityOpened(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        tx.execute(
            "INSERT INTO {rm_opportunities} (opportunity_id, version, lead_id, account_id,"
            " contact_id, name, amount, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (opportunity_id) DO NOTHING",
            (
                env["aggregate_id"],
                1,
                p.get("lead_id"),
                p["account_id"],
                p.get("contact_id"),
                p.get("name"),
                p["amount"],
                ts(p["occurred_at"]),
            ),
        )

    def on_OpportunityWon(self, tx: Tx, env: Envelope) -> None:
        tx.execute(
            "UPDATE {rm_opportunities} SET outcome = 'won', won_amount = ?, closed_at = ?"
            " WHERE opportunity_id = ?",
            (env["payload"]["amount"], ts(env["payload"]["occurred_at"]), env["aggregate_id"]),
        )

    def on_OpportunityLost(self, tx: Tx, env: Envelope) -> None:
        tx.execute(
            "UPDATE {rm_opportunities} SET outcome = 'lost', closed_at = ?"
            " WHERE opportunity_id = ?",
            (ts(env["payload"]["occurred_at"]), env["aggregate_id"]),
        )


class ContactsProjection(Projection):
    aggregate_type, table, key = "Contact", "rm_contacts", "contact_id"

    def on_ContactCreated(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        profile = p.get("profile") or {}
        at = ts(p["occurred_at"])
        tx.execute(
            "INSERT INTO {rm_contacts} (contact_id, version, account_id, owner, country,"
            " country_at, industry, industry_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (contact_id) DO NOTHING",
            (
                env["aggregate_id"],
                1,
                p["account_id"],
                p.get("owner"),
                profile.get("country"),
                at,
                profile.get("industry"),
                at,
                at,
            ),
        )

    def on_ContactOwnerChanged(self, tx: Tx, env: Envelope) -> None:
        tx.execute(
            "UPDATE {rm_contacts} SET owner = ? WHERE contact_id = ?",
            (env["payload"].get("owner"), env["aggregate_id"]),
        )

    def on_ContactActivityRecorded(self, tx: Tx, env: Envelope) -> None:
        person = env["payload"].get("person") or {}
        at = ts(env["payload"]["occurred_at"])
        for field in ("country", "industry"):
            if person.get(field) is not None:
                tx.execute(
                    f"UPDATE {{rm_contacts}} SET {field} = ?, {field}_at = ?"
                    f" WHERE contact_id = ? AND ({field}_at IS NULL OR {field}_at <= ?)",
                    (person[field], at, env["aggregate_id"], at),
                )


class AccountsProjection(Projection):
    aggregate_type, table, key = "Account", "rm_accounts", "account_id"

    def on_AccountCreated(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        tx.execute(
            "INSERT INTO {rm_accounts} (account_id, version, name, domain, parent_id, created_at)"
            f" VALUES (?, ?, {not_erased()}, ?, ?, ?) ON CONFLICT (account_id) DO NOTHING",
            (
                env["aggregate_id"],
                1,
                env["aggregate_id"],
                p.get("name"),
                p.get("domain"),
                p.get("parent_id"),
                ts(p["occurred_at"]),
            ),
        )

    def on_AccountParentChanged(self, tx: Tx, env: Envelope) -> None:
        tx.execute(
            "UPDATE {rm_accounts} SET parent_id = ? WHERE account_id = ?",
            (env["payload"].get("parent_id"), env["aggregate_id"]),
        )


class SpendProjection(Projection):
    aggregate_type, table, key = "Spend", "rm_spend", "spend_id"

    def on_SpendRecorded(self, tx: Tx, env: Envelope) -> None:
        p = env["payload"]
        tx.execute(
            "INSERT INTO {rm_spend} (spend_id, event_id, source, campaign, amount, period_start,"
            " period_end, replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (spend_id) DO NOTHING",
            (
                env["aggregate_id"],
                p["event_id"],
                p["source"],
                p.get("campaign"),
                p["amount"],
                p["period_start"],
                p["period_end"],
                p.get("replaces"),
            ),
        )


PROJECTIONS: dict[str, Projection] = {
    p.aggregate_type: p
    for p in (
        LeadsProjection(),
        OpportunitiesProjection(),
        ContactsProjection(),
        AccountsProjection(),
        SpendProjection(),
    )
}


def apply(tx: Tx, env: Envelope) -> str | None:
    """Applies one envelope; returns the lead whose facts may have changed (see facts.py:
    `facts.refresh` them before the transaction ends)."""
    if env.get("type") == "PersonErased":
        on_person_erased(tx, env)
        return None
    projection = PROJECTIONS.get(env.get("aggregate_type", ""))
    if projection is not None:
        projection.apply(tx, env)
        return lead_of(tx, env)
    return None
