"""A rate card for the metered tests: a price change at T, a block price, each rounding rule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.factories import new_key
from tests.support.settings import START, auth

T = START + timedelta(hours=1)  # the scheduled price change of image.hd

RATE_CARD = f"""
[plans.pro]
name = "Pro"
stripe_prices = ["price_pro"]
monthly_credits = 1000

[meters."image.hd"]
[[meters."image.hd".versions]]
effective_from = 2026-01-01T00:00:00Z
credits = 3
plans.pro = {{ credits = 2 }}
[[meters."image.hd".versions]]
effective_from = {T.isoformat().replace("+00:00", "Z")}
credits = 5

[meters.tokens]
rounding = "up"
[[meters.tokens.versions]]
effective_from = 2026-01-01T00:00:00Z
credits = 1
per = 1000

[meters.odd_down]
rounding = "down"
[[meters.odd_down.versions]]
effective_from = 2026-01-01T00:00:00Z
credits = 3
per = 7

[meters.odd_nearest]
rounding = "nearest"
[[meters.odd_nearest.versions]]
effective_from = 2026-01-01T00:00:00Z
credits = 5
per = 12
[[meters.odd_nearest.versions]]
effective_from = {T.isoformat().replace("+00:00", "Z")}
credits = 7
per = 12

[meters.later]
[[meters.later.versions]]
effective_from = 2030-01-01T00:00:00Z
credits = 1
"""


def write_rate_card(directory: Path) -> Path:
    path = directory / "plans.toml"
    path.write_text(RATE_CARD, encoding="utf-8")
    return path


async def use(
    client,
    account_id: str,
    meter: str,
    quantity: int,
    *,
    key: str | None = None,
    who: str = "worker",
    **extra,
):
    return await client.post(
        f"/v1/accounts/{account_id}/debits",
        json={"meter": meter, "quantity": quantity, **extra},
        headers={**auth(who), "Idempotency-Key": key or new_key("u")},
    )
