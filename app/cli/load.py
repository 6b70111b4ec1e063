"""`leadflow load`: engagement or spend from a JSON Lines file, through the application."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from leadflow.cli.common import EXIT_INVALID, console, err_console, fail, leadflow
from leadflow.schemas import InvalidRecord, parse_engagement, parse_spend

BATCH = 500


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with path.open("rb") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield number, line.rstrip(b"\r\n")
    except OSError as e:
        raise fail(f"{path}: {e.strerror}", EXIT_INVALID) from None


def load(
    path: Path = typer.Argument(help="a JSON Lines file, one record per line"),
    kind: str = typer.Option("engagement", "--kind", help="engagement or spend"),
    skip_invalid: bool = typer.Option(
        False, help="store the valid records even if some are invalid"
    ),
) -> None:
    """Validate every line, then record them. Any invalid line: nothing is stored (unless
    --skip-invalid) and the exit code is 2."""
    if kind not in ("engagement", "spend"):
        raise fail("--kind must be engagement or spend", EXIT_INVALID)
    with leadflow() as lf:
        valid: list[Any] = []
        errors: list[tuple[int, str]] = []
        for number, raw in read_lines(path):
            try:
                valid.append(
                    parse_engagement(raw) if kind == "engagement" else parse_spend(raw, lf.currency)
                )
            except InvalidRecord as e:
                errors.append((number, e.reason))
        for number, reason in errors[:20]:
            err_console.print(f"[red]{path}:{number}:[/] {reason}")
        if len(errors) > 20:
            err_console.print(f"... and {len(errors) - 20} more invalid lines")
        if errors and not skip_invalid:
            raise fail(f"{len(errors)} invalid line(s); nothing stored", EXIT_INVALID)
        accepted = duplicates = 0
        for start in range(0, len(valid), BATCH):
            chunk = valid[start : start + BATCH]
            outcome = (
                lf.engagement.record(chunk) if kind == "engagement" else lf.spend.record(chunk)
            )
            accepted += outcome.accepted
            duplicates += outcome.duplicates
        console.print(
            f"{kind}: [bold]{accepted}[/] accepted, {duplicates} duplicate(s) without effect, "
            f"{len(errors)} invalid"
        )
        if errors:
            raise typer.Exit(EXIT_INVALID)
