"""Who may call what: service API keys with scopes, and user JWTs (HS256, RS256) that read only
their own account. Refused requests write nothing."""

import base64
import hashlib
import hmac
import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.http.app import create_app
from tests.factories import (
    assert_invariants,
    assert_problem,
    debit,
    make_account,
    new_key,
    reserve,
    snapshot,
)
from tests.support.settings import JWT_SECRET, auth, make_settings

ACCOUNT = "user_1"


def user_token(
    sub: str | None = ACCOUNT,
    *,
    key=JWT_SECRET,
    algorithm="HS256",
    expires_in: timedelta | None = timedelta(minutes=15),
    **claims,
) -> str:
    payload = {**({"sub": sub} if sub is not None else {}), **claims}
    if expires_in is not None:
        # Token expiry is checked against the wall clock, not the service's injectable one.
        payload["exp"] = datetime.now(UTC) + expires_in
    return jwt.encode(payload, key, algorithm=algorithm)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return _rsa_pair()


@pytest.fixture
def client_with(db, clock):
    """A client of an app built with custom settings, over the test's database and clock."""

    @asynccontextmanager
    async def make(**overrides):
        application = create_app(make_settings(**overrides), db=db, clock=clock, sweeper=False)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                yield c

    return make


@pytest.fixture
async def funded(client, db):
    await make_account(client, ACCOUNT, 100)
    await make_account(client, "user_2", 100)
    return await snapshot(db)


# --- service API keys ---------------------------------------------------------------------

ENDPOINTS = [
    ("GET", f"/v1/accounts/{ACCOUNT}", None),
    ("GET", f"/v1/accounts/{ACCOUNT}/grants", None),
    ("GET", f"/v1/accounts/{ACCOUNT}/ledger", None),
    ("GET", f"/v1/accounts/{ACCOUNT}/access?cost=1", None),
    ("POST", f"/v1/accounts/{ACCOUNT}/debits", {"amount": 1}),
    ("POST", f"/v1/accounts/{ACCOUNT}/reservations", {"amount": 1}),
    ("GET", "/v1/reservations/rsv_x", None),
    ("POST", "/v1/reservations/rsv_x/capture", {}),
    ("POST", "/v1/reservations/rsv_x/release", None),
    ("POST", f"/v1/accounts/{ACCOUNT}/grants", {"amount": 1, "kind": "bonus", "description": "x"}),
    ("POST", f"/v1/accounts/{ACCOUNT}/adjustments", {"amount": 1, "reason": "x"}),
]


async def _call(client, method, path, body, headers):
    return await client.request(
        method, path, json=body, headers={**headers, "Idempotency-Key": new_key("auth")}
    )


@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
async def test_request_without_a_token_is_401_and_writes_nothing(
    client, db, funded, method, path, body
):
    r = await _call(client, method, path, body, {})

    assert_problem(r, 401, "unauthenticated")
    assert await snapshot(db) == funded
    await assert_invariants(db, ACCOUNT)


@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
async def test_request_with_an_unknown_key_is_401_and_writes_nothing(
    client, db, funded, method, path, body
):
    r = await _call(client, method, path, body, bearer("key-nobody"))

    assert_problem(r, 401, "unauthenticated")
    assert await snapshot(db) == funded


@pytest.mark.parametrize(
    "header", ["Basic a2V5LWFkbWluOg==", "key-admin", "Bearer", "Bearer  ", "Token key-admin"]
)
async def test_malformed_authorization_header_is_401(client, header):
    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers={"Authorization": header})

    assert_problem(r, 401, "unauthenticated")


async def test_bearer_scheme_is_case_insensitive(client, funded):
    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers={"Authorization": "bearer key-reader"})

    assert r.status_code == 200, r.text


SCOPE_REFUSALS = [
    ("reader", "POST", f"/v1/accounts/{ACCOUNT}/debits", {"amount": 1}),
    ("reader", "POST", f"/v1/accounts/{ACCOUNT}/reservations", {"amount": 1}),
    (
        "reader",
        "POST",
        f"/v1/accounts/{ACCOUNT}/grants",
        {"amount": 1, "kind": "bonus", "description": "x"},
    ),
    ("granter", "GET", f"/v1/accounts/{ACCOUNT}", None),
    ("granter", "GET", f"/v1/accounts/{ACCOUNT}/ledger", None),
    ("granter", "POST", f"/v1/accounts/{ACCOUNT}/debits", {"amount": 1}),
    ("debitor", "POST", f"/v1/accounts/{ACCOUNT}/reservations", {"amount": 1}),
    ("debitor", "POST", "/v1/reservations/rsv_x/capture", {}),
    (
        "worker",
        "POST",
        f"/v1/accounts/{ACCOUNT}/grants",
        {"amount": 1, "kind": "bonus", "description": "x"},
    ),
    ("worker", "POST", f"/v1/accounts/{ACCOUNT}/adjustments", {"amount": -1, "reason": "x"}),
    ("events", "GET", f"/v1/accounts/{ACCOUNT}", None),
    ("events", "POST", f"/v1/accounts/{ACCOUNT}/debits", {"amount": 1}),
]


@pytest.mark.parametrize(
    ("key", "method", "path", "body"),
    SCOPE_REFUSALS,
    ids=[f"{k} {m} {p}" for k, m, p, _ in SCOPE_REFUSALS],
)
async def test_key_without_the_scope_is_403_and_writes_nothing(
    client, db, funded, key, method, path, body
):
    r = await _call(client, method, path, body, auth(key))

    assert_problem(r, 403, "forbidden")
    assert await snapshot(db) == funded
    await assert_invariants(db, ACCOUNT)


async def test_key_with_the_scope_is_allowed(client, db, funded):
    assert (await client.get(f"/v1/accounts/{ACCOUNT}", headers=auth("reader"))).status_code == 200
    assert (await debit(client, ACCOUNT, 1, who="debitor")).status_code == 201
    r = await client.post(
        f"/v1/accounts/{ACCOUNT}/grants",
        headers={**auth("granter"), "Idempotency-Key": "g"},
        json={"amount": 1, "kind": "bonus", "description": "x"},
    )
    assert r.status_code == 201, r.text
    await assert_invariants(db, ACCOUNT)


async def test_the_key_name_is_recorded_as_the_actor(client, db, funded):
    r = await debit(client, ACCOUNT, 1, who="debitor")

    assert r.json()["entry"]["actor"] == "debitor"


# --- user JWTs, HS256 ------------------------------------------------------------------------


async def test_user_token_reads_its_own_account(client, db, funded):
    headers = bearer(user_token())

    for path in ("", "/grants", "/ledger", "/access?cost=1"):
        r = await client.get(f"/v1/accounts/{ACCOUNT}{path}", headers=headers)
        assert r.status_code == 200, (path, r.text)
    assert (await client.get(f"/v1/accounts/{ACCOUNT}", headers=headers)).json()["balance"] == 100


async def test_user_token_gets_404_for_another_account(client, db, funded):
    headers = bearer(user_token())

    for path in ("", "/grants", "/ledger", "/access?cost=1"):
        r = await client.get(f"/v1/accounts/user_2{path}", headers=headers)
        assert_problem(r, 404, "account_not_found")


async def test_user_token_gets_the_same_404_for_an_account_that_does_not_exist(client):
    other = await client.get("/v1/accounts/nobody", headers=bearer(user_token()))
    own = await client.get("/v1/accounts/nobody", headers=bearer(user_token("nobody")))

    assert_problem(other, 404, "account_not_found")
    assert_problem(own, 404, "account_not_found")


async def test_user_token_cannot_debit_its_own_account(client, db, funded):
    r = await client.post(
        f"/v1/accounts/{ACCOUNT}/debits",
        json={"amount": 1},
        headers={**bearer(user_token()), "Idempotency-Key": "u1"},
    )

    assert_problem(r, 403, "forbidden")
    assert await snapshot(db) == funded
    await assert_invariants(db, ACCOUNT)


async def test_user_token_cannot_reserve_grant_or_read_reservations(client, db, funded):
    headers = {**bearer(user_token()), "Idempotency-Key": "u2"}
    rid = (await reserve(client, ACCOUNT, 5)).json()["id"]
    before = await snapshot(db)

    refused = [
        await client.post(
            f"/v1/accounts/{ACCOUNT}/reservations", json={"amount": 1}, headers=headers
        ),
        await client.post(
            f"/v1/accounts/{ACCOUNT}/grants",
            headers=headers,
            json={"amount": 1, "kind": "bonus", "description": "x"},
        ),
        await client.get(f"/v1/reservations/{rid}", headers=headers),
        await client.post(f"/v1/reservations/{rid}/release", headers=headers),
    ]

    for r in refused:
        assert_problem(r, 403, "forbidden")
    assert await snapshot(db) == before
    await assert_invariants(db, ACCOUNT)


async def test_expired_user_token_is_401(client, funded):
    token = user_token(expires_in=timedelta(seconds=-1))

    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


async def test_user_token_signed_with_another_secret_is_401(client, funded):
    token = user_token(key="another-secret-that-is-long-enough-for-hs256")

    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


async def test_user_token_without_exp_is_401(client, funded):
    token = user_token(expires_in=None)

    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


async def test_user_token_without_the_account_claim_is_401(client, funded):
    token = user_token(sub=None, name="someone")

    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_unsigned_user_token_is_401(client, funded):
    claims = {"sub": ACCOUNT, "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())}
    token = (
        f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}."
        f"{_b64(json.dumps(claims).encode())}."
    )

    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


@pytest.mark.parametrize("token", ["a.b.c", "e30.e30.", "...", "not-base64!.x.y"])
async def test_garbled_user_token_is_401(client, funded, token):
    r = await client.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


async def test_user_tokens_are_refused_when_no_jwt_key_is_configured(client_with, funded):
    async with client_with(jwt_secret=None) as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(user_token()))

    assert_problem(r, 401, "unauthenticated")


async def test_account_claim_is_configurable(client_with, funded):
    token = user_token(sub="someone-else", account=ACCOUNT)

    async with client_with(jwt_account_claim="account") as c:
        own = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))
        other = await c.get("/v1/accounts/someone-else", headers=bearer(token))

    assert own.status_code == 200, own.text
    assert_problem(other, 404, "account_not_found")


# --- audience ---------------------------------------------------------------------------------


async def test_user_token_for_the_configured_audience_is_accepted(client_with, funded):
    async with client_with(jwt_audience="credits-api") as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(user_token(aud="credits-api")))

    assert r.status_code == 200, r.text


async def test_user_token_for_another_audience_is_401(client_with, funded):
    async with client_with(jwt_audience="credits-api") as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(user_token(aud="another-api")))

    assert_problem(r, 401, "unauthenticated")


async def test_user_token_without_audience_is_401_when_one_is_configured(client_with, funded):
    async with client_with(jwt_audience="credits-api") as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(user_token()))

    assert_problem(r, 401, "unauthenticated")


# --- user JWTs, RS256 ------------------------------------------------------------------------


async def test_rs256_user_token_reads_its_own_account(client_with, funded, rsa_keys):
    private, public = rsa_keys
    token = user_token(key=private, algorithm="RS256")

    async with client_with(jwt_public_key=public, jwt_secret=None) as c:
        own = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))
        other = await c.get("/v1/accounts/user_2", headers=bearer(token))

    assert own.status_code == 200, own.text
    assert own.json()["balance"] == 100
    assert_problem(other, 404, "account_not_found")


async def test_rs256_user_token_signed_by_another_key_is_401(client_with, funded, rsa_keys):
    _, public = rsa_keys
    other_private, _ = _rsa_pair()
    token = user_token(key=other_private, algorithm="RS256")

    async with client_with(jwt_public_key=public) as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


async def test_expired_rs256_user_token_is_401(client_with, funded, rsa_keys):
    private, public = rsa_keys
    token = user_token(key=private, algorithm="RS256", expires_in=timedelta(seconds=-1))

    async with client_with(jwt_public_key=public) as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))

    assert_problem(r, 401, "unauthenticated")


async def test_hs256_token_keyed_with_the_public_key_is_401(client_with, funded, rsa_keys):
    # Algorithm confusion: the public key is public, so it must never verify an HMAC.
    _, public = rsa_keys
    claims = {"sub": ACCOUNT, "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())}
    signing_input = (
        f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}."
        f"{_b64(json.dumps(claims).encode())}"
    )
    signature = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(signature)}"

    for overrides in ({"jwt_public_key": public, "jwt_secret": None}, {"jwt_public_key": public}):
        async with client_with(**overrides) as c:
            r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(token))
        assert_problem(r, 401, "unauthenticated")


async def test_hs256_token_is_refused_when_only_rs256_is_configured(client_with, funded, rsa_keys):
    _, public = rsa_keys

    async with client_with(jwt_public_key=public, jwt_secret=None) as c:
        r = await c.get(f"/v1/accounts/{ACCOUNT}", headers=bearer(user_token()))

    assert_problem(r, 401, "unauthenticated")
