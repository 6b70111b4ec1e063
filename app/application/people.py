"""One person per email: the index from an email to its lead or contact.

Rows are keyed by an HMAC of the normalised email with a secret kept in the database, never
by the email itself; erasure deletes the row, so nothing derived from the email is left
that leads to the person afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from leadflow.infra.sidetables import SideTables, SideWrite

LEAD, CONTACT = "lead", "contact"


@dataclass(frozen=True)
class PersonRef:
    kind: str
    id: UUID


class PeopleIndex:
    def __init__(self, side: SideTables) -> None:
        self._side = side
        self._secret = self._load_secret()

    def _load_secret(self) -> bytes:
        sql = "SELECT value FROM {settings} WHERE name = ?"
        rows = self._side.query(sql, ("email_digest_secret",))
        if not rows:
            self._side.execute(
                SideWrite(
                    "INSERT INTO {settings} (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    ("email_digest_secret", secrets.token_hex(32)),
                )
            )
            rows = self._side.query(sql, ("email_digest_secret",))
        return bytes.fromhex(rows[0][0])

    def digest(self, email: str) -> str:
        return hmac.new(self._secret, email.encode(), hashlib.sha256).hexdigest()

    def lookup(self, emails: Iterable[str]) -> dict[str, PersonRef]:
        by_digest = {self.digest(e): e for e in set(emails)}
        found: dict[str, PersonRef] = {}
        keys = list(by_digest)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self._side.query(
                "SELECT digest, kind, person_id FROM {people} WHERE digest IN "
                + self._side.in_clause(len(chunk)),
                chunk,
            )
            for digest, kind, person_id in rows:
                found[by_digest[digest]] = PersonRef(kind, UUID(person_id))
        return found

    def find(self, email: str) -> PersonRef | None:
        return self.lookup([email]).get(email)

    def claim(self, email: str, ref: PersonRef) -> SideWrite:
        """Fails the whole transaction if the email already belongs to someone."""
        return SideWrite(
            "INSERT INTO {people} (digest, kind, person_id) VALUES (?, ?, ?)",
            (self.digest(email), ref.kind, str(ref.id)),
        )

    def repoint(self, email: str, ref: PersonRef) -> SideWrite:
        return SideWrite(
            "UPDATE {people} SET kind = ?, person_id = ? WHERE digest = ?",
            (ref.kind, str(ref.id), self.digest(email)),
        )

    def forget(self, email: str) -> SideWrite:
        return SideWrite("DELETE FROM {people} WHERE digest = ?", (self.digest(email),))

    def forget_people(self, person_ids: Sequence[UUID]) -> SideWrite:
        """Every email of these leads and contacts, including any that cannot be named any
        more (erasure): nothing derived from an email is left that leads to them."""
        return SideWrite(
            "DELETE FROM {people} WHERE person_id IN " + self._side.in_clause(len(person_ids)),
            tuple(str(p) for p in person_ids),
        )
