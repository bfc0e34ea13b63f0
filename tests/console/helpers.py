"""Driving the console over HTTP as a browser would: sign-in, forms with their hidden fields."""

from __future__ import annotations

import re

from tests.support.settings import token

COOKIE = "credit_ledger_console"


def hidden(html: str, name: str, form_id: str | None = None) -> str:
    if form_id is not None:
        html = html[html.index(f'id="{form_id}"') :]
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found.group(1)


async def sign_in(client, key_name: str = "admin"):
    page = await client.get("/console/login")
    assert page.status_code == 200
    return await client.post(
        "/console/login",
        data={"csrf_token": hidden(page.text, "csrf_token"), "key": token(key_name)},
    )


async def account_form(client, account_id: str, form_id: str) -> dict[str, str]:
    page = await client.get(f"/console/accounts/{account_id}")
    assert page.status_code == 200, page.text
    return {
        "csrf_token": hidden(page.text, "csrf_token", form_id),
        "idempotency_key": hidden(page.text, "idempotency_key", form_id),
    }
