"""Customer stories told with Stripe's real shapes (stripe_fixtures): a catalog for them,
and subscribing, changing and renewing as Stripe sends it, in either layout."""

from __future__ import annotations

from datetime import UTC, datetime

from stripe_fixtures import DAY, Layout, StripeEvents
from stripe_fixtures.envelope import event
from stripe_fixtures.invoices import Line, invoice, plan_line
from stripe_fixtures.subscriptions import subscription

from tests.webhooks.helpers import example_catalog, send_ok

MONTH = 30 * DAY
STARTER, GROWTH = "price_starter_monthly", "price_growth_monthly"
TEAM_SEAT, ANNUAL = "price_team_seat", "price_annual_yearly"
ANNUAL_PRO, ANNUAL_ONCE = "price_annual_pro_yearly", "price_annual_once_yearly"
ADDON, FEE = "price_extra_storage", "price_setup_fee"
UNIT = {
    STARTER: 1000,
    GROWTH: 4000,
    TEAM_SEAT: 1200,
    ANNUAL: 10000,
    ANNUAL_PRO: 40000,
    ANNUAL_ONCE: 10000,
    ADDON: 500,
    FEE: 2500,
}
NAMES = {
    STARTER: "Starter",
    GROWTH: "Growth",
    TEAM_SEAT: "Team",
    ANNUAL: "Annual",
    ADDON: "Extra storage",
    ANNUAL_PRO: "Annual Pro",
    ANNUAL_ONCE: "Annual at once",
}


def shapes_catalog(**billing) -> dict:
    """starter 1000 (carries at most 300), growth 4000 (at most 500), team 1000 a seat,
    annual: a yearly price with 1000 credits a month (carries at most 200), annual_pro: 4000
    a month, annual_once: 1000 a month granted for the year at once. Add-on and fee prices
    are not in it."""
    catalog = example_catalog()
    catalog["billing"].update(billing)
    catalog["plans"]["starter"].update(
        rollover="max:300", stripe_prices=[STARTER, "price_starter_yearly"]
    )
    catalog["plans"]["growth"] = {
        "name": "Growth",
        "stripe_prices": [GROWTH],
        "monthly_credits": 4000,
        "rollover": "max:500",
    }
    catalog["plans"]["team"] = {
        "name": "Team",
        "stripe_prices": [TEAM_SEAT],
        "monthly_credits": 1000,
        "credits_per": "seat",
    }
    catalog["plans"]["annual"] = {
        "name": "Annual",
        "stripe_prices": [ANNUAL],
        "monthly_credits": 1000,
        "rollover": "max:200",
    }
    catalog["plans"]["annual_pro"] = {
        "name": "Annual Pro",
        "stripe_prices": [ANNUAL_PRO],
        "monthly_credits": 4000,
    }
    catalog["plans"]["annual_once"] = {
        "name": "Annual at once",
        "stripe_prices": [ANNUAL_ONCE],
        "monthly_credits": 1000,
        "allocation": "per_period",
    }
    return catalog


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Story:
    """One customer (user_1, cus_1, sub_1) in one layout, on the test clock."""

    def __init__(
        self,
        client,
        clock,
        layout: Layout,
        *,
        account: str = "user_1",
        customer: str = "cus_1",
        sub: str = "sub_1",
    ) -> None:
        self.client, self.clock, self.layout = client, clock, layout
        self.account, self.customer, self.sub = account, customer, sub

    @property
    def now(self) -> int:
        return unix(self.clock.now())

    async def send(self, type: str, obj: dict, **kw) -> str:
        return await send_ok(self.client, event(self.layout, type, obj, created=self.now, **kw))

    async def checkout(self) -> None:
        events = StripeEvents("endive" if self.layout == "current" else "legacy", now=self.now)
        assert (
            await send_ok(
                self.client,
                events.checkout_session_completed(
                    customer=self.customer, account_id=self.account, subscription=self.sub
                ),
            )
            == "processed"
        )

    def subscription(self, items: list[tuple[str, int]], start: int, end: int, **kw) -> dict:
        return subscription(
            self.layout,
            subscription_id=self.sub,
            customer=self.customer,
            items=[(price, UNIT[price], q) for price, q in items],
            start=start,
            end=end,
            **kw,
        )

    def plan(self, price: str, start: int, end: int, quantity: int = 1, **kw) -> Line:
        return plan_line(
            price,
            UNIT[price],
            start=start,
            end=end,
            subscription=self.sub,
            quantity=quantity,
            name=NAMES[price],
            **kw,
        )

    def invoice(self, lines: list[Line], reason: str, **kw) -> dict:
        return invoice(
            self.layout,
            lines=lines,
            customer=self.customer,
            subscription=self.sub,
            billing_reason=reason,
            created=self.now,
            **kw,
        )

    async def subscribe(
        self,
        price: str,
        *,
        end: int | None = None,
        quantity: int = 1,
        lines: list[Line] | None = None,
        **invoice_kw,
    ) -> dict:
        """Checkout, the subscription's creation, its first invoice paid (by default one plan
        line); returns the first invoice."""
        start = self.now
        end = end or start + MONTH
        await self.checkout()
        assert (
            await self.send(
                "customer.subscription.created", self.subscription([(price, quantity)], start, end)
            )
            == "processed"
        )
        first = self.invoice(
            lines or [self.plan(price, start, end, quantity)], "subscription_create", **invoice_kw
        )
        assert await self.send("invoice.paid", first) == "processed"
        return first
