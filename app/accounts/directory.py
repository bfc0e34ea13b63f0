"""Finding accounts (for operators and admin tools) and listing an account's holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.accounts import schemas as read_schemas
from app.accounts.repository import ReadRepository
from app.accounts.usage import GroupBy, usage
from app.kit.clock import Clock
from app.kit.paging import page_of
from app.ledger.expiry import load_account
from app.ledger.repository import Repositories
from app.ledger.views import account_view, reservation_view
from app.storage.documents import Doc

LOW_BALANCE_BATCH = 200


@dataclass(eq=False)
class Directory:
    repos: Repositories
    reads: ReadRepository
    clock: Clock

    async def accounts(
        self,
        *,
        q: str | None,
        status: str | None,
        low_balance: bool,
        starting_after: str | None,
        limit: int,
    ) -> read_schemas.AccountList:
        q = q.strip() if q else None
        if low_balance:
            docs = await self._low_balance(q, status, starting_after, limit + 1)
        else:
            docs = await self.reads.accounts_page(
                q=q or None,
                status=status,
                among=None,
                starting_after=starting_after,
                limit=limit + 1,
            )
        now = self.clock.now()
        return page_of(read_schemas.AccountList, docs, limit, lambda d: account_view(d, now))

    async def _low_balance(
        self, q: str | None, status: str | None, starting_after: str | None, want: int
    ) -> list[Doc]:
        """Walk the accounts whose alert is on, in id order, keeping those the other filters
        match, until the page is full."""
        found: list[Doc] = []
        after = starting_after
        while len(found) < want:
            ids = await self.reads.low_balance_ids(starting_after=after, limit=LOW_BALANCE_BATCH)
            if not ids:
                break
            found += await self.reads.accounts_page(
                q=q, status=status, among=ids, starting_after=None, limit=want - len(found)
            )
            after = ids[-1]
        return found

    async def reservations(
        self, account_id: str, *, status: str | None, starting_after: str | None, limit: int
    ) -> read_schemas.ReservationList:
        await load_account(self.repos, account_id, self.clock.now())
        docs = await self.reads.reservations_page(
            account_id, status=status, starting_after=starting_after, limit=limit
        )
        return page_of(read_schemas.ReservationList, docs, limit, reservation_view)

    async def usage(
        self,
        account_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        group_by: GroupBy,
        metadata_key: str | None,
        by_meter: bool = False,
    ) -> read_schemas.Usage:
        now = self.clock.now()
        await load_account(self.repos, account_id, now)
        return await usage(
            self.reads,
            account_id,
            start=start,
            end=end,
            group_by=group_by,
            metadata_key=metadata_key,
            now=now,
            by_meter=by_meter,
        )
