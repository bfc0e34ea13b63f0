"""Operator commands: mint service API keys, launch a development server, and apply the
Stripe events the webhook endpoint never received.

    python -m app keys new --name gen-worker --scopes credits:read credits:debit
    python -m app dev [--reload]
    python -m app stripe backfill --since 3d|72h|2026-11-20 [--type T ...] [--limit N]

`dev` writes what it mints to `.dev-credentials.json` in the repo root (for `make demo`):
`{"base_url": "http://127.0.0.1:8000", "api_key": str | null, "webhook_secret": str | null}`,
null when that setting came from the environment instead.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import shlex
import sys
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import stripe

    from app.webhooks.processor import WebhookProcessor

# The spec's five scopes, listed here rather than imported from app.auth so that minting a
# key never loads the application or its settings.
SCOPES: tuple[str, ...] = (
    "credits:read",
    "credits:debit",
    "credits:reserve",
    "credits:grant",
    "events:admin",
)
KEY_PREFIX = "ck_"
DEV_WEBHOOK_SECRET_PREFIX = "whsec_dev_"
# Letters, digits and a little punctuation: the name lands inside a single-quoted shell line.
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")


def _repo_root() -> Path:
    source_root = Path(__file__).resolve().parent.parent
    return source_root if (source_root / "pyproject.toml").is_file() else Path.cwd()


ROOT = _repo_root()
DEV_CREDENTIALS_FILE = ROOT / ".dev-credentials.json"
EXAMPLE_PLANS_FILE = ROOT / "plans.example.toml"


# --- API keys -------------------------------------------------------------------------------


def parse_scopes(values: str | Iterable[str]) -> list[str]:
    """Scopes from space- or comma-separated words (`all` means every scope), in spec order."""
    if isinstance(values, str):
        values = [values]
    words = [word for value in values for word in re.split(r"[\s,]+", value) if word]
    if not words:
        raise ValueError(f"at least one scope is required; choose from {', '.join(SCOPES)}, all")
    chosen: set[str] = set()
    for word in words:
        if word == "all":
            chosen.update(SCOPES)
        elif word in SCOPES:
            chosen.add(word)
        else:
            raise ValueError(f"unknown scope {word!r}; choose from {', '.join(SCOPES)}, all")
    return [scope for scope in SCOPES if scope in chosen]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key(name: str, scopes: str | Iterable[str]) -> tuple[str, dict[str, Any]]:
    """A fresh random key and its `API_KEYS` entry, which keeps only the key's hash."""
    if not _KEY_NAME.fullmatch(name):
        raise ValueError(
            f"invalid key name {name!r}: 1-64 letters, digits or . _ : @ -, "
            "starting with a letter or digit"
        )
    entry_scopes = parse_scopes(scopes)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, {"name": name, "sha256": hash_api_key(key), "scopes": entry_scopes}


def api_keys_line(entries: Sequence[Mapping[str, Any]]) -> str:
    """`API_KEYS='[...]'`, ready for a shell or a `.env` file."""
    return "API_KEYS=" + shlex.quote(json.dumps(list(entries)))


class CommandError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def _keys_new(args: argparse.Namespace) -> int:
    try:
        key, entry = new_api_key(args.name, args.scopes)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"New API key {entry['name']!r} (shown once: it will not be shown again):")
    print()
    print(f"    {key}")
    print()
    print("Its API_KEYS entry (only the hash is stored; add it to the list in API_KEYS):")
    print()
    print(f"    {json.dumps(entry)}")
    print()
    print("Or, as the only key, paste this line into .env or your shell:")
    print()
    print(f"    {api_keys_line([entry])}")
    return 0


# --- Development server ---------------------------------------------------------------------


@dataclass(frozen=True)
class DevSetup:
    host: str
    port: int
    app_env: str
    mongodb_uri: str | None
    plans_file: str
    api_key: str | None  # minted for this run; None when API_KEYS was already configured
    webhook_secret: str | None  # likewise for STRIPE_WEBHOOK_SECRET

    @property
    def base_url(self) -> str:
        # 0.0.0.0 and :: listen everywhere but are not addresses to connect to.
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        return f"http://{host}:{self.port}"


def _read_dotenv(path: Path) -> dict[str, str]:
    """The `.env` file the application's settings will also read, parsed the same way."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # python-dotenv: pydantic-settings' own .env parser

    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def prepare_dev_environment(
    environ: MutableMapping[str, str], dotenv: Mapping[str, str] | None = None
) -> DevSetup:
    """Fill in development defaults for whatever neither `environ` nor `.env` sets."""
    dotenv = dotenv or {}

    def configured(name: str) -> str | None:
        # Blank counts as unset, as in the application's settings.
        for source in (environ, dotenv):
            value = source.get(name)
            if value is not None and value.strip():
                return value
        return None

    def default(name: str, value: str) -> str:
        current = configured(name)
        if current is None:
            environ[name] = current = value
        return current

    app_env = default("APP_ENV", "development")
    port_setting = default("PORT", "8000")
    try:
        port = int(port_setting)
    except ValueError:
        raise ValueError(f"PORT must be a number, not {port_setting!r}") from None
    plans_file = default("PLANS_FILE", str(EXAMPLE_PLANS_FILE))
    # Production must be configured on purpose: mint nothing, let the settings refuse to start.
    production = app_env.strip().lower() == "production"

    api_key = None
    if configured("API_KEYS") is None and not production:
        api_key, entry = new_api_key("dev", SCOPES)
        environ["API_KEYS"] = json.dumps([entry])

    webhook_secret = None
    if configured("STRIPE_WEBHOOK_SECRET") is None and not production:
        webhook_secret = DEV_WEBHOOK_SECRET_PREFIX + secrets.token_hex(16)
        environ["STRIPE_WEBHOOK_SECRET"] = webhook_secret

    return DevSetup(
        host=configured("HOST") or "127.0.0.1",
        port=port,
        app_env=app_env,
        mongodb_uri=configured("MONGODB_URI"),
        plans_file=plans_file,
        api_key=api_key,
        webhook_secret=webhook_secret,
    )


def write_dev_credentials(setup: DevSetup, path: Path = DEV_CREDENTIALS_FILE) -> None:
    credentials = {
        "base_url": setup.base_url,
        "api_key": setup.api_key,
        "webhook_secret": setup.webhook_secret,
    }
    # Owner-only: the file holds a key with every scope.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(credentials, file, indent=2)
        file.write("\n")


def _redact(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)


def dev_banner(setup: DevSetup) -> str:
    url = setup.base_url
    local = f"localhost:{setup.port}"
    key = setup.api_key or "$API_KEY"
    if setup.mongodb_uri:
        database = _redact(setup.mongodb_uri)
    else:
        database = "embedded in-memory engine (MONGODB_URI unset): data is lost on exit"
    if setup.api_key:
        key_line = f"{setup.api_key}  (all scopes; minted for this run)"
    else:
        key_line = "from API_KEYS (set $API_KEY to one of your keys for the examples)"
    if setup.webhook_secret:
        secret_line = f"{setup.webhook_secret}  (minted for this run)"
    else:
        secret_line = "from STRIPE_WEBHOOK_SECRET"
    auth = f'-H "Authorization: Bearer {key}"'
    lines = [
        f"Credit Ledger ({setup.app_env})",
        f"  listening on    {url}",
        f"  API docs        {url}/docs",
        f"  database        {database}",
        f"  plans           {setup.plans_file}",
        f"  API key         {key_line}",
        f"  webhook secret  {secret_line}",
    ]
    if setup.api_key or setup.webhook_secret:
        lines.append(f"  (both saved in {DEV_CREDENTIALS_FILE.name} for make demo)")
    lines += [
        "",
        "Try it:",
        f"  curl -X POST {local}/v1/accounts/user_42/grants {auth} "
        '-H "Idempotency-Key: g1" -H "Content-Type: application/json" '
        """-d '{"amount":100,"kind":"bonus","description":"welcome"}'""",
        f"  curl -X POST {local}/v1/accounts/user_42/debits {auth} "
        '-H "Idempotency-Key: d1" -H "Content-Type: application/json" '
        """-d '{"amount":3}'""",
        f"  curl {local}/v1/accounts/user_42 {auth}",
        "",
    ]
    return "\n".join(lines)


def _dev(args: argparse.Namespace) -> int:
    # Settings go into os.environ before anything imports app.main (uvicorn imports it by name).
    try:
        setup = prepare_dev_environment(os.environ, _read_dotenv(Path(".env")))
    except ValueError as error:
        raise CommandError(str(error)) from None
    if setup.app_env.strip().lower() == "production":
        print(
            "APP_ENV=production: no development key or webhook secret is minted.",
            file=sys.stderr,
        )
    else:
        write_dev_credentials(setup)
    print(dev_banner(setup), flush=True)

    import uvicorn

    uvicorn.run("app.main:app", host=setup.host, port=setup.port, reload=args.reload)
    return 0


# --- Stripe: events never delivered ---------------------------------------------------------

STRIPE_EVENT_RETENTION_DAYS = 30  # how far back Stripe's API lists events
_RELATIVE = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
# A Stripe secret or restricted key in clear (Stripe's own messages show it masked: sk_live_****).
_STRIPE_KEY = re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]+")


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`3d`, `72h` or `90m` before now; or a date (`2026-11-20`: midnight UTC) or an ISO 8601
    time (UTC unless it says otherwise)."""
    now = now or datetime.now(UTC)
    text = value.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        return now - timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a duration (3d, 72h, 90m) or a date (2026-11-20)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise argparse.ArgumentTypeError(f"{value!r} is in the future")
    return moment


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _redact_stripe(message: str, api_key: str | None) -> str:
    if api_key:
        message = message.replace(api_key, "***")
    return _STRIPE_KEY.sub("***", message)


async def run_backfill(processor: WebhookProcessor, client: stripe.StripeClient, *,
                       since: datetime, types: list[str] | None, limit: int | None,
                       api_key: str | None = None, out: TextIO | None = None,
                       err: TextIO | None = None) -> int:
    """Run the backfill and print its report; the exit status (0 done, 1 stopped)."""
    import stripe

    from app.webhooks.backfill import STATUSES, BackfillInterrupted, backfill_events

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        report = await backfill_events(processor, client, since=since, types=types,
                                       limit=limit)
    except stripe.StripeError as error:
        reason = _redact_stripe(error.user_message or str(error), api_key)
        print(f"Stripe did not list the events ({type(error).__name__}): {reason}", file=err)
        return 1
    except BackfillInterrupted as stopped:
        report = stopped.report
        reason = _redact(_redact_stripe(str(stopped), api_key)).splitlines()[0][:300]
        print(f"backfill {reason}; the events before it are applied: run the same command "
              "again to resume", file=err)
        failed = True
    else:
        failed = False
    which = "every handled type" if types is None else ", ".join(report.types)
    print(f"Stripe events since {_iso(report.since)} ({which}): {report.listed} listed, "
          f"{report.applied} applied", file=out)
    for status in STATUSES:
        print(f"{status:<10} {report.counts.get(status, 0)}", file=out)
    if report.remaining and report.next_since and not failed:
        print(f"left by --limit: {report.remaining}; continue with "
              f"--since {_iso(report.next_since)}", file=out)
    if report.counts.get("failed") or report.counts.get("parked"):
        print("see GET /v1/webhook-events?status=failed (or parked) for why; replay after "
              "fixing", file=out)
    return 1 if failed else 0


def _stripe_backfill(args: argparse.Namespace) -> int:
    from app.billing.catalog import CatalogError, load_catalog
    from app.config import SettingsError, load_settings
    from app.webhooks.backfill import MAX_TYPES

    try:
        settings = load_settings()
    except SettingsError as error:
        raise CommandError(str(error)) from None
    if not settings.stripe_api_key:
        raise CommandError(
            "STRIPE_API_KEY is not set: the backfill lists events through Stripe's API "
            "(a secret key, or a restricted key that may read events)")
    if not settings.mongodb_uri:
        raise CommandError(
            "MONGODB_URI is not set: a backfill into the embedded in-memory engine would be "
            "lost when the command exits; point MONGODB_URI at the service's database")
    if args.types and len(set(args.types)) > MAX_TYPES:
        raise CommandError(f"at most {MAX_TYPES} --type values (Stripe's limit)")
    try:
        catalog = load_catalog(settings.plans_file)
    except CatalogError as error:
        raise CommandError(str(error)) from None
    oldest = datetime.now(UTC) - timedelta(days=STRIPE_EVENT_RETENTION_DAYS)
    if args.since < oldest:
        print(f"note: Stripe lists the events of the last {STRIPE_EVENT_RETENTION_DAYS} days "
              "only; older ones cannot be backfilled", file=sys.stderr)

    import logging

    import stripe
    from pymongo.errors import PyMongoError

    from app.clock import Clock
    from app.db import connect
    from app.main import build_processor

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    client = stripe.StripeClient(settings.stripe_api_key, max_network_retries=2)

    async def backfill() -> int:
        database = connect(settings.mongodb_uri, settings.mongodb_db)
        try:
            try:
                await database.ensure_indexes()
            except PyMongoError as error:
                reason = _redact(str(error)).splitlines()[0][:300]
                print(f"cannot use the database at MONGODB_URI ({type(error).__name__}): "
                      f"{reason}", file=sys.stderr)
                return 1
            processor = build_processor(settings, database, catalog, Clock())
            return await run_backfill(processor, client, since=args.since, types=args.types,
                                      limit=args.limit, api_key=settings.stripe_api_key)
        finally:
            await database.close()

    return asyncio.run(backfill())


# --- Entry point ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Credit Ledger commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = commands.add_parser("keys", help="service API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    new = key_commands.add_parser(
        "new",
        help="mint a random API key and print its API_KEYS entry",
        description="Mint a random API key; print it once, with its API_KEYS entry.",
    )
    new.add_argument("--name", required=True, help="who uses the key, e.g. gen-worker")
    new.add_argument(
        "--scopes",
        required=True,
        nargs="+",
        metavar="SCOPE",
        help=f"space- or comma-separated, from {', '.join(SCOPES)}; or all",
    )
    new.set_defaults(handler=_keys_new)

    dev = commands.add_parser(
        "dev",
        help="run a development server",
        description="Run a development server, minting a key and webhook secret if unset.",
    )
    dev.add_argument("--reload", action="store_true", help="restart when the code changes")
    dev.set_defaults(handler=_dev)

    stripe_parser = commands.add_parser("stripe", help="Stripe operations")
    stripe_commands = stripe_parser.add_subparsers(dest="stripe_command", required=True,
                                                   metavar="COMMAND")
    backfill = stripe_commands.add_parser(
        "backfill",
        help="apply the events Stripe never delivered",
        description="List events from Stripe's API (STRIPE_API_KEY) and apply them, oldest "
        "first, to the database at MONGODB_URI; events already received are duplicates and "
        "change nothing.",
    )
    backfill.add_argument("--since", required=True, type=parse_since, metavar="WHEN",
                          help="3d, 72h or 90m ago, or a date or time (2026-11-20, UTC)")
    backfill.add_argument("--type", dest="types", action="append", metavar="TYPE",
                          help="an event type to list (repeat for more); default: every "
                          "type the service handles")
    backfill.add_argument("--limit", type=_positive_int, metavar="N",
                          help="apply at most the N oldest events of the window")
    backfill.set_defaults(handler=_stripe_backfill)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
