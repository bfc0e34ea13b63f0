"""python -m app stripe backfill: apply the Stripe events the webhook never received."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from app.cli.common import (
    CommandError,
    command_settings,
    database_failed,
    redact_uri,
    require_database,
)

if TYPE_CHECKING:
    import stripe

    from app.stripe_events.processor import WebhookProcessor

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
            f"{value!r} is not a duration (3d, 72h, 90m) or a date (2026-11-20)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise argparse.ArgumentTypeError(f"{value!r} is in the future")
    return moment


def positive_int(value: str) -> int:
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


async def run_backfill(
    processor: WebhookProcessor,
    client: stripe.StripeClient,
    *,
    since: datetime,
    types: list[str] | None,
    limit: int | None,
    api_key: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the backfill and print its report; the exit status (0 done, 1 stopped)."""
    import stripe

    from app.stripe_events.backfill import STATUSES, BackfillInterrupted, backfill_events

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        report = await backfill_events(processor, client, since=since, types=types, limit=limit)
    except stripe.StripeError as error:
        reason = _redact_stripe(error.user_message or str(error), api_key)
        print(f"Stripe did not list the events ({type(error).__name__}): {reason}", file=err)
        return 1
    except BackfillInterrupted as stopped:
        report = stopped.report
        reason = redact_uri(_redact_stripe(str(stopped), api_key)).splitlines()[0][:300]
        print(
            f"backfill {reason}; the events before it are applied: run the same command "
            "again to resume",
            file=err,
        )
        failed = True
    else:
        failed = False
    which = "every handled type" if types is None else ", ".join(report.types)
    print(
        f"Stripe events since {_iso(report.since)} ({which}): {report.listed} listed, "
        f"{report.applied} applied",
        file=out,
    )
    for status in STATUSES:
        print(f"{status:<10} {report.counts.get(status, 0)}", file=out)
    if report.remaining and report.next_since and not failed:
        print(
            f"left by --limit: {report.remaining}; continue with --since {_iso(report.next_since)}",
            file=out,
        )
    if report.counts.get("failed") or report.counts.get("parked"):
        print(
            "see GET /v1/webhook-events?status=failed (or parked) for why; replay after fixing",
            file=out,
        )
    return 1 if failed else 0


def backfill_command(args: argparse.Namespace) -> int:
    from app.billing.catalog import CatalogError, load_catalog
    from app.stripe_events.backfill import MAX_TYPES

    settings = command_settings()
    if not settings.stripe_api_key:
        raise CommandError(
            "STRIPE_API_KEY is not set: the backfill lists events through Stripe's API "
            "(a secret key, or a restricted key that may read events)"
        )
    uri = require_database(
        settings,
        "a backfill into the embedded in-memory engine would be lost when the command exits; "
        "point MONGODB_URI at the service's database",
    )
    if args.types and len(set(args.types)) > MAX_TYPES:
        raise CommandError(f"at most {MAX_TYPES} --type values (Stripe's limit)")
    try:
        catalog = load_catalog(settings.plans_file)
    except CatalogError as error:
        raise CommandError(str(error)) from None
    oldest = datetime.now(UTC) - timedelta(days=STRIPE_EVENT_RETENTION_DAYS)
    if args.since < oldest:
        print(
            f"note: Stripe lists the events of the last {STRIPE_EVENT_RETENTION_DAYS} days "
            "only; older ones cannot be backfilled",
            file=sys.stderr,
        )

    import logging

    import stripe
    from pymongo.errors import PyMongoError

    from app.http.app import build_processor
    from app.kit.clock import Clock
    from app.storage.database import connect

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    client = stripe.StripeClient(settings.stripe_api_key, max_network_retries=2)

    async def backfill() -> int:
        database = connect(uri, settings.mongodb_db)
        try:
            try:
                await database.ensure_indexes()
            except PyMongoError as error:
                return database_failed(error, "use")
            processor = build_processor(settings, database, catalog, Clock())
            return await run_backfill(
                processor,
                client,
                since=args.since,
                types=args.types,
                limit=args.limit,
                api_key=settings.stripe_api_key,
            )
        finally:
            await database.close()

    return asyncio.run(backfill())
