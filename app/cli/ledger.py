"""python -m app ledger verify: check every invariant of the billing rules (read only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, TextIO

from app.cli.common import command_settings, database_failed, require_database

if TYPE_CHECKING:
    from app.storage.database import Database


def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 when every invariant holds, 1 on any problem (each printed), 2 on bad usage."""
    from pymongo.errors import PyMongoError

    from app.storage.database import connect

    settings = command_settings()
    uri = require_database(
        settings,
        "point it at the service's database (the embedded in-memory engine would be empty)",
    )

    async def run() -> int:
        database = connect(uri, settings.mongodb_db)
        try:
            return await run_verify(database, args.account)
        except PyMongoError as error:
            return database_failed(error, "read")
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
