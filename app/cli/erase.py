"""`leadflow erase EMAIL`: erase a person (CONTRACT 9), as `POST /people/erase` does."""

from __future__ import annotations

from typing import Annotated

import typer

from leadflow.application.commands import CommandContext
from leadflow.cli.common import console, fail, leadflow, print_json, run_domain
from leadflow.domain.identity import normalise_email


def erase(
    email: Annotated[str, typer.Argument(help="the person's email (any case)")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Destroy a person's key: their email, names, phone and notes become unreadable
    everywhere; counts, rates and amounts stay. Exit 3 if no person has that email."""
    run_domain(lambda: normalise_email(email))  # invalid: exit 2 before asking anything
    if not yes and not typer.confirm(
        "Erase this person's personal data for good? This cannot be undone"
    ):
        raise fail("not erased", 1)
    with leadflow() as lf:
        answer = run_domain(lambda: lf.erasure.erase(email, CommandContext.now(actor="cli")))
    console.print("[bold]erased[/]")
    print_json(answer)
