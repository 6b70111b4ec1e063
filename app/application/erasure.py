"""Use case: erase a person (CONTRACT 9) by destroying their key ("crypto-shredding").

The person is everything that shares a key with the email's lead or contact: the lead, the
contact it became (or was linked to, with that contact's other leads), an account named
after them and the opportunities of their conversion. One transaction destroys the keys,
deletes every email index row of their leads and contacts (so the email may come back as a
new person), blanks an account's normalised name taken from their name, drops idempotency
answers that name their ids, and stores `PersonErased` (ids and time only) for the relay.
After it: read models are scrubbed and the database files are made to drop old bytes.

Nothing else changes: events stay (their personal fields are now unreadable), so every
count, rate and amount is what it was, and a rebuild gives the same numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from leadflow.application.changes import Changes
from leadflow.application.commands import CommandContext, CommandRunner
from leadflow.application.people import LEAD, PeopleIndex, PersonRef
from leadflow.domain.account import Account
from leadflow.domain.contact import Contact
from leadflow.domain.errors import InvalidInput, NotFound
from leadflow.domain.identity import normalise_email
from leadflow.domain.lead import Lead
from leadflow.domain.opportunity import Opportunity
from leadflow.domain.person import Person
from leadflow.infra.sidetables import TABLES, SideWrite
from leadflow.infra.store import Store
from leadflow.logs import get_logger
from leadflow.projections.erasure import scrub_live

log = get_logger("leadflow.erasure")
# Side tables an erasure deletes from or updates: vacuumed afterwards on PostgreSQL.
TOUCHED = ("people", "person_keys", "accounts", "idempotency")


@dataclass
class _Plan:
    keys: list[str] = field(default_factory=list)
    lead_ids: list[UUID] = field(default_factory=list)
    contact_ids: list[UUID] = field(default_factory=list)
    account_ids: list[UUID] = field(default_factory=list)
    opportunity_ids: list[UUID] = field(default_factory=list)

    @property
    def ids(self) -> list[UUID]:
        return [*self.lead_ids, *self.contact_ids, *self.account_ids, *self.opportunity_ids]


class ErasePerson:
    def __init__(self, store: Store, runner: CommandRunner, people: PeopleIndex) -> None:
        self._store = store
        self._runner = runner
        self._people = people

    def erase(self, email: str, ctx: CommandContext) -> dict[str, Any]:
        try:
            normalised = normalise_email(email)
        except InvalidInput as e:
            raise InvalidInput(e.message, {"field": "email"}) from None

        def decide(changes: Changes) -> dict[str, Any]:
            ref = self._people.find(normalised)
            if ref is None:
                raise NotFound("no person has that email")  # details never echo the email
            plan = self._plan(ref)
            person_id = UUID(plan.keys[0]) if plan.keys else uuid.uuid4()
            person = Person(
                person_id=person_id,
                lead_ids=plan.lead_ids,
                contact_ids=plan.contact_ids,
                account_ids=plan.account_ids,
                opportunity_ids=plan.opportunity_ids,
                erased_at=datetime.now(UTC),
                audit=ctx.audit(),
            )
            changes.add(person)
            changes.write(*self._writes(plan))
            return {
                "erased": True,
                "person_id": str(person_id),
                "lead_ids": [str(i) for i in plan.lead_ids],
                "contact_ids": [str(i) for i in plan.contact_ids],
                "account_ids": [str(i) for i in plan.account_ids],
                "opportunity_ids": [str(i) for i in plan.opportunity_ids],
            }

        answer = self._runner.run(ctx, decide)
        # Also on a replayed answer: finishing twice is harmless, and it completes an
        # erasure whose process stopped between the commit and these steps.
        self._store.keys.refresh(force=True)  # drops this process's keys and aggregates
        read_models = scrub_live(self._store.side, answer)
        side = [TABLES[t] for t in TOUCHED]
        if not self._store.release_erased([*side, *read_models]):
            log.warning("the WAL could not be truncated yet: a reader holds an old snapshot")
        log.info("person erased", person_id=answer["person_id"], leads=len(answer["lead_ids"]))
        return answer

    def _plan(self, ref: PersonRef) -> _Plan:
        store = self._store
        roots: list[UUID] = [ref.id]
        if ref.kind == LEAD:
            lead = store.get(ref.id, Lead)
            if lead.conversion is not None:
                roots.append(lead.conversion["contact_id"])
        else:
            roots += store.get(ref.id, Contact).lead_ids
        plan = _Plan(keys=sorted(store.keys.people_of(roots)))
        members = dict.fromkeys([*roots, *store.keys.aggregates_of(plan.keys)])
        for aggregate_id in members:
            try:
                aggregate: object = store.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue  # bound in a transaction that never stored its events
            if isinstance(aggregate, Lead):
                plan.lead_ids.append(aggregate_id)
            elif isinstance(aggregate, Contact):
                plan.contact_ids.append(aggregate_id)
            elif isinstance(aggregate, Account):
                plan.account_ids.append(aggregate_id)
            elif isinstance(aggregate, Opportunity):
                plan.opportunity_ids.append(aggregate_id)
        return plan

    def _writes(self, plan: _Plan) -> list[SideWrite]:
        writes = [self._people.forget_people([*plan.lead_ids, *plan.contact_ids])]
        writes += self._store.keys.erase(plan.keys)
        for account_id in plan.account_ids:
            # Only accounts named after the person share their key; '' never matches a name.
            writes.append(
                SideWrite(
                    "UPDATE {accounts} SET normalised_name = '' WHERE account_id = ?",
                    (str(account_id),),
                )
            )
        for aggregate_id in plan.ids:
            # Stored answers and fingerprints of requests about them (a POST /contacts
            # fingerprint hashes a body with the email): gone with the person.
            pattern = f"%{aggregate_id}%"
            writes.append(
                SideWrite(
                    "DELETE FROM {idempotency} WHERE scope LIKE ? OR body LIKE ?",
                    (pattern, pattern),
                )
            )
        return writes
