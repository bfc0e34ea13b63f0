"""Settings from the environment (and `.env`), exactly the README's configuration table."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]  # app/kit/config.py -> the repo
DEFAULT_PLANS_FILE = REPO_ROOT / "plans.example.toml"


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?")


class Scope(StrEnum):
    credits_read = "credits:read"
    credits_debit = "credits:debit"
    credits_reserve = "credits:reserve"
    credits_grant = "credits:grant"
    events_admin = "events:admin"


class ApiKeyEntry(BaseModel):
    """One configured service key: only the SHA-256 of the key is ever stored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    sha256: str
    scopes: frozenset[Scope]

    @field_validator("sha256", mode="before")
    @classmethod
    def _hex_digest(cls, value: object) -> object:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            # Never echo it: a key pasted here instead of its hash is a secret.
            raise ValueError(
                "must be the 64 hex characters of the key's SHA-256 "
                "(python -m app keys new prints it)"
            )
        return value.lower()


def _secret_of_at_least(value: str | None, chars: int) -> str | None:
    if value is not None and len(value) < chars:
        raise ValueError(f"must be at least {chars} characters")  # never echo a secret
    return value


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names it and never its value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    mongodb_uri: str | None = None
    mongodb_db: str = "credits"
    stripe_webhook_secret: str | None = None
    stripe_api_key: str | None = None
    api_keys: str | None = None
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_audience: str | None = None
    jwt_account_claim: str = "sub"
    # The longest a user token may live: exp - iat (or exp - now without iat).
    jwt_max_lifetime_seconds: int = Field(default=86_400, ge=60, le=31 * 86_400)
    plans_file: Path = DEFAULT_PLANS_FILE
    app_env: Literal["development", "production"] = "development"
    port: int = Field(default=8000, ge=1, le=65535)
    # Bounds and retention (docs/design.md, "Limits chosen" and "Retention").
    max_held_reservations: int = Field(default=1000, ge=1, le=100_000)
    # Beyond the 30 days Stripe's API lists events for: a backfill never re-brings a
    # forgotten event.
    stripe_event_retention_days: int = Field(default=400, ge=31)
    idempotency_answer_retention_days: int = Field(default=90, ge=1)
    # Outgoing events (docs/events.md).
    expiry_notice_days: int = Field(default=3, ge=1, le=365)
    low_balance_threshold: int | None = Field(default=None, ge=1)
    parked_alert_minutes: int = Field(default=60, ge=1)
    event_retention_days: int = Field(default=30, ge=30)
    outgoing_webhooks_allow_private: bool = False
    # Browsers: origins of a frontend that calls the API with user tokens (comma-separated).
    cors_origins: str | None = None
    # Signs console session cookies; unset: a random key per process (sign-ins end at restart).
    console_secret: str | None = None
    # Who may read /metrics: a bearer token, networks (CIDRs, comma-separated), or both.
    metrics_token: str | None = None
    metrics_allowed_networks: str | None = None
    # Refused credentials an address may send at once before it is slowed to one a second.
    auth_failure_burst: int = Field(default=20, ge=1, le=1_000_000)
    # Webhook endpoints at most (each multiplies every event into one more delivery).
    max_webhook_endpoints: int = Field(default=20, ge=1, le=1000)
    # Concurrent debits and holds of one account in this process share one unit of work
    # (docs/design.md, "Group commit"); false: one unit per request.
    group_commit: bool = True
    # Benchmarks only: the embedded engine simulates a replica set's latency (a round trip
    # per collection call, a majority commit per commit); 0: none.
    embedded_round_trip_ms: float = Field(default=0, ge=0, le=1000)
    embedded_commit_ms: float = Field(default=0, ge=0, le=1000)

    @field_validator(
        "mongodb_uri",
        "stripe_webhook_secret",
        "stripe_api_key",
        "api_keys",
        "jwt_secret",
        "jwt_public_key",
        "jwt_audience",
        "low_balance_threshold",
        "cors_origins",
        "console_secret",
        "metrics_token",
        "metrics_allowed_networks",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _production_is_safe(self) -> Settings:
        if self.app_env != "production":
            return self
        missing = [
            name
            for name, value in (
                ("MONGODB_URI", self.mongodb_uri),
                ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
                ("API_KEYS", self.api_keys),
            )
            if not value
        ]
        # User tokens without an audience would accept a token minted for another service.
        if (self.jwt_secret or self.jwt_public_key) and not self.jwt_audience:
            missing.append("JWT_AUDIENCE (user tokens are enabled)")
        if missing:
            raise ValueError("APP_ENV=production refuses to start without " + ", ".join(missing))
        return self

    @model_validator(mode="after")
    def _latency_is_simulated(self) -> Settings:
        if self.mongodb_uri and (self.embedded_round_trip_ms or self.embedded_commit_ms):
            raise ValueError(
                "EMBEDDED_ROUND_TRIP_MS and EMBEDDED_COMMIT_MS simulate a replica set's latency "
                "on the embedded engine (benchmarks only): unset them with MONGODB_URI"
            )
        return self

    @cached_property
    def webhook_secrets(self) -> tuple[str, ...]:
        raw = self.stripe_webhook_secret or ""
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    @cached_property
    def api_key_entries(self) -> tuple[ApiKeyEntry, ...]:
        if not self.api_keys:
            return ()
        try:
            data = json.loads(self.api_keys)
        except ValueError as exc:
            # Never echo the value: it is a secret-bearing setting. The position is enough.
            raise SettingsError(f"API_KEYS is not valid JSON: {_short_reason(exc)}") from None
        if not isinstance(data, list):
            raise SettingsError(
                'API_KEYS must be a JSON list of {"name", "sha256", "scopes"} objects'
            ) from None
        return tuple(_api_key_entry(index, item) for index, item in enumerate(data))

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        for origin in (value or "").split(","):
            origin = origin.strip()
            if origin and origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin such as https://app.example.com "
                    "(scheme, host and optional port; no path)"
                )
        return value

    @field_validator("console_secret")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        return _secret_of_at_least(value, 32)

    @field_validator("metrics_token")
    @classmethod
    def _token_long_enough(cls, value: str | None) -> str | None:
        return _secret_of_at_least(value, 16)

    @field_validator("metrics_allowed_networks")
    @classmethod
    def _networks(cls, value: str | None) -> str | None:
        for part in (value or "").split(","):
            if not part.strip():
                continue
            try:
                ipaddress.ip_network(part.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{part.strip()!r} is not a network such as 10.0.0.0/8 or 127.0.0.1"
                ) from None
        return value

    @cached_property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        parts = (self.metrics_allowed_networks or "").split(",")
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in parts if p.strip())

    @cached_property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(
            o.strip().rstrip("/") for o in (self.cors_origins or "").split(",") if o.strip()
        )

    def check(self) -> None:
        """Parse the derived settings once at start-up so a bad one stops the service."""
        entries = self.api_key_entries
        if self.app_env == "production" and not entries:
            raise SettingsError("APP_ENV=production refuses to start without API_KEYS")
        if self.app_env == "production" and not self.webhook_secrets:
            raise SettingsError("APP_ENV=production refuses to start without STRIPE_WEBHOOK_SECRET")


def _api_key_entry(index: int, item: object) -> ApiKeyEntry:
    try:
        return ApiKeyEntry.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (an entry holds name, sha256 and scopes only)"
        # The entry's index and field, never its content: the entry may hold a pasted key.
        where = f"API_KEYS entry {index}" + (f" ({field})" if field else "")
        raise SettingsError(f"{where}: {msg}") from None


def _short_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err["loc"]).upper()  # the variable's name
        return f"{loc}: {msg}" if loc else msg
    return str(exc).split("\n")[0]


def load_settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_short_reason(exc)) from None
    settings.check()
    return settings


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
