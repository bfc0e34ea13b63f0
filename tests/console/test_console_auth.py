"""Console sign-in, sessions and forms: what a browser cannot be tricked into, over HTTP."""

from __future__ import annotations

import pytest

from app.storage.database import LEDGER
from tests.console.helpers import COOKIE, account_form, hidden, sign_in
from tests.factories import account, assert_invariants, make_account, snapshot
from tests.reads.test_account_list import user_token
from tests.support.settings import auth, token

PAGES = ("/console", "/console/accounts", "/console/accounts/user_1", "/console/stripe-events")


@pytest.mark.parametrize("path", PAGES)
async def test_without_a_session_every_page_leads_to_sign_in(client, path):
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


async def test_sign_in_sets_a_strict_http_only_cookie_of_8_hours(client):
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/accounts"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for part in ("HttpOnly", "SameSite=strict", "Max-Age=28800", "Path=/console"):
        assert part.lower() in cookie.lower()
    assert token("admin") not in cookie
    page = await client.get("/console/accounts")
    assert page.status_code == 200
    assert token("admin") not in page.text  # the console never shows a secret
    assert "default-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("key_name", ["reader", "granter", "nobody"])
async def test_keys_without_events_admin_cannot_sign_in(client, key_name):
    response = await sign_in(client, key_name)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?error=")
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert (await client.get("/console/accounts")).status_code == 303


async def test_a_user_token_can_neither_sign_in_nor_open_the_console(client):
    await make_account(client, "user_1", 10)
    headers = user_token("user_1")
    page = await client.get("/console/login")
    jwt_value = headers["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        "/console/login", data={"csrf_token": hidden(page.text, "csrf_token"), "key": jwt_value}
    )
    assert response.headers["location"].startswith("/console/login?error=")
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert (await client.get("/console/accounts/user_1", headers=headers)).status_code == 303
    assert (await client.get("/v1/accounts", headers=headers)).status_code == 403


async def test_a_console_session_is_not_an_api_token(client):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    cookie = client.cookies[COOKIE]
    assert (await client.get("/v1/accounts/user_1")).status_code == 401
    as_bearer = await client.get(
        "/v1/accounts/user_1", headers={"Authorization": f"Bearer {cookie}"}
    )
    assert as_bearer.status_code == 401


async def test_a_tampered_cookie_is_no_session(client):
    await sign_in(client)
    value = client.cookies[COOKIE]
    client.cookies.clear()
    client.cookies.set(COOKIE, value[:-4] + "AAA=", path="/console")
    assert (await client.get("/console/accounts")).status_code == 303


async def test_a_form_without_its_csrf_token_gets_403_and_changes_nothing(client, db):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    form = await account_form(client, "user_1", "grant-form")
    before = await snapshot(db)
    for csrf in ({}, {"csrf_token": "forged"}):
        body = {
            "idempotency_key": form["idempotency_key"],
            "amount": "50",
            "kind": "bonus",
            "reason": "csrf",
            **csrf,
        }
        response = await client.post("/console/accounts/user_1/grants", data=body)
        assert response.status_code == 403
        adjust = await client.post(
            "/console/accounts/user_1/adjustments", data={"amount": "-5", "reason": "x", **csrf}
        )
        assert adjust.status_code == 403
        assert (await client.post("/console/logout", data=csrf)).status_code == 403
    assert await snapshot(db) == before
    assert (await client.get("/console/accounts")).status_code == 200  # still signed in


async def test_a_double_submitted_grant_form_grants_once(client, db):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    form = await account_form(client, "user_1", "grant-form")
    body = {**form, "amount": "50", "kind": "bonus", "reason": "sorry for the outage"}
    first = await client.post("/console/accounts/user_1/grants", data=body)
    second = await client.post("/console/accounts/user_1/grants", data=body)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert "balance+60" in first.headers["location"]
    assert (await account(client, "user_1"))["balance"] == 60
    grants = await db[LEDGER].find({"account_id": "user_1", "type": "grant"}).to_list(None)
    assert len(grants) == 2  # the first one of make_account, and this one
    assert grants[-1]["actor"] == "console:admin"
    await assert_invariants(db, "user_1")


async def test_an_adjustment_needs_a_reason_and_a_key_with_credits_grant(client, db):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    form = await account_form(client, "user_1", "adjust-form")
    refused = await client.post(
        "/console/accounts/user_1/adjustments", data={**form, "amount": "-4", "reason": ""}
    )
    assert "error=adjustment+refused" in refused.headers["location"]
    done = await client.post(
        "/console/accounts/user_1/adjustments",
        data={**form, "amount": "-4", "reason": "double charge"},
    )
    assert "notice=" in done.headers["location"]
    assert (await account(client, "user_1"))["balance"] == 6
    await assert_invariants(db, "user_1")


async def test_sign_out_ends_the_session(client):
    await sign_in(client)
    page = await client.get("/console/accounts")
    out = await client.post("/console/logout", data={"csrf_token": hidden(page.text, "csrf_token")})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert (await client.get("/console/accounts")).status_code == 303


async def test_the_api_key_itself_still_works_beside_the_console(client):
    await make_account(client, "user_1", 10)
    assert (await client.get("/v1/accounts", headers=auth("admin"))).status_code == 200
