"""Reading events (the pull API) and setting an account's low-balance alert."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.billing.catalog import Catalog
from app.kit.clock import Clock
from app.kit.errors import AccountNotFound, CursorNotFound
from app.kit.paging import page_of
from app.kit.views import view_of
from app.ledger.access import available
from app.ledger.documents import AccountDoc
from app.ledger.repository import Repositories
from app.outbox import schemas
from app.outbox.repository import OutboxRepository
from app.outbox.thresholds import AlertState, effective_threshold, rearmed
from app.storage.database import Database


def event_view(doc: dict) -> schemas.Event:
    return view_of(schemas.Event, doc)


@dataclass(eq=False)
class EventService:
    db: Database
    events: OutboxRepository
    repos: Repositories
    catalog: Catalog
    clock: Clock
    default_threshold: int | None

    async def page(
        self,
        *,
        account_id: str | None,
        type_: str | None,
        created_gte: datetime | None,
        starting_after: str | None,
        limit: int,
    ) -> schemas.EventPage:
        after = None
        if starting_after is not None:
            after = await self.events.get(starting_after, account_id)
            if after is None or (account_id is not None and after["account_id"] != account_id):
                # A well-formed id that names nothing here: the thing asked for is not found.
                raise CursorNotFound(f"starting_after: no event {starting_after} in this list")
        docs = await self.events.page(
            account_id=account_id, type_=type_, created_gte=created_gte, after=after, limit=limit
        )
        return page_of(schemas.EventPage, docs, limit, event_view)

    async def alerts(self, account_id: str) -> schemas.Alerts:
        return self._alerts_view(account_id, await self._account(None, account_id))

    async def set_alerts(self, account_id: str, req: schemas.AlertsUpdate) -> schemas.Alerts:
        value = req.low_balance_threshold

        async def unit(session):
            account = await self._account(session, account_id)
            state = rearmed(available(account), value, AlertState.of(account))
            fields = {
                "low_balance_threshold_set": True,
                "low_balance_threshold": value,
                **state.fields(),
            }
            await self.events.set_alert_state(session, account_id, fields)
            return {**account, **fields}

        return self._alerts_view(account_id, await self.db.transaction(unit))

    def _alerts_view(self, account_id: str, account: Mapping[str, Any]) -> schemas.Alerts:
        value, source = effective_threshold(account, self.catalog, self.default_threshold)
        return schemas.Alerts(account_id=account_id, low_balance_threshold=value, source=source)

    async def _account(self, session, account_id: str) -> AccountDoc:
        account = await self.repos.accounts.get(session, account_id)
        if account is None:
            raise AccountNotFound(f"account {account_id!r} not found")
        return account
