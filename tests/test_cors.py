"""CORS_ORIGINS: a frontend on another origin may call the API with a user token."""

from __future__ import annotations

import httpx
import pytest

from app.http.app import create_app
from app.kit.config import SettingsError, load_settings
from tests.factories import make_account
from tests.reads.test_account_list import user_token
from tests.support.settings import make_settings

FRONTEND = "https://app.example.com"


@pytest.fixture
async def cors_client(db, clock):
    application = create_app(
        make_settings(cors_origins=f"{FRONTEND}, http://localhost:5173"),
        db=db,
        clock=clock,
        sweeper=False,
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_preflight_and_answers_carry_the_origin(cors_client):
    await make_account(cors_client, "user_1", 10)
    preflight = await cors_client.options(
        "/v1/accounts/user_1",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    answer = await cors_client.get(
        "/v1/accounts/user_1", headers={"Origin": FRONTEND, **user_token("user_1")}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    refused = await cors_client.get("/v1/accounts/user_1", headers={"Origin": FRONTEND})
    assert refused.status_code == 401  # readable by the frontend, to send its user to sign in
    assert refused.headers["access-control-allow-origin"] == FRONTEND
    assert "access-control-allow-credentials" not in answer.headers


async def test_other_origins_get_no_cors_headers(cors_client):
    other = await cors_client.options(
        "/v1/accounts/user_1",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in other.headers


async def test_unset_means_no_cors_headers(client):
    await make_account(client, "user_1", 10)
    answer = await client.get(
        "/v1/accounts/user_1", headers={"Origin": FRONTEND, **user_token("user_1")}
    )
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "value", ["app.example.com", "https://app.example.com/path", "ftp://x.example"]
)
def test_a_bad_origin_stops_the_start_naming_the_setting(value):
    with pytest.raises(SettingsError, match="CORS_ORIGINS"):
        load_settings(_env_file=None, cors_origins=value)
