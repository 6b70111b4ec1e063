"""Use cases on accounts, and the account-matching rules of conversion (CONTRACT 3.3)."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from uuid import UUID

from leadflow.application.changes import Changes
from leadflow.application.commands import CommandContext, CommandRunner
from leadflow.domain.account import Account
from leadflow.domain.errors import InvalidInput, NotFound, UnknownReference
from leadflow.domain.identity import company_domain, is_free_mail, normalise_company_name
from leadflow.infra.sidetables import SideWrite
from leadflow.infra.store import Store


def account_row(account: Account) -> SideWrite:
    return SideWrite(
        "INSERT INTO {accounts} (account_id, normalised_name, domain, created_at, parent_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            str(account.id),
            account.normalised_name,
            account.domain,
            account.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            str(account.parent_id) if account.parent_id else None,
        ),
    )


class AccountMatcher:
    """Finds the account a person belongs to, or opens one in the given changes."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _oldest(self, column: str, value: str) -> UUID | None:
        rows = self._store.side.query(
            f"SELECT account_id FROM {{accounts}} WHERE {column} = ? "
            "ORDER BY created_at, account_id LIMIT 1",
            (value,),
        )
        return UUID(rows[0][0]) if rows else None

    def match(self, company: str | None, email: str) -> UUID | None:
        if company and normalise_company_name(company):
            found = self._oldest("normalised_name", normalise_company_name(company))
            if found:
                return found
        domain = company_domain(email)
        return self._oldest("domain", domain) if domain else None

    def match_or_open(
        self,
        company: str | None,
        email: str,
        person_name: str,
        ctx: CommandContext,
        changes: Changes,
    ) -> tuple[Account, bool]:
        found = self.match(company, email)
        if found is not None:
            return self._store.get(found, Account), False
        named_after_person = not (company and company.strip())
        account = Account.open(
            name=company.strip() if company and company.strip() else person_name,
            domain=company_domain(email),
            occurred_at=ctx.occurred_at,
            named_after_person=named_after_person,
            audit=ctx.audit(),
        )
        changes.add(account)
        changes.write(account_row(account))
        return account, True


class ManageAccounts:
    def __init__(self, store: Store, runner: CommandRunner) -> None:
        self._store = store
        self._runner = runner

    def _parent_of(self, account_id: UUID) -> UUID | None:
        rows = self._store.side.query(
            "SELECT parent_id FROM {accounts} WHERE account_id = ?", (str(account_id),)
        )
        return UUID(rows[0][0]) if rows and rows[0][0] else None

    def _hierarchy_generation(self) -> int:
        rows = self._store.side.query(
            "SELECT MAX(position) FROM {positions} WHERE name LIKE ?", ("hierarchy:%",)
        )
        return int(rows[0][0] or 0)

    def create(
        self, name: str, domain: str | None, parent_id: UUID | None, ctx: CommandContext
    ) -> dict[str, Any]:
        if not name or not name.strip() or len(name) > 300:
            raise InvalidInput("name must be 1-300 characters")
        if domain is not None:
            domain = domain.strip().lower()
            if not domain or "." not in domain or "@" in domain or " " in domain:
                raise InvalidInput("domain must be a domain name like example.com")
            if is_free_mail(domain):
                raise InvalidInput("a free-mail domain cannot identify an account")

        def decide(changes: Changes) -> dict[str, Any]:
            if parent_id is not None and self._store.find(parent_id, Account) is None:
                raise UnknownReference("parent_id names no account", {"parent_id": str(parent_id)})
            account = Account.open(
                name=name.strip(),
                domain=domain,
                occurred_at=ctx.occurred_at,
                parent_id=parent_id,
                audit=ctx.audit(),
            )
            changes.add(account)
            changes.write(account_row(account))
            return {"id": str(account.id)}

        return self._runner.run(ctx, decide)

    def set_parent(
        self, account_id: UUID, parent_id: UUID | None, ctx: CommandContext
    ) -> dict[str, Any]:
        def decide(changes: Changes) -> dict[str, Any]:
            account = self._store.find(account_id, Account)
            if account is None:
                raise NotFound("no such account", {"account_id": str(account_id)})
            if parent_id is not None and self._store.find(parent_id, Account) is None:
                raise UnknownReference("parent_id names no account", {"parent_id": str(parent_id)})
            generation = self._hierarchy_generation()
            if account.set_parent(parent_id, self._parent_of, ctx.occurred_at, ctx.audit()):
                changes.add(account)
                # Every parent change claims the next hierarchy generation: of two concurrent
                # changes checked against the same hierarchy, one fails and is retried
                # against the other's result, so together they cannot make a cycle.
                changes.write(
                    SideWrite(
                        "INSERT INTO {positions} (name, position) VALUES (?, ?)",
                        (f"hierarchy:{generation + 1}", generation + 1),
                    )
                )
                changes.write(
                    SideWrite(
                        "UPDATE {accounts} SET parent_id = ? WHERE account_id = ?",
                        (str(parent_id) if parent_id else None, str(account_id)),
                    )
                )
            return {"id": str(account_id), "parent_id": str(parent_id) if parent_id else None}

        return self._runner.run(ctx, decide)
