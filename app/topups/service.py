"""Auto top-up settings (read and set, one transaction) and an account's top-ups."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from app.billing.catalog import Catalog
from app.kit.clock import Clock
from app.kit.errors import (
    AccountNotFound,
    CursorNotFound,
    StripeCustomerMissing,
    StripeNotConfigured,
)
from app.kit.paging import page_of
from app.ledger.access import available
from app.ledger.documents import AccountDoc
from app.ledger.repository import Repositories
from app.storage.database import Database
from app.topups import schemas
from app.topups.repository import TopupRepository
from app.topups.settings import crosses, plan_defaults, resolve
from app.topups.views import settings_view, topup_view


@dataclass(eq=False)
class AutoTopupService:
    db: Database
    repos: Repositories
    topups: TopupRepository
    catalog: Catalog
    clock: Clock
    _: KW_ONLY
    stripe_ready: bool

    async def settings(self, account_id: str) -> schemas.AutoTopup:
        account = await self._account(None, account_id)
        return self._view(account_id, account.get("plan"), account.get("auto_topup"))

    async def save(self, account_id: str, req: schemas.AutoTopupUpdate) -> schemas.AutoTopup:
        if req.enabled and not self.stripe_ready:
            raise StripeNotConfigured("auto top-up charges through Stripe: set STRIPE_API_KEY")
        now = self.clock.now()

        async def unit(session):
            account = await self._account(session, account_id)
            if req.enabled and not account.get("stripe_customer_id"):
                raise StripeCustomerMissing(
                    f"account {account_id!r} has no Stripe customer to charge: it is linked by "
                    "its first checkout or subscription (or a customer's metadata.account_id)"
                )
            fields = resolve(req, plan_defaults(account.get("plan"), self.catalog), self.catalog)
            stored = account.get("auto_topup") or {}
            if req.enabled and not stored.get("enabled"):
                # Turned on (again, after it disabled itself): failures count afresh.
                fields.update(failures=0, disabled_reason=None)
            await self.topups.save_settings(session, account_id, fields, now)
            after = {**stored, **fields}
            # Already below the line when turned on: that is a crossing too.
            level = available(account)
            threshold = fields["threshold"]
            if threshold is not None and crosses(threshold, level, after, now):
                trigger = {"available_before": level, "available_after": level}
                await self.topups.record_open(
                    session,
                    account_id,
                    after.get("round", 0),
                    {**trigger, "threshold": threshold},
                    now,
                )
            return account.get("plan"), after

        return self._view(account_id, *await self.db.transaction(unit))

    async def page(
        self, account_id: str, *, starting_after: str | None, limit: int
    ) -> schemas.TopupPage:
        await self._account(None, account_id)
        if starting_after is not None:
            after = await self.topups.get(None, account_id, starting_after)
            if after is None or after["account_id"] != account_id:
                raise CursorNotFound(f"starting_after: no top-up {starting_after} in this list")
        docs = await self.topups.page(account_id, starting_after, limit)
        return page_of(schemas.TopupPage, docs, limit, topup_view)

    def _view(
        self, account_id: str, plan_key: str | None, stored: dict | None
    ) -> schemas.AutoTopup:
        defaults = plan_defaults(plan_key, self.catalog)
        plan = defaults.model_dump() if defaults is not None else None
        return settings_view(account_id, stored, plan)

    async def _account(self, session, account_id: str) -> AccountDoc:
        account = await self.repos.accounts.get(session, account_id)
        if account is None:
            raise AccountNotFound(f"account {account_id!r} not found")
        return account
