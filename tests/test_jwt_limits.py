"""User tokens are short-lived and meant for this service: a numeric `exp`, a bounded lifetime
(JWT_MAX_LIFETIME_SECONDS, from `iat` or from now), no `iat` from the future, an `aud` only
when one is configured; production refuses user tokens without JWT_AUDIENCE."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest

from app.http.app import create_app
from app.kit.config import SettingsError, load_settings
from tests.factories import assert_problem, make_account
from tests.support.settings import JWT_SECRET, api_keys_json, make_settings

ACCOUNT = "user_1"
HOUR, DAY, YEAR = 3600, 86_400, 365 * 86_400


def token(**claims) -> str:
    return jwt.encode({"sub": ACCOUNT, **claims}, JWT_SECRET, algorithm="HS256")


async def read_with(client, tok: str):
    return await client.get(f"/v1/accounts/{ACCOUNT}", headers={"Authorization": f"Bearer {tok}"})


@pytest.fixture
async def funded(client):
    await make_account(client, ACCOUNT, 100)


@pytest.fixture
def client_with(db, clock):
    @asynccontextmanager
    async def make(**overrides):
        application = create_app(make_settings(**overrides), db=db, clock=clock, sweeper=False)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                yield c

    return make


# Tokens are checked against the wall clock, like pyjwt's own `exp`: each case is made from the
# time the test runs (a whole suite takes minutes; a time taken at import would drift).

REFUSED = {
    "exp 10 years ahead": lambda now: {"exp": now + 10 * YEAR},
    "exp 10**20": lambda now: {"exp": 10**20},
    "exp as a string": lambda now: {"exp": str(now + HOUR)},
    "exp a day and a minute ahead": lambda now: {"exp": now + DAY + 60},
    "exp true": lambda now: {"exp": True},
    "iat 23h ago, exp 2h ahead": lambda now: {"iat": now - 23 * HOUR, "exp": now + 2 * HOUR},
    "iat 2 minutes in the future": lambda now: {"iat": now + 120, "exp": now + HOUR},
    "iat as a string": lambda now: {"iat": str(now), "exp": now + HOUR},
    "an aud when none is configured": lambda now: {"exp": now + HOUR, "aud": "another-service"},
}
ACCEPTED = {
    "exp an hour ahead": lambda now: {"exp": now + HOUR},
    "exp just under a day ahead": lambda now: {"exp": now + DAY - 60},
    "iat an hour ago, exp 23h ahead": lambda now: {"iat": now - HOUR, "exp": now + 23 * HOUR - 60},
    "iat 30 s in the future (clock skew)": lambda now: {"iat": now + 30, "exp": now + HOUR},
    "exp a float": lambda now: {"exp": now + HOUR + 0.5},
}


@pytest.mark.parametrize("claims", REFUSED.values(), ids=REFUSED.keys())
async def test_user_token_is_refused(client, funded, claims):
    r = await read_with(client, token(**claims(int(time.time()))))

    assert_problem(r, 401, "unauthenticated")


@pytest.mark.parametrize("claims", ACCEPTED.values(), ids=ACCEPTED.keys())
async def test_user_token_is_accepted(client, funded, claims):
    r = await read_with(client, token(**claims(int(time.time()))))

    assert r.status_code == 200, r.text


async def test_the_maximum_lifetime_is_configurable(client_with, funded):
    async with client_with(jwt_max_lifetime_seconds=HOUR) as c:
        too_long = await read_with(c, token(exp=int(time.time()) + 2 * HOUR))
        fine = await read_with(c, token(exp=int(time.time()) + HOUR - 60))

    body = assert_problem(too_long, 401, "unauthenticated")
    assert "JWT_MAX_LIFETIME_SECONDS" in body["detail"]
    assert fine.status_code == 200, fine.text


def test_production_refuses_user_tokens_without_an_audience():
    production = dict(
        _env_file=None,
        app_env="production",
        mongodb_uri="mongodb://db",
        stripe_webhook_secret="whsec_live",
        api_keys=api_keys_json(),
    )
    with pytest.raises(SettingsError, match="JWT_AUDIENCE") as refused:
        load_settings(**production, jwt_secret=JWT_SECRET)
    assert JWT_SECRET not in str(refused.value)

    assert load_settings(**production, jwt_secret=JWT_SECRET, jwt_audience="credits-api")
    assert load_settings(**production)  # no user tokens: no audience needed


@pytest.mark.parametrize("value", ["0", "59", "abc", str(40 * DAY)])
def test_an_unreasonable_maximum_lifetime_stops_the_start(monkeypatch, value):
    monkeypatch.setenv("JWT_MAX_LIFETIME_SECONDS", value)

    with pytest.raises(SettingsError, match="JWT_MAX_LIFETIME_SECONDS"):
        load_settings(_env_file=None)
