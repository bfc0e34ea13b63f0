"""Console sessions end for good: sign-out ends every copy of the cookie on every instance,
and a session left idle ends by itself."""

from __future__ import annotations

import httpx

from app.http.app import create_app
from app.storage.database import CONSOLE_SESSIONS
from tests.console.helpers import COOKIE, account_form, hidden, sign_in
from tests.factories import account, make_account
from tests.support.settings import make_settings

SECRET = "console-secret-shared-by-every-instance-0123456789"


async def _sign_out(client) -> None:
    page = await client.get("/console/accounts")
    out = await client.post("/console/logout", data={"csrf_token": hidden(page.text, "csrf_token")})
    assert out.status_code == 303


async def test_a_copy_of_the_cookie_taken_before_sign_out_grants_nothing(client, db):
    await make_account(client, "user_1", 10)
    await sign_in(client)
    stolen = client.cookies[COOKIE]
    form = await account_form(client, "user_1", "grant-form")

    await _sign_out(client)
    client.cookies.set(COOKIE, stolen, path="/console")

    assert (await client.get("/console/accounts")).status_code == 303
    grant = await client.post(
        "/console/accounts/user_1/grants",
        data={**form, "amount": "50", "kind": "bonus", "reason": "after sign-out"},
    )
    assert grant.status_code == 303 and grant.headers["location"] == "/console/login"
    assert (await account(client, "user_1"))["balance"] == 10
    assert await db[CONSOLE_SESSIONS].count_documents({}) == 0


async def test_sign_out_on_one_instance_ends_the_session_on_another(db, clock):
    apps = [
        create_app(make_settings(console_secret=SECRET), db=db, clock=clock, sweeper=False)
        for _ in range(2)
    ]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://test")
        for a in apps
    ]
    async with apps[0].router.lifespan_context(apps[0]), clients[0] as one, clients[1] as two:
        await sign_in(one)
        two.cookies.set(COOKIE, one.cookies[COOKIE], path="/console")
        assert (await two.get("/console/accounts")).status_code == 200

        await _sign_out(one)

        assert (await two.get("/console/accounts")).status_code == 303


async def test_a_session_idle_for_30_minutes_ends(client, clock):
    await sign_in(client)
    for _ in range(3):  # each view within 30 minutes of the last keeps it alive
        clock.advance(minutes=29)
        assert (await client.get("/console/accounts")).status_code == 200

    clock.advance(minutes=30, seconds=1)

    assert (await client.get("/console/accounts")).status_code == 303


async def test_a_session_ends_after_8_hours_however_busy(client, clock):
    await sign_in(client)
    for _ in range(16):
        clock.advance(minutes=29)
        assert (await client.get("/console/accounts")).status_code == 200

    clock.advance(minutes=29)

    assert (await client.get("/console/accounts")).status_code == 303


async def test_ended_sessions_are_removed_by_the_retention_sweep(app, db, client, clock):
    await sign_in(client)
    (record,) = await db[CONSOLE_SESSIONS].find({}).to_list(None)
    assert record["name"] == "admin" and client.cookies[COOKIE] not in str(record)
    await app.state.services.retention.run()
    assert await db[CONSOLE_SESSIONS].count_documents({}) == 1

    clock.advance(minutes=30)
    forgotten = await app.state.services.retention.run()

    assert forgotten.console_sessions == 1
    assert await db[CONSOLE_SESSIONS].count_documents({}) == 0
