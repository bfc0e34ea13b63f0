"""Bad input to the console is answered with a page, as the rest of the console is, never
with the API's problem+json."""

from __future__ import annotations

import pytest

from tests.console.helpers import sign_in


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/console/nowhere", 404),
        ("post", "/console/accounts", 405),
        ("delete", "/console/login", 405),
    ],
)
async def test_unknown_paths_and_methods_get_a_page(client, method, path, status):
    await sign_in(client)

    response = await client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    if status == 405:
        assert "GET" in response.headers["allow"]


async def test_an_oversized_form_gets_a_page(client):
    response = await client.post(
        "/console/login",
        content=b"key=" + b"x" * 20_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


async def test_the_api_keeps_its_problems(client):
    response = await client.get("/v1/nowhere-at-all", headers={"Authorization": "Bearer key-admin"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
