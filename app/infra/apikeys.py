"""API keys (CONTRACT 9): roles, hashing, the three sources and their merged, cached view.

A key is shown once, at creation, and stored nowhere: only the SHA-256 of it is kept (in the
`api_keys` side table, in `LEADFLOW_API_KEYS` or in leadflow.toml). A random 256-bit key
needs no salt or slow hash: nobody can guess its pre-image from the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from leadflow.infra.sidetables import SideTables

ROLES = ("ingest", "analyst", "sales", "admin")
KEY_PREFIX = "lf_"
HASH_PREFIX = "sha256:"
ENV_VAR = "LEADFLOW_API_KEYS"
# Names land in audit records and logs: a short plain token, never anything personal. A
# name cannot start with "(", so it never collides with the marker of the open API.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
MIN_PLAIN_KEY = 16


class ApiKeyError(ValueError):
    """An unusable key definition; the message names the entry, never the key."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    roles: frozenset[str]
    digest: str = field(repr=False)  # hex SHA-256 of the key
    source: str = "db"  # db, env or toml
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ApiKeyError(
            f"key name {name!r} must be 1-64 letters, digits or . _ @ - (starting with a "
            "letter or digit)"
        )
    return name


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    found = frozenset(r.strip() for r in roles if r.strip())
    if not found:
        raise ApiKeyError(f"give at least one role of {', '.join(ROLES)}")
    unknown = found - set(ROLES)
    if unknown:
        raise ApiKeyError(f"unknown role(s) {sorted(unknown)}: use {', '.join(ROLES)}")
    return found


def digest_from_secret(secret: str) -> str:
    """`sha256:<64 hex>` as is, or a plain key (hashed here and then forgotten)."""
    if secret.startswith(HASH_PREFIX):
        hexpart = secret[len(HASH_PREFIX) :].lower()
        if not _HEX.match(hexpart):
            raise ApiKeyError(f"a hash must be {HASH_PREFIX} and 64 hex digits")
        return hexpart
    if len(secret) < MIN_PLAIN_KEY or not secret.isprintable() or secret != secret.strip():
        raise ApiKeyError(
            f"a plain key must be at least {MIN_PLAIN_KEY} printable characters without "
            "surrounding spaces (or give sha256:<hex>)"
        )
    return digest_of(secret)


def _unique(keys: Sequence[ApiKey], where: str) -> tuple[ApiKey, ...]:
    seen: set[str] = set()
    for key in keys:
        if key.name in seen:
            raise ApiKeyError(f"{where}: key name {key.name!r} appears twice")
        seen.add(key.name)
    return tuple(keys)


def parse_env(text: str) -> tuple[ApiKey, ...]:
    """`name:role1+role2:KEY_OR_sha256:HEX,name2:...` or a JSON list of
    `{"name", "roles", "key" | "hash"}`; blank means none."""
    text = text.strip()
    if not text:
        return ()
    keys: list[ApiKey] = []
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            raise ApiKeyError(f"{ENV_VAR}: not valid JSON") from None
        if not isinstance(items, list):
            raise ApiKeyError(f"{ENV_VAR}: a JSON value must be a list of objects")
        for i, item in enumerate(items):
            keys.append(_json_entry(item, f"{ENV_VAR}[{i}]"))
    else:
        for i, part in enumerate(p.strip() for p in text.split(",")):
            where = f"{ENV_VAR} entry {i + 1}"
            name, sep1, rest = part.partition(":")
            roles, sep2, secret = rest.partition(":")
            if not (sep1 and sep2 and secret):
                raise ApiKeyError(f"{where}: must be name:role1+role2:key (or sha256:<hex>)")
            keys.append(_entry(name.strip(), roles.split("+"), secret.strip(), "env", where))
    return _unique(keys, ENV_VAR)


def _json_entry(item: object, where: str) -> ApiKey:
    if not isinstance(item, dict) or set(item) - {"name", "roles", "key", "hash"}:
        raise ApiKeyError(f"{where}: must be an object with name, roles and key or hash")
    name, roles = item.get("name"), item.get("roles")
    secrets_given = [item[k] for k in ("key", "hash") if k in item]
    if not isinstance(name, str) or not isinstance(roles, list) or len(secrets_given) != 1:
        raise ApiKeyError(f"{where}: needs name (text), roles (list) and one of key or hash")
    secret = secrets_given[0]
    if not isinstance(secret, str) or not all(isinstance(r, str) for r in roles):
        raise ApiKeyError(f"{where}: key, hash and roles must be text")
    if "hash" in item and not secret.startswith(HASH_PREFIX):
        secret = HASH_PREFIX + secret
    return _entry(name, roles, secret, "env", where)


def _entry(name: str, roles: Iterable[str], secret: str, source: str, where: str) -> ApiKey:
    try:
        return ApiKey(check_name(name), check_roles(roles), digest_from_secret(secret), source)
    except ApiKeyError as e:
        raise ApiKeyError(f"{where}: {e}") from None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ApiKeyTable:
    """The keys made by `leadflow keys create`, in the `api_keys` side table."""

    def __init__(self, side: SideTables) -> None:
        self._side = side

    def all(self) -> list[ApiKey]:
        rows = self._side.query(
            "SELECT name, roles, key_hash, created_at, revoked_at FROM {api_keys} ORDER BY name"
        )
        return [
            ApiKey(str(n), frozenset(str(r).split()), str(h), "db", _time(c), _time(v))
            for n, r, h, c, v in rows
        ]

    def create(self, name: str, roles: Iterable[str]) -> str:
        """The new key, to be shown once. A name is never reused, even once revoked, so that
        an actor in the audit trail always means one key."""
        name, found = check_name(name), check_roles(roles)
        key = new_key()
        now = datetime.now(UTC).isoformat()
        with self._side.transaction() as tx:
            if tx.query("SELECT 1 FROM {api_keys} WHERE name = ?", (name,)):
                raise ApiKeyError(f"a key named {name!r} exists already (names are never reused)")
            tx.execute(
                "INSERT INTO {api_keys} (name, roles, key_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, " ".join(r for r in ROLES if r in found), digest_of(key), now),
            )
        return key

    def revoke(self, name: str) -> bool | None:
        """True if revoked now, False if it was already, None if there is no such key."""
        with self._side.transaction() as tx:
            rows = tx.query("SELECT revoked_at FROM {api_keys} WHERE name = ?", (name,))
            if not rows:
                return None
            if rows[0][0]:
                return False
            tx.execute(
                "UPDATE {api_keys} SET revoked_at = ? WHERE name = ?",
                (datetime.now(UTC).isoformat(), name),
            )
            return True


class ApiKeyRing:
    """Every key of every source; the table is read again at most once per `ttl` seconds,
    so a key made or revoked by the CLI counts in a running API within about that time."""

    def __init__(
        self, configured: Sequence[ApiKey], table: ApiKeyTable | None, ttl: float = 1.0
    ) -> None:
        self._configured = tuple(configured)
        self._table = table
        self._ttl = ttl
        self._lock = threading.Lock()
        self._keys: tuple[ApiKey, ...] = ()
        self._read_at = float("-inf")

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._read_at >= self._ttl

    def keys(self) -> tuple[ApiKey, ...]:
        """Blocks on the database when stale: call it off the event loop then."""
        if self.stale:
            with self._lock:
                if self.stale:
                    stored = self._table.all() if self._table is not None else []
                    self._keys = (*self._configured, *stored)
                    self._read_at = time.monotonic()
        return self._keys

    def configured(self) -> bool:
        """Whether any key exists, revoked ones included: once keyed, an API never falls
        back to open because its last key was revoked."""
        return bool(self.keys())

    def authenticate(self, presented: str, keys: Sequence[ApiKey] | None = None) -> ApiKey | None:
        """The active key `presented` is (among `keys`, default all), or None: unknown or
        revoked. A key revoked in the table is refused even if a file still names it."""
        digest = digest_of(presented)
        active: ApiKey | None = None
        revoked = False
        for key in self.keys() if keys is None else keys:
            # Every digest is compared, in constant time, whatever matched before.
            if hmac.compare_digest(key.digest, digest):
                revoked = revoked or not key.active
                active = active or (key if key.active else None)
        return None if revoked else active
