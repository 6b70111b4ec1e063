"""`leadflow keys create|list|revoke`: API keys (CONTRACT 9).

A created key is printed once, on stdout alone (`KEY=$(leadflow keys create ci --role
ingest)`), and kept nowhere but as its SHA-256; nothing else here prints a key or a hash.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from leadflow.cli.common import EXIT_INVALID, EXIT_NOT_FOUND, console, err_console, fail, leadflow
from leadflow.infra.apikeys import ROLES, ApiKeyError, ApiKeyTable, check_name

keys_app = typer.Typer(help="API keys and their roles (ingest, analyst, sales, admin).")

SOURCES = {"db": "database", "env": "LEADFLOW_API_KEYS", "toml": "leadflow.toml"}


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


@keys_app.command("create")
def create(
    name: str = typer.Argument(help="who uses the key, e.g. crm-sync (shown in the audit)"),
    role: list[str] = typer.Option(..., "--role", help=f"one of {', '.join(ROLES)}; repeatable"),
) -> None:
    """Make a key, print it once: it cannot be shown again."""
    with leadflow() as lf:
        configured = [k.name for k in lf.settings.api_keys] + [k.name for k in lf.config.api_keys]
        if name in configured:
            raise fail(f"a key named {name!r} is configured already (file or env)", EXIT_INVALID)
        try:
            key = ApiKeyTable(lf.store.side).create(name, role)
        except ApiKeyError as e:
            raise fail(str(e), EXIT_INVALID) from None
    print(key)
    err_console.print(
        f"[green]created[/] key {name!r} with role(s) {', '.join(sorted(set(role)))}. "
        "[bold]Store it now: it cannot be shown again[/] (only its hash is kept). Send it as "
        "'Authorization: Bearer <key>'."
    )


@keys_app.command("list")
def list_keys() -> None:
    """Every key of every source: name, roles, created, revoked, source (never the key)."""
    with leadflow() as lf:
        stored = ApiKeyTable(lf.store.side).all()
        configured = [*lf.settings.api_keys, *(k.api_key() for k in lf.config.api_keys)]
    table = Table(title="API keys")
    for col in ("name", "roles", "created", "revoked", "source"):
        table.add_column(col)
    for key in [*configured, *stored]:
        table.add_row(
            key.name,
            " ".join(r for r in ROLES if r in key.roles),
            _when(key.created_at),
            _when(key.revoked_at) if key.revoked_at else "",
            SOURCES.get(key.source, key.source),
        )
    console.print(table)
    if not configured and not stored:
        console.print("[yellow]no keys: the API is open, on loopback only[/]")


@keys_app.command("revoke")
def revoke(name: str = typer.Argument(help="the key's name")) -> None:
    """Revoke a key made by `keys create`; a running API refuses it within a second."""
    with leadflow() as lf:
        try:
            check_name(name)
        except ApiKeyError as e:
            raise fail(str(e), EXIT_INVALID) from None
        done = ApiKeyTable(lf.store.side).revoke(name)
        if done is None:
            configured = [k for k in lf.settings.api_keys if k.name == name] + [
                k for k in lf.config.api_keys if k.name == name
            ]
            if configured:
                raise fail(
                    f"key {name!r} comes from LEADFLOW_API_KEYS or leadflow.toml: remove it "
                    "there and restart the API",
                    EXIT_INVALID,
                )
            raise fail(f"no key named {name!r}", EXIT_NOT_FOUND)
    console.print(f"key {name!r} " + ("revoked" if done else "was already revoked"))
