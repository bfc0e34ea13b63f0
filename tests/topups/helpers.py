"""Small steps of the auto top-up stories: link a customer, set the settings, run the job."""

from __future__ import annotations

from stripe_fixtures import StripeEvents

from app.http.services import services_of
from tests.support.settings import auth
from tests.webhooks.helpers import send_ok


async def linked_account(client, clock, account: str = "user_1", customer: str = "cus_1") -> str:
    """An account whose Stripe customer is linked (customer.created naming it)."""
    events = StripeEvents("endive", now=int(clock.now().timestamp()))
    event = events.customer_event(customer=customer, metadata={"account_id": account})
    assert await send_ok(client, event) == "processed"
    return account


async def put_settings(client, account: str, **body):
    return await client.put(
        f"/v1/accounts/{account}/auto-topup", json=body, headers=auth("granter")
    )


async def enable(client, account: str, **body) -> dict:
    settings = {"enabled": True, "threshold": 100, "pack": "boost_500", "monthly_cap_packs": 10}
    response = await put_settings(client, account, **{**settings, **body})
    assert response.status_code == 200, response.text
    return response.json()


async def topups(client, account: str, **params) -> list[dict]:
    response = await client.get(
        f"/v1/accounts/{account}/topups", params=params, headers=auth("reader")
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def run_job(app) -> int:
    return await services_of(app).topup_job.run_once()
