"""Running a command: idempotency keys, audit, optimistic-concurrency retries.

A command decides into a `Changes`; its answer is stored with its events (same transaction)
under the idempotency key, so the same key again returns the first answer and has no second
effect. A refusal (409) is stored too and replayed; invalid input (422) is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadflow.application.changes import Changes
from leadflow.domain import errors
from leadflow.domain.errors import InvalidInput, RuleViolation
from leadflow.infra.sidetables import SideWrite
from leadflow.infra.store import Store, retrying

_IDEM_INSERT = (
    "INSERT INTO {idempotency} (scope, idem_key, fingerprint, status, body) VALUES (?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class CommandContext:
    """Who asks, when the fact happened in business time, and the idempotency key."""

    occurred_at: datetime
    actor: str | None = None
    idempotency_key: str | None = None
    scope: str = ""
    fingerprint: str = ""

    @classmethod
    def now(cls, **kwargs: Any) -> CommandContext:
        return cls(occurred_at=datetime.now(UTC), **kwargs)

    def audit(self) -> dict[str, Any]:
        return {"actor": self.actor, "idempotency_key": self.idempotency_key}


def _refusal_body(e: RuleViolation) -> dict[str, Any]:
    return {"error": {"code": e.code, "message": e.message, "details": e.details}}


def _rebuild_refusal(body: dict[str, Any]) -> RuleViolation:
    err = body["error"]
    cls = next(
        (
            c
            for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, RuleViolation) and c.code == err["code"]
        ),
        RuleViolation,
    )
    return cls(err["message"], err.get("details"))


class CommandRunner:
    def __init__(self, store: Store) -> None:
        self._store = store

    def run(
        self, ctx: CommandContext, decide: Callable[[Changes], dict[str, Any]]
    ) -> dict[str, Any]:
        return retrying(lambda: self._attempt(ctx, decide))

    def _replay(self, ctx: CommandContext) -> dict[str, Any] | None:
        """The stored answer for this key, raised again if it was a refusal."""
        prior = self._store.side.query(
            "SELECT fingerprint, status, body FROM {idempotency} WHERE scope = ? AND idem_key = ?",
            (ctx.scope, ctx.idempotency_key),
        )
        if not prior:
            return None
        fingerprint, status, body = prior[0]
        if fingerprint != ctx.fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was used with a different request body",
                {"idempotency_key": ctx.idempotency_key},
            )
        answer: dict[str, Any] = json.loads(body)
        if int(status) == 409:
            raise _rebuild_refusal(answer)
        return answer

    def _attempt(
        self, ctx: CommandContext, decide: Callable[[Changes], dict[str, Any]]
    ) -> dict[str, Any]:
        key = ctx.idempotency_key
        if key is not None and (stored := self._replay(ctx)) is not None:
            return stored
        changes = Changes()
        try:
            answer = decide(changes)
        except RuleViolation as e:
            if key is not None:
                self._store.side.execute(
                    SideWrite(
                        _IDEM_INSERT + " ON CONFLICT (scope, idem_key) DO NOTHING",
                        (ctx.scope, key, ctx.fingerprint, 409, json.dumps(_refusal_body(e))),
                    )
                )
                # A concurrent request with this key may have stored its answer first:
                # whatever is stored is the answer to every request with the key.
                stored = self._replay(ctx)
                if stored is not None:
                    return stored
            raise
        if key is not None:
            changes.write(
                SideWrite(_IDEM_INSERT, (ctx.scope, key, ctx.fingerprint, 200, json.dumps(answer)))
            )
        changes.commit(self._store)
        return answer
