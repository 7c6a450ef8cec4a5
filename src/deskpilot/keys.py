"""API keys: each has a role; only a SHA-256 hash is stored, the key itself is shown once at creation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from deskpilot.db import Base, UtcDateTime, now, retry_transient
from deskpilot.domain import ROLES
from deskpilot.errors import InvalidInputError, NotFoundError

PREFIX = "dp_"
# A valid key is trusted for this long after it was checked in the database: revoking a key takes effect at
# once in the process that revokes it, and within this many seconds in every other worker.
VERIFY_TTL_S = 2.0
_verified: dict[tuple[str, str], tuple[Principal, float]] = {}  # (database, key hash) -> (principal, checked at)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeyRecord(Base):
    """One API key (hashed)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)  # `keys list`: db.iso, the text of before 0010
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and role."""

    key_id: str
    name: str
    role: str
    # An anonymous visitor of the shared widget key: a hash of the random token its browser keeps; its
    # conversations are bound to it, so another visitor cannot read or continue them (even with their id).
    visitor: str | None = None
    origin: str | None = None  # the visitor's network origin, hashed (address, IPv6 by /64): hand-offs are throttled by it

    @property
    def owner(self) -> tuple[str, str | None] | None:
        """Whose conversations this caller reaches: (key id, visitor) for customers, None (all) for staff."""
        return None if self.staff else (self.key_id, self.visitor)

    @property
    def staff(self) -> bool:
        """Agents, editors, QA and admins may see internal sources; customers never."""
        return self.role != "customer"


class KeyStore:
    """Create, check, list and revoke API keys."""

    def __init__(self, sessions: sessionmaker) -> None:  # type: ignore[type-arg]
        self._sessions = sessions
        bind = sessions.kw.get("bind")
        self._database = str(bind.url) if bind is not None else str(id(sessions))

    @retry_transient
    def create(self, role: str, name: str) -> tuple[Principal, str]:
        """A new key for role; returns it in clear once (only its hash is kept).

        Raises:
            InvalidInputError: unknown role or empty name.
        """
        if role not in ROLES:
            raise InvalidInputError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if not name.strip():
            raise InvalidInputError("a key needs a name")
        key = PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(id=secrets.token_hex(6), name=name.strip()[:200], role=role, key_hash=hash_key(key))
        with self._sessions.begin() as session:
            session.add(record)
        return Principal(record.id, record.name, role), key

    @retry_transient
    def ensure(self, key: str, role: str, name: str) -> Principal:
        """Make a chosen key valid for role (e.g. the widget's public key from settings); idempotent."""
        if len(key) < 16:
            raise InvalidInputError("a configured key must be at least 16 characters long")
        found = self.verify(key)
        if found is not None:
            if found.role != role:
                # A staff key configured as the public widget key by mistake would be published to every visitor.
                raise InvalidInputError(f"the configured key already exists with the role {found.role!r}, "
                                        f"not {role!r}: choose another key")
            return found
        record = ApiKeyRecord(id=secrets.token_hex(6), name=name, role=role, key_hash=hash_key(key))
        try:
            with self._sessions.begin() as session:
                session.add(record)
        except IntegrityError:
            # Another process (a second worker starting at the same moment) stored the same key first.
            found = self.verify(key)
            if found is None or found.role != role:
                raise
            return found
        return Principal(record.id, name, role)

    def recently_verified(self, key: str) -> Principal | None:
        """The principal of a key checked in the database less than VERIFY_TTL_S ago (no database access)."""
        cached = _verified.get((self._database, hash_key(key))) if key and len(key) <= 200 else None
        return cached[0] if cached is not None and time.monotonic() - cached[1] < VERIFY_TTL_S else None

    @retry_transient
    def verify(self, key: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None otherwise."""
        if not key or len(key) > 200:
            return None
        found = self.recently_verified(key)
        if found is not None:
            return found
        digest = hash_key(key)
        now = time.monotonic()
        with self._sessions() as session:
            record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.key_hash == digest))
        if record is None or record.revoked or not hmac.compare_digest(record.key_hash, digest):
            _verified.pop((self._database, digest), None)
            return None
        principal = Principal(record.id, record.name, record.role)
        if len(_verified) > 10_000:
            _verified.clear()
        _verified[(self._database, digest)] = (principal, now)
        return principal

    @retry_transient
    def list(self) -> list[ApiKeyRecord]:
        """All keys (hashes only), oldest first."""
        with self._sessions() as session:
            return list(session.scalars(select(ApiKeyRecord).order_by(ApiKeyRecord.created_at)))

    @retry_transient
    def revoke(self, key_id: str) -> None:
        """Revoke a key by id.

        Raises:
            NotFoundError: no such key.
        """
        with self._sessions.begin() as session:
            record = session.get(ApiKeyRecord, key_id)
            if record is None:
                raise NotFoundError(f"no API key with id {key_id!r}")
            record.revoked = True
        _verified.clear()
