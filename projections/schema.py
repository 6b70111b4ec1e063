"""Read-model tables. A rebuild creates the same tables under a suffix and swaps them in."""

from __future__ import annotations

from collections.abc import Iterable

from leadflow.infra.sidetables import SideTables
from leadflow.projections.facts import build_all, new_clock

READ_MODELS = (
    "rm_leads",
    "rm_lead_changes",
    "rm_opportunities",
    "rm_contacts",
    "rm_accounts",
    "rm_spend",
    "rm_lead_facts",
    "rm_facts_clock",
)
# Derived from rm_leads, rm_lead_changes and rm_opportunities (facts.py).
DERIVED = ("rm_lead_facts", "rm_facts_clock")
# Tables of earlier layouts, dropped on start (their successors are derived anew).
_RETIRED = ("rm_funnel_cells",)
POSITIONS = "rm_positions"
# Ids of erased people's aggregates: outside rebuilds (like the positions), so a lead's
# capture applied after its PersonErased (other topic, no order between them) stays scrubbed.
ERASED = "rm_erased"

# Times are stored as fixed-width UTC text (see `ts`), so text order is time order.
_DDL = {
    "rm_leads": [
        "CREATE TABLE IF NOT EXISTS {rm_leads} (lead_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
        " email TEXT, captured_at TEXT NOT NULL, source TEXT NOT NULL, campaign TEXT,"
        " score INTEGER NOT NULL DEFAULT 0, mql_at TEXT, sql_at TEXT, converted_at TEXT,"
        " contact_id TEXT, account_id TEXT, opportunity_id TEXT, status TEXT NOT NULL,"
        " owner TEXT, email_opt_out INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS {rm_leads}_captured ON {rm_leads} (captured_at)",
        "CREATE INDEX IF NOT EXISTS {rm_leads}_email ON {rm_leads} (email)",
    ],
    "rm_lead_changes": [
        "CREATE TABLE IF NOT EXISTS {rm_lead_changes} (lead_id TEXT NOT NULL,"
        " version INTEGER NOT NULL, kind TEXT NOT NULL, occurred_at TEXT NOT NULL, value TEXT,"
        " PRIMARY KEY (lead_id, version, kind))",
    ],
    "rm_opportunities": [
        "CREATE TABLE IF NOT EXISTS {rm_opportunities} (opportunity_id TEXT PRIMARY KEY,"
        " version INTEGER NOT NULL, lead_id TEXT, account_id TEXT NOT NULL, contact_id TEXT,"
        " name TEXT, amount TEXT NOT NULL, opened_at TEXT NOT NULL, outcome TEXT,"
        " won_amount TEXT, closed_at TEXT)",
        "CREATE INDEX IF NOT EXISTS {rm_opportunities}_account ON {rm_opportunities} (account_id)",
    ],
    "rm_contacts": [
        "CREATE TABLE IF NOT EXISTS {rm_contacts} (contact_id TEXT PRIMARY KEY,"
        " version INTEGER NOT NULL, account_id TEXT NOT NULL, owner TEXT, country TEXT,"
        " country_at TEXT, industry TEXT, industry_at TEXT, created_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {rm_contacts}_account ON {rm_contacts} (account_id)",
    ],
    "rm_accounts": [
        "CREATE TABLE IF NOT EXISTS {rm_accounts} (account_id TEXT PRIMARY KEY,"
        " version INTEGER NOT NULL, name TEXT, domain TEXT, parent_id TEXT,"
        " created_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {rm_accounts}_parent ON {rm_accounts} (parent_id)",
    ],
    "rm_spend": [
        "CREATE TABLE IF NOT EXISTS {rm_spend} (spend_id TEXT PRIMARY KEY, event_id TEXT NOT NULL,"
        " source TEXT NOT NULL, campaign TEXT, amount TEXT NOT NULL, period_start TEXT NOT NULL,"
        " period_end TEXT NOT NULL, replaces TEXT)",
    ],
    "rm_lead_facts": [
        "CREATE TABLE IF NOT EXISTS {rm_lead_facts} (lead_id TEXT PRIMARY KEY, cap BIGINT,"
        " source TEXT, campaign TEXT, owner TEXT, t1 BIGINT, t2 BIGINT, t3 BIGINT, t4 BIGINT,"
        " lost BIGINT, unq INTEGER, opened BIGINT, revenue BIGINT, hist TEXT,"
        " n BIGINT NOT NULL, stamp BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS {rm_lead_facts}_stamp ON {rm_lead_facts} (stamp)",
    ],
    "rm_facts_clock": [
        "CREATE TABLE IF NOT EXISTS {rm_facts_clock} (id INTEGER PRIMARY KEY,"
        " generation TEXT NOT NULL, stamp BIGINT NOT NULL, next_n BIGINT NOT NULL)",
    ],
}
_POSITIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS {rm_positions} (consumer TEXT NOT NULL, topic TEXT NOT NULL,"
    " partition_no INTEGER NOT NULL, next_offset BIGINT NOT NULL, epoch TEXT,"
    " PRIMARY KEY (consumer, topic, partition_no))"
)


ERASED_DDL = "CREATE TABLE IF NOT EXISTS {rm_erased} (id TEXT PRIMARY KEY)"


def table_names(suffix: str = "") -> dict[str, str]:
    names = {t: f"leadflow_{t}{suffix}" for t in READ_MODELS}
    names[POSITIONS] = f"leadflow_{POSITIONS}"
    names[ERASED] = f"leadflow_{ERASED}"
    return names


def exists(side: SideTables, table: str) -> bool:
    if side.dialect == "sqlite":
        rows = side.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    else:
        rows = side.query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (side.schema or "public", table),
        )
    return bool(rows)


def create(side: SideTables, suffix: str = "", models: Iterable[str] = READ_MODELS) -> None:
    """Creates the missing tables with their indexes. A table swapped in by a rebuild keeps
    the indexes it was built with, so existing tables are left alone."""
    names = table_names(suffix)
    if not exists(side, names["rm_facts_clock"]) and "rm_lead_facts" in models:
        # Facts of an earlier layout (no clock yet): derived anew below.
        drop(side, suffix, ("rm_lead_facts",))
        with side.transaction({f"old_{t}": f"leadflow_{t}{suffix}" for t in _RETIRED}) as tx:
            for t in _RETIRED:
                tx.execute(f"DROP TABLE IF EXISTS {{old_{t}}}")
    missing = [m for m in models if not exists(side, names[m])]
    # Read models from before the facts existed: derive the facts once, here.
    backfill = "rm_lead_facts" in missing and all(
        exists(side, names[m]) for m in ("rm_leads", "rm_lead_changes", "rm_opportunities")
    )
    with side.transaction(names) as tx:
        for model in missing:
            for statement in _DDL[model]:
                tx.execute(statement)
        tx.execute(_POSITIONS_DDL)
        tx.execute(ERASED_DDL)
        if backfill:
            build_all(tx)
        elif "rm_facts_clock" in missing:
            new_clock(tx)


def drop(side: SideTables, suffix: str, models: Iterable[str] = READ_MODELS) -> None:
    names = table_names(suffix)
    with side.transaction(names) as tx:
        for model in models:
            tx.execute(f"DROP TABLE IF EXISTS {{{model}}}")
