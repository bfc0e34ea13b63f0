"""Console sign-in: a service key with events:admin, checked once and exchanged for a signed
session cookie (HttpOnly, SameSite=Strict, 8 hours) that carries its CSRF token and names a
session record in MongoDB. Signing out deletes the record, which ends the session on every
instance, for every copy of the cookie; a session idle for 30 minutes ends too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.kit.clock import Clock, as_utc
from app.kit.config import Scope, Settings
from app.storage.database import CONSOLE_SESSIONS, Database

COOKIE = "credit_ledger_console"
LOGIN_CSRF_COOKIE = "credit_ledger_console_login"
LIFETIME_SECONDS = 8 * 3600
IDLE = timedelta(minutes=30)
# A page view moves the idle deadline at most this often: one write a minute, not one a page.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ConsoleSession:
    name: str  # the key's name: who did it, in the ledger's `actor`
    scopes: frozenset[Scope]
    csrf: str
    expires: int
    session_id: str = ""

    @property
    def can_grant(self) -> bool:
        return Scope.credits_grant in self.scopes


class SessionRepository:
    """Session records, keyed by the SHA-256 of the session id (a copy of the collection
    gives no usable cookie). `ends_at` is the earlier of the idle deadline and the 8 hours;
    the retention sweep removes records past it."""

    def __init__(self, db: Database) -> None:
        self.col = db[CONSOLE_SESSIONS]

    async def insert(self, key: str, name: str, now: datetime, expires_at: datetime) -> None:
        await self.col.insert_one(
            {
                "_id": key,
                "name": name,
                "created_at": now,
                "seen_at": now,
                "expires_at": expires_at,
                "ends_at": min(now + IDLE, expires_at),
            }
        )

    async def get(self, key: str) -> dict | None:
        return await self.col.find_one({"_id": key})

    async def touch(self, key: str, now: datetime, expires_at: datetime) -> None:
        await self.col.update_one(
            {"_id": key}, {"$set": {"seen_at": now, "ends_at": min(now + IDLE, expires_at)}}
        )

    async def purge(self, now: datetime) -> int:
        return (await self.col.delete_many({"ends_at": {"$lte": now}})).deleted_count

    async def delete(self, key: str) -> None:
        await self.col.delete_one({"_id": key})


class SessionSigner:
    """Built once at start-up. The cookie names the key and holds a keyed fingerprint of its
    hash, never the key: a key removed from API_KEYS ends its sessions at the next request."""

    def __init__(self, settings: Settings, sessions: SessionRepository, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        secret = settings.console_secret or secrets.token_urlsafe(32)
        self._secret = hashlib.sha256(b"console-session:" + secret.encode()).digest()
        self._keys = {e.name: (e.sha256, e.scopes) for e in settings.api_key_entries}
        self._hashes = {e.sha256: e.name for e in settings.api_key_entries}

    async def sign_in(self, key: str) -> tuple[str, ConsoleSession] | None:
        """A cookie value for a service key that has events:admin; None for anything else
        (a user token, an unknown key, a key without the scope)."""
        digest = hashlib.sha256(key.strip().encode()).hexdigest()
        name = None
        for known, entry_name in self._hashes.items():
            if hmac.compare_digest(known, digest):
                name = entry_name
        if name is None or Scope.events_admin not in self._keys[name][1]:
            return None
        now = self.clock.now()
        expires_at = now + timedelta(seconds=LIFETIME_SECONDS)
        session = ConsoleSession(
            name,
            self._keys[name][1],
            secrets.token_urlsafe(24),
            int(expires_at.timestamp()),
            secrets.token_urlsafe(24),
        )
        await self.sessions.insert(_record_key(session.session_id), name, now, expires_at)
        payload = {
            "n": name,
            "f": self._fingerprint(digest),
            "c": session.csrf,
            "e": session.expires,
            "s": session.session_id,
        }
        return self._sign(payload), session

    async def read(self, cookie: str | None) -> ConsoleSession | None:
        """The session the cookie names, while its record lives and it has not been idle."""
        now = self.clock.now()
        payload = self._verify(cookie) if cookie else None
        if payload is None or payload.get("e", 0) < now.timestamp():
            return None
        entry = self._keys.get(str(payload.get("n")))
        if entry is None or not hmac.compare_digest(
            self._fingerprint(entry[0]), str(payload.get("f"))
        ):
            return None
        if Scope.events_admin not in entry[1]:
            return None
        key = _record_key(str(payload.get("s")))
        record = await self.sessions.get(key)
        if record is None or record["name"] != payload["n"]:
            return None  # signed out (or never recorded)
        if now >= as_utc(record["ends_at"]):
            await self.sessions.delete(key)
            return None
        if now - as_utc(record["seen_at"]) >= TOUCH_EVERY:
            await self.sessions.touch(key, now, as_utc(record["expires_at"]))
        return ConsoleSession(
            payload["n"], entry[1], str(payload["c"]), int(payload["e"]), str(payload["s"])
        )

    async def sign_out(self, session: ConsoleSession) -> None:
        await self.sessions.delete(_record_key(session.session_id))

    def login_token(self) -> str:
        return secrets.token_urlsafe(24)

    def _fingerprint(self, key_hash: str) -> str:
        return hmac.new(self._secret, key_hash.encode(), hashlib.sha256).hexdigest()[:32]

    def _sign(self, payload: dict) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()
        return f"{body.decode()}.{base64.urlsafe_b64encode(mac).decode()}"

    def _verify(self, cookie: str) -> dict | None:
        body, _, mac = cookie.partition(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(base64.urlsafe_b64decode(mac.encode()), expected):
                return None
            payload = json.loads(base64.urlsafe_b64decode(body.encode()))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None


def _record_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))
