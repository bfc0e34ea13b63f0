"""python -m app ledger verify: check every invariant of the billing rules (read only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, TextIO

from app.cli.common import CommandError, redact_uri

if TYPE_CHECKING:
    from app.storage.database import Database


def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 when every invariant holds, 1 on any problem (each printed), 2 on bad usage."""
    from pymongo.errors import PyMongoError

    from app.kit.config import SettingsError, load_settings
    from app.storage.database import connect

    try:
        settings = load_settings()
    except SettingsError as error:
        raise CommandError(str(error)) from None
    if not settings.mongodb_uri:
        raise CommandError(
            "MONGODB_URI is not set: point it at the service's database (the "
            "embedded in-memory engine would be empty)"
        )

    async def run() -> int:
        database = connect(settings.mongodb_uri, settings.mongodb_db)
        try:
            return await run_verify(database, args.account)
        except PyMongoError as error:
            reason = redact_uri(str(error)).splitlines()[0][:300]
            print(
                f"cannot read the database at MONGODB_URI ({type(error).__name__}): {reason}",
                file=sys.stderr,
            )
            return 1
        finally:
            await database.close()

    return asyncio.run(run())


async def run_verify(database: Database, account_id: str | None, out: TextIO = sys.stdout) -> int:
    """Print the report as JSON; 0 when every invariant holds, 1 on any problem."""
    from app.ledger.repository import Repositories
    from app.ledger.verify import verify

    report = await verify(Repositories(database), account_id)
    print(
        json.dumps(
            {
                "ok": report.ok,
                "accounts_checked": report.accounts_checked,
                "problems": [vars(p) for p in report.problems],
            },
            indent=2,
        ),
        file=out,
    )
    return 0 if report.ok else 1
