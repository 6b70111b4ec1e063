"""What every command shares: building leadflow, error reporting and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console

from leadflow.config import ConfigError
from leadflow.container import Leadflow, build
from leadflow.domain.errors import DomainError, InvalidInput, NotFound, RuleViolation
from leadflow.settings import SettingsError

console = Console()
err_console = Console(stderr=True)

EXIT_INVALID = 2  # bad input: nothing stored
EXIT_NOT_FOUND = 3
EXIT_REFUSED = 4  # a rule says no: nothing changed
EXIT_CONFIG = 5

T = TypeVar("T")


def fail(message: str, code: int) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def leadflow(sole_writer_cache: bool = False) -> Iterator[Leadflow]:
    try:
        lf = build(sole_writer_cache=sole_writer_cache)
    except (ConfigError, SettingsError) as e:
        raise fail(str(e), EXIT_CONFIG) from None
    try:
        yield lf
    finally:
        lf.close()


def run_domain(fn: Callable[[], T]) -> T:
    """Maps the domain's typed errors to a message and an exit code."""
    try:
        return fn()
    except NotFound as e:
        raise fail(f"{e.message} {json.dumps(e.details)}", EXIT_NOT_FOUND) from None
    except RuleViolation as e:
        raise fail(f"refused: {e.message} {json.dumps(e.details)}", EXIT_REFUSED) from None
    except (InvalidInput, DomainError) as e:
        raise fail(f"invalid: {e.message} {json.dumps(e.details)}", EXIT_INVALID) from None


def parse_uuid(value: str, name: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise fail(f"{name} must be an id (UUID), got {value!r}", EXIT_INVALID) from None


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))
