"""The settings and API keys the tests' service runs with, and the fixed time it starts at."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.kit.config import Scope, Settings, sha256_hex

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_test_secret"
JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"

# name -> scopes; the token of each is "key-<name>".
KEY_SCOPES: dict[str, list[Scope]] = {
    "admin": list(Scope),
    "reader": [Scope.credits_read],
    "debitor": [Scope.credits_read, Scope.credits_debit],
    "worker": [Scope.credits_read, Scope.credits_debit, Scope.credits_reserve],
    "granter": [Scope.credits_grant],
    "events": [Scope.events_admin],
}


def token(name: str) -> str:
    return f"key-{name}"


def auth(name: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(name)}"}


def api_keys_json() -> str:
    return json.dumps(
        [
            {"name": n, "sha256": sha256_hex(token(n)), "scopes": [s.value for s in sc]}
            for n, sc in KEY_SCOPES.items()
        ]
    )


def make_settings(**overrides) -> Settings:
    values = dict(
        api_keys=api_keys_json(),
        jwt_secret=JWT_SECRET,
        stripe_webhook_secret=WEBHOOK_SECRET,
        app_env="development",
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)
