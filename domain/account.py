"""The Account aggregate: a company, possibly under a parent company."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from leadflow.domain.base import LeadflowAggregate
from leadflow.domain.errors import HierarchyCycle
from leadflow.domain.identity import normalise_company_name

Audit = dict[str, Any]
# Hierarchies deeper than this are refused rather than walked forever.
MAX_DEPTH = 64


class Account(LeadflowAggregate):
    @event("AccountCreated")
    def __init__(
        self,
        name: str,
        normalised_name: str,
        domain: str | None,
        parent_id: UUID | None,
        named_after_person: bool,
        occurred_at: datetime,
        audit: Audit | None,
    ) -> None:
        self.name = name
        self.normalised_name = normalised_name
        self.domain = domain
        self.parent_id = parent_id
        self.named_after_person = named_after_person
        self.created_at = occurred_at

    @classmethod
    def open(
        cls,
        name: str,
        domain: str | None,
        occurred_at: datetime,
        parent_id: UUID | None = None,
        named_after_person: bool = False,
        audit: Audit | None = None,
    ) -> Account:
        return cls(
            name=name,
            normalised_name=normalise_company_name(name),
            domain=domain,
            parent_id=parent_id,
            named_after_person=named_after_person,
            occurred_at=occurred_at,
            audit=audit,
        )

    def set_parent(
        self,
        parent_id: UUID | None,
        parent_of: Callable[[UUID], UUID | None],
        occurred_at: datetime,
        audit: Audit | None = None,
    ) -> bool:
        """`parent_of` walks the existing hierarchy upwards from the proposed parent."""
        if parent_id == self.parent_id:
            return False
        ancestor = parent_id
        depth = 0
        while ancestor is not None:
            if ancestor == self.id or depth > MAX_DEPTH:
                raise HierarchyCycle(
                    "that parent would make the account its own ancestor",
                    {"account_id": str(self.id), "parent_id": str(parent_id)},
                )
            ancestor = parent_of(ancestor)
            depth += 1
        self._parent_changed(
            parent_id=parent_id, previous=self.parent_id, occurred_at=occurred_at, audit=audit
        )
        return True

    @event("AccountParentChanged")
    def _parent_changed(
        self,
        parent_id: UUID | None,
        previous: UUID | None,
        occurred_at: datetime,
        audit: Audit | None,
    ) -> None:
        self.parent_id = parent_id
