"""Console sign-in: a service key with events:admin, checked once and exchanged for a signed
session cookie (HttpOnly, SameSite=Strict, 8 hours) that carries its CSRF token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from app.config import Scope, Settings

COOKIE = "credit_ledger_console"
LOGIN_CSRF_COOKIE = "credit_ledger_console_login"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class ConsoleSession:
    name: str  # the key's name: who did it, in the ledger's `actor`
    scopes: frozenset[Scope]
    csrf: str
    expires: int

    @property
    def can_grant(self) -> bool:
        return Scope.credits_grant in self.scopes


class SessionSigner:
    """Built once at start-up. The cookie names the key and holds a keyed fingerprint of its
    hash, never the key: a key removed from API_KEYS ends its sessions at the next request."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.console_secret or secrets.token_urlsafe(32)
        self._secret = hashlib.sha256(b"console-session:" + secret.encode()).digest()
        self._keys = {e.name: (e.sha256, e.scopes) for e in settings.api_key_entries}
        self._hashes = {e.sha256: e.name for e in settings.api_key_entries}

    def sign_in(self, key: str) -> tuple[str, ConsoleSession] | None:
        """A cookie value for a service key that has events:admin; None for anything else
        (a user token, an unknown key, a key without the scope)."""
        digest = hashlib.sha256(key.strip().encode()).hexdigest()
        name = None
        for known, entry_name in self._hashes.items():
            if hmac.compare_digest(known, digest):
                name = entry_name
        if name is None or Scope.events_admin not in self._keys[name][1]:
            return None
        session = ConsoleSession(
            name,
            self._keys[name][1],
            secrets.token_urlsafe(24),
            int(time.time()) + LIFETIME_SECONDS,
        )
        payload = {
            "n": name,
            "f": self._fingerprint(digest),
            "c": session.csrf,
            "e": session.expires,
        }
        return self._sign(payload), session

    def read(self, cookie: str | None) -> ConsoleSession | None:
        payload = self._verify(cookie) if cookie else None
        if payload is None or payload.get("e", 0) < time.time():
            return None
        entry = self._keys.get(payload.get("n"))
        if entry is None or not hmac.compare_digest(
            self._fingerprint(entry[0]), str(payload.get("f"))
        ):
            return None
        if Scope.events_admin not in entry[1]:
            return None
        return ConsoleSession(payload["n"], entry[1], str(payload["c"]), int(payload["e"]))

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


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))
