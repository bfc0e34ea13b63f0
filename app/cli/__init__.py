"""Operator commands: mint service API keys, launch a development server, and apply the
Stripe events the webhook endpoint never received.

    python -m app keys new --name gen-worker --scopes credits:read credits:debit
    python -m app dev [--reload]
    python -m app serve [--workers N] [--host H] [--forwarded-allow-ips IPS]
    python -m app stripe backfill --since 3d|72h|2026-11-20 [--type T ...] [--limit N]
    python -m app ledger verify [--account ID]

`dev` writes what it mints to `.dev-credentials.json` in the repo root (for `make demo`):
`{"base_url": "http://127.0.0.1:8000", "api_key": str | null, "webhook_secret": str | null}`,
null when that setting came from the environment instead.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from app.cli.backfill import backfill_command, parse_since, positive_int, run_backfill
from app.cli.common import (
    DEV_CREDENTIALS_FILE,
    DEV_WEBHOOK_SECRET_PREFIX,
    KEY_PREFIX,
    SCOPES,
    CommandError,
)
from app.cli.dev import dev_command, prepare_dev_environment
from app.cli.keys import keys_new_command, new_api_key
from app.cli.ledger import verify_command
from app.cli.serve import add_serve_arguments, serve_command

__all__ = [
    "DEV_WEBHOOK_SECRET_PREFIX",
    "KEY_PREFIX",
    "SCOPES",
    "build_parser",
    "main",
    "new_api_key",
    "parse_since",
    "prepare_dev_environment",
    "run_backfill",
]

# --- Entry point ----------------------------------------------------------------------------


def _command_group(commands: Any, name: str, help: str) -> Any:  # noqa: A002 - argparse's
    """`python -m app NAME COMMAND ...`: the subcommands of a group, one of them required."""
    group = commands.add_parser(name, help=help)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Credit Ledger commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    key_commands = _command_group(commands, "keys", "service API keys")
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
    new.set_defaults(handler=keys_new_command)

    dev = commands.add_parser(
        "dev",
        help="run a development server",
        description="Run a development server, minting a key and webhook secret if unset.",
    )
    dev.add_argument("--reload", action="store_true", help="restart when the code changes")
    dev.add_argument(
        "--credentials-file",
        default=str(DEV_CREDENTIALS_FILE),
        metavar="PATH",
        help="where a started server saves what it minted, for make demo "
        "(default: .dev-credentials.json in the repo)",
    )
    dev.set_defaults(handler=dev_command)

    serve = commands.add_parser(
        "serve",
        help="run the production server",
        description="Run the service for production: settings from the environment, worker "
        "processes, proxy headers trusted from FORWARDED_ALLOW_IPS, graceful shutdown on "
        "SIGTERM.",
    )
    add_serve_arguments(serve)
    serve.set_defaults(handler=serve_command)

    stripe_commands = _command_group(commands, "stripe", "Stripe operations")
    backfill = stripe_commands.add_parser(
        "backfill",
        help="apply the events Stripe never delivered",
        description="List events from Stripe's API (STRIPE_API_KEY) and apply them, oldest "
        "first, to the database at MONGODB_URI; events already received are duplicates and "
        "change nothing.",
    )
    backfill.add_argument(
        "--since",
        required=True,
        type=parse_since,
        metavar="WHEN",
        help="3d, 72h or 90m ago, or a date or time (2026-11-20, UTC)",
    )
    backfill.add_argument(
        "--type",
        dest="types",
        action="append",
        metavar="TYPE",
        help="an event type to list (repeat for more); default: every type the service handles",
    )
    backfill.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="apply at most the N oldest events of the window",
    )
    backfill.set_defaults(handler=backfill_command)

    ledger_commands = _command_group(commands, "ledger", "ledger operations")
    verify = ledger_commands.add_parser(
        "verify",
        help="check every invariant of the billing rules (read only)",
        description="Check the ledger at MONGODB_URI: balance = sum of entries, seq without "
        "gaps, the balance_after chain, grants and holds against the balance, nothing "
        "negative, each Stripe effect once. Prints the report as JSON; exits 1 on any problem.",
    )
    verify.add_argument("--account", metavar="ID", help="one account (default: every account)")
    verify.set_defaults(handler=verify_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
